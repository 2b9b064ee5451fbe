"""The one error format of mixkit, public so that integrations speak it too.

Every message starts with the owner (the class or function the user called), names the
argument, says what was expected and what came: ``"MixUp: expected alpha >= 0, got -1.0"``.
Values are raised as ``ValueError``, wrong types as ``TypeError``.

Example:
    >>> from mixkit.validation import check_float
    >>> check_float("MyMixer", "snr", -1.0, low=0.0)
    Traceback (most recent call last):
    ...
    ValueError: MyMixer: expected snr >= 0, got -1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NoReturn

import torch
from torch import Tensor

__all__ = [
    "check_batch",
    "check_bool",
    "check_choice",
    "check_float",
    "check_generator",
    "check_int",
    "check_mixer",
    "describe",
    "fail",
    "mixer_repr",
    "shape_str",
]


def fail(owner: str, expected: str, got: object, *, type_error: bool = False) -> NoReturn:
    """Raise the one error format of mixkit."""
    message = f"{owner}: expected {expected}, got {got}"
    raise (TypeError if type_error else ValueError)(message)


def shape_str(shape: Sequence[int]) -> str:
    """``(64, 3, 32, 32)``: a shape as users write it."""
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def describe(value: object) -> str:
    """Short description of a value for a message: tensors by dtype/shape/device."""
    if isinstance(value, Tensor):
        return f"a {value.dtype} tensor of shape {shape_str(value.shape)} on {value.device}"
    return f"{value!r} ({type(value).__name__})"


def check_float(
    owner: str,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """A real number in ``[low, high]`` (ends open on request); returns it as float.

    NaN is always refused; infinity only with ``allow_inf`` (and then still bounded).
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        fail(owner, f"{name} to be a real number", describe(value), type_error=True)
    v = float(value)
    if low is not None and high is not None:
        expected = (
            f"{name} in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        )
    elif low is not None:
        expected = f"{name} {'>' if low_open else '>='} {low:g}"
    elif high is not None:
        expected = f"{name} {'<' if high_open else '<='} {high:g}"
    else:
        expected = ""
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        fail(owner, f"a finite {expected}" if expected else f"{name} to be finite", v)
    if low is not None and (v < low or (low_open and v == low)):
        fail(owner, expected, v)
    if high is not None and (v > high or (high_open and v == high)):
        fail(owner, expected, v)
    return v


def check_int(owner: str, name: str, value: Any, *, low: int | None = None) -> int:
    """An integer (not bool), at least ``low``."""
    if isinstance(value, bool) or not isinstance(value, int):
        fail(owner, f"{name} to be an int", describe(value), type_error=True)
    if low is not None and value < low:
        fail(owner, f"{name} >= {low}", value)
    return int(value)


def check_bool(owner: str, name: str, value: Any) -> bool:
    """``value`` itself if it is a bool; else a TypeError naming ``owner`` and ``name``."""
    if not isinstance(value, bool):
        fail(owner, f"{name} to be a bool", describe(value), type_error=True)
    return value


def check_choice(owner: str, name: str, value: Any, choices: Sequence[str]) -> str:
    """One of a few string options (a ``Literal`` at runtime)."""
    if value not in choices:
        options = " | ".join(repr(c) for c in choices)
        fail(owner, f"{name} to be one of {options}", repr(value))
    return str(value)


def check_generator(owner: str, generator: Any) -> torch.Generator | None:
    """``None`` or a CPU ``torch.Generator``.

    mixkit draws its few parameter values (partner index, lam, boxes) on the CPU and then
    moves them to the data's device: that is what makes the same seed give the same draw on
    CPU and CUDA alike. A generator on another device would silently give another stream.
    """
    if generator is None:
        return None
    if not isinstance(generator, torch.Generator):
        fail(
            owner,
            "generator to be a torch.Generator or None (for a seed, pass "
            "torch.Generator().manual_seed(seed))",
            describe(generator),
            type_error=True,
        )
    if torch.device(generator.device).type != "cpu":
        fail(
            owner,
            "a CPU torch.Generator (parameters are drawn on the CPU so that one seed gives "
            "the same draw on every device)",
            f"a generator on {generator.device}",
        )
    return generator


def check_batch(owner: str, x: object) -> Tensor:
    """A non-empty floating-point ``(B, ...)`` tensor (integer data gets the advice to convert)."""
    if not isinstance(x, Tensor):
        fail(owner, "x to be a torch.Tensor", describe(x), type_error=True)
    if not x.is_floating_point():
        fail(
            owner,
            "x to be a floating-point tensor (convert integer images first, e.g. "
            "x.float() / 255 or torchvision's ToDtype(torch.float32, scale=True))",
            describe(x),
        )
    if x.ndim == 0:
        fail(owner, "x with a batch dimension (B, ...)", "a scalar tensor")
    if x.shape[0] == 0:
        fail(owner, "a non-empty batch", f"x of shape {shape_str(x.shape)}")
    return x


def check_mixer(owner: str, mixer: object) -> Any:
    """``mixer`` itself if it is a module of mixkit mixers (a ``Mixer``, a ``RandomChoice`` or a
    ``MixerWrapper`` holding at least one); else a TypeError naming what is accepted.

    What an integration calls on the mixer it is handed.
    """
    from mixkit._choice import RandomChoice
    from mixkit._mixer import Mixer, iter_mixers
    from mixkit._wrapper import MixerWrapper

    if isinstance(mixer, Mixer | RandomChoice | MixerWrapper) and iter_mixers(mixer):
        return mixer
    fail(
        owner,
        "mixer to be a module of mixkit mixers (a Mixer such as MixUp, CutMix or MixUpE, a "
        "RandomChoice, or a MixerWrapper)",
        describe(mixer),
        type_error=True,
    )


def mixer_repr(mixer: Any) -> str:
    """A mixer's repr on one line (``nn.Module`` prints a ``RandomChoice``'s children on
    several lines), for the reprs and messages of integrations."""
    from mixkit._choice import RandomChoice

    if isinstance(mixer, RandomChoice):
        children = ", ".join(mixer_repr(m) for m in mixer.mixers)
        return f"RandomChoice([{children}], p={[round(v, 4) for v in mixer.p]})"
    return " ".join(repr(mixer).split())
