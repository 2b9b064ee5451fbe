"""Pick one mixer per batch (timm's ``switch_prob``, torchvision's ``RandomChoice``)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from mixkit._mixed import Mixed
from mixkit._mixer import Mixer
from mixkit._params import MixParams
from mixkit._state import Seeded, eager
from mixkit._wrapper import MixerGroup
from mixkit.validation import check_bool, describe, fail

__all__ = ["RandomChoice"]


class RandomChoice(Seeded, MixerGroup):
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
        super().__init__(generator)
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
            if not all(math.isfinite(v) and v >= 0 for v in probs) or not sum(probs) > 0:
                fail(owner, "p of finite non-negative values with a positive sum", list(p))
            total = sum(probs)
            probs = [v / total for v in probs]
        self.p = probs
        self.enabled = check_bool(owner, "enabled", enabled)

    def members(self) -> list[Mixer]:
        return [m for m in self.mixers if isinstance(m, Mixer)]

    def _choose(self) -> int:
        if not (self.enabled and self.training):
            return 0
        weights = torch.tensor(self.p, dtype=torch.float64)
        return int(torch.multinomial(weights, 1, generator=self._seeding.current()))

    @eager
    def draw(
        self,
        x: Any,
        *,
        lam: float | None = None,
        features: Tensor | None = None,
        **kwargs: Any,
    ) -> MixParams:
        """Choose a mixer and draw its parameters; ``params.choice`` records which.

        Extra keyword arguments (e.g. audio ``lengths``) go to the chosen mixer.
        """
        k = self._choose()
        params: MixParams = self.members()[k].draw(x, lam=lam, features=features, **kwargs)
        return params.replace(choice=k)

    @eager
    def mix(
        self,
        x: Any,
        y: Tensor | None,
        params: MixParams,
        *,
        features: Tensor | None = None,
        **kwargs: Any,
    ) -> Mixed:
        """Apply the parameters with the mixer that drew them."""
        members = self.members()
        choice = params.choice if isinstance(params, MixParams) else None
        if choice is None or choice not in range(len(members)):
            fail(
                "RandomChoice.mix",
                f"MixParams drawn by RandomChoice.draw (with .choice in [0, {len(members) - 1}])",
                describe(params),
            )
        out: Mixed = members[choice].mix(x, y, params, features=features, **kwargs)
        return out

    @eager
    def forward(
        self, x: Any, y: Tensor | None = None, *, features: Tensor | None = None, **kwargs: Any
    ) -> Mixed:
        """Mix with one mixer chosen at random (the first one's identity when off).

        Extra keyword arguments (``out``, audio ``lengths``, ...) go to the chosen mixer.
        """
        members = self.members()
        k = self._choose()
        chosen = members[k]
        out: Mixed = chosen(x, y, features=features, **kwargs)
        for m in members:  # one clock for all: step-based schedules stay in sync
            m.set_step(chosen.step)
        # record which mixer drew the batch
        return dataclasses.replace(out, params=out.params.replace(choice=k))

    def extra_repr(self) -> str:
        return f"p={[round(v, 4) for v in self.p]}"
