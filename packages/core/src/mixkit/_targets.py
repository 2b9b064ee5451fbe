"""Labels in, dense targets out: validation and conversion, in one place.

Three tasks share one path:

* ``"multiclass"``: int64 labels ``(B,)`` with ``num_classes``, or one-hot / soft ``(B, C)``
  float rows that sum to 1.
* ``"multilabel"``: multi-hot ``(B, C)`` (float, int or bool) with values in ``[0, 1]``.
* ``"regression"``: float ``(B,)`` or ``(B, K)`` values, mixed linearly.

Label smoothing is applied here and nowhere else on the dense path.
"""

from __future__ import annotations

from typing import Literal, cast

import torch
from torch import Tensor

from mixkit import _kernels as F
from mixkit.validation import describe, fail, shape_str

__all__ = ["TASKS", "Task", "check_labels", "dense_targets", "mixed_targets"]

Task = Literal["multiclass", "multilabel", "regression"]
TASKS: tuple[str, ...] = ("multiclass", "multilabel", "regression")


def check_labels(
    owner: str, y: object, x: Tensor, *, task: str, num_classes: int | None
) -> int | None:
    """Validate ``y`` against ``x`` and the task; return the number of classes (None: regression).

    One host synchronisation at most (the label range / row sums), and none for regression.
    """
    if not isinstance(y, Tensor):
        fail(owner, "y to be a torch.Tensor", describe(y), type_error=True)
    batch = x.shape[0]
    if y.ndim == 0 or y.shape[0] != batch:
        fail(
            owner,
            f"y with batch size {batch} (the first dimension of x, shape {shape_str(x.shape)})",
            f"y of shape {shape_str(y.shape)}",
        )
    if y.device != x.device:
        fail(owner, f"y on the device of x ({x.device})", f"y on {y.device}")
    if task == "regression":
        if not y.is_floating_point() or y.ndim > 2:
            fail(owner, "regression targets as a float tensor (B,) or (B, K)", describe(y))
        return None
    if task == "multilabel":
        return _check_multilabel(owner, y, num_classes)
    return _check_multiclass(owner, y, num_classes)


def _check_multiclass(owner: str, y: Tensor, num_classes: int | None) -> int:
    if not y.is_floating_point():
        if y.dtype == torch.bool or y.ndim != 1:
            fail(
                owner,
                "y as int64 class labels of shape (B,) or float targets of shape (B, C)",
                describe(y),
            )
        if num_classes is None:
            fail(owner, "num_classes (an int) when y holds integer class labels", "None")
        low, high = torch.aminmax(y)
        lo, hi = cast(int, low.tolist()), cast(int, high.tolist())  # tolist: no dispatch
        if lo < 0 or hi >= num_classes:
            bad = lo if lo < 0 else hi
            fail(owner, f"class labels in [0, {num_classes - 1}] (num_classes={num_classes})", bad)
        return num_classes
    if y.ndim != 2:
        fail(
            owner,
            "y as int64 class labels of shape (B,) or float targets of shape (B, C) "
            "(for regression targets pass task='regression')",
            describe(y),
        )
    classes = int(y.shape[1])
    if num_classes is not None and classes != num_classes:
        fail(owner, f"soft targets with num_classes={num_classes} columns", f"{classes} columns")
    tol = 1e-2 if y.dtype in (torch.float16, torch.bfloat16) else 1e-4
    stats = torch.stack([y.amin().float(), (y.sum(dim=1).float() - 1.0).abs().amax()]).tolist()
    if stats[0] < 0:
        fail(owner, "soft targets with values >= 0", f"a minimum of {stats[0]:g}")
    if not stats[1] <= tol:  # also catches NaN
        fail(
            owner,
            "soft targets whose rows sum to 1 (for multi-hot targets pass task='multilabel')",
            f"a row sum off by {stats[1]:g}",
        )
    return classes


def _check_multilabel(owner: str, y: Tensor, num_classes: int | None) -> int:
    if y.ndim != 2:
        fail(owner, "multi-label targets of shape (B, C)", describe(y))
    classes = int(y.shape[1])
    if num_classes is not None and classes != num_classes:
        fail(owner, f"multi-label targets with num_classes={num_classes} columns", classes)
    if y.dtype != torch.bool:
        low, high = (float(v) for v in torch.aminmax(y.float()))
        if not (low >= 0 and high <= 1):
            fail(owner, "multi-label targets with values in [0, 1]", f"values in [{low}, {high}]")
    return classes


def dense_targets(
    y: Tensor, *, task: str, num_classes: int | None, label_smoothing: float
) -> Tensor:
    """Dense targets: float32 ``(B, C)`` for classification (smoothed once), a copy of ``y`` for
    regression."""
    if task == "regression":
        return y.clone()  # keeps the caller's precision; a new tensor all the same
    if not y.is_floating_point() and task == "multiclass":
        # check_labels guarantees num_classes for integer labels
        return F.one_hot(y, cast(int, num_classes), label_smoothing=label_smoothing)
    return F.smooth_targets(y.to(torch.float32), label_smoothing, multilabel=task == "multilabel")


def mixed_targets(
    y: Tensor,
    y_b: Tensor,
    index: Tensor,
    lam: Tensor | float,
    *,
    task: str,
    num_classes: int | None,
    label_smoothing: float,
    union: bool,
) -> Tensor:
    """Dense targets of a mixed batch: the labels ``y`` and the partners' ``y_b = y[index]``
    mixed with weight ``lam`` (a float, or ``(B,)`` on the data's device), smoothed once; the
    multi-label union when ``union``."""
    if task == "multiclass" and not y.is_floating_point():
        # integer labels: build the mixed smoothed one-hots directly
        return F._mix_one_hot(y, y_b, lam, cast(int, num_classes), label_smoothing)
    dense = dense_targets(y, task=task, num_classes=num_classes, label_smoothing=label_smoothing)
    if union:
        lam_t = torch.as_tensor(lam, dtype=torch.float32, device=y.device).expand(y.shape[0])
        return F.union_targets(dense, index, lam_t)
    return F.mix_targets(dense, index, lam)
