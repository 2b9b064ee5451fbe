"""The result of a mixer call, and the loss that turns it plus logits into a training loss."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as TF
from torch import Tensor

from mixkit import functional as F
from mixkit._params import MixParams
from mixkit._validation import check_choice, fail, shape_str

__all__ = ["Mixed", "mixed_loss"]

Form = Literal["auto", "soft", "pair"]
Reduction = Literal["mean", "weighted_mean", "sum", "none"]
FORMS: tuple[str, ...] = ("auto", "soft", "pair")
REDUCTIONS: tuple[str, ...] = ("mean", "weighted_mean", "sum", "none")


@dataclass(frozen=True, eq=False)
class Mixed:
    """One mixed batch: inputs, targets in two views, weights and what was drawn.

    Attributes:
        inputs: the mixed batch (same shape, dtype and device as the input). When the mixer is
            disabled, in eval mode or switched off by its schedule, this IS the input object.
        targets: dense targets on the input's device: float32 ``(B, C)`` mixed (and
            label-smoothed, and relabelled if the mixer relabels) for classification; the mixed
            values for regression.
        y_a: the labels as given (``(B,)`` int or ``(B, C)`` / regression values).
        y_b: the partners' labels, ``y_a[index]``. With ``lam`` this is the pair view.
        lam: ``(B,)`` float32 weight of the original sample (after CutMix's area correction).
        index: ``(B,)`` int64 partner of each sample.
        weights: ``(B,)`` float32 per-sample loss weights (all ones unless a weighting is used).
        params: the drawn :class:`mixkit.MixParams` (on the CPU).
        source: the unmixed input batch (the caller's tensor, never modified).
        task: ``"multiclass"``, ``"multilabel"`` or ``"regression"``.
        label_smoothing: the smoothing already inside ``targets`` (the pair-form loss applies the
            same amount, once).
        applied: False when nothing was mixed (identity result).
        relabelled: True when ``targets`` is not a mix of ``y_a`` and ``y_b`` (e.g. GenLabel), so
            the pair form does not apply.
    """

    inputs: Any
    targets: Tensor
    y_a: Tensor
    y_b: Tensor
    lam: Tensor
    index: Tensor
    weights: Tensor
    params: MixParams
    source: Any
    task: str = "multiclass"
    label_smoothing: float = 0.0
    applied: bool = True
    relabelled: bool = False

    @property
    def batch_size(self) -> int:
        return int(self.index.shape[0])

    def loss(self, logits: Tensor, *, form: Form = "auto", reduction: Reduction = "mean") -> Tensor:
        """The training loss for ``logits``; see :func:`mixkit.mixed_loss`."""
        return mixed_loss(logits, self, form=form, reduction=reduction)

    def __repr__(self) -> str:
        shape = tuple(self.inputs.shape) if isinstance(self.inputs, Tensor) else "?"
        return (
            f"Mixed(batch_size={self.batch_size}, inputs_shape={shape}, "
            f"targets_shape={tuple(self.targets.shape)}, task={self.task!r}, "
            f"applied={self.applied})"
        )


def _pair_form_applies(mixed: Mixed) -> bool:
    return (
        mixed.task == "multiclass"
        and not mixed.relabelled
        and not mixed.y_a.is_floating_point()
        and mixed.y_a.ndim == 1
    )


def mixed_loss(
    logits: Tensor, mixed: Mixed, *, form: Form = "auto", reduction: Reduction = "mean"
) -> Tensor:
    r"""Training loss of a mixed batch.

    * multiclass: cross-entropy against the mixed targets. ``form="soft"`` uses the dense
      targets; ``form="pair"`` computes
      :math:`\lambda\,\mathrm{CE}(f, y_a) + (1-\lambda)\,\mathrm{CE}(f, y_b)`, which is equal
      (cross-entropy is linear in the target) and avoids PyTorch's slow soft-target path;
      ``"auto"`` takes the pair form whenever it applies (integer labels, no relabelling).
    * multilabel: binary cross-entropy with logits against the mixed (or union) targets, mean
      over classes.
    * regression: squared error against the mixed targets, mean over output dimensions.

    Per-sample weights (Local Mixup) multiply each sample's loss. ``reduction``:

    * ``"mean"`` (default): :math:`\sum_i w_i \ell_i / B`, the paper's expectation;
    * ``"weighted_mean"``: :math:`\sum_i w_i \ell_i / \max(\sum_i w_i, \epsilon)`;
    * ``"sum"``: :math:`\sum_i w_i \ell_i` (divide by your own count, e.g. under gradient
      accumulation);
    * ``"none"``: the ``(B,)`` weighted per-sample losses.

    Label smoothing is already inside ``mixed`` (``mixed.label_smoothing``): do not smooth
    again in your own criterion.

    Args:
        logits: ``(B, C)`` model outputs (``(B,)`` or ``(B, K)`` for regression).
        mixed: the result of a mixer call.
        form: ``"auto"``, ``"soft"`` or ``"pair"``.
        reduction: see above.

    Returns:
        A float32 scalar (or ``(B,)`` for ``reduction="none"``).

    Raises:
        ValueError: logits of the wrong shape, ``form="pair"`` where it does not apply, an
            unknown form or reduction.
    """
    owner = "mixed_loss"
    check_choice(owner, "form", form, FORMS)
    check_choice(owner, "reduction", reduction, REDUCTIONS)
    if not isinstance(logits, Tensor):
        fail(owner, "logits to be a torch.Tensor", type(logits).__name__, type_error=True)
    expected = tuple(mixed.targets.shape)
    if tuple(logits.shape) != expected:
        fail(owner, f"logits of shape {shape_str(expected)}", f"{shape_str(logits.shape)}")
    if form == "pair" and not _pair_form_applies(mixed):
        fail(
            owner,
            "form='pair' only for multiclass integer labels that were not relabelled "
            "(use form='soft')",
            f"task={mixed.task!r}, relabelled={mixed.relabelled}, y_a {mixed.y_a.dtype}",
        )

    if mixed.task == "multiclass":
        if form == "soft" or not _pair_form_applies(mixed):
            per_sample = F.soft_cross_entropy(logits, mixed.targets)
        else:
            per_sample = F.pair_cross_entropy(
                logits, mixed.y_a, mixed.y_b, mixed.lam, label_smoothing=mixed.label_smoothing
            )
    elif mixed.task == "multilabel":
        per_sample = TF.binary_cross_entropy_with_logits(
            logits.float(), mixed.targets.float(), reduction="none"
        ).mean(dim=1)
    else:
        err = (logits.float() - mixed.targets.float()) ** 2
        per_sample = err.reshape(err.shape[0], -1).mean(dim=1)

    weighted = per_sample * mixed.weights.to(per_sample.dtype)
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean":
        return weighted.sum() / weighted.shape[0]
    return weighted.sum() / mixed.weights.sum().clamp_min(torch.finfo(torch.float32).eps)
