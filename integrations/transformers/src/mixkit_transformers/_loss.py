"""The mixed loss as Trainer wants it: ``compute_loss_func(outputs, labels, num_items_in_batch)``.

Per-sample losses are the kernels of :mod:`mixkit.functional`, reduced by its ``reduce_loss``:
the one loss path of mixkit. Under gradient accumulation Trainer counts the label entries of
all the micro-batches of one optimizer step (over all processes with
``average_tokens_across_devices``) and passes the count as ``num_items_in_batch``; divided by
the label entries per sample it is the ``num_samples`` of the core's mean, so that k
micro-batches give exactly the gradient of one batch k times larger.
"""

from __future__ import annotations

from typing import Any, Literal, cast

import torch
from torch import Tensor

from mixkit import functional as F
from mixkit.validation import check_choice, describe, fail, shape_str
from mixkit_transformers._outputs import logits_of

__all__ = [
    "ENCODINGS",
    "FORMS",
    "PAIR_COLUMNS",
    "TRAINER_REDUCTIONS",
    "Encoding",
    "Form",
    "MixUpLoss",
    "Reduction",
    "check_reduction",
    "num_samples",
]

#: the core's loss forms (:data:`mixkit.functional.FORMS`)
Form = Literal["auto", "soft", "pair"]
FORMS: tuple[str, ...] = F.FORMS
#: the core's reductions that give Trainer one loss normalised over the accumulated batch
Reduction = Literal["mean", "weighted_mean"]
TRAINER_REDUCTIONS: tuple[str, ...] = tuple(
    r for r in F.REDUCTIONS if r in ("mean", "weighted_mean")
)
#: how the collator writes mixed targets into ``labels``
Encoding = Literal["dense", "pair"]
ENCODINGS: tuple[str, ...] = ("dense", "pair")
TASKS: tuple[str, ...] = ("multiclass", "multilabel", "regression")
#: the columns of pair-encoded labels, ``(B, 5)`` float64
PAIR_COLUMNS: tuple[str, ...] = ("y_a", "y_b", "lam", "weight", "label_smoothing")


def check_reduction(owner: str, reduction: object) -> Reduction:
    """One of :data:`TRAINER_REDUCTIONS`, or an error saying why the others do not apply."""
    if reduction not in TRAINER_REDUCTIONS:
        fail(
            owner,
            "reduction to be one of 'mean' | 'weighted_mean' (the reductions of "
            "mixkit.functional that give Trainer one loss normalised over the accumulated "
            "batch; 'sum' and 'none' do not)",
            repr(reduction),
        )
    return cast(Reduction, reduction)


def num_samples(num_items_in_batch: Tensor | float | None, labels: Tensor) -> Tensor | float | None:
    """The samples of the accumulated batch, from Trainer's count of label entries (``None``
    when Trainer passes none: the micro-batch mean, which Trainer then averages)."""
    if num_items_in_batch is None:
        return None
    per_sample = labels.numel() // max(int(labels.shape[0]), 1)
    if isinstance(num_items_in_batch, Tensor):
        return num_items_in_batch.to(torch.float32) / per_sample
    return float(num_items_in_batch) / per_sample


class MixUpLoss:
    r"""A ready ``compute_loss_func`` for ``Trainer``: the loss of mixed targets.

    Pair it with :class:`mixkit_transformers.MixUpCollator`, which writes the mixed targets
    into ``labels``::

        collator = MixUpCollator(mixkit.MixUp(alpha=0.2, num_classes=10))
        trainer = Trainer(model=model, args=args, train_dataset=ds, data_collator=collator,
                          compute_loss_func=MixUpLoss(), callbacks=[collator])

    The labels it accepts (``B`` samples, ``C`` classes):

    * integer ``(B,)`` class labels: plain cross-entropy (evaluation batches, never mixed);
    * ``encoding="dense"``: float ``(B, C)`` targets. Multi-class: the soft-form cross-entropy
      (:func:`mixkit.functional.soft_cross_entropy`) of each row normalised, weighted by the
      row's sum (the collator folds Local Mixup's weights into the rows); multi-label: binary
      cross-entropy; regression: squared error;
    * ``encoding="pair"``: float64 ``(B, 5)`` rows :data:`PAIR_COLUMNS`, the pair-form
      cross-entropy (:func:`mixkit.functional.pair_cross_entropy`) weighted by ``weight``.

    Args:
        task: ``"multiclass"`` (default), ``"multilabel"`` or ``"regression"``.
        encoding: the collator's: ``"dense"`` (default) or ``"pair"``.
        reduction: ``"mean"`` (default) or ``"weighted_mean"``, as in
            :func:`mixkit.functional.reduce_loss`, over the samples of the accumulated batch
            when Trainer passes ``num_items_in_batch``.

    Raises:
        ValueError / TypeError: labels missing, of the wrong shape or dtype for ``encoding``,
            or logits whose shape does not match the labels.

    .. note::
        Do not also set ``label_smoothing_factor``: smoothing belongs to the mixer
        (``label_smoothing=``), applied once.
    """

    def __init__(
        self,
        *,
        task: str = "multiclass",
        encoding: Encoding = "dense",
        reduction: Reduction = "mean",
    ) -> None:
        owner = type(self).__name__
        self.task = check_choice(owner, "task", task, TASKS)
        self.encoding = check_choice(owner, "encoding", encoding, ENCODINGS)
        self.reduction = check_reduction(owner, reduction)
        if self.encoding == "pair" and self.task != "multiclass":
            fail(owner, "encoding='pair' only with task='multiclass'", f"task={self.task!r}")

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
        samples = num_samples(num_items_in_batch, labels)
        return F.reduce_loss(per_sample, weights, self.reduction, num_samples=samples)

    def _per_sample(
        self, owner: str, logits: Tensor, labels: Tensor
    ) -> tuple[Tensor, Tensor | None]:
        """``(B,)`` losses and their weights (None: all ones)."""
        if self.task == "multiclass" and not labels.is_floating_point():
            if labels.ndim != 1:
                fail(owner, "integer class labels of shape (B,)", describe(labels))
            lam = torch.ones(labels.shape[0], device=logits.device)
            return F.pair_cross_entropy(logits, labels, labels, lam), None
        if self.encoding == "pair":
            if labels.shape != (labels.shape[0], len(PAIR_COLUMNS)):
                fail(
                    owner,
                    f"pair-encoded labels of shape (B, {len(PAIR_COLUMNS)}) {PAIR_COLUMNS} "
                    "(is the collator's encoding 'pair' too?)",
                    describe(labels),
                )
            y_a, y_b, lam, weight, smoothing = labels.unbind(dim=1)
            per_sample = F.pair_cross_entropy(logits, y_a, y_b, lam, label_smoothing=smoothing)
            return per_sample, weight
        if labels.shape != logits.shape and not (
            self.task == "regression" and labels.numel() == logits.numel()
        ):
            hint = " (is the collator's encoding 'dense' too?)" if self.task == "multiclass" else ""
            fail(
                owner,
                f"dense labels of the logits' shape {shape_str(logits.shape)}{hint}",
                describe(labels),
            )
        if self.task == "multilabel":
            return F.binary_cross_entropy(logits, labels), None
        if self.task == "regression":
            return F.squared_error(logits, labels), None
        targets = labels.float()  # floating: integer multi-class labels were handled above
        weight = targets.sum(dim=1)  # (B,) rows sum to the sample's weight
        normalised = targets / weight.clamp_min(torch.finfo(torch.float32).tiny).unsqueeze(1)
        return F.soft_cross_entropy(logits, normalised), weight

    def __repr__(self) -> str:
        return (
            f"MixUpLoss(task={self.task!r}, encoding={self.encoding!r}, "
            f"reduction={self.reduction!r})"
        )
