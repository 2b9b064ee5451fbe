"""The seed methods of mixkit (Local Mixup, k-mixup, GenLabel, MixupE) through the estimators.

Each keeps its defining behaviour when it runs inside scikit-learn: Local Mixup's weights reach
``sample_weight``, k-mixup's matching keeps pairs inside clusters, GenLabel (fitted in ``fit``
on the training set) relabels an intrusion, MixupE's term changes the MLP's training.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from _sklearn_helpers import RecordingLogisticRegression, basis_data
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

import mixkit
from mixkit_sklearn import MixUpClassifier, MixUpResampler, MLPMixUpClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _two_sources(row: np.ndarray) -> bool:
    return int(np.count_nonzero(row)) == 2


def test_local_mixup_weights_reach_sample_weight() -> None:
    X, y = basis_data()
    sigma = 0.7
    clf = MixUpClassifier(
        RecordingLogisticRegression(),
        mixer=mixkit.LocalMixUp(sigma=sigma, mode="elem"),
        keep_original=False,
        random_state=0,
    ).fit(X, y)
    Xs, _, ws = clf.estimator_.seen_
    totals: dict[bytes, float] = {}
    for row, w in zip(Xs, ws, strict=True):
        totals[row.round(6).tobytes()] = totals.get(row.round(6).tobytes(), 0.0) + w
    mixed = [w for row, w in totals.items() if _two_sources(np.frombuffer(row))]
    assert mixed  # every two-source row weighs exp(-sigma * |e_i - e_j|) = exp(-sigma sqrt 2)
    np.testing.assert_allclose(mixed, math.exp(-sigma * math.sqrt(2)), rtol=1e-5)


def test_local_mixup_eps_zero_keeps_only_unmixed_rows() -> None:
    X, y = basis_data()
    clf = MixUpClassifier(
        RecordingLogisticRegression(),
        mixer=mixkit.LocalMixUp(eps=0.0, mode="elem"),
        random_state=0,
    ).fit(X, y)
    Xs, _, _ = clf.estimator_.seen_
    assert not any(_two_sources(row) for row in Xs)  # eps = 0: ERM, as the paper's limit


def _blobs(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(0)
    y = np.arange(n) % 2
    return g.normal(size=(n, 2)) * 0.3 + np.where(y[:, None] == 0, -5.0, 5.0), y


def _cross_cluster_share(mixer: torch.nn.Module) -> float:
    X, y = _blobs()
    sampler = MixUpResampler(
        mixer=mixer,
        labels="expand",
        keep_original=False,
        batch_size=64,
        n_augment=4,
        random_state=0,
    )
    X_res, _ = sampler.fit_resample(X, y)
    rows = np.unique(X_res.round(9), axis=0, return_counts=True)[1]
    return float((rows == 2).mean())  # a row with two classes mixed the two clusters


def test_k_mixup_keeps_pairs_inside_clusters() -> None:
    assert _cross_cluster_share(mixkit.MixUp(mode="elem")) == pytest.approx(0.5, abs=0.1)
    assert _cross_cluster_share(mixkit.KMixUp(k=64, mode="elem")) == 0.0
    clf = MixUpClassifier(LogisticRegression(), mixer=mixkit.KMixUp(k=16), alpha=2.0)
    clf.fit(*_blobs())
    assert clf.mixer_.alpha == 2.0 and clf.mixer_.num_classes == 2


def _collinear(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(1)
    y = np.repeat([0, 1, 2], n)  # A at -3, B at 0, C at +3
    return (g.normal(size=(3 * n, 1)) * 0.3 + (y[:, None] - 1) * 3.0), y


def test_genlabel_is_fitted_in_fit_and_relabels_an_intrusion() -> None:
    X, y = _collinear()
    template = mixkit.GenLabel(gamma=1.0)
    sampler = MixUpResampler(
        mixer=mixkit.MixUp(mode="elem", relabel=template),
        labels="expand",
        keep_original=False,
        n_augment=5,
        random_state=0,
    )
    X_res, y_res = sampler.fit_resample(X, y)
    assert not template.fitted and sampler.mixer_.relabel.fitted  # the copy, on the data
    w = sampler.sample_weight_
    centre = np.abs(X_res[:, 0]) < 0.5  # mixes of A and C land here, on B
    share_b = w[centre & (y_res == 1)].sum() / w[centre].sum()
    assert share_b > 0.9
    plain = MixUpResampler(labels="expand", keep_original=False, n_augment=5, random_state=0)
    X_p, y_p = plain.fit_resample(X, y)
    labels: dict[float, set[int]] = {}
    for x, label in zip(X_p[:, 0], y_p, strict=True):
        if abs(x) < 0.5:
            labels.setdefault(round(float(x), 9), set()).add(int(label))
    # plain mixup labels the A-C mixes that land on B as A and C only: the intrusion
    assert sum(found == {0, 2} for found in labels.values()) >= 3


def test_genlabel_preset_and_the_mlp() -> None:
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    preset = mixkit.GenLabelMixUp(gamma=0.5, mode="elem")
    clf = MLPMixUpClassifier(
        (16,), mixer=preset, learning_rate_init=0.02, max_iter=30, random_state=0
    ).fit(X, y)
    assert clf.mixer_.genlabel.fitted and not preset.genlabel.fitted
    assert clf.score(X, y) > 0.9


def test_mixupe_term_trains_the_mlp_and_is_refused_without_a_model() -> None:
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)

    def fit(mixer: torch.nn.Module) -> MLPMixUpClassifier:
        return MLPMixUpClassifier(
            (16,), mixer=mixer, learning_rate_init=0.02, max_iter=20, random_state=0
        ).fit(X, y)

    plain = fit(mixkit.MixUp(mode="elem"))
    v3 = fit(mixkit.MixUpE(mode="elem", eta=0.5, version=3))
    v1 = fit(mixkit.MixUpE(mode="elem", eta=0.5, version=1, x_bar=torch.zeros(4)))
    assert v3.score(X, y) > 0.9 and v1.score(X, y) > 0.9
    # same seed, same mixes: only the extra term differs
    assert not np.allclose(v3.predict_proba(X), plain.predict_proba(X))
    assert not np.allclose(v1.predict_proba(X), v3.predict_proba(X))
    assert v3.mixer_.num_classes == 3 and v3.mixer_.mixupe.eta == 0.5
    # the term in another mixer's slot: the same training as the preset
    slot = fit(mixkit.MixUp(mode="elem", term=mixkit.MixupETerm(eta=0.5, version=3)))
    np.testing.assert_array_equal(slot.predict_proba(X), v3.predict_proba(X))
    with pytest.raises(ValueError, match=re.escape("expected a mixer without an extra loss term")):
        MixUpClassifier(LogisticRegression(), mixer=mixkit.MixUpE()).fit(X, y)
