"""The input operation of FGW graph mixup: batches of graphs in the core's ``op`` slot.

``prepare`` reads a PyG ``Batch`` (or dense ``(B, N, F)`` node sets) and stands for it with the
``(B, F)`` mean node features; ``apply`` aligns each pair by fused Gromov-Wasserstein and mixes
them into a new ``Batch``; ``represent`` is the mix of the mean features (exact: this mixing
preserves mean-pooled features); ``finish`` writes the final targets into the new ``Batch``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Batch, Data
from torch_geometric.utils import scatter

import mixkit
from mixkit.functional import mix
from mixkit.validation import (
    check_batch,
    check_choice,
    check_float,
    check_int,
    describe,
    fail,
    shape_str,
)
from mixkit_pyg import functional as G
from mixkit_pyg._validation import check_graph_batch, graph_labels, refuse_single_graph

__all__ = ["FGWOp"]

#: FGWOp's options and their defaults (FGWMixUp's repr shows the others)
DEFAULTS: dict[str, Any] = {
    "fgw_alpha": 0.5,
    "structure": "adjacency",
    "edge_threshold": 1e-6,
    "max_iter": 1000,
    "tol": 1e-6,
}


@dataclass
class _Graph:
    """One graph of the batch, dense, plus its original sparse edges."""

    x: Tensor  # (n, F)
    adj: Tensor  # (n, n) weighted adjacency
    edge: Tensor | None  # (n, n, E) weight-scaled edge attributes
    edge_index: Tensor  # (2, m) local
    edge_weight: Tensor  # (m,)
    edge_attr: Tensor | None  # (m, ...) as given


def _split(batch: Batch) -> list[_Graph]:
    """The graphs of a collated batch as dense per-graph tensors (edges grouped per graph)."""
    num_graphs = batch.num_graphs
    ptr = batch.ptr.tolist()
    edge_index = batch.edge_index
    owner = batch.batch[edge_index[0]]  # (m,) graph of each edge
    order = torch.argsort(owner, stable=True)
    counts = torch.bincount(owner, minlength=num_graphs).tolist()
    weight = getattr(batch, "edge_weight", None)
    weight = torch.ones(edge_index.shape[1], device=edge_index.device) if weight is None else weight
    attr = getattr(batch, "edge_attr", None)
    edges = edge_index[:, order].split(counts, dim=1)
    weights = weight[order].float().split(counts)
    attrs = attr[order].split(counts) if attr is not None else [None] * num_graphs
    graphs = []
    for g in range(num_graphs):
        n = ptr[g + 1] - ptr[g]
        local = edges[g] - ptr[g]
        adj, edge = G.to_dense_graph(local, n, edge_weight=weights[g], edge_attr=attrs[g])
        graphs.append(_Graph(batch.x[ptr[g] : ptr[g + 1]], adj, edge, local, weights[g], attrs[g]))
    return graphs


def check_options(
    owner: str,
    *,
    fgw_alpha: float,
    structure: str,
    edge_threshold: float,
    max_iter: int,
    tol: float,
) -> dict[str, Any]:
    """The arguments of :class:`FGWOp`, validated (errors name ``owner``)."""
    return {
        "fgw_alpha": check_float(owner, "fgw_alpha", fgw_alpha, low=0.0, high=1.0),
        "structure": check_choice(owner, "structure", structure, G.STRUCTURES),
        "edge_threshold": check_float(owner, "edge_threshold", edge_threshold, low=0.0),
        "max_iter": check_int(owner, "max_iter", max_iter, low=1),
        "tol": check_float(owner, "tol", tol, low=0.0, low_open=True),
    }


def _scalar(lam: Tensor) -> Tensor | float:
    # one lam for the whole batch: the scalar weight the core's LerpOp uses too
    values = lam.tolist()
    return values[0] if values.count(values[0]) == len(values) else lam


class FGWOp(mixkit.InputOp):
    r"""Graphs aligned by fused Gromov-Wasserstein, then interpolated (see :class:`FGWMixUp`).

    Each mixed graph lives on the nodes of the heavier graph of its pair (the original when
    ``lam >= 1/2``); the lighter one is carried there along the FGW coupling, and node
    features, weighted adjacency and edge attributes are interpolated. One FGW solve per pair.

    Args:
        fgw_alpha: weight of the structure term in ``[0, 1]`` (POT's ``alpha``).
        structure: ``"adjacency"`` or ``"shortest_path"`` (what Gromov-Wasserstein compares).
        edge_threshold: mixed adjacency entries ``<= edge_threshold`` are not edges.
        max_iter: FGW conditional-gradient iterations.
        tol: FGW stopping tolerance on the objective.

    Inputs: a PyG ``Batch`` (``y`` defaults to ``batch.y``) or dense ``(B, N, F)`` node sets.
    The mixed ``Batch`` has ``x``, ``edge_index``, ``edge_weight``, ``edge_attr`` (when the
    input has it) and ``y`` = the final targets. ``out=`` is refused (the result is a new
    ``Batch``).
    """

    supports_out = False

    def __init__(
        self,
        *,
        fgw_alpha: float = 0.5,
        structure: G.Structure = "adjacency",
        edge_threshold: float = 1e-6,
        max_iter: int = 1000,
        tol: float = 1e-6,
    ) -> None:
        given = check_options(
            type(self).__name__, fgw_alpha=fgw_alpha, structure=structure,
            edge_threshold=edge_threshold, max_iter=max_iter, tol=tol,
        )  # fmt: skip
        self.fgw_alpha: float = given["fgw_alpha"]
        self.structure: G.Structure = given["structure"]
        self.edge_threshold: float = given["edge_threshold"]
        self.max_iter: int = given["max_iter"]
        self.tol: float = given["tol"]

    def options(self) -> dict[str, Any]:
        """The operation's arguments, by name."""
        return {name: getattr(self, name) for name in DEFAULTS}

    # -- the core's hooks -----------------------------------------------------------------

    def prepare(
        self, owner: str, x: object, y: Tensor | None, *, task: str, union: bool, **arguments: Any
    ) -> mixkit.OpBatch:
        """Validate; the view is the ``(B, F)`` mean node features of each graph."""
        refuse_single_graph(owner, x)
        if isinstance(x, Batch):
            batch = check_graph_batch(owner, x)
            sums = scatter(batch.x.float(), batch.batch, dim=0, dim_size=batch.num_graphs)
            sizes = (batch.ptr[1:] - batch.ptr[:-1]).to(sums.dtype)
            view = (sums / sizes[:, None]).to(batch.x.dtype)  # (B, F) mean node features
            labels = batch.y if y is None else y
            if labels is not None:
                labels = graph_labels(owner, labels, batch.num_graphs)
            return mixkit.OpBatch(x=batch, data=batch, view=view, y=labels)
        if not (isinstance(x, Tensor) and x.ndim == 3):
            fail(
                owner,
                "a torch_geometric Batch of graphs or a dense (B, N, F) node-feature tensor",
                describe(x),
                type_error=not isinstance(x, Tensor),
            )
        dense = check_batch(owner, x)
        if dense.shape[1] == 0:
            fail(owner, "graphs with at least one node", f"x of shape {shape_str(x.shape)}")
        labels = None if y is None else graph_labels(owner, y, dense.shape[0])
        return mixkit.OpBatch(x=dense, data=dense, view=dense.mean(dim=1), y=labels)

    def apply(
        self, batch: mixkit.OpBatch, params: mixkit.MixParams, *, out: Tensor | None = None
    ) -> Batch | Tensor:
        """The mixed graphs: a new ``Batch`` (its ``y`` is set by :meth:`finish`), or the mixed
        dense node sets."""
        if isinstance(batch.data, Batch):
            return self._mix_graphs(batch.data, params)
        return self._mix_dense(batch.data, params)

    def represent(self, batch: mixkit.OpBatch, params: mixkit.MixParams, inputs: Any) -> Tensor:
        """The mixed mean node features: exactly the mean pooling of the mixed graphs."""
        return mix(batch.view, params.index, _scalar(params.lam))

    def finish(
        self, batch: mixkit.OpBatch, params: mixkit.MixParams, mixed: mixkit.Mixed
    ) -> mixkit.Mixed:
        """The final targets (mixed, smoothed, relabelled) become the new ``Batch``'s ``y``."""
        if mixed.applied and isinstance(mixed.inputs, Batch):
            mixed.inputs.y = mixed.targets
        return mixed

    # -- the graph operation --------------------------------------------------------------

    def _plan(
        self, params: mixkit.MixParams, xs: list[Tensor], structure: Callable[[int], np.ndarray]
    ) -> dict[int, tuple[int, int, float, Tensor]]:
        """Every moved row: ``(base, other, weight of base, coupling base x other)``.

        The base is the graph with the larger weight (the original when ``lam >= 1/2``, the
        partner otherwise); one FGW solve per unordered pair.
        """
        index, lam = params.index.tolist(), params.lam.tolist()
        solved: dict[tuple[int, int], Tensor] = {}
        plan: dict[int, tuple[int, int, float, Tensor]] = {}
        for i, (j, w) in enumerate(zip(index, lam, strict=True)):
            if j == i or w >= 1.0:
                continue
            key = (min(i, j), max(i, j))
            if key not in solved:
                a, b = key
                solved[key] = G.fgw_coupling(
                    xs[a], structure(a), xs[b], structure(b),
                    fgw_alpha=self.fgw_alpha, max_iter=self.max_iter, tol=self.tol,
                )  # fmt: skip
            base, other, weight = (i, j, w) if w >= 0.5 else (j, i, 1.0 - w)
            coupling = solved[key] if base == key[0] else solved[key].T
            plan[i] = (base, other, weight, coupling)
        return plan

    def _mix_dense(self, x: Tensor, params: mixkit.MixParams) -> Tensor:
        nodes = x.shape[1]
        zeros = np.zeros((nodes, nodes))  # edgeless: no structure to compare
        plan = self._plan(params, list(x.unbind(0)), lambda g: zeros)
        out = x.clone()
        empty = torch.zeros(nodes, nodes, device=x.device)
        for i, (base, other, weight, coupling) in plan.items():
            x_t, _, _ = G.transport_graph(coupling, x[other], empty)  # (N, F)
            out[i] = torch.lerp(x_t.to(x.dtype), x[base], weight)
        return out

    def _mix_graphs(self, batch: Batch, params: mixkit.MixParams) -> Batch:
        graphs = _split(batch)
        cache: dict[int, np.ndarray] = {}

        def structure(g: int) -> np.ndarray:
            if g not in cache:
                cache[g] = G.structure_matrix(graphs[g].adj, self.structure)
            return cache[g]

        plan = self._plan(params, [g.x for g in graphs], structure)
        attr = getattr(batch, "edge_attr", None)
        attr_dtype = attr.dtype if attr is not None and attr.is_floating_point() else torch.float32
        no_label = torch.zeros(1, 0, device=batch.x.device)  # finish writes the targets
        data = []
        for i, a in enumerate(graphs):
            if i not in plan:  # unmixed: the graph as it came (plus unit edge weights)
                x_new, edge_index, weight, edge_attr = a.x, a.edge_index, a.edge_weight, a.edge_attr
            else:
                base_id, other_id, w, coupling = plan[i]
                base, other = graphs[base_id], graphs[other_id]
                x_t, adj_t, edge_t = G.transport_graph(coupling, other.x, other.adj, other.edge)
                x_new, adj, edge = G.mix_dense_graphs(
                    base.x, base.adj, base.edge, x_t, adj_t, edge_t, w
                )
                edge_index, weight, edge_attr = G.dense_to_edges(
                    adj, edge, threshold=self.edge_threshold
                )
                if edge_attr is not None and attr is not None and attr.ndim == 1:
                    edge_attr = edge_attr.reshape(-1)
            graph = Data(x=x_new, edge_index=edge_index, edge_weight=weight, y=no_label)
            if edge_attr is not None:
                graph.edge_attr = edge_attr.to(attr_dtype)
            data.append(graph)
        return Batch.from_data_list(data)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"FGWOp({args})"
