"""The graph checks of mixkit-pyg, in the core's one error format.

Every message reads ``"Owner: expected X, got Y"`` (:func:`mixkit.validation.fail`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Batch
from torch_geometric.data.data import BaseData

from mixkit.validation import describe, fail, shape_str

__all__ = [
    "check_graph_batch",
    "check_nonempty_graphs",
    "graph_labels",
    "node_counts",
    "refuse_single_graph",
]


def refuse_single_graph(owner: str, value: object) -> None:
    """A single ``Data`` where a collated ``Batch`` is needed: say how to make one."""
    if isinstance(value, BaseData) and not isinstance(value, Batch):
        fail(
            owner,
            "a torch_geometric Batch of graphs, not a single graph (for one graph: "
            "Batch.from_data_list([data]))",
            f"{value} ({type(value).__name__})",
            type_error=True,
        )


def node_counts(batch: Batch) -> Tensor | None:
    """``(num_graphs,)`` nodes of each graph of a collated batch (all node types together), or
    None when the batch does not say (no ``ptr`` nor ``batch`` vector)."""
    counts = torch.zeros(batch.num_graphs, dtype=torch.long)
    for store in batch.node_stores:
        ptr, assignment = store.get("ptr"), store.get("batch")
        if isinstance(ptr, Tensor):
            counts += (ptr[1:] - ptr[:-1]).cpu()
        elif isinstance(assignment, Tensor):
            counts += torch.bincount(assignment.cpu(), minlength=batch.num_graphs)
        else:
            return None
    return counts


def check_nonempty_graphs(owner: str, batch: Batch, expected: str) -> None:
    """Refuse a batch holding a graph without nodes, naming the first such graph."""
    counts = node_counts(batch)
    if counts is not None and bool((counts == 0).any()):
        empty = int(torch.nonzero(counts == 0)[0])
        fail(owner, expected, f"graph {empty} with 0 nodes")


def check_graph_batch(owner: str, batch: Any, *, need_features: bool = True) -> Batch:
    """A collated PyG ``Batch`` of at least one graph, each with at least one node.

    With ``need_features``, node features ``x`` must be a floating ``(num_nodes, F)`` tensor.
    """
    refuse_single_graph(owner, batch)
    if not isinstance(batch, Batch):
        fail(
            owner,
            "a torch_geometric.data.Batch (what PyG's DataLoader yields; "
            "Batch.from_data_list(graphs) for a list)",
            describe(batch),
            type_error=True,
        )
    if batch.num_graphs == 0:
        fail(owner, "a batch of at least one graph", "an empty batch")
    check_nonempty_graphs(owner, batch, "graphs with at least one node")
    if need_features:
        x = batch.x
        if not isinstance(x, Tensor):
            fail(
                owner,
                "graphs with node features x (add some first, e.g. "
                "torch_geometric.transforms.OneHotDegree)",
                "x=None",
            )
        if not x.is_floating_point() or x.ndim != 2:
            fail(
                owner,
                "node features x as a floating (num_nodes, F) tensor (one-hot integer "
                "node labels first)",
                describe(x),
            )
    return batch


def graph_labels(owner: str, y: object, num_graphs: int) -> Tensor:
    """Graph-level labels: one entry per graph; int ``(num_graphs, 1)`` is squeezed.

    PyG stores single-task graph labels as ``(num_graphs,)`` in TU datasets but as
    ``(num_graphs, 1)`` in others (OGB); node-level labels (one per node) are refused.
    """
    if not isinstance(y, Tensor):
        fail(owner, "y to be a torch.Tensor of graph labels", describe(y), type_error=True)
    if y.ndim == 0 or y.shape[0] != num_graphs:
        fail(
            owner,
            f"y with one entry per graph ({num_graphs} graphs; node-level labels cannot be "
            "mixed at the graph level)",
            f"y of shape {shape_str(y.shape)}",
        )
    if not y.is_floating_point() and y.ndim == 2 and y.shape[1] == 1:
        return y.reshape(-1)
    return y
