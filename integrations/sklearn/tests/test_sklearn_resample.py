"""MixUpResampler: the fit_resample protocol, and how the soft labels travel."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sklearn
from _sklearn_helpers import ConstantWeights, RecordingLogisticRegression, basis_data
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import mixkit
from mixkit_sklearn import MixUpClassifier, MixUpResampler
from mixkit_sklearn._augment import sample_hard_labels


def test_protocol_of_an_imbalanced_learn_sampler() -> None:
    # imblearn's Pipeline: fit_resample -> (X, y), no transform (it refuses steps with both)
    sampler = MixUpResampler(random_state=0)
    assert callable(sampler.fit_resample)
    assert not hasattr(sampler, "transform") and not hasattr(sampler, "fit_transform")
    X, y = load_iris(return_X_y=True)
    out = sampler.fit_resample(X, y)
    assert isinstance(out, tuple) and len(out) == 2
    X_res, y_res = out
    assert X_res.shape == (300, 4) and y_res.shape == (300,)
    np.testing.assert_array_equal(X_res[:150], X)  # originals first ...
    np.testing.assert_array_equal(y_res[:150], y)
    assert sampler.fit(X, y) is sampler and sampler.n_features_in_ == 4


def test_sklearns_own_pipeline_cannot_host_a_sampler() -> None:
    # why imbalanced-learn's Pipeline is needed for fit-time-only steps
    X, y = load_iris(return_X_y=True)
    pipe = Pipeline([("mix", MixUpResampler()), ("clf", LogisticRegression())])
    with pytest.raises(TypeError, match="All intermediate steps should be transformers"):
        pipe.fit(X, y)


def test_sampled_labels_are_one_of_the_sources_and_unbiased() -> None:
    X, y = basis_data(n=9)
    X_res, y_res = MixUpResampler(keep_original=False, random_state=0).fit_resample(X, y)
    for row, label in zip(X_res, y_res, strict=True):
        assert label in {y[i] for i in np.flatnonzero(row)}  # one of the two sources' classes
    t = np.tile([[0.2, 0.5, 0.0, 0.3]], (20_000, 1))
    counts = np.bincount(sample_hard_labels(t, np.random.RandomState(0)), minlength=4)
    np.testing.assert_allclose(counts / 20_000, t[0], atol=0.01)
    assert counts[2] == 0  # a class of zero share is never drawn


def test_alpha_zero_gives_the_training_rows_back() -> None:
    X, y = load_iris(return_X_y=True)
    X_res, y_res = MixUpResampler(alpha=0.0, random_state=0).fit_resample(X, y)
    order = np.lexsort(X_res[150:].T[::-1])
    np.testing.assert_array_equal(X_res[150:][order], X[np.lexsort(X.T[::-1])])
    assert sorted(y_res[150:].tolist()) == sorted(y.tolist())


def test_expand_gives_exactly_the_rows_of_mixup_classifier() -> None:
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    sampler = MixUpResampler(labels="expand", n_augment=2, random_state=3)
    X_res, y_res = sampler.fit_resample(X, y)
    clf = MixUpClassifier(RecordingLogisticRegression(), n_augment=2, random_state=3).fit(X, y)
    Xs, ys, ws = clf.estimator_.seen_
    np.testing.assert_array_equal(X_res, Xs)
    np.testing.assert_array_equal(y_res, ys)
    np.testing.assert_array_equal(sampler.sample_weight_, ws)


def test_weights_travel_by_sample_weight_or_metadata_routing() -> None:
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    sampler = MixUpResampler(labels="expand", random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    reference = MixUpClassifier(LogisticRegression(), random_state=0).fit(X, y).estimator_
    direct = LogisticRegression().fit(X_res, y_res, sample_weight=sampler.sample_weight_)
    np.testing.assert_array_equal(direct.coef_, reference.coef_)
    with sklearn.config_context(enable_metadata_routing=True):
        clf = LogisticRegression().set_fit_request(sample_weight=True)
        pipe = Pipeline([("scale", "passthrough"), ("clf", clf)])
        pipe.fit(X_res, y_res, sample_weight=sampler.sample_weight_)
    np.testing.assert_array_equal(pipe[-1].coef_, reference.coef_)


def test_weights_become_keep_probabilities_when_sampling() -> None:
    X, y = basis_data(n=9)
    zero = MixUpResampler(mixer=mixkit.MixUp(weighting=ConstantWeights(0.0)), random_state=0)
    X_res, _ = zero.fit_resample(X, y)
    assert all(np.count_nonzero(row) == 1 for row in X_res)  # mixed rows of weight 0: gone
    np.testing.assert_array_equal(zero.sample_weight_, np.ones(len(X_res)))
    half = MixUpResampler(
        mixer=mixkit.MixUp(mode="elem", weighting=ConstantWeights(0.5)),
        n_augment=200,
        random_state=0,
    )
    X_res, _ = half.fit_resample(X, y)
    kept_mixed = (np.count_nonzero(X_res, axis=1) == 2).sum()
    # originals weigh 1, mixed rows 0.5: about half of the ~200 * 8 mixed rows are kept
    # (a random permutation of 9 has one fixed point on average: 8 real pairs per copy)
    assert kept_mixed / (200 * 8) == pytest.approx(0.5, abs=0.05)
    sw = np.array([1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    X_res, _ = MixUpResampler(random_state=0).fit_resample(X, y, sample_weight=sw)
    assert not (X_res[:, 1] > 0).any()  # a zero-weight sample appears nowhere


def test_resampler_errors() -> None:
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=re.escape("The 'labels' parameter of MixUpResampler")):
        MixUpResampler(labels="soft").fit_resample(X, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        MixUpResampler().fit_resample(X, X[:, 0])
    with pytest.raises(ValueError, match="MixUpResampler: expected a mixer with task='multiclass'"):
        MixUpResampler(mixer=mixkit.MixUp(task="regression")).fit_resample(X, y)
