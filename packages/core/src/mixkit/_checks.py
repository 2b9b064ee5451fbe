"""Checks a mixer runs on what a call brings: features and caller-given parameters."""

from __future__ import annotations

import torch
from torch import Tensor

from mixkit._params import MixParams
from mixkit.validation import describe, fail, shape_str

__all__ = ["check_features", "check_params", "flat_features"]


def check_features(owner: str, features: object, view: Tensor) -> Tensor | None:
    """``None`` or ``(B, ...)`` floating features aligned with the batch (returned detached)."""
    if features is None:
        return None
    if not isinstance(features, Tensor) or not features.is_floating_point():
        fail(
            owner,
            "features to be a floating-point torch.Tensor or None",
            describe(features),
            type_error=not isinstance(features, Tensor),
        )
    batch = view.shape[0]
    if features.ndim == 0 or features.shape[0] != batch:
        fail(
            owner,
            f"features with batch size {batch} (the batch size of x)",
            f"features of shape {shape_str(features.shape)}",
        )
    if features.device != view.device:
        fail(
            owner, f"features on the device of x ({view.device})", f"features on {features.device}"
        )
    return features.detach()


def flat_features(view: Tensor, features: Tensor | None) -> Tensor:
    """``(B, D)`` float features: the caller's, or the flattened batch (no gradient)."""
    source = view if features is None else features
    return source.detach().reshape(source.shape[0], -1).float()


def check_params(owner: str, params: object, batch_size: int) -> MixParams:
    """Parameters a caller hands to ``mix``: right type, one partner and one lam per sample,
    partners in the batch, lam in ``[0, 1]``, a well-formed box."""
    if not isinstance(params, MixParams):
        fail(owner, f"MixParams for a batch of {batch_size} (from draw())", describe(params))
    index, lam, box = params.index, params.lam, params.box
    if not isinstance(index, Tensor) or index.dtype != torch.int64 or index.ndim != 1:
        fail(owner, "params.index as an int64 tensor of shape (B,)", describe(index))
    if index.shape[0] != batch_size:
        fail(
            owner,
            f"params for a batch of {batch_size} (params.index of shape ({batch_size},))",
            f"params.index of shape {shape_str(index.shape)}",
        )
    if not isinstance(lam, Tensor) or not lam.is_floating_point() or lam.ndim != 1:
        fail(owner, "params.lam as a float tensor of shape (B,)", describe(lam))
    if lam.shape[0] != batch_size:
        fail(
            owner,
            f"one lam per sample (params.lam of shape ({batch_size},))",
            f"params.lam of shape {shape_str(lam.shape)}",
        )
    low, high = (int(v) for v in torch.aminmax(index.cpu()))
    if low < 0 or high >= batch_size:
        fail(owner, f"params.index in [0, {batch_size - 1}]", low if low < 0 else high)
    lam_lo, lam_hi = (float(v) for v in torch.aminmax(lam.detach().cpu().double()))
    if not (lam_lo >= 0.0 and lam_hi <= 1.0):  # also refuses NaN
        fail(owner, "params.lam in [0, 1]", f"values in [{lam_lo:g}, {lam_hi:g}]")
    if box is not None and (
        not isinstance(box, Tensor)
        or box.dtype != torch.int64
        or box.ndim != 3
        or box.shape[0] not in (1, batch_size)
        or box.shape[2] != 2
    ):
        fail(
            owner,
            f"params.box as None or an int64 tensor of shape (1 or {batch_size}, n_spatial, 2)",
            describe(box),
        )
    if index.device.type != "cpu" or lam.device.type != "cpu":
        params = params.replace(index=index.cpu(), lam=lam.detach().cpu())
    if params.lam.dtype != torch.float32:
        params = params.replace(lam=params.lam.float())
    return params
