r"""Input-level graph mixup: partners aligned by fused Gromov-Wasserstein, mixed into new graphs.

Two graphs of different sizes have no node-to-node correspondence. :class:`FGWMixUp` finds a
soft one with fused Gromov-Wasserstein (node features and structure together, POT's
``ot.gromov.fused_gromov_wasserstein``), carries the lighter graph of each pair onto the nodes
of the heavier one (the larger mixing weight) along it, and interpolates node features,
weighted adjacency and edge attributes. The result is a new PyG ``Batch``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Batch, Data
from torch_geometric.utils import scatter

from mixkit import Mixed, Mixer, MixParams
from mixkit_pyg import functional as G
from mixkit_pyg._validation import (
    check_choice,
    check_float,
    check_graph_batch,
    check_int,
    describe,
    fail,
    graph_labels,
    shape_str,
)

__all__ = ["FGWMixUp"]

# the attribute that ties the (num_graphs, F) stand-in the Mixer template works on to the
# caller's graphs (a plain attribute on a fresh tensor: it never reaches the caller's objects)
_SOURCE = "_mixkit_pyg_source"


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


class FGWMixUp(Mixer):
    r"""Graph mixup at the input: align each partner by fused Gromov-Wasserstein, then mix.

    For a graph :math:`a` and its partner :math:`b` (drawn like any mixkit pairing), with the
    FGW coupling :math:`T` between them and :math:`P_{ab} = n_a T` (row-stochastic), the mixed
    graph lives on the node set of the graph with the larger weight; for
    :math:`\lambda \ge 1/2` that is :math:`a`:

    .. math::
        \tilde x = \lambda x_a + (1-\lambda) P_{ab} x_b, \quad
        \tilde A = \lambda A_a + (1-\lambda) P_{ab} A_b P_{ab}^\top, \quad
        \tilde y = \lambda y_a + (1-\lambda) y_b

    and for :math:`\lambda < 1/2` the same with the roles swapped (:math:`a` carried onto the
    nodes of :math:`b`, the target unchanged). The node count, and with it every sum-pooled
    readout, follows the graph that dominates the label: keeping :math:`a`'s nodes at small
    :math:`\lambda` would give a graph of :math:`a`'s size labelled mostly :math:`b` (on
    MUTAG, where size tracks the class, a GIN trained that way reached 0.76 training accuracy
    after 30 epochs, 0.85 with this rule, 0.91 without mixing). ``lam = 1`` gives graph
    :math:`a` back exactly, ``lam = 0`` graph :math:`b`.

    Edge attributes are carried the same way and averaged with the edge weights. The mixed
    edges are the entries of :math:`\tilde A` above ``edge_threshold``, returned as
    ``edge_index`` + ``edge_weight`` (feed ``edge_weight`` to a layer that uses it:
    ``GraphConv``, ``GCNConv``, a weighted GIN; plain ``GINConv`` ignores it).

    Paper: Ma, Hu, Cui, Liu, Lin, Xu, *Fused Gromov-Wasserstein Graph Mixup for Graph-level
    Classifications*, NeurIPS 2023 (arXiv 2306.15963). They mix towards the FGW barycenter
    of the two graphs (a third node set, solved iteratively); mixkit mixes along one coupling
    on the dominant graph's nodes: exact at ``lam`` 0 and 1, one FGW solve per pair, and
    mean-pooled features are preserved exactly
    (``mean(x~) = lam mean(x_a) + (1-lam) mean(x_b)``).

    Args:
        alpha: Beta concentration of lam (default 1.0, as :class:`mixkit.MixUp`; on small
            binary graph tasks 0.2 trains far better, see ``examples/graph_classification.py``).
        fgw_alpha: weight of the structure term in FGW, in ``[0, 1]`` (POT's ``alpha``;
            default 0.5): 0 aligns by node features only, 1 by structure only.
        structure: what Gromov-Wasserstein compares: ``"adjacency"`` (default) or
            ``"shortest_path"`` (hop distances).
        edge_threshold: mixed adjacency entries ``<= edge_threshold`` are not edges
            (default 1e-6: numerical dust of the soft alignment).
        max_iter: FGW conditional-gradient iterations (default 1000).
        tol: FGW stopping tolerance on the objective (default 1e-6; POT's 1e-9 is ~10x
            slower for the same matching on molecules).
        **kwargs: every other argument of :class:`mixkit.MixUp` (``mode``, ``p``,
            ``num_classes``, ``label_smoothing``, ``task``, ``pairing``, ``weighting``,
            ``relabel``, ``schedule``, ``generator``, ``enabled``, ...).

    Inputs (on call): ``mixer(batch, y=None, features=None)`` with ``batch`` a PyG ``Batch``
    (float node features ``x``, optional ``edge_weight`` and ``edge_attr``; ``y`` defaults to
    ``batch.y``), or a dense ``(B, N, F)`` tensor read as B edgeless graphs of N nodes (node
    sets: alignment is then plain optimal transport of the node features). ``features``
    ``(B, ...)`` is what pairings / weightings / relabelling see; default: mean-pooled node
    features, which is exactly what the mixed graphs' mean pooling gives.

    Returns (on call): :class:`mixkit.Mixed` whose ``inputs`` is a new ``Batch`` with ``x``,
    ``edge_index``, ``edge_weight`` (float32), ``edge_attr`` (when the input has it) and
    ``y`` = the mixed targets (one row per graph). Other attributes are not carried. Disabled
    or in eval mode, ``inputs`` is the caller's batch itself.

    Raises:
        ValueError / TypeError: bad arguments; a batch that is not a ``Batch``, has an empty
            graph, lacks float node features, or labels that are not one per graph.

    Example:
        >>> mixer = FGWMixUp(alpha=0.2, num_classes=2, generator=torch.Generator().manual_seed(0))
        >>> for batch in loader:  # torch_geometric.loader.DataLoader
        ...     mixed = mixer(batch)
        ...     g = mixed.inputs
        ...     logits = model(g.x, g.edge_index, g.batch, edge_weight=g.edge_weight)
        ...     loss = mixed.loss(logits)

    .. note::
        Isolated nodes and single-node graphs are fine (a single-node graph has one possible
        coupling); graphs with no node at all are refused. The FGW solves run on the CPU
        (POT, float64), a few milliseconds per pair of MUTAG molecules; the transport runs on
        the data's device. ``lam`` is the weight of the original graph.
    """

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        fgw_alpha: float = 0.5,
        structure: G.Structure = "adjacency",
        edge_threshold: float = 1e-6,
        max_iter: int = 1000,
        tol: float = 1e-6,
        **kwargs: Any,
    ) -> None:
        super().__init__(alpha=alpha, **kwargs)
        owner = type(self).__name__
        self.fgw_alpha = check_float(owner, "fgw_alpha", fgw_alpha, low=0.0, high=1.0)
        self.structure = cast(
            G.Structure, check_choice(owner, "structure", structure, G.STRUCTURES)
        )
        self.edge_threshold = check_float(owner, "edge_threshold", edge_threshold, low=0.0)
        self.max_iter = check_int(owner, "max_iter", max_iter, low=1)
        self.tol = check_float(owner, "tol", tol, low=0.0, low_open=True)

    # -- inputs ---------------------------------------------------------------------------

    def _check_inputs(self, x: object) -> Tensor:
        """The ``(B, F)`` stand-in the template draws and mixes targets on (mean node features)."""
        owner = type(self).__name__
        if isinstance(x, Tensor) and hasattr(x, _SOURCE):
            return x
        if isinstance(x, Batch):
            batch = check_graph_batch(owner, x)
            sums = scatter(batch.x.float(), batch.batch, dim=0, dim_size=batch.num_graphs)
            sizes = (batch.ptr[1:] - batch.ptr[:-1]).to(sums.dtype)
            proxy = (sums / sizes[:, None]).to(batch.x.dtype)  # (B, F) mean node features
        elif isinstance(x, Tensor) and x.ndim == 3:
            dense = super()._check_inputs(x)
            if dense.shape[1] == 0:
                fail(owner, "graphs with at least one node", f"x of shape {shape_str(x.shape)}")
            proxy = dense.mean(dim=1)  # (B, F)
        else:
            fail(
                owner,
                "a torch_geometric Batch of graphs or a dense (B, N, F) node-feature tensor",
                describe(x),
                type_error=not isinstance(x, Tensor),
            )
        setattr(proxy, _SOURCE, x)
        return cast(Tensor, proxy)

    def _labels(self, x: object, y: Tensor | None) -> Tensor:
        owner = type(self).__name__
        if y is None:
            if not isinstance(x, Batch) or not isinstance(getattr(x, "y", None), Tensor):
                fail(owner, "y, or a Batch that carries graph labels y", "y=None")
            y = x.y
        count = x.num_graphs if isinstance(x, Batch) else len(x) if isinstance(x, Tensor) else 0
        return graph_labels(owner, y, count) if count else y

    def forward(
        self, x: Batch | Tensor, y: Tensor | None = None, *, features: Tensor | None = None
    ) -> Mixed:
        """Mix a batch of graphs; ``y`` defaults to ``x.y`` (see the class docs)."""
        return super().forward(x, self._labels(x, y), features=features)

    def mix(
        self,
        x: Batch | Tensor,
        y: Tensor | None,
        params: MixParams,
        *,
        features: Tensor | None = None,
    ) -> Mixed:
        """Mix with given parameters (no randomness); ``y=None`` takes ``x.y``."""
        return super().mix(x, self._labels(x, y), params, features=features)

    # -- the template's steps -------------------------------------------------------------

    def _identity(self, x: Tensor, y: Tensor, classes: int | None) -> Mixed:
        out = super()._identity(x, y, classes)
        source = getattr(x, _SOURCE, x)
        return dataclasses.replace(out, inputs=source, source=source)

    def _mix(
        self,
        x: Tensor,
        y: Tensor,
        params: MixParams,
        classes: int | None,
        features: Tensor | None = None,
    ) -> Mixed:
        out = super()._mix(x, y, params, classes, features)
        source = getattr(x, _SOURCE)
        if isinstance(source, Batch):
            inputs: Batch | Tensor = self._mix_batch(source, params, out.targets)
        else:
            inputs = self._mix_dense(source, params)
        return dataclasses.replace(out, inputs=inputs, source=source)

    # -- the graph operation --------------------------------------------------------------

    def _plan(
        self, params: MixParams, xs: list[Tensor], structure: Callable[[int], np.ndarray]
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
                    xs[a],
                    structure(a),
                    xs[b],
                    structure(b),
                    fgw_alpha=self.fgw_alpha,
                    max_iter=self.max_iter,
                    tol=self.tol,
                )
            base, other, weight = (i, j, w) if w >= 0.5 else (j, i, 1.0 - w)
            coupling = solved[key] if base == key[0] else solved[key].T
            plan[i] = (base, other, weight, coupling)
        return plan

    def _mix_dense(self, x: Tensor, params: MixParams) -> Tensor:
        nodes = x.shape[1]
        zeros = np.zeros((nodes, nodes))  # edgeless: no structure to compare
        plan = self._plan(params, list(x.unbind(0)), lambda g: zeros)
        out = x.clone()
        empty = torch.zeros(nodes, nodes, device=x.device)
        for i, (base, other, weight, coupling) in plan.items():
            x_t, _, _ = G.transport_graph(coupling, x[other], empty)  # (N, F)
            out[i] = torch.lerp(x_t.to(x.dtype), x[base], weight)
        return out

    def _mix_batch(self, batch: Batch, params: MixParams, targets: Tensor) -> Batch:
        graphs = _split(batch)
        cache: dict[int, np.ndarray] = {}

        def structure(g: int) -> np.ndarray:
            if g not in cache:
                cache[g] = G.structure_matrix(graphs[g].adj, self.structure)
            return cache[g]

        plan = self._plan(params, [g.x for g in graphs], structure)
        attr = getattr(batch, "edge_attr", None)
        attr_dtype = attr.dtype if attr is not None and attr.is_floating_point() else torch.float32
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
            graph = Data(x=x_new, edge_index=edge_index, edge_weight=weight, y=targets[i : i + 1])
            if edge_attr is not None:
                graph.edge_attr = edge_attr.to(attr_dtype)
            data.append(graph)
        return Batch.from_data_list(data)

    # -- repr -----------------------------------------------------------------------------

    def _repr_args(self) -> dict[str, Any]:
        shown = super()._repr_args()
        defaults = {
            "fgw_alpha": 0.5,
            "structure": "adjacency",
            "edge_threshold": 1e-6,
            "max_iter": 1000,
            "tol": 1e-6,
        }
        for name, default in defaults.items():
            value = getattr(self, name)
            if value != default:
                shown[name] = value
        return shown
