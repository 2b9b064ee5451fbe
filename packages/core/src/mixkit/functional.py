"""Pure mixing kernels: no randomness, no state, explicit parameters.

Every mixer, loss and integration in mixkit calls these; the math exists once.
Convention: ``lam`` is the weight of the ORIGINAL sample ``i`` and ``1 - lam`` the weight of its
partner ``index[i]`` (as in timm and torchvision; kornia uses the opposite convention).

Kernels never modify their arguments; each returns a new tensor, or writes into an explicit
``out=`` where it takes one.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from mixkit._validation import describe, fail

__all__ = [
    "box_fraction",
    "cutmix",
    "mix",
    "mix_one_hot",
    "mix_targets",
    "one_hot",
    "pair_cross_entropy",
    "smooth_targets",
    "soft_cross_entropy",
    "union_targets",
]


def _per_sample(lam: Tensor, ndim: int, dtype: torch.dtype) -> Tensor:
    # (B,) -> (B, 1, ..., 1) so it broadcasts against a (B, ...) tensor
    return lam.to(dtype).reshape(-1, *([1] * (ndim - 1)))


def mix(x: Tensor, index: Tensor, lam: Tensor | float, *, out: Tensor | None = None) -> Tensor:
    r"""Mix every sample with its partner: the mixup interpolation.

    .. math:: \tilde x_i = \lambda_i x_i + (1 - \lambda_i) x_{\mathrm{index}_i}

    Paper: Zhang et al., *mixup: Beyond Empirical Risk Minimization*, ICLR 2018.

    One allocation and the caller's tensor is never written; the cost stays close to a single
    ``clone()``. Differentiable with respect to ``x`` (manifold mixup, pooled embeddings).

    Args:
        x: ``(B, ...)`` floating tensor.
        index: ``(B,)`` int64 partner of each sample, on ``x``'s device.
        lam: weight of the original sample, a float for the whole batch or a ``(B,)`` tensor.
            ``lam = 1`` returns ``x`` exactly (torch's ``lerp`` is exact at the end points).
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
    if out is not None:
        _check_out("mix", out, x)
    if x.device.type == "cpu" and math.prod(x.shape[1:]) >= _ROW_LOOP_MIN and not _needs_grad(x):
        # Large CPU rows: one fused pass per row straight into the output, so the batch is
        # read once and written once (the gather + in-place lerp below touches it twice).
        if out is None:
            out = torch.empty_like(x)
        weights = lam.tolist() if isinstance(lam, Tensor) else [float(lam)] * x.shape[0]
        rows, out_rows = x.unbind(0), out.unbind(0)
        for i, (j, w) in enumerate(zip(index.tolist(), weights, strict=True)):
            torch.lerp(rows[j], rows[i], w, out=out_rows[i])
        return out
    # (B, ...) partners: the one new tensor
    out = x.index_select(0, index) if out is None else torch.index_select(x, 0, index, out=out)
    weight = _per_sample(lam, x.ndim, x.dtype) if isinstance(lam, Tensor) else float(lam)
    return out.lerp_(x, weight)  # out <- out + lam * (x - out)


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


_ROW_LOOP_MIN = 1 << 15  # elements per sample from which the per-row CPU path wins


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
    return struct.unpack("f", struct.pack("f", value))[0]  # type: ignore[no-any-return]


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
    """
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


def _box_mask(
    box: Tensor, spatial_shape: Sequence[int], dtype: torch.dtype, device: torch.device
) -> Tensor:
    # (B, 1, *spatial): 1 where the sample keeps its own content, 0 inside its box
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
    return (~inside).to(dtype)


def cutmix(x: Tensor, index: Tensor, box: Tensor, *, out: Tensor | None = None) -> Tensor:
    r"""Paste each partner's box into the sample: the CutMix operation.

    .. math:: \tilde x_i = M_i \odot x_i + (1 - M_i) \odot x_{\mathrm{index}_i}

    with :math:`M_i` zero inside the box. Paper: Yun et al., *CutMix*, ICCV 2019. Works for any
    number of spatial dimensions: ``x`` is ``(B, C, *spatial)``.

    One box for the batch is one strided copy of the partners' box region into a clone; a box
    per sample is one masked ``lerp`` over the gathered partners (exact: the mask is 0 or 1).

    Args:
        x: ``(B, C, *spatial)`` tensor.
        index: ``(B,)`` partner index, on ``x``'s device.
        box: ``(1, n_spatial, 2)`` (one box for the whole batch) or ``(B, n_spatial, 2)``
            int64 ``[start, stop)`` per spatial dimension, on the CPU.
        out: optional destination, as for :func:`mix`.

    Returns:
        A new tensor (``out`` when given); ``x`` is untouched. Rows whose partner is themselves
        are copies of ``x``.
    """
    if out is not None:
        _check_out("cutmix", out, x)
    if box.shape[0] == 1:  # one box for the batch: gather only the box region of the partners
        region = (slice(None), slice(None), *(slice(a, b) for a, b in box.tolist()[0]))
        out = x.clone() if out is None else out.copy_(x)
        if _needs_grad(x):  # out= kernels are not differentiable
            out[region] = x[region].index_select(0, index)
        else:
            torch.index_select(x[region], 0, index, out=out[region])  # straight into the box
        return out
    keep = _box_mask(box, x.shape[2:], x.dtype, x.device)  # (B, 1, *spatial)
    out = x.index_select(0, index) if out is None else torch.index_select(x, 0, index, out=out)
    return out.lerp_(x, keep)


def soft_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Per-sample cross-entropy against dense targets: ``-sum_c Y_c log softmax(f)_c``, ``(B,)``.

    Computed in float32 at least (half-precision logits are upcast).
    """
    logp = F.log_softmax(logits.float() if logits.dtype in _HALF else logits, dim=1)
    return -(targets.to(logp.dtype) * logp).sum(dim=1)


def pair_cross_entropy(
    logits: Tensor,
    y_a: Tensor,
    y_b: Tensor,
    lam: Tensor,
    *,
    label_smoothing: float = 0.0,
) -> Tensor:
    r"""Per-sample mixed cross-entropy in pair form, ``(B,)``.

    .. math:: \lambda\,\mathrm{CE}_s(f, y_a) + (1 - \lambda)\,\mathrm{CE}_s(f, y_b)

    Cross-entropy is linear in the target, so this equals :func:`soft_cross_entropy` against
    the mixed smoothed one-hot targets, without building them (and without PyTorch's slower
    soft-target path). Label smoothing ``s`` is applied here, once.

    Args:
        logits: ``(B, C)``.
        y_a, y_b: ``(B,)`` int64 class labels of the sample and of its partner.
        lam: ``(B,)`` weight of ``y_a``.
    """
    logp = F.log_softmax(logits.float() if logits.dtype in _HALF else logits, dim=1)
    nll_a = -logp.gather(1, y_a.long().unsqueeze(1)).squeeze(1)
    nll_b = -logp.gather(1, y_b.long().unsqueeze(1)).squeeze(1)
    lam = lam.to(logp.dtype)
    loss = torch.lerp(nll_b, nll_a, lam)  # lam * nll_a + (1 - lam) * nll_b
    if label_smoothing:
        loss = (1.0 - label_smoothing) * loss - label_smoothing * logp.mean(dim=1)
    return loss


_HALF = (torch.float16, torch.bfloat16)
