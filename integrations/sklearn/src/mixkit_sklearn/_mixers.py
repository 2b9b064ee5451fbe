"""The mixer an estimator trains with: a private, seeded, configured copy of the user's.

An estimator's ``mixer`` parameter is a template. ``fit`` never touches it (scikit-learn's
contract: parameters are not modified); it deep-copies it, then on the copy

* overrides ``alpha`` on every :class:`mixkit.Mixer` inside when the estimator's ``alpha`` is
  set (so ``GridSearchCV`` can search ``alpha`` whatever the method),
* sets the task and the number of classes the data has,
* re-seeds every ``torch.Generator`` inside from the estimator's ``random_state``
  (:func:`mixkit.reseed`) and rewinds the progress the schedules read,
* fits the relabellings that learn from the training set (GenLabel's densities) on it.

Any module made of mixkit mixers works: a :class:`mixkit.Mixer` (MixUp, CutMix, the presets of
the seed methods, MixUpE), a :class:`mixkit.RandomChoice`, a :class:`mixkit.MixerWrapper`, or
any module that holds one. Everything is read through the core's public introspection
(:func:`mixkit.iter_mixers`, each mixer's slots).
"""

from __future__ import annotations

import copy
import inspect

import numpy as np
import torch
from torch import Tensor, nn

import mixkit
from mixkit import Mixer, MixUp
from mixkit_sklearn._validation import describe, fail

__all__ = [
    "default_mixer",
    "draw_seed",
    "fit_relabels",
    "loss_terms",
    "prepare_mixer",
    "seeded_generator",
]

_SEED_HIGH = np.iinfo(np.int64).max


def draw_seed(rng: np.random.RandomState) -> int:
    """A 63-bit seed from an estimator's ``check_random_state(random_state)``."""
    return int(rng.randint(0, _SEED_HIGH, dtype=np.int64))


def seeded_generator(rng: np.random.RandomState) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded from ``rng``: how ``random_state`` reaches torch."""
    return torch.Generator().manual_seed(draw_seed(rng))


def default_mixer() -> MixUp:
    """The mixer used when an estimator's ``mixer`` is None: ``MixUp(alpha=1.0, mode="elem")``.

    One lam per row: for a dataset mixed once (or per step of a small batch), a single lam per
    batch would give every row of the batch the same mixing strength.
    """
    # an explicit generator: building the mixer must not draw from torch's global RNG
    return MixUp(alpha=1.0, mode="elem", generator=torch.Generator())


def loss_terms(mixer: nn.Module) -> list[mixkit.LossTerm]:
    """The extra loss terms of the mixers inside ``mixer`` (MixupE's ``MixupETerm``, ...)."""
    return [m.term for m in mixkit.iter_mixers(mixer) if m.term is not None]


def prepare_mixer(
    template: nn.Module | None,
    *,
    owner: str,
    alpha: float | None,
    task: str,
    num_classes: int | None,
    rng: np.random.RandomState,
    allow_extra_loss: bool,
) -> nn.Module:
    """A configured, seeded copy of ``template`` (or of :func:`default_mixer`) in train mode.

    Args:
        template: the estimator's ``mixer`` parameter (never modified).
        owner: the estimator's class name, for messages.
        alpha: when not None, the Beta concentration of every mixer inside.
        task: ``"multiclass"`` or ``"regression"``.
        num_classes: the number of classes of the training labels (classification).
        rng: the estimator's ``check_random_state(random_state)``; one seed is drawn from it
            and every generator inside the copy is seeded from that seed
            (``mixkit.reseed(copy, seed)``: the i-th distinct generator gets
            ``mixkit.derive_seed(seed, i)``).
        allow_extra_loss: False for estimators without a differentiable model of their own
            (the meta-estimators, the resampler): they never compute a mixkit loss, so a mixer
            with an extra loss term (MixupE's) is refused rather than its term dropped.

    Raises:
        TypeError: ``template`` holds no mixkit mixer.
        ValueError: a mixer configured for another task or another number of classes, an
            extra loss term where it cannot apply.
    """
    mixer = default_mixer() if template is None else copy.deepcopy(template)
    inner = mixkit.iter_mixers(mixer)
    if not inner:
        fail(
            owner,
            "mixer to be a mixkit mixer (MixUp, CutMix, RandomChoice, a seed-method preset such "
            "as LocalMixUp, KMixUp or MixUpE, or a module holding one) or None",
            describe(template),
            type_error=True,
        )
    terms = loss_terms(mixer)
    if not allow_extra_loss and terms:
        fail(
            owner,
            "a mixer without an extra loss term (its term adds to the training loss of a "
            "differentiable model: use MLPMixUpClassifier / MLPMixUpRegressor, or the mixer "
            "without term=, e.g. MixUp instead of MixUpE)",
            f"{type(template).__name__} with {', '.join(repr(t) for t in terms)}",
        )
    for m in inner:
        if alpha is not None:
            m.alpha = float(alpha)
        _set_task(owner, m, task, num_classes)
        m.set_epoch(0)
        m.set_step(0)
    mixkit.reseed(mixer, draw_seed(rng))
    return mixer.train()


def _set_task(owner: str, m: Mixer, task: str, num_classes: int | None) -> None:
    if task == "regression":
        if m.task == "regression":
            return
        if m.task == "multiclass" and m.relabel is None and m.label_smoothing == 0.0:
            m.task = "regression"  # the default task of a mixer; the targets say otherwise
            return
        fail(
            owner,
            "a mixer for regression targets (task='regression' or the default, without "
            "relabel or label_smoothing)",
            f"{m!r} with task={m.task!r}",
        )
    if m.task != "multiclass":
        fail(owner, "a mixer with task='multiclass' (a classifier's labels)", f"task={m.task!r}")
    if m.num_classes is not None and m.num_classes != num_classes:
        fail(
            owner,
            f"a mixer with num_classes=None or {num_classes} (the classes in y)",
            f"num_classes={m.num_classes}",
        )
    m.num_classes = num_classes


def fit_relabels(mixer: nn.Module, x: Tensor, y: Tensor) -> None:
    """Fit every relabelling inside ``mixer`` that learns from data (``relabel.fit(x, y)``).

    GenLabel fits its class-conditional densities this way, on the training set the estimator
    was given (so each cross-validation fold gets its own, without leakage). A ``fit`` that
    takes ``num_classes`` gets the mixer's, so a class missing from ``y`` keeps its column.
    """
    for m in mixkit.iter_mixers(mixer):
        fit = getattr(m.relabel, "fit", None)
        if not callable(fit):
            continue
        if "num_classes" in inspect.signature(fit).parameters:
            fit(x, y, num_classes=m.num_classes)
        else:
            fit(x, y)
