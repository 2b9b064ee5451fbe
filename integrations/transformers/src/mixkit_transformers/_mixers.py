"""What the Trainer pieces need to know about a mixkit mixer, found without knowing its class.

The callback works with every mixkit mixer: a :class:`mixkit.Mixer` (MixUp, CutMix, the seed
methods, which are mixers or strategies plugged into one), a :class:`mixkit.RandomChoice`, or a
MixupE wrapper (``mixkit.MixUpE``: a module wrapping a mixer, whose ``loss`` needs the model).
This module answers the few questions the callback asks about them (their task, the objects
that take the epoch / step, their generators) and derives the per-step seeds.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import io
import struct
from collections.abc import Mapping
from typing import Any, cast

import torch
from torch import nn

import mixkit
from mixkit import Mixer, RandomChoice
from mixkit._validation import describe, fail

__all__ = [
    "check_mixer",
    "decode_state",
    "derive_seed",
    "drivers",
    "encode_state",
    "generators",
    "has_schedule",
    "inner_mixers",
    "is_mixupe",
    "mixer_repr",
    "reseed",
    "task_of",
]

_SEED_MASK = (1 << 63) - 1


def is_mixupe(mixer: object) -> bool:
    """True for a MixupE wrapper: ``mixkit.MixUpE`` where the core has it, else any module that
    is not a plain mixer and has a callable ``loss`` (MixupE's ``loss(model_fn, mixed, ...)``)."""
    cls = getattr(mixkit, "MixUpE", None)
    if isinstance(cls, type):
        return isinstance(mixer, cls)
    return (
        isinstance(mixer, nn.Module)
        and not isinstance(mixer, Mixer | RandomChoice)
        and callable(getattr(mixer, "loss", None))
    )


def check_mixer(owner: str, mixer: object, *, allow_mixupe: bool = True) -> nn.Module:
    """The mixer, or a ``TypeError`` naming what is accepted."""
    if isinstance(mixer, Mixer | RandomChoice) or (allow_mixupe and is_mixupe(mixer)):
        return cast(nn.Module, mixer)
    accepted = "a mixkit Mixer or RandomChoice"
    if allow_mixupe:
        accepted = "a mixkit mixer (a Mixer such as MixUp or CutMix, RandomChoice, or MixUpE)"
    fail(owner, f"mixer to be {accepted}", describe(mixer), type_error=True)


def mixer_repr(mixer: nn.Module) -> str:
    """A one-line repr (``nn.Module`` prints a ``RandomChoice``'s children on several lines)."""
    if isinstance(mixer, RandomChoice):
        children = ", ".join(mixer_repr(m) for m in mixer.mixers)
        return f"RandomChoice([{children}], p={[round(v, 4) for v in mixer.p]})"
    return " ".join(repr(mixer).split())


def inner_mixers(mixer: nn.Module) -> list[Mixer]:
    """Every :class:`mixkit.Mixer` inside ``mixer`` (itself included), in module order."""
    return [m for m in mixer.modules() if isinstance(m, Mixer)]


def accepts_lengths(mixer: nn.Module) -> bool:
    """True when every mixer that may mix a batch takes ``lengths=`` (the audio mixers do):
    the callback then passes the valid lengths read off the attention mask."""
    mixers = inner_mixers(mixer)
    return bool(mixers) and all(
        "lengths" in inspect.signature(m.forward).parameters for m in mixers
    )


def task_of(mixer: nn.Module) -> str:
    """The task of the mixer's targets (``"multiclass"`` when it holds no plain mixer)."""
    tasks = {m.task for m in inner_mixers(mixer)}
    if len(tasks) > 1:
        fail(
            type(mixer).__name__,
            "mixers of one task",
            f"tasks {sorted(tasks)}",
        )
    return tasks.pop() if tasks else "multiclass"


def has_schedule(mixer: nn.Module) -> bool:
    return any(m.schedule is not None for m in inner_mixers(mixer))


def drivers(mixer: nn.Module) -> list[Any]:
    """The objects that take ``set_epoch`` / ``set_step`` / ``report``.

    The mixer itself when it has them (Mixer, RandomChoice, a MixUpE that forwards them);
    otherwise its outermost children that are mixers (a wrapper that does not forward them).
    """
    if all(callable(getattr(mixer, name, None)) for name in ("set_epoch", "set_step", "report")):
        return [mixer]
    return [m for m in mixer.children() if isinstance(m, Mixer | RandomChoice)]


def generators(mixer: nn.Module) -> list[torch.Generator]:
    """Every distinct ``generator`` attribute of the mixer's modules, in module order."""
    found: list[torch.Generator] = []
    for module in mixer.modules():
        gen = getattr(module, "generator", None)
        if isinstance(gen, torch.Generator) and all(gen is not g for g in found):
            found.append(gen)
    return found


def derive_seed(*parts: int) -> int:
    """A 63-bit seed from integers, stable across Python versions and processes (BLAKE2b)."""
    data = struct.pack(f"<{len(parts)}q", *(int(p) & _SEED_MASK for p in parts))
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") & _SEED_MASK


def reseed(mixer: nn.Module, base: int, rank: int, step: int, micro: int) -> None:
    """Seed every generator of ``mixer`` for one micro-batch.

    The draws of a micro-batch are then a pure function of ``(base, rank, step, micro)``: the
    same after a resume, with any number of DataLoader workers, on every device. (The hooks
    inline this with the generators looked up once.)
    """
    for i, gen in enumerate(generators(mixer)):
        gen.manual_seed(derive_seed(base, rank, step, micro, i))


def encode_state(state: Mapping[str, Any]) -> str:
    """A ``state_dict`` as ASCII text (``torch.save`` then base64), for ``trainer_state.json``."""
    buffer = io.BytesIO()
    torch.save(dict(state), buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_state(text: str) -> dict[str, Any]:
    """Inverse of :func:`encode_state` (``weights_only`` loading: tensors and plain values)."""
    loaded = torch.load(io.BytesIO(base64.b64decode(text)), weights_only=True)
    return cast(dict[str, Any], loaded)
