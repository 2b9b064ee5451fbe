"""A synthetic graph-classification task from PyG's motif generators (no download)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as TF
from torch_geometric.data import Data
from torch_geometric.datasets import ExplainerDataset
from torch_geometric.datasets.graph_generator import BAGraph
from torch_geometric.datasets.motif_generator import CycleMotif, GridMotif, HouseMotif
from torch_geometric.datasets.motif_generator.base import MotifGenerator
from torch_geometric.utils import degree

from mixkit.validation import check_generator, check_int, describe, fail

__all__ = ["motif_graphs"]

MOTIFS: dict[str, MotifGenerator] = {
    "house": HouseMotif(),
    "cycle": CycleMotif(5),
    "grid": GridMotif(),
}


def motif_graphs(
    num_graphs: int,
    *,
    motifs: Sequence[str] = ("house", "cycle"),
    num_nodes: tuple[int, int] = (10, 20),
    max_degree: int = 8,
    generator: torch.Generator | None = None,
) -> list[Data]:
    """A synthetic graph-classification task: the class is the motif attached to a BA graph.

    Each graph is a Barabási-Albert tree (PyG's ``BAGraph``, one edge per new node) of a
    size drawn from ``num_nodes`` with one motif attached by one edge (PyG's
    ``ExplainerDataset``); class ``c`` is ``motifs[c]``. Node features are one-hot degrees
    (clipped at ``max_degree``), so the task needs the structure. House and 5-cycle have the
    same number of nodes: the node count says nothing about the label.

    Args:
        num_graphs: how many graphs; classes alternate (balanced).
        motifs: names among ``"house"``, ``"cycle"`` (5 nodes), ``"grid"`` (3x3).
        num_nodes: ``(low, high)`` inclusive size range of the BA part.
        max_degree: one-hot width minus one.
        generator: CPU generator; all randomness comes from it (PyG's generators use torch's
            and numpy's global RNGs: they are seeded from it and restored afterwards).

    Returns:
        A list of ``Data(x (n, max_degree + 1), edge_index, y (1,))``.
    """
    owner = "motif_graphs"
    check_int(owner, "num_graphs", num_graphs, low=0)
    check_int(owner, "max_degree", max_degree, low=1)
    if not motifs or any(m not in MOTIFS for m in motifs):
        fail(owner, f"motifs among {sorted(MOTIFS)}", describe(list(motifs)))
    low, high = num_nodes
    if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high):
        fail(owner, "num_nodes as (low, high) with 1 <= low <= high", num_nodes)
    gen = check_generator(owner, generator)
    gen = gen if gen is not None else torch.Generator().manual_seed(0)
    out = []
    for i in range(num_graphs):
        label = i % len(motifs)
        size = int(torch.randint(low, high + 1, (1,), generator=gen))
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=gen))
        # PyG's generators draw from torch's and numpy's global RNGs: seed both from our
        # generator, and put both back as they were
        numpy_state = np.random.get_state()  # noqa: NPY002
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                np.random.seed(seed)  # noqa: NPY002
                graph = ExplainerDataset(
                    graph_generator=BAGraph(num_nodes=size, num_edges=1),
                    motif_generator=MOTIFS[motifs[label]],
                    num_motifs=1,
                    num_graphs=1,
                )[0]
        finally:
            np.random.set_state(numpy_state)  # noqa: NPY002
        n = int(graph.num_nodes)
        deg = degree(graph.edge_index[0], n).long().clamp_max(max_degree)
        out.append(
            Data(
                x=TF.one_hot(deg, max_degree + 1).float(),
                edge_index=graph.edge_index,
                y=torch.tensor([label]),
            )
        )
    return out
