"""The methods of the evaluation, each a recipe built from mixkit's public API.

Every method is one choice on mixkit's composition axes (docs/guides/composing.md); the
last one combines several in one mixer. Hyperparameters follow the papers' defaults where they
transfer, and are the same in every domain unless the domain says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

import mixkit
from mixkit_bench._train import Recipe

__all__ = ["METHODS", "NEEDS_VALIDATION", "Context", "build"]


@dataclass(frozen=True)
class Context:
    """What a method may know about its domain.

    Attributes:
        num_classes: number of classes.
        epochs: training length (for schedules).
        seed: seeds the mixer's generator.
        alpha: the domain's mixup alpha.
        local: Local Mixup's rule for this domain: ``{"eps": d}`` with ``d`` a quantile of the
            distances of the mixed representation on the training set, or ``{"knn": k}`` where
            that representation is learnt (pooled graph embeddings) and has no fixed scale.
        fit_x, fit_y: the training data GenLabel fits its class densities on, or None where
            the domain cannot give it.
        genlabel_features: GenLabel's frozen feature map (a low-dimensional view of the
            inputs: the Gaussian score costs O(B C D^2)), or None to use the inputs.
        base: the mixer class every method is built on (``mixkit.MixUp``, or an integration's
            domain mixer such as ``mixkit_audio.SpectrogramMixUp``); the methods add their
            strategy (pairing, weighting, relabelling, extra loss term, schedule) to it.
        base_kwargs: extra arguments of ``base`` (e.g. the spectrogram domain).
    """

    num_classes: int
    epochs: int
    seed: int
    alpha: float = 1.0
    local: dict[str, Any] = field(default_factory=lambda: {"eps": float("inf")})
    fit_x: Tensor | None = None
    fit_y: Tensor | None = None
    genlabel_features: Callable[[Tensor], Tensor] | None = None
    base: Callable[..., mixkit.Mixer] = mixkit.MixUp
    base_kwargs: dict[str, Any] = field(default_factory=dict)

    def mixer(self, *, alpha: float | None = None, **strategies: Any) -> mixkit.Mixer:
        """The domain's base mixer with the given strategies, seeded from the run's seed
        (``alpha``: the method's own, instead of the domain's)."""
        return self.base(
            alpha=self.alpha if alpha is None else alpha,
            num_classes=self.num_classes,
            generator=torch.Generator().manual_seed(10_000 + self.seed),
            **self.base_kwargs,
            **strategies,
        )


def _erm(ctx: Context) -> Recipe:
    return Recipe(None)


def _mixup(ctx: Context) -> Recipe:
    return Recipe(ctx.mixer())


def _cutmix(ctx: Context) -> Recipe:
    g = torch.Generator().manual_seed(10_000 + ctx.seed)
    return Recipe(mixkit.CutMix(alpha=1.0, num_classes=ctx.num_classes, generator=g))


def _local(ctx: Context) -> Recipe:
    # "weighted_mean": the average loss of the kept pairs, same scale as the others at any eps
    return Recipe(ctx.mixer(weighting=mixkit.LocalWeights(**ctx.local)), reduction="weighted_mean")


def _kmixup(ctx: Context) -> Recipe:
    return Recipe(ctx.mixer(pairing=mixkit.OTPairing(k=16)))


def _genlabel(ctx: Context) -> Recipe:
    if ctx.fit_x is None or ctx.fit_y is None:
        raise ValueError("GenLabel needs the domain's training data (fit_x, fit_y)")
    relabel = mixkit.GenLabel(density="gaussian", gamma=0.5, feature_fn=ctx.genlabel_features)
    relabel.fit(ctx.fit_x, ctx.fit_y, num_classes=ctx.num_classes)
    return Recipe(ctx.mixer(relabel=relabel))


def _mixupe(ctx: Context) -> Recipe:
    # MixupE is a loss term: the domain's mixer with MixupETerm in its term slot (with the
    # default base this is the preset mixkit.MixUpE); the training loop's
    # mixed.loss(logits, model=...) adds it
    return Recipe(ctx.mixer(term=mixkit.MixupETerm(eta=1e-3, tau=1.0, version=3)))


def _switch(ctx: Context) -> Recipe:
    return Recipe(ctx.mixer(schedule=mixkit.OffAfter(fraction=0.75, total_epochs=ctx.epochs)))


def _autoswitch(ctx: Context) -> Recipe:
    # switched off for good when the clean validation loss (smoothed) has not improved for a
    # tenth of the run; the loop reports it after every epoch
    patience = max(2, ctx.epochs // 10)
    schedule = mixkit.AutoSwitch(patience=patience, warmup=patience, smoothing=0.5)
    return Recipe(ctx.mixer(schedule=schedule), report_validation=True)


def _regmixup(ctx: Context) -> Recipe:
    # RegMixup is a loss term too: clean cross-entropy plus eta x the mixup loss, with the
    # authors' Beta(20, 20) in every domain (with the default base: the preset mixkit.RegMixup)
    return Recipe(ctx.mixer(alpha=20.0, term=mixkit.RegMixupTerm(eta=1.0)))


def _composed(ctx: Context) -> Recipe:
    mixer = ctx.mixer(
        pairing=mixkit.OTPairing(k=16),
        weighting=mixkit.LocalWeights(**ctx.local),
        schedule=mixkit.OffAfter(fraction=0.75, total_epochs=ctx.epochs),
    )
    return Recipe(mixer, reduction="weighted_mean")


METHODS: dict[str, Callable[[Context], Recipe]] = {
    "ERM": _erm,
    "MixUp": _mixup,
    "CutMix": _cutmix,
    "Local Mixup": _local,
    "k-mixup": _kmixup,
    "GenLabel": _genlabel,
    "MixupE": _mixupe,
    "MixUp, off at 75%": _switch,
    "k-mixup + Local + off": _composed,
    "RegMixup": _regmixup,
    "MixUp, AutoSwitch": _autoswitch,
}

#: the methods that need the clean validation loss reported after every epoch
NEEDS_VALIDATION = ("MixUp, AutoSwitch",)


def build(method: str, ctx: Context) -> Recipe:
    """The recipe of a named method."""
    if method not in METHODS:
        raise ValueError(f"expected a method among {list(METHODS)}, got {method!r}")
    return METHODS[method](ctx)


def distance_quantile(x: Tensor, q: float = 0.5, *, sample: int = 512, seed: int = 0) -> float:
    """A quantile of pairwise Euclidean distances between (a sample of) rows of ``x``."""
    g = torch.Generator().manual_seed(seed)
    flat = x.reshape(x.shape[0], -1).float()
    rows = flat[torch.randperm(flat.shape[0], generator=g)[:sample]]
    d = torch.cdist(rows, rows)
    upper = d[torch.triu(torch.ones_like(d, dtype=torch.bool), diagonal=1)]
    return float(torch.quantile(upper, q))


def without(methods: Sequence[str], *drop: str) -> tuple[str, ...]:
    """The method list minus some (a domain's unsupported ones)."""
    return tuple(m for m in methods if m not in drop)
