"""The result of a mixer call, and the loss that turns it plus logits into a training loss."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor

from mixkit._losses import (
    FORMS,
    REDUCTIONS,
    Form,
    Reduction,
    binary_cross_entropy,
    check_logits,
    pair_cross_entropy,
    reduce_loss,
    soft_cross_entropy,
    squared_error,
)
from mixkit._params import MixParams
from mixkit._terms import LossTerm, Model
from mixkit.validation import check_choice, describe, fail

__all__ = ["Mixed", "mixed_loss"]


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
        alpha: the Beta concentration lam was drawn with (after the schedule), None when
            nothing was drawn.
        term: the mixer's extra loss term (:class:`mixkit.LossTerm`, e.g. MixupE's), applied by
            :meth:`loss`, or None.
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
    alpha: float | None = None
    term: LossTerm | None = None

    @property
    def batch_size(self) -> int:
        return int(self.index.shape[0])

    def loss(
        self,
        logits: Tensor,
        *,
        model: Model | None = None,
        form: Form = "auto",
        reduction: Reduction = "mean",
        num_samples: Tensor | float | None = None,
    ) -> Tensor:
        """The training loss for ``logits = model(mixed.inputs)``: the one loss entry.

        The mixed loss of :func:`mixkit.mixed_loss`, plus the mixer's extra term when it has one
        (MixupE's; it runs ``model`` on the clean batch ``mixed.source``).

        Args:
            logits: the model's outputs on ``inputs``.
            model: maps a batch of inputs to logits; required by terms that need it.
            form: ``"soft"``, ``"pair"`` or ``"auto"``: see :func:`mixkit.mixed_loss`.
            reduction: ``"mean"``, ``"weighted_mean"``, ``"sum"`` or ``"none"``: see
                :func:`mixkit.mixed_loss`.
            num_samples: the divisor of ``"sum"``-style means: see :func:`mixkit.mixed_loss`.
        """
        loss = mixed_loss(logits, self, form=form, reduction=reduction, num_samples=num_samples)
        term = self.term
        if term is None or not self.applied:
            return loss
        if model is None and term.needs_model:
            fail(
                "Mixed.loss",
                f"model= (the mixer's {type(term).__name__} runs the model on the clean batch)",
                "model=None",
            )
        if model is not None and not callable(model):
            fail(
                "Mixed.loss",
                "model to be callable (an nn.Module)",
                describe(model),
                type_error=True,
            )
        return term(loss, self, logits, model, reduction=reduction, num_samples=num_samples)

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
    logits: Tensor,
    mixed: Mixed,
    *,
    form: Form = "auto",
    reduction: Reduction = "mean",
    num_samples: Tensor | float | None = None,
) -> Tensor:
    r"""Training loss of a mixed batch (without the mixer's extra term; see :meth:`Mixed.loss`).

    * multiclass: cross-entropy against the mixed targets. ``form="soft"`` uses the dense
      targets; ``form="pair"`` computes
      :math:`\lambda\,\mathrm{CE}(f, y_a) + (1-\lambda)\,\mathrm{CE}(f, y_b)`, which is equal
      (cross-entropy is linear in the target) and avoids PyTorch's slow soft-target path;
      ``"auto"`` takes the pair form whenever it applies (integer labels, no relabelling).
    * multilabel: binary cross-entropy with logits against the mixed (or union) targets, mean
      over classes.
    * regression: squared error against the mixed targets, mean over output dimensions.

    Per-sample weights (Local Mixup) multiply each sample's loss, then ``reduction`` applies
    (:func:`mixkit.functional.reduce_loss`): ``"mean"`` (default, :math:`\sum_i w_i \ell_i / N`,
    the paper's expectation), ``"weighted_mean"``, ``"sum"`` or ``"none"``. ``num_samples`` is
    :math:`N` (default ``B``; the accumulated batch under gradient accumulation).

    Label smoothing is already inside ``mixed`` (``mixed.label_smoothing``): do not smooth
    again in your own criterion.

    Raises:
        ValueError: logits of the wrong shape, ``form="pair"`` where it does not apply, an
            unknown form or reduction.
    """
    owner = "mixed_loss"
    check_choice(owner, "form", form, FORMS)
    check_choice(owner, "reduction", reduction, REDUCTIONS)
    check_logits(owner, logits, tuple(mixed.targets.shape))
    if form == "pair" and not _pair_form_applies(mixed):
        fail(
            owner,
            "form='pair' only for multiclass integer labels that were not relabelled "
            "(use form='soft')",
            f"task={mixed.task!r}, relabelled={mixed.relabelled}, y_a {mixed.y_a.dtype}",
        )
    if mixed.task == "multiclass":
        if form == "soft" or not _pair_form_applies(mixed):
            per_sample = soft_cross_entropy(logits, mixed.targets)
        else:
            per_sample = pair_cross_entropy(
                logits, mixed.y_a, mixed.y_b, mixed.lam, label_smoothing=mixed.label_smoothing
            )
    elif mixed.task == "multilabel":
        per_sample = binary_cross_entropy(logits, mixed.targets)
    else:
        per_sample = squared_error(logits, mixed.targets)
    return reduce_loss(per_sample, mixed.weights, reduction, num_samples=num_samples)
