"""The audio checks of mixkit-audio, in the core's one error format.

Every message reads ``"Owner: expected X, got Y"`` (:func:`mixkit.validation.fail`): it names
the class or function the user called, the argument, what was expected and what came.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mixkit.validation import describe, fail, shape_str

__all__ = ["Lengths", "check_audio", "check_frame_targets", "check_lengths", "check_out"]


@dataclass(frozen=True)
class Lengths:
    """Validated lengths of a padded batch.

    Attributes:
        absolute: ``(B,)`` int64 on the CPU, valid samples (or frames) of each row, in ``[0, T]``.
        relative: True when the caller gave relative lengths in ``[0, 1]`` (SpeechBrain's
            convention); results are then reported relative too.
        size: ``T``, the padded length of the batch.
        given: the caller's tensor (None when no lengths were given).
    """

    absolute: Tensor
    relative: bool
    size: int
    given: Tensor | None

    @property
    def padded(self) -> bool:
        """True when at least one row is shorter than the batch."""
        return bool((self.absolute < self.size).any())

    def report(self, absolute: Tensor, device: torch.device) -> Tensor:
        """Lengths ``absolute`` (CPU int64) in the caller's convention, on ``device``."""
        if self.relative:
            dtype = self.given.dtype if self.given is not None else torch.float32
            return (absolute.to(torch.float64) / self.size).to(device=device, dtype=dtype)
        return absolute.to(device)


def check_audio(owner: str, x: object, ndims: tuple[int, ...], layout: str) -> Tensor:
    """A non-empty floating batch with time on the last axis and one of ``ndims`` dimensions."""
    if not isinstance(x, Tensor):
        fail(owner, "x to be a torch.Tensor", describe(x), type_error=True)
    if not x.is_floating_point():
        fail(
            owner,
            "x to be a floating-point tensor (convert PCM first, e.g. int16 samples with "
            "x.float() / 32768)",
            describe(x),
        )
    if x.ndim not in ndims:
        fail(owner, f"x of shape {layout}", f"shape {shape_str(x.shape)}")
    if x.shape[0] == 0:
        fail(owner, "a non-empty batch", f"x of shape {shape_str(x.shape)}")
    if x.shape[-1] == 0:
        fail(
            owner,
            "a non-empty time axis (the last dimension of x)",
            f"x of shape {shape_str(x.shape)}",
        )
    return x


def check_lengths(owner: str, lengths: object, x: Tensor) -> Lengths:
    """Validate ``lengths`` of the rows of ``x`` (time on the last axis).

    Integer tensors are absolute counts in ``[0, T]``; floating tensors are relative lengths in
    ``[0, 1]`` (SpeechBrain's convention, ``round(rel * T)`` samples). ``None`` means every row
    is full. One host synchronisation (the range check).
    """
    size = int(x.shape[-1])
    batch = int(x.shape[0])
    if lengths is None:
        return Lengths(torch.full((batch,), size, dtype=torch.int64), False, size, None)
    if not isinstance(lengths, Tensor):
        fail(
            owner,
            "lengths to be a torch.Tensor of shape (B,) or None",
            describe(lengths),
            type_error=True,
        )
    if lengths.dtype == torch.bool or lengths.is_complex():
        fail(
            owner,
            "lengths as an integer tensor (absolute) or a floating tensor (relative, in [0, 1])",
            describe(lengths),
        )
    if tuple(lengths.shape) != (batch,):
        fail(
            owner,
            f"lengths of shape ({batch},) (one per row of x, shape {shape_str(x.shape)})",
            f"lengths of shape {shape_str(lengths.shape)}",
        )
    if lengths.device != x.device:
        fail(owner, f"lengths on the device of x ({x.device})", f"lengths on {lengths.device}")
    values = lengths.detach().cpu()
    if values.is_floating_point():
        low, high = (float(v) for v in torch.aminmax(values.double()))
        if not (low >= 0.0 and high <= 1.0):  # also NaN
            bad = high if not high <= 1.0 else low
            fail(
                owner,
                "relative lengths (a floating tensor) in [0, 1]; pass absolute lengths as an "
                "integer tensor",
                f"a value of {bad:g}",
            )
        absolute = torch.round(values.double() * size).to(torch.int64)
        return Lengths(absolute, True, size, lengths)
    absolute = values.to(torch.int64)
    low_i, high_i = (int(v) for v in torch.aminmax(absolute))
    if high_i > size:
        fail(
            owner,
            f"lengths <= {size} (the time axis of x, shape {shape_str(x.shape)})",
            f"a length of {high_i}",
        )
    if low_i < 0:
        fail(owner, "lengths >= 0", f"a length of {low_i}")
    return Lengths(absolute, False, size, lengths)


def check_frame_targets(owner: str, frame_targets: object, x: Tensor, task: str) -> Tensor | None:
    """``None`` or ``(B, F, C)`` frame targets in ``[0, 1]``, returned as float32."""
    if frame_targets is None:
        return None
    if not isinstance(frame_targets, Tensor):
        fail(
            owner,
            "frame_targets to be a torch.Tensor of shape (B, frames, C) or None",
            describe(frame_targets),
            type_error=True,
        )
    batch = int(x.shape[0])
    if frame_targets.ndim != 3 or frame_targets.shape[0] != batch:
        fail(
            owner,
            f"frame_targets of shape ({batch}, frames, C) (B = the batch size of x)",
            f"frame_targets of shape {shape_str(frame_targets.shape)}",
        )
    if frame_targets.device != x.device:
        fail(
            owner,
            f"frame_targets on the device of x ({x.device})",
            f"frame_targets on {frame_targets.device}",
        )
    if task == "regression":
        fail(
            owner, "frame_targets only with task='multiclass' or 'multilabel'", "task='regression'"
        )
    targets = frame_targets.to(torch.float32)
    if targets.numel():
        low, high = (float(v) for v in torch.aminmax(targets))
        if not (low >= 0.0 and high <= 1.0):
            fail(owner, "frame_targets with values in [0, 1]", f"values in [{low:g}, {high:g}]")
    return targets


def check_out(owner: str, out: object, x: Tensor, *sources: Tensor) -> Tensor:
    """``out=`` for a mixed batch like ``x``: contiguous, x's layout, none of the sources' memory.

    The caller owns ``out``; writing into it is not differentiable, so it is refused when ``x``
    needs gradients (as :func:`mixkit.functional.mix` refuses it).
    """
    if not isinstance(out, Tensor):
        fail(owner, "out to be a torch.Tensor or None", describe(out), type_error=True)
    if out.shape != x.shape or out.dtype != x.dtype or out.device != x.device:
        fail(owner, f"out like x ({describe(x)})", describe(out))
    if not out.is_contiguous():
        fail(owner, "a contiguous out", f"out with strides {out.stride()}")
    pointer = out.untyped_storage().data_ptr()
    if any(pointer == s.untyped_storage().data_ptr() for s in (x, *sources)):
        fail(owner, "out not to share memory with x", "out on the storage of x")
    if (x.requires_grad and torch.is_grad_enabled()) or out.requires_grad:
        fail(
            owner,
            "out=None when x requires grad (writing into out is not differentiable)",
            "an out tensor",
        )
    if torch.is_inference(out) and not torch.is_inference_mode_enabled():
        fail(owner, "out made outside torch.inference_mode()", "an inference tensor")
    return out
