"""Modules made of mixers: the shared delegation, and the base of wrappers around one mixer.

:class:`MixerWrapper` is public: an integration that adds checks or a calling convention around
any mixer (``mixkit_pyg.PooledMix``) subclasses it, the way a third party would.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from mixkit._mixed import Mixed
from mixkit._params import MixParams

__all__ = ["MixerGroup", "MixerWrapper"]


class MixerGroup(nn.Module):
    """Progress, reports and the switch reach every mixer of the group (:meth:`members`)."""

    def members(self) -> list[Any]:
        """The mixers this module drives (overridden by subclasses)."""
        return []

    @property
    def enabled(self) -> bool:
        """True when every member is enabled; setting it sets theirs."""
        return all(bool(m.enabled) for m in self.members())

    @enabled.setter
    def enabled(self, value: bool) -> None:
        for m in self.members():
            m.enabled = value

    def set_epoch(self, epoch: int) -> None:
        for m in self.members():
            m.set_epoch(epoch)

    def set_step(self, step: int) -> None:
        for m in self.members():
            m.set_step(step)

    def report(self, value: float) -> None:
        for m in self.members():
            m.report(value)


class MixerWrapper(MixerGroup):
    """A module around one mixer (``self.mixer``) that behaves like it.

    ``forward`` / ``draw`` / ``mix`` and the group methods (epoch, step, reports, ``enabled``)
    go to the wrapped mixer; subclasses add what they are for (checks on what they are given,
    a calling convention). Being a submodule, the wrapped mixer follows ``train()`` / ``eval()``
    and travels in ``state_dict()``. Extra keyword arguments reach the wrapped mixer.

    Args:
        mixer: any mixkit mixer (a :class:`mixkit.Mixer`, :class:`mixkit.RandomChoice`, ...).
    """

    mixer: Any  # a mixkit mixer (nn.Module attribute typing cannot say more)

    def __init__(self, mixer: nn.Module) -> None:
        super().__init__()
        self.mixer = mixer

    def members(self) -> list[Any]:
        return [self.mixer]

    def forward(
        self, x: Any, y: Tensor | None = None, *, features: Tensor | None = None, **kwargs: Any
    ) -> Mixed:
        """Mix a batch with the wrapped mixer (see :meth:`mixkit.Mixer.forward`)."""
        out: Mixed = self.mixer(x, y, features=features, **kwargs)
        return out

    def draw(
        self, x: Any, *, lam: float | None = None, features: Tensor | None = None, **kwargs: Any
    ) -> MixParams:
        """The wrapped mixer's :meth:`~mixkit.Mixer.draw`."""
        params: MixParams = self.mixer.draw(x, lam=lam, features=features, **kwargs)
        return params

    def mix(
        self,
        x: Any,
        y: Tensor | None,
        params: MixParams,
        *,
        features: Tensor | None = None,
        **kwargs: Any,
    ) -> Mixed:
        """The wrapped mixer's :meth:`~mixkit.Mixer.mix`."""
        out: Mixed = self.mixer.mix(x, y, params, features=features, **kwargs)
        return out

    def extra_repr(self) -> str:
        return ""
