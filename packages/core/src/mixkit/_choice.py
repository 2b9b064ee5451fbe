"""Pick one mixer per batch (timm's ``switch_prob``, torchvision's ``RandomChoice``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from mixkit._mixed import Mixed
from mixkit._mixer import _SEED_MASK, Mixer
from mixkit._params import MixParams
from mixkit._validation import check_bool, check_generator, describe, fail

__all__ = ["RandomChoice"]


class RandomChoice(nn.Module):
    """Apply one of several mixers, chosen at random for each batch.

    Example: MixUp or CutMix with equal odds, the recipe of timm's ``switch_prob=0.5``::

        mixer = RandomChoice([MixUp(alpha=0.8, num_classes=1000),
                              CutMix(alpha=1.0, num_classes=1000)])

    Args:
        mixers: the candidate :class:`mixkit.Mixer` objects (at least one).
        p: probabilities of each (non-negative, normalised); default uniform.
        generator: CPU ``torch.Generator`` for the choice (each mixer keeps its own for its
            draws).
        enabled: when False, every mixer is disabled: the identity (the first mixer's
            identity result, so an integration's result type is kept).

    ``set_epoch`` / ``set_step`` / ``report`` / ``train`` / ``eval`` reach every mixer;
    ``state_dict`` holds the choice generator and every mixer's state.
    """

    def __init__(
        self,
        mixers: Sequence[Mixer],
        *,
        p: Sequence[float] | None = None,
        generator: torch.Generator | None = None,
        enabled: bool = True,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if isinstance(mixers, Mixer) or not isinstance(mixers, Sequence) or not mixers:
            fail(
                owner,
                "a non-empty sequence of mixkit mixers",
                describe(mixers),
                type_error=not isinstance(mixers, Sequence),
            )
        for m in mixers:
            if not isinstance(m, Mixer):
                fail(
                    owner,
                    "every element of mixers to be a mixkit Mixer",
                    describe(m),
                    type_error=True,
                )
        self.mixers = nn.ModuleList(mixers)
        if p is None:
            probs = [1.0 / len(mixers)] * len(mixers)
        else:
            probs = [float(v) for v in p]
            if len(probs) != len(mixers):
                fail(
                    owner,
                    f"p with one probability per mixer ({len(mixers)})",
                    f"{len(probs)} values",
                )
            if min(probs) < 0 or not sum(probs) > 0:
                fail(owner, "p of non-negative values with a positive sum", list(p))
            total = sum(probs)
            probs = [v / total for v in probs]
        self.p = probs
        self._enabled = True
        self.enabled = check_bool(owner, "enabled", enabled)
        gen = check_generator(owner, generator)
        if gen is None:
            seed = int(torch.empty((), dtype=torch.int64).random_().item()) & _SEED_MASK
            gen = torch.Generator().manual_seed(seed)
        self.generator = gen

    @property
    def enabled(self) -> bool:
        """Off means every mixer is off (setting it sets theirs): exactly the identity."""
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled = check_bool(type(self).__name__, "enabled", value)
        for m in self._children():
            m.enabled = self._enabled

    def set_epoch(self, epoch: int) -> None:
        for m in self._children():
            m.set_epoch(epoch)

    def set_step(self, step: int) -> None:
        for m in self._children():
            m.set_step(step)

    def report(self, value: float) -> None:
        for m in self._children():
            m.report(value)

    def _children(self) -> list[Mixer]:
        return [m for m in self.mixers if isinstance(m, Mixer)]

    def get_extra_state(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def set_extra_state(self, state: Mapping[str, Any]) -> None:
        self.generator.set_state(state["generator"])

    def _choose(self) -> int:
        weights = torch.tensor(self.p, dtype=torch.float64)
        return int(torch.multinomial(weights, 1, generator=self.generator))

    def draw(
        self,
        x: Tensor,
        *,
        lam: float | None = None,
        features: Tensor | None = None,
        **kwargs: Any,
    ) -> MixParams:
        """Choose a mixer and draw its parameters; ``params.choice`` records which.

        Extra keyword arguments (e.g. audio ``lengths``) go to the chosen mixer.
        """
        children = self._children()
        k = self._choose() if self.enabled and self.training else 0
        return children[k].draw(x, lam=lam, features=features, **kwargs).replace(choice=k)

    def mix(
        self,
        x: Tensor,
        y: Tensor,
        params: MixParams,
        *,
        features: Tensor | None = None,
        **kwargs: Any,
    ) -> Mixed:
        """Apply the parameters with the mixer that drew them."""
        if not isinstance(params, MixParams) or params.choice is None:
            fail(
                "RandomChoice.mix",
                "MixParams drawn by RandomChoice.draw (with .choice)",
                describe(params),
            )
        out: Mixed = self._children()[params.choice].mix(x, y, params, features=features, **kwargs)
        return out

    def forward(
        self, x: Tensor, y: Tensor, *, features: Tensor | None = None, **kwargs: Any
    ) -> Mixed:
        """Mix with one mixer chosen at random (the first one's identity when off).

        Extra keyword arguments (e.g. audio ``lengths``) go to the chosen mixer.
        """
        children = self._children()
        k = self._choose() if self.enabled and self.training else 0
        chosen = children[k]
        out: Mixed = chosen(x, y, features=features, **kwargs)
        for m in children:  # one clock for all: step-based schedules stay in sync
            m.set_step(chosen.step)
        # record which mixer drew the batch (MixupE reads that mixer's alpha)
        return dataclasses.replace(out, params=out.params.replace(choice=k))

    def extra_repr(self) -> str:
        return f"p={[round(v, 4) for v in self.p]}"
