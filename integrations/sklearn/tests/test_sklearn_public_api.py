"""The public names and the reprs are pinned: changing them is a decision, not an accident."""

from __future__ import annotations

import ast
from pathlib import Path

from _sklearn_helpers import ConstantWeights, ReversePairing, UniformRelabel
from sklearn.linear_model import LogisticRegression, Ridge

import mixkit
import mixkit_sklearn
from mixkit_sklearn import (
    MixUpClassifier,
    MixUpRegressor,
    MixUpResampler,
    MLPMixUpClassifier,
    MLPMixUpRegressor,
)
from mixkit_sklearn._augment import MixedRows
from mixkit_sklearn._training import History


def test_public_names() -> None:
    assert mixkit_sklearn.__all__ == [
        "MLPMixUpClassifier",
        "MLPMixUpRegressor",
        "MixUpClassifier",
        "MixUpRegressor",
        "MixUpResampler",
        "__version__",
        "expand_soft_targets",
    ]
    for name in mixkit_sklearn.__all__:
        assert hasattr(mixkit_sklearn, name), name
    assert mixkit_sklearn.__version__ == "0.2.0"


def test_reprs() -> None:
    assert repr(MixUpClassifier(LogisticRegression())) == (
        "MixUpClassifier(estimator=LogisticRegression())"
    )
    assert repr(MixUpClassifier(LogisticRegression(), alpha=0.4, random_state=0)) == (
        "MixUpClassifier(alpha=0.4, estimator=LogisticRegression(), random_state=0)"
    )
    assert repr(MixUpRegressor(Ridge(), n_augment=3)) == (
        "MixUpRegressor(estimator=Ridge(), n_augment=3)"
    )
    assert repr(MixUpResampler(labels="expand")) == "MixUpResampler(labels='expand')"
    assert repr(MLPMixUpClassifier((32, 16), alpha=0.2)) == (
        "MLPMixUpClassifier(alpha=0.2, hidden_layer_sizes=(32, 16))"
    )
    assert repr(MLPMixUpRegressor(device="cuda")) == "MLPMixUpRegressor(device='cuda')"
    mixer = mixkit.MixUp(alpha=0.2, mode="elem")
    assert repr(MixUpResampler(mixer=mixer)) == (
        "MixUpResampler(mixer=MixUp(alpha=0.2, mode='elem', p=1.0, num_classes=None))"
    )


def test_helper_reprs() -> None:
    import torch

    rows = MixedRows(torch.zeros(2, 3), torch.zeros(2, 4), torch.ones(2))
    assert repr(rows) == "MixedRows(rows=2, inputs_shape=(2, 3), targets_shape=(2, 4))"
    assert repr(History()) == (
        "History(loss_curve=[], validation_loss_curve=[], n_iter=0, best_loss=inf, converged=False)"
    )
    assert repr(ReversePairing()) == "ReversePairing()"
    assert repr(ConstantWeights(0.5)) == "ConstantWeights(0.5)"
    assert repr(UniformRelabel()) == "UniformRelabel()"


def _private_uses(path: Path) -> list[str]:
    """Imports of private core modules, and private attributes read off anything but self."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            names = [alias.name for alias in node.names]
            if parts[0] == "mixkit" and (
                any(p.startswith("_") for p in parts) or any(n.startswith("_") for n in names)
            ):
                found.append(f"{path.name}:{node.lineno} from {node.module} import {names}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "mixkit" and any(p.startswith("_") for p in parts):
                    found.append(f"{path.name}:{node.lineno} import {alias.name}")
        elif isinstance(node, ast.Attribute):
            private = node.attr.startswith("_") and not node.attr.endswith("__")
            own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if private and not own:
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
    return found


def test_only_the_public_core_api_is_used() -> None:
    """mixkit-sklearn is written against mixkit's public API only (docs/writing-an-integration)."""
    sources = sorted(Path(mixkit_sklearn.__file__).parent.glob("*.py"))
    assert len(sources) >= 8
    assert [use for path in sources for use in _private_uses(path)] == []
