"""The mixed loss as Trainer wants it: ``compute_loss_func(outputs, labels, num_items_in_batch)``.

Gradient accumulation: Trainer counts the label entries of all the micro-batches of one
optimizer step (over all processes when ``average_tokens_across_devices``) and passes the count
as ``num_items_in_batch``. A loss normalised by it is taken as already scaled for accumulation
(Trainer then does not divide by the number of micro-batches). Both pieces of this package
divide the summed per-sample losses by the number of SAMPLES in that accumulated batch (the count
divided by the label entries per sample), so that k micro-batches give exactly the gradient of
one batch k times larger; without a count they return the micro-batch mean and Trainer divides.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as TF
from torch import Tensor

from mixkit import functional as F
from mixkit._validation import check_choice, describe, fail, shape_str
from mixkit_transformers._outputs import logits_of

__all__ = ["PAIR_COLUMNS", "MixUpLoss", "accumulated_samples", "reduce_loss"]

Reduction = Literal["mean", "weighted_mean"]
REDUCTIONS: tuple[str, ...] = ("mean", "weighted_mean")
LabelForm = Literal["soft", "pair"]
LABEL_FORMS: tuple[str, ...] = ("soft", "pair")
TASKS: tuple[str, ...] = ("multiclass", "multilabel", "regression")
#: the columns of pair-form labels, ``(B, 5)`` float64
PAIR_COLUMNS: tuple[str, ...] = ("y_a", "y_b", "lam", "weight", "label_smoothing")


def accumulated_samples(num_items: Tensor | int | float, items_per_sample: int) -> Tensor | float:
    """Samples in the accumulated batch, from Trainer's count of label entries."""
    if isinstance(num_items, Tensor):
        return num_items.to(torch.float32) / items_per_sample
    return float(num_items) / items_per_sample


def reduce_loss(
    per_sample: Tensor,
    weights: Tensor,
    reduction: str,
    num_items: Tensor | int | float | None,
    items_per_sample: int,
) -> Tensor:
    r"""Reduce ``(B,)`` weighted per-sample losses to the micro-batch's share of the step loss.

    * ``"mean"``: :math:`\sum_i w_i \ell_i / N` with :math:`N` the samples of the accumulated
      batch (``B`` without a count): exact under gradient accumulation.
    * ``"weighted_mean"``: :math:`\sum_i w_i \ell_i / \sum_i w_i`, per micro-batch, then
      weighted by the micro-batch's share ``B / N`` of the samples.
    """
    batch = per_sample.shape[0]
    total = per_sample.sum()
    if reduction == "weighted_mean":
        total = total / weights.sum().clamp_min(torch.finfo(torch.float32).eps) * batch
    if num_items is None:
        return total / batch
    return total / accumulated_samples(num_items, items_per_sample)


class MixUpLoss:
    r"""A ready ``compute_loss_func`` for ``Trainer``: the loss of mixed targets.

    Pair it with :class:`mixkit_transformers.MixUpCollator`, which puts the mixed targets in
    ``labels``::

        collator = MixUpCollator(mixkit.MixUp(alpha=0.2, num_classes=10))
        trainer = Trainer(model=model, args=args, train_dataset=ds, data_collator=collator,
                          compute_loss_func=MixUpLoss(), callbacks=[collator])

    The labels it accepts (``B`` samples, ``C`` classes):

    * integer ``(B,)`` class labels: plain cross-entropy (evaluation batches, never mixed);
    * ``form="soft"``: float ``(B, C)`` targets. For ``task="multiclass"`` the loss is
      :math:`-\sum_c t_c \log \mathrm{softmax}(f)_c`, linear in ``t``, so rows that sum to a
      per-sample weight :math:`w_i` (Local Mixup) give :math:`w_i` times the loss of the
      normalised row: the collator folds the weights in that way. Multi-label: binary
      cross-entropy (mean over classes); regression: squared error (mean over outputs).
    * ``form="pair"``: float64 ``(B, 5)`` rows ``(y_a, y_b, lam, weight, label_smoothing)``
      (:data:`PAIR_COLUMNS`): :math:`w\,[\lambda\,\mathrm{CE}_s(f, y_a) + (1-\lambda)\,
      \mathrm{CE}_s(f, y_b)]`, equal to the soft form without building ``(B, C)`` targets.

    Args:
        task: ``"multiclass"`` (default), ``"multilabel"`` or ``"regression"``.
        form: the form the collator writes: ``"soft"`` (default) or ``"pair"``.
        reduction: ``"mean"`` (default: summed weighted losses over the number of samples) or
            ``"weighted_mean"`` (over the sum of the weights of the micro-batch).

    Returns (on call): a float32 scalar, normalised by ``num_items_in_batch`` when Trainer
    passes it (see the module notes: correct under gradient accumulation).

    Raises:
        ValueError / TypeError: labels missing, of the wrong shape or dtype for ``form``, or
            logits whose shape does not match the labels.

    .. note::
        Do not also set ``label_smoothing_factor`` in ``TrainingArguments``: with a
        ``compute_loss_func`` Trainer ignores it, and smoothing belongs to the mixer
        (``label_smoothing=``), applied once.
    """

    def __init__(
        self, *, task: str = "multiclass", form: LabelForm = "soft", reduction: Reduction = "mean"
    ) -> None:
        owner = type(self).__name__
        self.task = check_choice(owner, "task", task, TASKS)
        self.form = check_choice(owner, "form", form, LABEL_FORMS)
        self.reduction = check_choice(owner, "reduction", reduction, REDUCTIONS)
        if self.form == "pair" and self.task != "multiclass":
            fail(owner, "form='pair' only with task='multiclass'", f"task={self.task!r}")

    def __call__(
        self, outputs: Any, labels: Any, num_items_in_batch: Tensor | int | None = None
    ) -> Tensor:
        owner = type(self).__name__
        logits = logits_of(owner, outputs)
        if not isinstance(labels, Tensor):
            fail(
                owner,
                "labels as a tensor (Trainer passes the batch's 'labels'; does the collator "
                "put them there?)",
                describe(labels),
                type_error=True,
            )
        if labels.ndim == 0 or labels.shape[0] != logits.shape[0]:
            fail(
                owner,
                f"labels with batch size {logits.shape[0]} (the logits')",
                f"labels of shape {shape_str(labels.shape)}",
            )
        per_sample, weights = self._per_sample(owner, logits, labels)
        items = labels.numel() // labels.shape[0]
        return reduce_loss(per_sample, weights, self.reduction, num_items_in_batch, items)

    def _per_sample(self, owner: str, logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        ones = torch.ones(labels.shape[0], device=logits.device)
        if self.task == "multiclass" and not labels.is_floating_point():
            if labels.ndim != 1:
                fail(owner, "integer class labels of shape (B,)", describe(labels))
            return TF.cross_entropy(logits.float(), labels.long(), reduction="none"), ones
        if self.task == "multiclass" and self.form == "pair":
            if labels.shape != (labels.shape[0], len(PAIR_COLUMNS)):
                fail(
                    owner,
                    f"pair-form labels of shape (B, {len(PAIR_COLUMNS)}) "
                    f"{PAIR_COLUMNS} (is the collator's form 'pair' too?)",
                    describe(labels),
                )
            y_a, y_b = labels[:, 0].long(), labels[:, 1].long()
            lam, weight, smoothing = labels[:, 2], labels[:, 3].float(), labels[:, 4]
            logp = TF.log_softmax(logits.float(), dim=1)
            nll = torch.lerp(
                -logp.gather(1, y_b.unsqueeze(1)).squeeze(1),
                -logp.gather(1, y_a.unsqueeze(1)).squeeze(1),
                lam.to(logp.dtype),
            )
            smooth = smoothing.to(logp.dtype)
            per_sample = (1.0 - smooth) * nll - smooth * logp.mean(dim=1)
            return per_sample * weight, weight
        if labels.shape != logits.shape and not (
            self.task == "regression" and labels.numel() == logits.numel()
        ):
            hint = " (is the collator's form 'soft' too?)" if self.task == "multiclass" else ""
            fail(
                owner,
                f"{self.form}-form labels of the logits' shape {shape_str(logits.shape)}{hint}",
                describe(labels),
            )
        if self.task == "multiclass":
            if not labels.is_floating_point():
                fail(owner, "float soft targets (B, C)", describe(labels))
            return F.soft_cross_entropy(logits, labels), labels.float().sum(dim=1)
        if self.task == "multilabel":
            per_sample = TF.binary_cross_entropy_with_logits(
                logits.float(), labels.float(), reduction="none"
            ).mean(dim=1)
            return per_sample, ones
        err = (logits.float().reshape(labels.shape) - labels.float()) ** 2
        return err.reshape(err.shape[0], -1).mean(dim=1), ones

    def __repr__(self) -> str:
        return f"MixUpLoss(task={self.task!r}, form={self.form!r}, reduction={self.reduction!r})"
