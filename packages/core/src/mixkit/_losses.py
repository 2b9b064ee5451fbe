"""Per-sample losses of mixed targets and their weighted reductions: the one loss path.

:meth:`mixkit.Mixed.loss`, the integrations (Trainer's ``compute_loss_func``, frame-level audio
losses, the scikit-learn estimators) and the evaluation all reduce through these.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as TF
from torch import Tensor

from mixkit.validation import check_choice, describe, fail, shape_str

__all__ = [
    "FORMS",
    "REDUCTIONS",
    "Form",
    "Reduction",
    "binary_cross_entropy",
    "pair_cross_entropy",
    "reduce_loss",
    "soft_cross_entropy",
    "squared_error",
]

Form = Literal["auto", "soft", "pair"]
Reduction = Literal["mean", "weighted_mean", "sum", "none"]
#: how a multi-class loss is computed: pair form where it applies, soft targets, pair form
FORMS: tuple[str, ...] = ("auto", "soft", "pair")
#: how per-sample losses are reduced (see :func:`reduce_loss`)
REDUCTIONS: tuple[str, ...] = ("mean", "weighted_mean", "sum", "none")
_HALF = (torch.float16, torch.bfloat16)


def _log_softmax(logits: Tensor) -> Tensor:
    # float32 at least: half-precision logits are upcast
    return TF.log_softmax(logits.float() if logits.dtype in _HALF else logits, dim=1)


def soft_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Per-sample cross-entropy against dense targets: ``-sum_c Y_c log softmax(f)_c``, ``(B,)``.

    Linear in the targets, so a row that sums to ``w`` gives ``w`` times the loss of the
    normalised row. Computed in float32 at least (half-precision logits are upcast).
    """
    logp = _log_softmax(logits)
    return -(targets.to(logp.dtype) * logp).sum(dim=1)


def pair_cross_entropy(
    logits: Tensor,
    y_a: Tensor,
    y_b: Tensor,
    lam: Tensor,
    *,
    label_smoothing: float | Tensor = 0.0,
) -> Tensor:
    r"""Per-sample mixed cross-entropy in pair form, ``(B,)``.

    .. math:: \lambda\,\mathrm{CE}_s(f, y_a) + (1 - \lambda)\,\mathrm{CE}_s(f, y_b)

    Cross-entropy is linear in the target, so this equals :func:`soft_cross_entropy` against
    the mixed smoothed one-hot targets, without building them (and without PyTorch's slower
    soft-target path). Label smoothing ``s`` (a float, or ``(B,)`` per sample) is applied here,
    once.

    Args:
        logits: ``(B, C)``.
        y_a: ``(B,)`` integer class labels of the samples.
        y_b: ``(B,)`` integer class labels of their partners.
        lam: ``(B,)`` weight of ``y_a``.
        label_smoothing: ``s``, a float or ``(B,)`` per sample.
    """
    logp = _log_softmax(logits)
    nll_a = -logp.gather(1, y_a.long().unsqueeze(1)).squeeze(1)
    nll_b = -logp.gather(1, y_b.long().unsqueeze(1)).squeeze(1)
    loss = torch.lerp(nll_b, nll_a, lam.to(logp.dtype))  # lam * nll_a + (1 - lam) * nll_b
    if isinstance(label_smoothing, Tensor):
        smooth = label_smoothing.to(logp.dtype)
        return (1.0 - smooth) * loss - smooth * logp.mean(dim=1)
    if label_smoothing:
        loss = (1.0 - label_smoothing) * loss - label_smoothing * logp.mean(dim=1)
    return loss


def binary_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Per-sample binary cross-entropy with logits, mean over the classes: ``(B,)`` float32.

    The multi-label loss: each class is its own binary problem; targets in ``[0, 1]``.
    """
    per_class = TF.binary_cross_entropy_with_logits(
        logits.float(), targets.float(), reduction="none"
    )
    return per_class.reshape(per_class.shape[0], -1).mean(dim=1)


def squared_error(outputs: Tensor, targets: Tensor) -> Tensor:
    """Per-sample squared error, mean over the output dimensions: ``(B,)`` float32."""
    err = (outputs.float().reshape(targets.shape) - targets.float()) ** 2
    return err.reshape(err.shape[0], -1).mean(dim=1)


def reduce_loss(
    per_sample: Tensor,
    weights: Tensor | None = None,
    reduction: Reduction = "mean",
    *,
    num_samples: Tensor | float | None = None,
) -> Tensor:
    r"""Reduce ``(B,)`` per-sample losses, each multiplied by its weight :math:`w_i`.

    * ``"mean"``: :math:`\sum_i w_i \ell_i / N` (the expectation Local Mixup's paper states);
    * ``"weighted_mean"``: :math:`\sum_i w_i \ell_i / \max(\sum_i w_i, \epsilon)`, times
      :math:`B / N`;
    * ``"sum"``: :math:`\sum_i w_i \ell_i`;
    * ``"none"``: the ``(B,)`` weighted losses.

    :math:`N` is ``num_samples`` when given, else ``B``. Under gradient accumulation pass the
    number of samples of the whole accumulated batch: the micro-batch losses then add up to the
    loss of one large batch (what Hugging Face ``Trainer`` expects with ``num_items_in_batch``).

    Args:
        per_sample: ``(B,)`` losses.
        weights: ``(B,)`` non-negative weights, or None for all ones.
        reduction: one of :data:`REDUCTIONS`.
        num_samples: samples the mean is over (a number or a scalar tensor), default ``B``.
    """
    owner = "reduce_loss"
    check_choice(owner, "reduction", reduction, REDUCTIONS)
    if not isinstance(per_sample, Tensor) or per_sample.ndim != 1:
        fail(owner, "per-sample losses of shape (B,)", describe(per_sample))
    batch = per_sample.shape[0]
    if weights is not None:
        if not isinstance(weights, Tensor) or tuple(weights.shape) != (batch,):
            fail(owner, f"weights of shape ({batch},) or None", describe(weights))
        per_sample = per_sample * weights.to(per_sample.dtype)
    if reduction == "none":
        return per_sample
    total = per_sample.sum()
    if reduction == "sum":
        return total
    count: Tensor | float = float(batch) if num_samples is None else num_samples
    if isinstance(count, Tensor):
        count = count.to(device=total.device, dtype=torch.float32)
    if reduction == "mean":
        return total / count
    weight_sum = (
        torch.tensor(float(batch), device=total.device)
        if weights is None
        else weights.sum().to(total.dtype)
    )
    return total / weight_sum.clamp_min(torch.finfo(torch.float32).eps) * (batch / count)


def check_logits(owner: str, logits: object, expected: tuple[int, ...]) -> Tensor:
    """``logits`` must be a tensor of the targets' shape."""
    if not isinstance(logits, Tensor):
        fail(owner, "logits to be a torch.Tensor", type(logits).__name__, type_error=True)
    if tuple(logits.shape) != expected:
        fail(owner, f"logits of shape {shape_str(expected)}", shape_str(logits.shape))
    return logits
