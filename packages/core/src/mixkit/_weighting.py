"""Per-sample loss weights: how much each mixed sample counts in the loss.

A weighting looks at the two sources of each mixed sample (their features, the partner index
and lam) and returns a ``(B,)`` weight. The loss multiplies each sample's loss by it
(:func:`mixkit.mixed_loss`). Local Mixup is the weighting by the distance of the sources.
"""

from __future__ import annotations

import abc

from torch import Tensor

__all__ = ["Weighting"]


class Weighting(abc.ABC):
    """Base class of per-sample weights.

    ``weights(features, index, lam)`` gets the ``(B, D)`` features of the ORIGINAL samples (the
    flattened inputs, or what the caller passed as ``features=``), the ``(B,)`` partner index
    and lam, all on the data's device, and returns ``(B,)`` non-negative float32 weights there.
    A sample mixed with itself must get weight 1.
    """

    @abc.abstractmethod
    def weights(self, features: Tensor, index: Tensor, lam: Tensor) -> Tensor:
        """``(B,)`` loss weights."""
