"""Class-conditional densities: GenLabel's fit and its log-density scores.

Written with torch so that the core needs no scikit-learn: a full-covariance Gaussian per class
(scikit-learn's ``GaussianMixture(n_components=1, covariance_type="full", reg_covar=tol)``) and
a Gaussian KDE (``scipy.stats.gaussian_kde``: kernel covariance = factor² x data covariance).
Fitted in float64 on the CPU; scored in log space (pdfs underflow in high dimension).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import torch
from torch import Tensor

from mixkit.validation import fail

__all__ = [
    "Density",
    "bandwidth_factor",
    "class_log_densities",
    "fit_densities",
    "prepare_densities",
    "score_densities",
]

Density = Literal["gaussian", "kde"]
_LOG_2PI = math.log(2.0 * math.pi)


def bandwidth_factor(bandwidth: str | float, n: int, dim: int) -> float:
    """The KDE factor (scipy's ``bw_method``): Scott's ``n^(-1/(D+4))``, Silverman's
    ``(n (D+2) / 4)^(-1/(D+4))``, or the number given."""
    if bandwidth == "scott":
        return float(n ** (-1.0 / (dim + 4)))
    if bandwidth == "silverman":
        return float((n * (dim + 2) / 4.0) ** (-1.0 / (dim + 4)))
    return float(bandwidth)


def fit_densities(
    feats: Tensor,
    labels: Tensor,
    *,
    num_classes: int | None,
    density: str,
    tol: float,
    bandwidth: str | float = "scott",
    max_samples: int | None = None,
    generator: torch.Generator | None = None,
    owner: str = "fit_densities",
) -> dict[str, Any]:
    """Fit one density per class present; returns the fitted state (CPU float64 tensors).

    Args:
        feats: ``(N, D)`` float64 features on the CPU.
        labels: ``(N,)`` int64 labels in ``[0, num_classes)`` (default ``max + 1``).
        density: ``"gaussian"`` or ``"kde"``.
        tol: ridge added to every class covariance.
        bandwidth: the KDE factor rule (:func:`bandwidth_factor`).
        num_classes: the number of classes (default ``max(labels) + 1``).
        max_samples: KDE kernels per class at most (a random subset from ``generator``, by
            default seeded with 0).
        generator: draws that subset.
        owner: the name errors report.
    """
    low, high = int(labels.min()), int(labels.max())
    classes = num_classes if num_classes is not None else high + 1
    if low < 0 or high >= classes:
        fail(owner, f"class labels in [0, {classes - 1}]", low if low < 0 else high)
    if not bool(torch.isfinite(feats).all()):
        fail(owner, "finite x (and features)", "NaN or infinite values")
    present = torch.unique(labels)  # sorted
    if present.numel() < 2:
        fail(owner, "labels of at least 2 classes", f"only class {int(present[0])}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    center = feats.mean(dim=0)  # (D,) scored inputs are centred first: less cancellation
    dim = feats.shape[1]
    eye = torch.eye(dim, dtype=torch.float64)
    locs, chols, factors = [], [], []
    for c in present.tolist():
        xc = feats[labels == c] - center  # (n_c, D)
        if max_samples is not None and xc.shape[0] > max_samples:
            xc = xc[torch.randperm(xc.shape[0], generator=generator)[:max_samples]]
        n_c = xc.shape[0]
        mean = xc.mean(dim=0)
        dev = xc - mean
        if density == "gaussian":
            cov = dev.T @ dev / n_c + tol * eye  # maximum likelihood, as sklearn
            locs.append(mean.unsqueeze(0))
            factors.append(1.0)
        else:
            data_cov = dev.T @ dev / (n_c - 1) if n_c > 1 else torch.zeros_like(eye)
            kde_factor = bandwidth_factor(bandwidth, n_c, dim)
            cov = kde_factor**2 * (data_cov + tol * eye)
            locs.append(xc)
            factors.append(kde_factor)
        chol, info = torch.linalg.cholesky_ex(cov)
        if int(info) != 0:
            fail(
                owner,
                f"a positive-definite covariance for class {c} after adding tol*I "
                f"(tol={tol:g}; increase tol)",
                f"a singular one from {n_c} samples in {dim} dimensions",
            )
        chols.append(chol)
    return {
        "density": density,
        "num_classes": classes,
        "classes": present,
        "dim": dim,
        "center": center,
        "chol": torch.stack(chols),  # (K, D, D) lower Cholesky factors
        "locs": torch.cat(locs),  # (K, D) means, or (sum n_c, D) kernel centres
        "counts": torch.tensor([loc.shape[0] for loc in locs]),
        "factors": torch.tensor(factors, dtype=torch.float64),
    }


def prepare_densities(
    state: Mapping[str, Any], device: torch.device, dtype: torch.dtype
) -> tuple[Tensor, ...]:
    """The scoring tensors of a fitted state, on ``device`` in ``dtype`` (cache them)."""
    s = state
    chol = s["chol"]  # (K, D, D)
    k, dim = chol.shape[0], chol.shape[1]
    eye = torch.eye(dim, dtype=torch.float64).expand(k, dim, dim)
    inv = torch.linalg.solve_triangular(chol, eye, upper=False)  # (K, D, D) L^-1
    weight = inv.transpose(1, 2).permute(1, 0, 2).reshape(dim, k * dim)  # (D, K*D)
    log_norm = -chol.diagonal(dim1=1, dim2=2).log().sum(dim=1) - 0.5 * dim * _LOG_2PI
    if s["density"] == "gaussian":
        # whitened means: z_c = L_c^-1 (x - mu_c) = x W_c - mu_c W_c
        shift = torch.einsum("kd,ked->ke", s["locs"], inv).reshape(1, k * dim)
        parts: tuple[Tensor, ...] = (s["center"], weight, shift, log_norm)
    else:
        # whitened kernel centres, padded to (K, n_max, D): one batched product scores
        # every class; padding has an infinite norm, so its kernel value is exp(-inf) = 0
        counts = s["counts"].tolist()
        points = torch.zeros(k, max(counts), dim, dtype=torch.float64)
        sq = torch.full((k, 1, max(counts)), math.inf, dtype=torch.float64)
        for i, ci in enumerate(torch.split(s["locs"], counts)):
            points[i, : counts[i]] = ci @ inv[i].T  # (n_c, D)
            sq[i, 0, : counts[i]] = points[i, : counts[i]].square().sum(dim=1)
        log_norm = log_norm - torch.log(s["counts"].to(torch.float64))
        shift = torch.zeros(1, k * dim, dtype=torch.float64)
        real = torch.isfinite(sq).to(torch.float64)  # (K, 1, n_max) 0 on padding
        parts = (s["center"], weight, shift, log_norm, points.transpose(1, 2), sq, real)
    return tuple(t.to(device=device, dtype=dtype) for t in parts)


def score_densities(z: Tensor, state: Mapping[str, Any], parts: tuple[Tensor, ...]) -> Tensor:
    """``(B, C)`` log-densities of flat ``(B, D)`` points (``-inf`` for absent classes), from the
    tensors of :func:`prepare_densities` (in ``z``'s dtype and on its device)."""
    s = state
    center, weight, shift, log_norm = parts[:4]
    batch, k, dim = z.shape[0], log_norm.shape[0], s["dim"]
    white = torch.addmm(shift, z - center, weight, alpha=1, beta=-1)  # (B, K*D)
    if s["density"] == "gaussian":
        maha = white.square_().view(batch, k, dim).sum(dim=2)  # (B, K)
        present = maha.mul_(-0.5).add_(log_norm)
    else:
        points_t, sq, real = parts[4], parts[5], parts[6]  # (K, D, n_max), (K, 1, n_max)
        q = white.view(batch, k, dim).transpose(0, 1)  # (K, B, D)
        # -||q - p||^2 / 2 for every kernel of every class: (K, B, n_max)
        d2 = torch.baddbmm(sq, q, points_t, alpha=-2).add_(q.square().sum(2, keepdim=True))
        log_kernel = d2.clamp_min_(0).mul_(-0.5)
        # logsumexp over the kernels. Far kernels would give subnormal exps, which x86
        # computes ~20x slower: a term below e^-80 of the largest is counted as e^-80
        # (a relative error under n * 1e-35), and padding is zeroed by the mask.
        top = log_kernel.amax(dim=2, keepdim=True)  # (K, B, 1)
        terms = log_kernel.sub_(top).clamp_min_(-80.0).exp_()
        if len(set(s["counts"].tolist())) > 1:
            terms.mul_(real)
        present = (terms.sum(dim=2).log_() + top.squeeze(2)).T + log_norm  # (B, K)
    if k == s["num_classes"]:  # every class present: columns already in order
        return present
    out = torch.full((batch, s["num_classes"]), -math.inf, dtype=z.dtype, device=z.device)
    return out.index_copy_(1, s["classes"].to(z.device), present)


def class_log_densities(points: Tensor, state: Mapping[str, Any]) -> Tensor:
    """``(B, C)`` class log-densities ``log p_c(x)`` of flat ``(B, D)`` points under a fitted
    GenLabel state (``GenLabel(...).fit(x, y).state_dict()``); float64 for float64 points."""
    if not state.get("fitted", True) or "chol" not in state:
        fail("class_log_densities", "a fitted state (GenLabel.fit(...).state_dict())", "none")
    if points.ndim != 2 or points.shape[1] != state["dim"]:
        fail("class_log_densities", f"points of shape (B, {state['dim']})", tuple(points.shape))
    dtype = torch.float64 if points.dtype == torch.float64 else torch.float32
    with torch.no_grad():
        return score_densities(
            points.to(dtype), state, prepare_densities(state, points.device, dtype)
        )
