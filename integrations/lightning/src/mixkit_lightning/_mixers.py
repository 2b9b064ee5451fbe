"""What the callback asks of a mixkit mixer, through the core's public API only.

A mixer is a module of the core's kinds: a :class:`mixkit.Mixer` (MixUp, CutMix, the seed
methods, MixupE as ``MixUp(term=MixupETerm())``), a :class:`mixkit.RandomChoice` or a
:class:`mixkit.MixerWrapper`. Each takes ``set_epoch`` / ``set_step`` / ``report``; the mixers
inside are read with :func:`mixkit.iter_mixers`.
"""

from __future__ import annotations

from typing import TypeAlias

from torch import nn

from mixkit import LossTerm, Mixer, MixerWrapper, RandomChoice, Schedule, iter_mixers, validation
from mixkit.validation import fail, mixer_repr

__all__ = [
    "MixerModule",
    "check_mixer",
    "has_smoothing",
    "is_weighted",
    "loss_terms",
    "mixer_repr",
    "reads_reports",
    "task_of",
]

#: what the callback drives
MixerModule: TypeAlias = Mixer | RandomChoice | MixerWrapper


def check_mixer(owner: str, mixer: object) -> MixerModule:
    """The mixer, typed for the callback (:func:`mixkit.validation.check_mixer`)."""
    checked: MixerModule = validation.check_mixer(owner, mixer)
    return checked


def task_of(owner: str, mixer: nn.Module) -> str:
    """The task of the mixer's targets (all its mixers must share one)."""
    tasks = {m.task for m in iter_mixers(mixer)}
    if len(tasks) > 1:
        fail(owner, "mixers of one task", f"tasks {sorted(tasks)}")
    return tasks.pop()


def is_weighted(mixer: nn.Module) -> bool:
    """True when a mixer inside gives per-sample loss weights (Local Mixup's)."""
    return any(m.weighting is not None for m in iter_mixers(mixer))


def has_smoothing(mixer: nn.Module) -> bool:
    """True when a mixer inside smooths its targets (``label_smoothing > 0``)."""
    return any(m.label_smoothing > 0 for m in iter_mixers(mixer))


def loss_terms(mixer: nn.Module) -> list[LossTerm]:
    """The extra loss terms of the mixers inside (MixupE's, RegMixup's, ...)."""
    return [m.term for m in iter_mixers(mixer) if m.term is not None]


def reads_reports(mixer: nn.Module) -> bool:
    """True when a schedule inside is driven by reported validation metrics: it overrides
    :meth:`mixkit.Schedule.report` (:class:`mixkit.AutoSwitch` does)."""
    return any(
        m.schedule is not None and type(m.schedule).report is not Schedule.report
        for m in iter_mixers(mixer)
    )
