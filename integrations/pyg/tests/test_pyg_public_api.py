"""The public names of mixkit-pyg are pinned; the package imports PyG, core does not."""

from __future__ import annotations

import subprocess
import sys

import mixkit_pyg
import mixkit_pyg.functional


def test_public_names() -> None:
    assert mixkit_pyg.__all__ == [
        "FGWMixUp",
        "GMixup",
        "GMixupDataset",
        "Graphon",
        "PooledMix",
        "__version__",
        "find_tu_source",
        "functional",
        "load_tu_dataset",
        "mix_pooled",
        "motif_graphs",
    ]
    for name in mixkit_pyg.__all__:
        assert hasattr(mixkit_pyg, name), name
    assert mixkit_pyg.__version__ == "0.1.0"


def test_functional_names() -> None:
    assert mixkit_pyg.functional.__all__ == [
        "align_by_degree",
        "dense_to_edges",
        "estimate_graphon",
        "fgw_coupling",
        "mix_dense_graphs",
        "structure_matrix",
        "to_dense_graph",
        "transport_graph",
        "usvt",
    ]


def test_importing_mixkit_does_not_import_pyg_or_grakel() -> None:
    probe = "import sys, mixkit; assert 'torch_geometric' not in sys.modules; print('ok')"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
    probe = "import sys, mixkit_pyg; assert 'grakel' not in sys.modules; print('ok')"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
