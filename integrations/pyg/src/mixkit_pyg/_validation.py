"""Error messages of mixkit-pyg: core's one template, plus the checks graphs need.

Every message reads ``"Owner: expected X, got Y"`` (:func:`mixkit._validation.fail`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Batch

from mixkit._validation import (
    check_bool,
    check_choice,
    check_float,
    check_generator,
    check_int,
    describe,
    fail,
    shape_str,
)

__all__ = [
    "check_bool",
    "check_choice",
    "check_float",
    "check_generator",
    "check_graph_batch",
    "check_int",
    "describe",
    "fail",
    "graph_labels",
    "shape_str",
]


def check_graph_batch(owner: str, batch: Any, *, need_features: bool = True) -> Batch:
    """A collated PyG ``Batch`` of at least one graph, each with at least one node.

    With ``need_features``, node features ``x`` must be a floating ``(num_nodes, F)`` tensor.
    """
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
    sizes = batch.ptr[1:] - batch.ptr[:-1]
    if bool((sizes == 0).any()):
        empty = int(torch.nonzero(sizes == 0)[0])
        fail(owner, "graphs with at least one node", f"graph {empty} with 0 nodes")
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
    ``(num_graphs, 1)`` in others (OGB); node-level labels (one per node) cannot be mixed at
    the graph level and are refused with a message that says so.
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
