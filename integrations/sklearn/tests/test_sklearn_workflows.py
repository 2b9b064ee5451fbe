"""The estimators where tabular users live: Pipeline + ColumnTransformer, GridSearchCV,
cross_val_score, clone and pickle."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn
from _sklearn_helpers import ReversePairing
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mixkit
from mixkit_sklearn import (
    MixUpClassifier,
    MixUpRegressor,
    MixUpResampler,
    MLPMixUpClassifier,
    MLPMixUpRegressor,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def mixed_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """Wine with two categorical columns: numeric and one-hot features side by side."""
    X, y = load_wine(return_X_y=True, as_frame=True)
    X = X.iloc[:, :6].copy()
    X["alcohol_level"] = pd.cut(X["alcohol"], 3, labels=["low", "mid", "high"]).astype(str)
    X["hue_band"] = np.where(load_wine().data[:, 10] > 0.95, "pale", "deep")
    return X, y.to_numpy()


def _pipeline(clf: object) -> Pipeline:
    numeric = ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols"]
    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["alcohol_level", "hue_band"]),
        ]
    )
    return Pipeline([("prep", prep), ("clf", clf)])


def test_pipeline_with_column_transformer(mixed_frame: tuple[pd.DataFrame, np.ndarray]) -> None:
    X, y = mixed_frame
    for clf in (
        MixUpClassifier(LogisticRegression(max_iter=1000), alpha=0.4, random_state=0),
        MLPMixUpClassifier((16,), learning_rate_init=0.02, max_iter=40, random_state=0),
    ):
        pipe = _pipeline(clf).fit(X, y)
        assert pipe.score(X, y) > 0.85
        assert pipe[-1].n_features_in_ == 6 + 3 + 2  # scaled numbers and one-hot columns
        assert pipe.predict(X.iloc[:5]).shape == (5,)


def test_grid_search_over_alpha_and_the_method(
    mixed_frame: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, y = mixed_frame
    methods = [mixkit.MixUp(mode="elem"), mixkit.MixUp(pairing=ReversePairing())]
    search = GridSearchCV(
        _pipeline(MixUpClassifier(LogisticRegression(max_iter=1000), random_state=0)),
        {"clf__alpha": [0.2, 1.0], "clf__mixer": methods},
        cv=3,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["clf__alpha"] in (0.2, 1.0)
    assert search.best_estimator_[-1].mixer_.alpha == search.best_params_["clf__alpha"]
    assert search.score(X, y) > 0.85
    assert all(m.alpha == 1.0 for m in methods)  # the grid's templates were never modified


def test_cross_val_score_every_estimator() -> None:
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    clf = MixUpClassifier(LogisticRegression(max_iter=1000), random_state=0)
    mlp = MLPMixUpClassifier((16,), learning_rate_init=0.02, max_iter=30, random_state=0)
    for estimator in (clf, mlp):
        scores = cross_val_score(estimator, X, y, cv=cv)
        assert scores.shape == (3,) and scores.min() > 0.85
    reg = cross_val_score(MixUpRegressor(Ridge(), random_state=0), X, X[:, 0] * 2.0, cv=3)
    assert reg.min() > 0.9


def test_sample_weight_routed_through_grid_search() -> None:
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    weights = np.where(y == 0, 2.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        est = MixUpClassifier(LogisticRegression(), random_state=0)
        est = est.set_fit_request(sample_weight=True).set_score_request(sample_weight=False)
        search = GridSearchCV(est, {"alpha": [0.2, 1.0]}, cv=3).fit(X, y, sample_weight=weights)
    ref = MixUpClassifier(LogisticRegression(), alpha=search.best_params_["alpha"], random_state=0)
    ref.fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(search.best_estimator_.estimator_.coef_, ref.estimator_.coef_)


ALL = [
    MixUpClassifier(LogisticRegression(), mixer=mixkit.MixUp(alpha=0.3), random_state=0),
    MixUpRegressor(Ridge(), alpha=0.3, random_state=0),
    MLPMixUpClassifier((8,), max_iter=5, random_state=0),
    MLPMixUpRegressor((8,), max_iter=5, random_state=0),
]


@pytest.mark.parametrize("estimator", ALL, ids=lambda e: type(e).__name__)
def test_clone_and_pickle_round_trip(estimator: object) -> None:
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    target = y if "Classifier" in type(estimator).__name__ else X[:, 0]
    twin = clone(estimator)
    assert twin.get_params().keys() == estimator.get_params().keys()
    if estimator.get_params()["mixer"] is not None:
        assert twin.get_params()["mixer"] is not estimator.get_params()["mixer"]
    fitted = estimator.fit(X, target)
    np.testing.assert_array_equal(clone(estimator).fit(X, target).predict(X), fitted.predict(X))
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))


def test_resampler_clone_and_pickle() -> None:
    X, y = load_wine(return_X_y=True)
    sampler = MixUpResampler(mixer=mixkit.MixUp(alpha=0.3), random_state=0)
    first = sampler.fit_resample(X, y)
    again = pickle.loads(pickle.dumps(clone(sampler))).fit_resample(X, y)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
