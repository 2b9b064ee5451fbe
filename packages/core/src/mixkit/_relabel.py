"""Relabelling: targets for a mixed sample that are not simply the mix of its sources' labels.

The mixer calls a relabelling after mixing, for the rows that were actually mixed (``lam < 1``
and a partner other than themselves); rows left untouched keep their targets, so ``lam = 1`` is
still the identity. GenLabel relabels with class-conditional densities.
"""

from __future__ import annotations

import abc

from torch import Tensor

__all__ = ["Relabel"]


class Relabel(abc.ABC):
    """Base class of relabellings (multi-class targets only).

    ``relabel(mixed_inputs, mixed_features, targets)`` gets the mixed batch, the mix of the
    caller's ``features=`` (``None`` when the caller gave none) and the ``(B, C)`` mixed (and
    smoothed) targets, and returns new ``(B, C)`` float32 targets whose rows sum to 1.
    """

    @abc.abstractmethod
    def relabel(
        self, mixed_inputs: Tensor, mixed_features: Tensor | None, targets: Tensor
    ) -> Tensor:
        """``(B, C)`` targets for the mixed samples."""
