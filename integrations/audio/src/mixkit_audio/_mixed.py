"""The result of an audio mixer: a :class:`mixkit.Mixed` with lengths, masks and frame targets."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from torch import Tensor

from mixkit import Mixed
from mixkit import functional as core
from mixkit.functional import REDUCTIONS
from mixkit.validation import check_choice, fail, shape_str

__all__ = ["AudioMixed"]


@dataclass(frozen=True, eq=False, kw_only=True)
class AudioMixed(Mixed):
    """One mixed audio batch: everything of :class:`mixkit.Mixed`, plus lengths and masks.

    Attributes:
        lengths: ``(B,)`` valid length of each mixed row after the length policy, in the
            caller's convention: int64 counts when absolute lengths came in, relative values in
            ``[0, 1]`` when relative ones did (SpeechBrain). All rows full when none came in.
        mask: ``(B, T)`` bool, True on valid steps (Hugging Face ``attention_mask``
            semantics); :attr:`padding_mask` is its negation (PyTorch ``key_padding_mask``).
        frame_targets: ``(B, F, C)`` float32 frame-level targets mixed consistently with the
            lengths (None when no frame targets were given).
        frame_mask: ``(B, F)`` bool, valid frames of each mixed row (None without frame
            targets).

    Everything else (``inputs``, ``targets``, ``y_a``, ``y_b``, ``lam``, ``index``,
    ``weights``, ``params``, ``source``, ...) is as in :class:`mixkit.Mixed`; ``params`` is a
    :class:`mixkit_audio.AudioParams` when something was mixed, and ``source`` is the unmixed
    batch with its padding set to silence.
    """

    lengths: Tensor
    mask: Tensor
    frame_targets: Tensor | None = None
    frame_mask: Tensor | None = None

    @classmethod
    def extend(cls, base: Mixed, **audio: Any) -> AudioMixed:
        """An ``AudioMixed`` holding every field of ``base`` plus the audio ones."""
        return cls(**{f.name: getattr(base, f.name) for f in fields(Mixed)}, **audio)

    @property
    def padding_mask(self) -> Tensor:
        """``(B, T)`` bool, True on padded steps (``~mask``)."""
        return ~self.mask

    def frame_loss(
        self,
        logits: Tensor,
        *,
        reduction: str = "mean",
        num_samples: Tensor | float | None = None,
    ) -> Tensor:
        r"""Frame-level loss against :attr:`frame_targets`, over valid frames only.

        Per frame: binary cross-entropy with logits averaged over classes for
        ``task="multilabel"`` (sound event detection), soft cross-entropy for
        ``task="multiclass"`` (:mod:`mixkit.functional`'s kernels). Each row's loss is the mean
        over its valid frames (0 for a row without any), weighted and reduced by
        :func:`mixkit.functional.reduce_loss`, as :meth:`loss` is.

        Args:
            logits: ``(B, F, C)`` frame logits.
            reduction: ``"mean"``, ``"weighted_mean"``, ``"sum"`` or ``"none"`` (``(B,)``).
            num_samples: samples the mean is over (default B; the accumulated batch under
                gradient accumulation).

        Raises:
            ValueError: no frame targets, logits of another shape, unknown reduction.
        """
        owner = "AudioMixed.frame_loss"
        check_choice(owner, "reduction", reduction, REDUCTIONS)
        if self.frame_targets is None or self.frame_mask is None:
            fail(owner, "a batch mixed with frame_targets=", "no frame targets")
        if not isinstance(logits, Tensor):
            fail(owner, "logits to be a torch.Tensor", type(logits).__name__, type_error=True)
        expected = tuple(self.frame_targets.shape)
        if tuple(logits.shape) != expected:
            fail(owner, f"logits of shape {shape_str(expected)}", shape_str(logits.shape))
        batch, frames, classes = expected
        flat_logits = logits.reshape(batch * frames, classes)
        flat_targets = self.frame_targets.reshape(batch * frames, classes)
        if self.task == "multilabel":
            per_frame = core.binary_cross_entropy(flat_logits, flat_targets)
        else:
            per_frame = core.soft_cross_entropy(flat_logits, flat_targets)
        per_frame = per_frame.reshape(batch, frames)
        valid = self.frame_mask.to(per_frame.dtype)
        per_row = (per_frame * valid).sum(dim=1) / valid.sum(dim=1).clamp_min(1.0)
        # checked against REDUCTIONS above (mixkit.functional exports no Literal alias of them)
        how: Any = reduction
        return core.reduce_loss(per_row, self.weights, how, num_samples=num_samples)

    def __repr__(self) -> str:
        shape = tuple(self.inputs.shape) if isinstance(self.inputs, Tensor) else "?"
        frames = None if self.frame_targets is None else tuple(self.frame_targets.shape)
        return (
            f"AudioMixed(batch_size={self.batch_size}, inputs_shape={shape}, "
            f"targets_shape={tuple(self.targets.shape)}, lengths={self.lengths.tolist()}, "
            f"frame_targets_shape={frames}, task={self.task!r}, applied={self.applied})"
        )
