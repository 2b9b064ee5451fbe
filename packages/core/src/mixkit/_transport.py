"""Optimal-transport matching of chunks of a batch: the kernels of k-mixup's pairing.

Each chunk of ``m`` source samples is matched to its chunk of ``m`` partners by the assignment
that minimises the summed distance (with uniform weights the optimal transport plan is a
permutation). Exact (Hungarian, scipy; or POT's network simplex) on the CPU, or entropic (POT's
batched log-domain Sinkhorn) on the features' device, rounded to a permutation there.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from mixkit.validation import check_choice, fail

__all__ = ["COSTS", "SOLVERS", "Cost", "Solver", "chunk_costs", "ot_match"]

Cost = Literal["euclidean", "sqeuclidean"]
Solver = Literal["exact", "emd", "sinkhorn"]
COSTS: tuple[str, ...] = ("euclidean", "sqeuclidean")
SOLVERS: tuple[str, ...] = ("exact", "emd", "sinkhorn")

_SINKHORN_TOL = 1e-3  # Sinkhorn stops at this marginal error, relative to a row's mass
_DIRECT_MAX_DIM = 64  # up to this feature size, chunk costs from direct differences


def chunk_costs(features: Tensor, sources: Tensor, partners: Tensor, *, cost: str) -> Tensor:
    """Cost of every source-partner pair inside each chunk: ``(n, m, m)`` float32.

    ``cost[c, i, j]`` is the distance between ``features[sources[c, i]]`` and
    ``features[partners[c, j]]``: Euclidean, or its square for ``"sqeuclidean"``. On the
    features' device. Low-dimensional features (``D <= 64``) take the direct differences
    (exact even for near-duplicates); higher ones ``|a|^2 + |b|^2 - 2 a.b`` with one batched
    matrix product on centred features, several times faster, with a cancellation error of
    about ``1e-7 |a|^2`` on the squared distance. A sample against itself costs exactly 0.
    ``features`` is never modified (the gathered rows are copies).

    Args:
        features: ``(B, D)`` float features.
        sources: ``(n, m)`` int64 row indices into ``features`` (same device).
        partners: ``(n, m)`` int64 row indices into ``features``, paired chunk by chunk.
        cost: ``"euclidean"`` or ``"sqeuclidean"``.
    """
    n, m = sources.shape
    a = features.index_select(0, sources.reshape(-1)).view(n, m, -1)  # (n, m, D), a copy
    b = features.index_select(0, partners.reshape(-1)).view(n, m, -1)  # (n, m, D), a copy
    if features.shape[1] <= _DIRECT_MAX_DIM:
        d = torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")  # (n, m, m)
        return d.square_() if cost == "sqeuclidean" else d
    centre = a.mean(dim=(0, 1))  # (D,): a common shift leaves every distance unchanged
    a.sub_(centre)
    b.sub_(centre)
    sq_a = torch.linalg.vector_norm(a, dim=2).square_()  # (n, m)
    sq_b = torch.linalg.vector_norm(b, dim=2).square_()  # (n, m)
    base = sq_a.unsqueeze(2) + sq_b.unsqueeze(1)  # (n, m, m)
    d2 = torch.baddbmm(base, a, b.transpose(1, 2), alpha=-2.0).clamp_min_(0.0)
    d2 = d2.masked_fill(sources.unsqueeze(2) == partners.unsqueeze(1), 0.0)
    return d2 if cost == "sqeuclidean" else d2.sqrt_()


def _assign_exact(costs: Tensor, solver: str) -> Tensor:
    """Optimal assignment of each chunk on the CPU: ``(n, m)`` column of each row.

    ``"exact"``: Hungarian algorithm (``scipy.optimize.linear_sum_assignment``). ``"emd"``: POT's
    network simplex ``ot.emd`` with uniform weights; its plan is a permutation matrix over
    ``m`` (a vertex of the Birkhoff polytope), read back by an assignment on the plan.
    """
    c = costs.detach().to("cpu", torch.float64).numpy()  # (n, m, m), one transfer
    n, m, _ = c.shape
    out = np.empty((n, m), dtype=np.int64)
    if solver == "emd":
        import ot  # POT: imported on first use, ``import mixkit`` stays light

        uniform = np.full(m, 1.0 / m)
        for i in range(n):
            plan = ot.emd(uniform, uniform, c[i])  # (m, m), entries 0 or 1/m
            out[i] = linear_sum_assignment(plan, maximize=True)[1]
    else:
        for i in range(n):
            out[i] = linear_sum_assignment(c[i])[1]
    return torch.from_numpy(out)


def _round_plan(score: Tensor) -> Tensor:
    """A permutation from a transport plan, on its device: parallel greedy matching.

    Each unmatched row proposes its highest-scoring free column; each column keeps its best
    proposal (the lowest row on ties); repeat. Every round matches at least one row per
    chunk, so at most ``m`` rounds. When the plan is close to a permutation (small ``reg``),
    the first round returns exactly its support.

    Args:
        score: ``(n, m, m)`` plan or log-plan (higher = more mass).

    Returns:
        ``(n, m)`` int64 column of each row, a permutation per chunk, on ``score``'s device.
    """
    n, m, _ = score.shape
    device = score.device
    col_of_row = torch.full((n, m), -1, dtype=torch.int64, device=device)
    col_free = torch.ones((n, m), dtype=torch.bool, device=device)
    rows = torch.arange(m, device=device).expand(n, m)
    low = torch.finfo(score.dtype).min
    for _ in range(m):
        row_free = col_of_row < 0  # (n, m)
        if not bool(row_free.any()):
            break
        open_ = row_free.unsqueeze(2) & col_free.unsqueeze(1)  # (n, m, m)
        value, col = score.masked_fill(~open_, -torch.inf).max(dim=2)  # (n, m) proposals
        value = torch.where(row_free, value.clamp_min(low), -torch.inf)
        best = torch.full((n, m), -torch.inf, dtype=score.dtype, device=device)
        best = best.scatter_reduce(1, col, value, "amax")  # (n, m) best offer per column
        offer = row_free & (value == best.gather(1, col))
        first = torch.full((n, m), m, dtype=torch.int64, device=device)
        first = first.scatter_reduce(1, col, torch.where(offer, rows, m), "amin")
        win = offer & (first.gather(1, col) == rows)  # one winner per proposed column
        col_of_row = torch.where(win, col, col_of_row)
        taken = torch.zeros((n, m), dtype=torch.int64, device=device)
        col_free &= taken.scatter_reduce(1, col, win.long(), "amax") == 0
    return col_of_row


def _forbid(costs: Tensor, forbid: Tensor | None) -> Tensor:
    """Make the ``forbid`` pairs dearer than any whole matching without them.

    A forbidden pair is then chosen only when nothing else is possible (a chunk of one sample
    that is its own partner).
    """
    if forbid is None:
        return costs
    bar = costs.amax(dim=(1, 2), keepdim=True) * costs.shape[1] + 1.0  # (n, 1, 1)
    return torch.where(forbid, bar, costs)


def _assign_sinkhorn(costs: Tensor, forbid: Tensor | None, reg: float, max_iter: int) -> Tensor:
    """Entropic OT (POT's batched log-domain Sinkhorn) on the costs' device, then rounding.

    Costs are divided by each chunk's mean cost (taken before forbidding pairs), so ``reg`` is
    relative to the typical distance (as ``ott-jax``'s relative epsilon) and the same value
    works at any data scale.
    """
    try:
        from ot.batch import bregman_log_projection_batch
    except ImportError as error:  # pragma: no cover - depends on the installed POT
        raise ImportError(
            "OTPairing: expected POT >= 0.9.6 (ot.batch) for solver='sinkhorn', got an older "
            "POT; upgrade it (pip install -U pot) or use solver='exact'"
        ) from error

    n, m, _ = costs.shape
    scale = costs.mean(dim=(1, 2), keepdim=True).clamp_min(torch.finfo(costs.dtype).tiny)
    uniform = torch.full((n, m), 1.0 / m, dtype=costs.dtype, device=costs.device)
    result = bregman_log_projection_batch(
        -_forbid(costs / scale, forbid) / reg,
        uniform,
        uniform,
        max_iter=max_iter,
        tol=_SINKHORN_TOL / m,
        grad="detach",
    )
    log_plan: Tensor = result["log_T"]  # (n, m, m): no underflow, unlike the plan itself
    return _round_plan(log_plan)


def ot_match(
    features: Tensor,
    sources: Tensor,
    partners: Tensor,
    *,
    cost: Cost = "euclidean",
    solver: Solver = "exact",
    reg: float = 0.05,
    max_iter: int = 100,
    avoid_self: bool = False,
    owner: str = "ot_match",
) -> Tensor:
    """The optimal matching of each chunk of samples to its chunk of partners.

    Args:
        features: ``(B, D)`` float features (any device).
        sources: ``(n, m)`` int64 row indices into ``features``.
        partners: ``(n, m)`` int64 row indices into ``features``: chunk ``c`` of ``sources``
            is matched to chunk ``c`` of ``partners``.
        cost: ``"euclidean"`` (k-mixup's) or ``"sqeuclidean"``.
        solver: ``"exact"`` (Hungarian), ``"emd"`` (POT's network simplex) or ``"sinkhorn"``
            (entropic).
        reg: Sinkhorn's regularisation, relative to each chunk's mean cost.
        max_iter: Sinkhorn's iterations at most.
        avoid_self: never match a sample with itself unless nothing else is possible.
        owner: the name errors report.

    Returns:
        ``(n, m)`` int64 on the CPU: the column of ``partners`` matched to each source, a
        permutation per chunk.

    Example:
        >>> feats = torch.tensor([[0.0], [10.0], [0.1], [10.1]])
        >>> ot_match(feats, torch.tensor([[0, 1]]), torch.tensor([[3, 2]]))
        tensor([[1, 0]])
    """
    check_choice(owner, "cost", cost, COSTS)
    check_choice(owner, "solver", solver, SOLVERS)
    device = features.device
    src, dst = sources.to(device), partners.to(device)
    costs = chunk_costs(features.detach().float(), src, dst, cost=cost)  # (n, m, m)
    if not bool(torch.isfinite(costs).all()):
        fail(owner, "finite features", "NaN or infinite distances")
    forbid = src.unsqueeze(2) == dst.unsqueeze(1) if avoid_self else None
    if solver == "sinkhorn":
        return _assign_sinkhorn(costs, forbid, reg, max_iter).cpu()
    return _assign_exact(_forbid(costs, forbid), solver)
