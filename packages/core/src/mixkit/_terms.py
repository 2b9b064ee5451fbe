"""The extra-loss slot: a term that turns the mixup loss of a batch into the training loss.

MixupE adds a directional-derivative term computed on a clean forward pass; RegMixup adds the
clean cross-entropy. Both need the model, which reaches them through
``mixed.loss(logits, model=model)``: the one loss entry for every mixer.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from torch import Tensor

if TYPE_CHECKING:
    from mixkit._mixed import Mixed

__all__ = ["LossTerm", "Model"]

#: what a loss term calls for a clean pass: a batch of inputs in, logits out
Model = Callable[[Any], Tensor]


class LossTerm(abc.ABC):
    """Base class of extra loss terms (:class:`mixkit.MixupETerm`, ...).

    A mixer built with ``term=`` puts the term on every result it mixes; :meth:`mixkit.Mixed.loss`
    then returns ``term(loss, mixed, logits, model, ...)`` instead of the plain mixed loss. When
    nothing was mixed (``mixed.applied`` is False) the plain loss is returned.

    Attributes:
        needs_model: True when the term calls the model (then ``Mixed.loss`` requires ``model=``).
    """

    needs_model: bool = True

    def attach(self, owner: str, mixer: Any) -> None:  # noqa: B027
        """Check that the term suits ``mixer`` (called when the mixer is built)."""

    @abc.abstractmethod
    def __call__(
        self,
        loss: Tensor,
        mixed: Mixed,
        logits: Tensor,
        model: Model | None,
        *,
        reduction: str,
        num_samples: Tensor | float | None,
    ) -> Tensor:
        """The training loss, given the mixup ``loss`` reduced as ``reduction`` asks."""

    def state_dict(self) -> dict[str, Any]:
        """State to checkpoint (empty by default)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:  # noqa: B027
        """Restore what :meth:`state_dict` returned."""
