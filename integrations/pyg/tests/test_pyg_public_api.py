"""The public names of mixkit-pyg are pinned; the package imports PyG, core does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mixkit
import mixkit_pyg
import mixkit_pyg.functional


def test_public_names() -> None:
    assert mixkit_pyg.__all__ == [
        "FGWMixUp",
        "FGWOp",
        "GMixUp",
        "GMixUpDataset",
        "Graphon",
        "PooledMix",
        "__version__",
        "functional",
        "mix_pooled",
        "motif_graphs",
    ]
    for name in mixkit_pyg.__all__:
        assert hasattr(mixkit_pyg, name), name
    assert mixkit_pyg.__version__ == "0.2.0"
    assert not hasattr(mixkit_pyg, "GMixup") and not hasattr(mixkit_pyg, "GMixupDataset")


def test_core_range_and_version_are_declared() -> None:
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert '\nversion = "0.2.0"\n' in text
    assert '"mixkit>=0.2,<0.3",' in text


def test_presets_and_wrappers_are_built_on_the_public_core() -> None:
    assert issubclass(mixkit_pyg.FGWMixUp, mixkit.Mixer)
    assert issubclass(mixkit_pyg.FGWOp, mixkit.InputOp)
    assert issubclass(mixkit_pyg.PooledMix, mixkit.MixerWrapper)
    # a preset fills slots and shows its own arguments; it never overrides the template
    for name in ("forward", "draw", "mix"):
        assert name not in vars(mixkit_pyg.FGWMixUp), name


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
