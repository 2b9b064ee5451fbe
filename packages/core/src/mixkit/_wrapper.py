"""One module around one mixer that behaves like it (the base of :class:`mixkit.MixUpE` and of
integration wrappers such as ``mixkit_pyg.PooledMix``)."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from mixkit._mixed import Mixed
from mixkit._params import MixParams

__all__ = ["MixerWrapper"]


class MixerWrapper(nn.Module):
    """Delegates mixing, the switch, schedules and reports to ``self.mixer``.

    Subclasses validate and store the mixer, and add what they are for (an extra loss term,
    checks on graph embeddings, ...). Being a submodule, the wrapped mixer follows
    ``train()`` / ``eval()`` and travels in ``state_dict()``. Extra keyword arguments of
    ``forward`` / ``draw`` / ``mix`` (e.g. audio ``lengths``) go to the wrapped mixer.
    """

    mixer: Any  # a mixkit mixer (nn.Module attribute typing cannot say more)

    @property
    def enabled(self) -> bool:
        """The wrapped mixer's ``enabled`` (settable)."""
        return bool(self.mixer.enabled)

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self.mixer.enabled = value

    def forward(
        self, x: Tensor, y: Tensor, *, features: Tensor | None = None, **kwargs: Any
    ) -> Mixed:
        """Mix a batch with the wrapped mixer (see :meth:`mixkit.Mixer.forward`)."""
        out: Mixed = self.mixer(x, y, features=features, **kwargs)
        return out

    def draw(
        self,
        x: Tensor,
        *,
        lam: float | None = None,
        features: Tensor | None = None,
        **kwargs: Any,
    ) -> MixParams:
        """The wrapped mixer's :meth:`~mixkit.Mixer.draw`."""
        params: MixParams = self.mixer.draw(x, lam=lam, features=features, **kwargs)
        return params

    def mix(
        self,
        x: Tensor,
        y: Tensor,
        params: MixParams,
        *,
        features: Tensor | None = None,
        **kwargs: Any,
    ) -> Mixed:
        """The wrapped mixer's :meth:`~mixkit.Mixer.mix`."""
        out: Mixed = self.mixer.mix(x, y, params, features=features, **kwargs)
        return out

    def set_epoch(self, epoch: int) -> None:
        self.mixer.set_epoch(epoch)

    def set_step(self, step: int) -> None:
        self.mixer.set_step(step)

    def report(self, value: float) -> None:
        self.mixer.report(value)
