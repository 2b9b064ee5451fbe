"""The public names and the reprs are pinned: changing them is a decision, not an accident."""

from __future__ import annotations

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
    assert mixkit_sklearn.__version__ == "0.1.0"


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
