"""What the Trainer pieces ask of a mixkit mixer, through the core's public API only.

Every mixer is a module of the core's kinds: a :class:`mixkit.Mixer` (MixUp, CutMix, the seed
methods, MixupE as ``MixUp(term=MixupETerm())``), a :class:`mixkit.RandomChoice` or a
:class:`mixkit.MixerWrapper`. Each takes ``set_epoch`` / ``set_step`` / ``report``; the
mixers inside are read with :func:`mixkit.iter_mixers`.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from typing import Any, TypeAlias, cast

import torch
from torch import nn

from mixkit import Mixer, MixerWrapper, RandomChoice, iter_mixers, validation
from mixkit.validation import fail, mixer_repr

__all__ = [
    "MixerModule",
    "accepts_lengths",
    "check_mixer",
    "decode_state",
    "encode_state",
    "has_schedule",
    "is_weighted",
    "measures",
    "mixer_repr",
    "task_of",
]

#: what the callback and the collator drive
MixerModule: TypeAlias = Mixer | RandomChoice | MixerWrapper


def check_mixer(owner: str, mixer: object) -> MixerModule:
    """The mixer, typed for the callback (:func:`mixkit.validation.check_mixer`)."""
    checked: MixerModule = validation.check_mixer(owner, mixer)
    return checked


def accepts_lengths(mixer: nn.Module) -> bool:
    """True when every mixer inside takes ``lengths=`` (its input operation names it, as the
    audio mixers' do): the callback then passes the valid lengths read off the attention mask."""
    mixers = iter_mixers(mixer)
    return bool(mixers) and all("lengths" in m.op.arguments for m in mixers)


def task_of(mixer: nn.Module) -> str:
    """The task of the mixer's targets (all its mixers must share one)."""
    tasks = {m.task for m in iter_mixers(mixer)}
    if len(tasks) > 1:
        fail(type(mixer).__name__, "mixers of one task", f"tasks {sorted(tasks)}")
    return tasks.pop() if tasks else "multiclass"


def has_schedule(mixer: nn.Module) -> bool:
    return any(m.schedule is not None for m in iter_mixers(mixer))


def is_weighted(mixer: nn.Module) -> bool:
    return any(m.weighting is not None for m in iter_mixers(mixer))


def measures(mixer: nn.Module) -> bool:
    """True when a mixer inside reads features: a pairing that measures distances (k-mixup,
    Local Mixup), a weighting or a relabelling."""
    return any(
        m.pairing.needs_features or m.weighting is not None or m.relabel is not None
        for m in iter_mixers(mixer)
    )


def encode_state(state: Mapping[str, Any]) -> str:
    """A ``state_dict`` as ASCII text (``torch.save`` then base64), for ``trainer_state.json``."""
    buffer = io.BytesIO()
    torch.save(dict(state), buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_state(text: str) -> dict[str, Any]:
    """Inverse of :func:`encode_state` (``weights_only`` loading: tensors and plain values)."""
    loaded = torch.load(io.BytesIO(base64.b64decode(text)), weights_only=True)
    return cast(dict[str, Any], loaded)
