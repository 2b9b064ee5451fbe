"""Pure mixing kernels: no randomness, no state, explicit parameters.

Every mixer, loss and integration in mixkit calls these; the math exists once.
Convention: ``lam`` is the weight of the ORIGINAL sample ``i`` and ``1 - lam`` the weight of its
partner ``index[i]`` (as in timm and torchvision; kornia uses the opposite convention).

Kernels never modify their arguments; each returns a new tensor, or writes into an explicit
``out=`` where it takes one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from mixkit.validation import describe, fail

__all__ = [
    "box_fraction",
    "cutmix",
    "mix",
    "mix_one_hot",
    "mix_targets",
    "one_hot",
    "smooth_targets",
    "union_targets",
]


def _per_sample(lam: Tensor, ndim: int, dtype: torch.dtype) -> Tensor:
    # (B,) -> (B, 1, ..., 1) so it broadcasts against a (B, ...) tensor
    return lam.to(dtype).reshape(-1, *([1] * (ndim - 1)))


def mix(x: Tensor, index: Tensor, lam: Tensor | float, *, out: Tensor | None = None) -> Tensor:
    r"""Mix every sample with its partner: the mixup interpolation.

    .. math:: \tilde x_i = \lambda_i x_i + (1 - \lambda_i) x_{\mathrm{index}_i}

    Paper: Zhang et al., *mixup: Beyond Empirical Risk Minimization*, ICLR 2018.

    One allocation, and the caller's tensor is never written. Rows with ``lam = 1`` or mixed
    with themselves are exact copies of ``x`` (infinities included). Differentiable in ``x``.

    Args:
        x: ``(B, ...)`` floating tensor.
        index: ``(B,)`` int64 partner of each sample, on ``x``'s device or on the CPU.
        lam: weight of the original sample, a float for the whole batch or a ``(B,)`` tensor
            (on ``x``'s device or on the CPU; CPU values avoid a device synchronisation).
        out: optional contiguous tensor of ``x``'s shape, dtype and device, not sharing memory
            with ``x``, to write the result into (no allocation; not differentiable).

    Returns:
        The mixed batch, same shape, dtype and device as ``x`` (``out`` when given).

    Example:
        >>> x = torch.tensor([[0.0], [10.0]])
        >>> mix(x, torch.tensor([1, 0]), 0.25)
        tensor([[7.5000],
                [2.5000]])
    """
    check_index("mix", index, x.shape[0])
    if out is not None:
        _check_out("mix", out, x)
    if isinstance(lam, Tensor):
        if tuple(lam.shape) != (x.shape[0],):
            fail("mix", f"lam as a float or a tensor of shape ({x.shape[0]},)", describe(lam))
        if lam.device.type != "cpu":
            return _mix_on_device(x, index, lam, out)
    if index.device.type != "cpu":  # parameters on the device: select kept rows there (no sync)
        return _mix_on_device(x, index, lam, out)
    partners = index.tolist()
    if isinstance(lam, Tensor):
        weights = lam.tolist()
        kept = [i for i, j in enumerate(partners) if j == i or weights[i] == 1]
    else:
        weights = [float(lam)] * x.shape[0]
        kept = list(range(x.shape[0])) if lam == 1 else _fixed_points(partners)
    if len(kept) == x.shape[0]:  # nothing to mix
        return x.clone() if out is None else out.copy_(x)
    if _row_path(x):
        # Large CPU rows: one fused pass per row straight into the output, rows visited along
        # the partner chains (i, then index[i], ...), so the partner a row reads is the row
        # computed next, still in the cache: the batch is read about once and written once.
        if out is None:
            out = torch.empty_like(x)
        rows, out_rows = x.unbind(0), out.unbind(0)
        for i in _chain_order(partners):
            j, w = partners[i], weights[i]
            if j == i or w == 1:
                out_rows[i].copy_(rows[i])
            else:
                torch.lerp(rows[j], rows[i], w, out=out_rows[i])
        return out
    device_index = index if x.device.type == "cpu" else index.to(x.device, non_blocking=True)
    # (B, ...) partners: the one new tensor
    if out is None:
        out = x.index_select(0, device_index)
    else:
        torch.index_select(x, 0, device_index, out=out)
    if isinstance(lam, Tensor):
        weight: Tensor | float = _per_sample(lam.to(x.device, non_blocking=True), x.ndim, x.dtype)
    else:
        weight = float(lam)
    out.lerp_(x, weight)  # out <- out + lam * (x - out)
    # lerp is not exact for infinite values: copy the kept rows (a random permutation keeps
    # about one, so row by row unless there are many)
    if len(kept) <= _FEW_ROWS:
        for i in kept:
            out[i].copy_(x[i])
    else:
        rows_t = torch.tensor(kept, device=x.device)
        out.index_copy_(0, rows_t, x.index_select(0, rows_t))
    return out


_FEW_ROWS = 4


def _fixed_points(partners: list[int]) -> list[int]:
    return [i for i, j in enumerate(partners) if i == j]


def _mix_on_device(x: Tensor, index: Tensor, lam: Tensor | float, out: Tensor | None) -> Tensor:
    # mix() with index / lam on x's device: the kept rows are selected with a mask
    index = index.to(x.device)
    partner = x.index_select(0, index)
    lam_t = torch.as_tensor(lam, dtype=x.dtype, device=x.device).expand(x.shape[0])
    weight = _per_sample(lam_t, x.ndim, x.dtype)
    keep = (lam_t == 1) | (index == torch.arange(x.shape[0], device=x.device))
    keep = keep.reshape(-1, *([1] * (x.ndim - 1)))
    mixed = torch.lerp(partner, x, weight)
    if out is None:
        return torch.where(keep, x, mixed)
    return torch.where(keep, x, mixed, out=out)


def check_index(owner: str, index: object, batch_size: int) -> None:
    """``index`` must be a ``(B,)`` integer tensor (its values are not read: no synchronisation)."""
    if not isinstance(index, Tensor):
        fail(owner, "index to be a torch.Tensor", describe(index), type_error=True)
    if index.dtype not in (torch.int64, torch.int32) or tuple(index.shape) != (batch_size,):
        fail(
            owner,
            f"index as an int64 tensor of shape ({batch_size},) (one partner per sample)",
            describe(index),
        )


def _check_out(owner: str, out: object, x: Tensor) -> None:
    """``out`` must be a plain destination for the result: x's layout, none of x's memory."""
    if not isinstance(out, Tensor):
        fail(owner, "out to be a torch.Tensor or None", describe(out), type_error=True)
    if out.shape != x.shape or out.dtype != x.dtype or out.device != x.device:
        fail(owner, f"out like x ({describe(x)})", describe(out))
    if not out.is_contiguous():
        fail(owner, "a contiguous out", f"out with strides {out.stride()}")
    if out.untyped_storage().data_ptr() == x.untyped_storage().data_ptr():
        fail(owner, "out not to share memory with x", "out on the storage of x")
    if _needs_grad(x) or out.requires_grad:
        fail(
            owner,
            "out=None when x requires grad (writing into out is not differentiable)",
            "an out tensor",
        )
    if torch.is_inference(out) and not torch.is_inference_mode_enabled():
        fail(owner, "out made outside torch.inference_mode()", "an inference tensor")


_ROW_LOOP_MIN = 1 << 15  # elements per sample from which the per-row CPU path wins


def _row_path(x: Tensor) -> bool:
    return x.device.type == "cpu" and math.prod(x.shape[1:]) >= _ROW_LOOP_MIN and not _needs_grad(x)


def _chain_order(partners: list[int]) -> list[int]:
    """Every row once, each followed by its partner where possible (cycles and chains of the
    partner map), so a row's partner is the next row visited."""
    seen = [False] * len(partners)
    order = []
    for start in range(len(partners)):
        i = start
        while not seen[i]:
            seen[i] = True
            order.append(i)
            i = partners[i]
    return order


def _needs_grad(x: Tensor) -> bool:
    return x.requires_grad and torch.is_grad_enabled()


def mix_targets(targets: Tensor, index: Tensor, lam: Tensor | float) -> Tensor:
    r"""Mix dense targets the way :func:`mix` mixes inputs.

    .. math:: \tilde Y_i = \lambda_i Y_i + (1 - \lambda_i) Y_{\mathrm{index}_i}

    Args:
        targets: ``(B, C)`` dense (one-hot, soft, multi-hot) or ``(B,)`` / ``(B, K)`` regression
            targets, floating.
        index: ``(B,)`` partner index.
        lam: float or ``(B,)``.
    """
    return mix(targets, index, lam)


def mix_one_hot(
    labels: Tensor,
    index: Tensor,
    lam: Tensor | float,
    num_classes: int,
    *,
    label_smoothing: float = 0.0,
) -> Tensor:
    """``mix_targets(one_hot(labels, C, label_smoothing=s), index, lam)`` without the one-hots.

    One ``(B, C)`` fill and two scatters of ``B`` values: for integer labels (the common case)
    it touches the ``(B, C)`` targets once instead of four times.
    """
    return _mix_one_hot(labels, labels.index_select(0, index), lam, num_classes, label_smoothing)


def _mix_one_hot(
    labels: Tensor, partners: Tensor, lam: Tensor | float, num_classes: int, smoothing: float
) -> Tensor:
    # mix_one_hot given the partners' labels (mixers have them already, for the pair view).
    # Two scatters, own share first: a row whose partner has its class adds both in that order.
    batch, on = labels.shape[0], 1.0 - smoothing
    out = torch.full(
        (batch, num_classes), smoothing / num_classes, dtype=torch.float32, device=labels.device
    )
    own_at, partner_at = labels.long().unsqueeze(1), partners.long().unsqueeze(1)
    if isinstance(lam, Tensor):
        own = lam.to(torch.float32).unsqueeze(1) * on  # (B, 1)
        out.scatter_add_(1, own_at, own)
        return out.scatter_add_(1, partner_at, on - own)
    # one lam: scalar scatters (no (B, 1) value tensors), the float32 arithmetic of the above
    own_f32 = _float32(float(lam) * on)
    out.scatter_(1, own_at, own_f32, reduce="add")
    return out.scatter_(1, partner_at, _float32(_float32(on) - own_f32), reduce="add")


def _float32(value: float) -> float:
    # round to the nearest float32 (a float32 sum or product computed in double, then rounded,
    # is the float32 result)
    return float(np.float32(value))


def union_targets(targets: Tensor, index: Tensor, lam: Tensor) -> Tensor:
    """Multi-label union: a mixed clip holds the labels of both sources.

    Rows with ``lam == 1`` keep their own targets and rows with ``lam == 0`` take the partner's:
    a source that contributes nothing contributes no label.

    Args:
        targets: ``(B, C)`` multi-hot (values in ``[0, 1]``).
        index: ``(B,)`` partner index.
        lam: ``(B,)`` weight of the original sample.
    """
    partner = targets.index_select(0, index)
    lam_c = lam.to(targets.dtype).unsqueeze(1)  # (B, 1)
    union = torch.maximum(targets, partner)
    union = torch.where(lam_c >= 1, targets, union)
    return torch.where(lam_c <= 0, partner, union)


def one_hot(
    labels: Tensor,
    num_classes: int,
    *,
    label_smoothing: float = 0.0,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Dense ``(B, C)`` targets from integer labels, optionally label-smoothed.

    Smoothing spreads ``label_smoothing`` uniformly over all classes, as
    ``torch.nn.functional.cross_entropy(label_smoothing=...)`` does:
    ``(1 - s) * e_y + s / C``.

    Raises:
        ValueError: a label outside ``[0, num_classes)`` (one synchronisation on a GPU).
    """
    if labels.numel():
        low, high = (int(v) for v in torch.aminmax(labels.long()))
        if low < 0 or high >= num_classes:
            fail(
                "one_hot",
                f"labels in [0, {num_classes - 1}] (num_classes={num_classes})",
                low if low < 0 else high,
            )
    off = label_smoothing / num_classes
    out = torch.full((labels.shape[0], num_classes), off, dtype=dtype, device=labels.device)
    on = torch.full((labels.shape[0], 1), 1.0 - label_smoothing, dtype=dtype, device=labels.device)
    # added, not written: the same float arithmetic as mix_one_hot, so lam = 1 is bit-exact
    return out.scatter_add_(1, labels.long().unsqueeze(1), on)


def smooth_targets(targets: Tensor, label_smoothing: float, *, multilabel: bool = False) -> Tensor:
    """Label smoothing of dense targets (a new tensor).

    Multi-class: ``(1 - s) * Y + s / C``. Multi-label (each class a binary problem):
    ``(1 - s) * Y + s / 2``.
    """
    if label_smoothing == 0.0:
        return targets.clone()
    spread = 2 if multilabel else targets.shape[-1]
    return targets * (1.0 - label_smoothing) + label_smoothing / spread


def box_fraction(box: Tensor, spatial_shape: Sequence[int]) -> Tensor:
    """Fraction of the spatial extent covered by each box: ``(n_boxes,)`` float64.

    Args:
        box: ``(n_boxes, n_spatial, 2)`` int64 ``[start, stop)`` per spatial dimension.
        spatial_shape: sizes of the spatial dimensions, e.g. ``(H, W)``.
    """
    return torch.tensor(_box_fractions(box.tolist(), spatial_shape), dtype=torch.float64)


def _box_fractions(boxes: list[list[list[int]]], spatial_shape: Sequence[int]) -> list[float]:
    # box_fraction on nested lists (a few boxes: Python beats tensor and NumPy calls)
    fractions = []
    for box in boxes:
        fraction = 1.0
        for (start, stop), size in zip(box, spatial_shape, strict=True):
            fraction *= max(stop - start, 0) / size
        fractions.append(fraction)
    return fractions


def _box_mask(box: Tensor, spatial_shape: Sequence[int], device: torch.device) -> Tensor:
    # (B, 1, *spatial): True where the sample keeps its own content, False inside its box
    b = box.to(device)
    n = len(spatial_shape)
    if n == 0:
        raise ValueError("cutmix: expected x with at least one spatial dimension, got none")
    inside = torch.ones((), dtype=torch.bool, device=device)
    for d, size in enumerate(spatial_shape):
        pos = torch.arange(size, device=device)
        hit = (pos >= b[:, d, 0:1]) & (pos < b[:, d, 1:2])  # (B, size)
        shape = [b.shape[0], 1] + [1] * n
        shape[2 + d] = size
        inside = inside & hit.reshape(shape)
    return ~inside


def cutmix(x: Tensor, index: Tensor, box: Tensor, *, out: Tensor | None = None) -> Tensor:
    r"""Paste each partner's box into the sample: the CutMix operation.

    .. math:: \tilde x_i = M_i \odot x_i + (1 - M_i) \odot x_{\mathrm{index}_i}

    with :math:`M_i` zero inside the box. Paper: Yun et al., *CutMix*, ICCV 2019. Works for any
    number of spatial dimensions: ``x`` is ``(B, C, *spatial)``.

    One box for the batch is one strided copy of the partners' box region into a clone; a box
    per sample is one masked select over the gathered partners. Both copy values: exact.

    Args:
        x: ``(B, C, *spatial)`` tensor.
        index: ``(B,)`` partner index, on ``x``'s device or on the CPU.
        box: ``(1, n_spatial, 2)`` (one box for the whole batch) or ``(B, n_spatial, 2)``
            int64 ``[start, stop)`` per spatial dimension, on the CPU.
        out: optional destination, as for :func:`mix`.

    Returns:
        A new tensor (``out`` when given); ``x`` is untouched. Rows whose partner is themselves
        are copies of ``x``.
    """
    check_index("cutmix", index, x.shape[0])
    if out is not None:
        _check_out("cutmix", out, x)
    if box.shape[0] == 1 and _row_path(x):  # one box, large CPU rows: row by row, as in mix()
        region = (slice(None), *(slice(a, b) for a, b in box.tolist()[0]))  # within one row
        out = torch.empty_like(x) if out is None else out
        rows, out_rows = x.unbind(0), out.unbind(0)
        partners = index.tolist()
        for i in _chain_order(partners):
            out_rows[i].copy_(rows[i])
            if partners[i] != i:
                out_rows[i][region].copy_(rows[partners[i]][region])
        return out
    index = index.to(x.device, non_blocking=True)
    if box.shape[0] == 1:  # one box for the batch: gather only the box region of the partners
        region = (slice(None), slice(None), *(slice(a, b) for a, b in box.tolist()[0]))
        out = x.clone() if out is None else out.copy_(x)
        if _needs_grad(x):  # out= kernels are not differentiable
            out[region] = x[region].index_select(0, index)
        else:
            torch.index_select(x[region], 0, index, out=out[region])  # straight into the box
        return out
    keep = _box_mask(box, x.shape[2:], x.device)  # (B, 1, *spatial) True outside the box
    if out is None:
        return torch.where(keep, x, x.index_select(0, index))
    torch.index_select(x, 0, index, out=out)
    return torch.where(keep, x, out, out=out)  # exact (a select, not a lerp): inf stays inf
