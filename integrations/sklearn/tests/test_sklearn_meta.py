"""MixUpClassifier / MixUpRegressor: what reaches the wrapped estimator, exactly."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.optimize
import scipy.special
import torch
from _sklearn_helpers import (
    CleanPenalty,
    ConstantWeights,
    RecordingLogisticRegression,
    RecordingRidge,
    ReversePairing,
    UniformRelabel,
    basis_data,
    class_shares,
)
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.svm import LinearSVC

import mixkit
from mixkit_sklearn import MixUpClassifier, MixUpRegressor, expand_soft_targets


def _fit_basis(**kwargs: object) -> tuple[MixUpClassifier, np.ndarray, np.ndarray, np.ndarray]:
    X, y = basis_data()
    clf = MixUpClassifier(RecordingLogisticRegression(), random_state=0, **kwargs).fit(X, y)
    Xs, ys, ws = clf.estimator_.seen_
    return clf, Xs, ys, ws


# -- expand_soft_targets ---------------------------------------------------------------------


def test_expand_soft_targets_one_row_per_class_share() -> None:
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    Y = np.array([[0.25, 0.75, 0.0], [0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    Xr, yr, wr = expand_soft_targets(X, Y, sample_weight=np.array([2.0, 1.0, 0.0]))
    assert yr.tolist() == [0, 1, 1]  # the third row has weight 0: dropped
    assert wr.tolist() == [0.5, 1.5, 1.0]
    np.testing.assert_array_equal(Xr, X[[0, 0, 1]])
    assert yr.dtype == np.int64


def test_expand_soft_targets_is_exact_for_the_log_loss() -> None:
    # sum_r w_r CE(f(x_r), c_r) == sum_i w_i CE(f(x_i), Y_i) for any logits
    g = np.random.default_rng(0)
    logits = g.normal(size=(7, 4))
    Y = scipy.special.softmax(g.normal(size=(7, 4)), axis=1) * (g.random((7, 4)) > 0.3)
    Y /= Y.sum(axis=1, keepdims=True)
    w = g.random(7)
    rows, classes, weights = expand_soft_targets(np.arange(7.0)[:, None], Y, w)
    logp = scipy.special.log_softmax(logits, axis=1)
    expanded = -(weights * logp[rows[:, 0].astype(int), classes]).sum()
    soft = -(w[:, None] * Y * logp).sum()
    assert expanded == pytest.approx(soft, rel=1e-12)


def test_expand_soft_targets_accepts_tensors_and_refuses_bad_input() -> None:
    _, yr, wr = expand_soft_targets(torch.ones(2, 1), torch.tensor([[1.0, 0.0], [0.5, 0.5]]))
    assert yr.tolist() == [0, 0, 1] and wr.tolist() == [1.0, 0.5, 0.5]
    with pytest.raises(ValueError, match=r"expand_soft_targets: expected Y of shape \(n, C\)"):
        expand_soft_targets(np.ones((3, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"expected sample_weight of shape \(2,\), got shape"):
        expand_soft_targets(np.ones((2, 2)), np.eye(2), np.ones(3))
    with pytest.raises(ValueError, match="expected non-negative soft labels and weights"):
        expand_soft_targets(np.ones((2, 2)), -np.eye(2))


def test_weighted_rows_fit_the_soft_label_optimum() -> None:
    # LogisticRegression on the expanded rows == the minimiser of the soft cross-entropy
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    clf = MixUpClassifier(
        RecordingLogisticRegression(C=0.5, tol=1e-10, max_iter=10_000),
        keep_original=False,
        random_state=0,
    ).fit(X, y)
    Xs, ys, ws = clf.estimator_.seen_
    # the soft targets of the mixed rows, summed back from the weighted rows
    rows, inverse = np.unique(Xs.round(12), axis=0, return_inverse=True)
    T = np.zeros((len(rows), 3))
    np.add.at(T, (inverse.ravel(), ys), ws)
    d = X.shape[1]

    def objective(theta: np.ndarray) -> float:  # C * soft CE + |W|^2 / 2, as sklearn's
        W, b = theta[: 3 * d].reshape(3, d), theta[3 * d :]
        logp = scipy.special.log_softmax(rows @ W.T + b, axis=1)
        return float(-0.5 * (T * logp).sum() + 0.5 * (W**2).sum())

    best = scipy.optimize.minimize(objective, np.zeros(3 * d + 3), method="BFGS", tol=1e-12)
    np.testing.assert_allclose(clf.estimator_.coef_, best.x[: 3 * d].reshape(3, d), atol=2e-4)
    np.testing.assert_allclose(clf.estimator_.intercept_, best.x[3 * d :], atol=2e-4)


# -- what the estimator is fitted on ----------------------------------------------------------


def test_each_mixed_row_carries_both_source_classes_weighted_by_lam() -> None:
    X, y = basis_data()
    _, Xs, ys, ws = _fit_basis(keep_original=False, n_augment=3)
    assert ws.sum() == pytest.approx(3 * len(X), rel=1e-6)  # one unit of mass per mixed row
    for row, shares in class_shares(Xs, ys, ws).items():
        x = np.frombuffer(row)
        expected: dict[int, float] = {}
        for i in np.flatnonzero(x):  # the sources and their weights, read off the basis
            expected[int(y[i])] = expected.get(int(y[i]), 0.0) + x[i]
        assert set(shares) == set(expected)
        for label, share in shares.items():
            assert share == pytest.approx(expected[label], abs=1e-6)


def test_keep_original_adds_the_unmixed_rows_first() -> None:
    X, y = basis_data()
    _, Xs, ys, ws = _fit_basis(keep_original=True)
    np.testing.assert_array_equal(Xs[: len(X)], X)
    np.testing.assert_array_equal(ys[: len(X)], y)
    np.testing.assert_array_equal(ws[: len(X)], np.ones(len(X)))
    assert len(Xs) > 2 * len(X) - 1  # the mixed rows follow, mostly two per row


def test_alpha_zero_is_plain_training() -> None:
    # lam = 1: the "mixed" rows are the training rows (shuffled), each once, weight 1
    X, y = load_iris(return_X_y=True)
    lr = RecordingLogisticRegression(tol=1e-12, max_iter=10_000)
    mixed = MixUpClassifier(lr, alpha=0.0, keep_original=False, random_state=0).fit(X, y)
    Xs, ys, ws = mixed.estimator_.seen_
    order = np.lexsort(Xs.T[::-1])
    expected = np.lexsort(X.T[::-1])
    np.testing.assert_array_equal(Xs[order], X[expected])
    np.testing.assert_array_equal(np.sort(ys), np.sort(y))
    np.testing.assert_array_equal(ws, np.ones(len(X)))
    plain = clone(lr).fit(X, y)  # same optimum, up to the solver's tolerance and row order
    np.testing.assert_allclose(mixed.estimator_.coef_, plain.coef_, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(mixed.predict(X), plain.predict(X))


def test_sample_weights_mix_as_a_weighted_distribution() -> None:
    X, y = basis_data()
    sw = np.array([1.0, 2.0, 0.0, 1.0, 3.0, 1.0, 1.0, 1.0])
    clf = MixUpClassifier(RecordingLogisticRegression(), keep_original=False, random_state=0).fit(
        X, y, sample_weight=sw
    )
    Xs, _, ws = clf.estimator_.seen_
    assert not (Xs[:, 2] > 0).any()  # the zero-weight sample never appears, mixed or not
    for x, total in _row_totals(Xs, ws).items():
        sources = np.flatnonzero(np.frombuffer(x))
        if len(sources) == 1:
            continue
        i, j = sources
        assert total == pytest.approx(sw[i] * sw[j] / sw.mean(), rel=1e-6)


def _row_totals(Xs: np.ndarray, ws: np.ndarray) -> dict[bytes, float]:
    out: dict[bytes, float] = {}
    for row, w in zip(Xs, ws, strict=True):
        key = np.round(row, 6).tobytes()
        out[key] = out.get(key, 0.0) + float(w)
    return out


def test_a_weighting_reaches_sample_weight() -> None:
    _, Xs, _, ws = _fit_basis(
        mixer=mixkit.MixUp(mode="elem", weighting=ConstantWeights(0.25)), keep_original=False
    )
    for x, total in _row_totals(Xs, ws).items():
        mixed_row = np.count_nonzero(np.frombuffer(x)) == 2
        assert total == pytest.approx(0.25 if mixed_row else 1.0, rel=1e-6)


def test_a_zero_weighting_leaves_only_the_originals() -> None:
    X, _ = basis_data()
    _, Xs, _, _ = _fit_basis(mixer=mixkit.MixUp(weighting=ConstantWeights(0.0)))
    assert len(Xs) <= 2 * len(X)  # originals, plus only rows mixed with themselves
    assert all(np.count_nonzero(row) == 1 for row in Xs)
    with pytest.raises(ValueError, match=re.escape("expected every class among the training")):
        MixUpClassifier(
            LogisticRegression(),
            mixer=mixkit.MixUp(weighting=ConstantWeights(0.0)),
            keep_original=False,
            batch_size=2,
            random_state=1,
        ).fit(np.eye(4), np.array([0, 0, 1, 1]), sample_weight=np.array([1.0, 1.0, 0.0, 0.0]))


def test_a_pairing_is_used_inside_each_batch() -> None:
    X, _ = basis_data(n=8)
    pairing = ReversePairing()
    clf, Xs, _, _ = _fit_basis(
        mixer=mixkit.MixUp(pairing=pairing), keep_original=False, batch_size=4
    )
    assert pairing.seen == []  # the template is never used ...
    assert [tuple(f.shape) for f in clf.mixer_.pairing.seen] == [(4, 8), (4, 8)]  # its copy is
    for row in Xs:
        sources = np.flatnonzero(row)
        if len(sources) == 2:  # partners come from the same batch of 4
            assert any(set(sources) <= set(batch) for batch in _batches(clf, X))


def _batches(clf: MixUpClassifier, X: np.ndarray) -> list[list[int]]:
    # the shuffling generator is seeded from random_state right after the mixer's seeds
    rng = np.random.RandomState(0)
    from mixkit_sklearn._mixers import draw_seed

    draw_seed(rng)  # the mixer's generator
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(draw_seed(rng)))
    return [chunk.tolist() for chunk in order.split(clf.batch_size)]


def test_a_relabelling_is_fitted_on_the_training_set_and_relabels() -> None:
    X, y = basis_data()
    relabel = UniformRelabel()
    clf, Xs, ys, ws = _fit_basis(mixer=mixkit.MixUp(relabel=relabel), keep_original=False)
    assert relabel.fitted_on is None  # the template is never touched
    fitted = clf.mixer_.relabel
    assert torch.equal(fitted.fitted_on[0], torch.from_numpy(X))
    assert fitted.fitted_on[1].tolist() == y.tolist()
    for shares in class_shares(Xs, ys, ws).values():
        if len(shares) > 1:  # a mixed row: uniform over the 3 classes
            assert sorted(shares.values()) == pytest.approx([1 / 3] * 3, abs=1e-6)


def test_epoch_schedules_change_the_mixing_between_copies() -> None:
    # sample i mixes with 7 - i: every row of the first copy is mixed, whatever the seed
    mixer = mixkit.MixUp(pairing=ReversePairing(), schedule=mixkit.OffAfter(epoch=1))
    _, Xs, _, _ = _fit_basis(mixer=mixer, keep_original=False, n_augment=2)
    first, second = Xs[:-8], Xs[-8:]  # rows come copy by copy
    mixed_rows = first[np.count_nonzero(first, axis=1) == 2]
    assert len(np.unique(mixed_rows.round(6), axis=0)) == 8  # the first copy is mixed ...
    np.testing.assert_array_equal(np.sort(second.argmax(1)), np.arange(8))  # ... the second
    assert (np.count_nonzero(second, axis=1) == 1).all()  # (epoch 1) is not


def test_rows_reproducible_and_inputs_untouched() -> None:
    X, y = load_iris(return_X_y=True)
    X0, y0 = X.copy(), y.copy()
    a = MixUpClassifier(RecordingLogisticRegression(max_iter=500), random_state=7).fit(X, y)
    b = MixUpClassifier(RecordingLogisticRegression(max_iter=500), random_state=7).fit(X, y)
    c = MixUpClassifier(RecordingLogisticRegression(max_iter=500), random_state=8).fit(X, y)
    np.testing.assert_array_equal(a.estimator_.seen_[0], b.estimator_.seen_[0])
    assert a.estimator_.seen_[0].shape != c.estimator_.seen_[0].shape or not np.array_equal(
        a.estimator_.seen_[0], c.estimator_.seen_[0]
    )
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_the_mixer_template_is_never_modified() -> None:
    X, y = load_iris(return_X_y=True)
    template = mixkit.RandomChoice([mixkit.MixUp(alpha=0.3), mixkit.MixUp(alpha=2.0)])
    state = [m.generator.get_state().clone() for m in template.mixers]
    clf = MixUpClassifier(LogisticRegression(max_iter=500), mixer=template, alpha=0.7)
    clf.fit(X, y)
    assert [m.alpha for m in template.mixers] == [0.3, 2.0]
    assert all(
        torch.equal(s, m.generator.get_state()) for s, m in zip(state, template.mixers, strict=True)
    )
    assert [m.alpha for m in clf.mixer_.mixers] == [0.7, 0.7]  # alpha reaches every mixer
    assert [m.num_classes for m in clf.mixer_.mixers] == [3, 3]


# -- prediction and delegation ---------------------------------------------------------------


def test_prediction_is_the_estimators_untouched() -> None:
    X, y = load_iris(return_X_y=True)
    clf = MixUpClassifier(LogisticRegression(max_iter=500), random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.predict(X), clf.estimator_.predict(X))
    np.testing.assert_array_equal(clf.predict_proba(X), clf.estimator_.predict_proba(X))
    np.testing.assert_array_equal(clf.predict_log_proba(X), clf.estimator_.predict_log_proba(X))
    np.testing.assert_array_equal(clf.decision_function(X), clf.estimator_.decision_function(X))
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.score(X, y) > 0.9


def test_methods_exist_only_when_the_estimator_has_them() -> None:
    svc = MixUpClassifier(LinearSVC())
    assert hasattr(svc, "decision_function") and not hasattr(svc, "predict_proba")
    assert not hasattr(svc, "partial_fit")
    assert hasattr(MixUpClassifier(SGDClassifier()), "partial_fit")
    assert not hasattr(MixUpRegressor(KNeighborsRegressor()), "partial_fit")


def test_string_labels_round_trip() -> None:
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = MixUpClassifier(LogisticRegression(max_iter=500), random_state=0).fit(X, names)
    assert clf.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    assert set(clf.predict(X)) <= set(names)


def test_partial_fit_mixes_each_batch_and_carries_the_mixer_on() -> None:
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    clf = MixUpClassifier(SGDClassifier(loss="log_loss", random_state=0), random_state=0)
    order = np.random.default_rng(0).permutation(len(X))
    for _ in range(20):  # SGD on mixed batches: 20 passes learn iris at every seed tried
        for batch in np.array_split(order, 5):
            clf.partial_fit(X[batch], y[batch], classes=[0, 1, 2])
    assert clf.mixer_.step == 100  # one mixer call per batch (batch_size rows at most)
    assert clf.score(X, y) > 0.8
    with pytest.raises(ValueError, match=re.escape("partial_fit: expected labels among classes")):
        clf.partial_fit(X[:3], np.array([0, 1, 7]))
    with pytest.raises(ValueError, match="partial_fit: expected classes"):
        MixUpClassifier(SGDClassifier()).partial_fit(X[:3], y[:3])


def test_regressor_mixes_targets_with_the_same_lam() -> None:
    X, _ = basis_data()
    Y = np.random.default_rng(0).normal(size=(8, 2))
    reg = MixUpRegressor(RecordingRidge(), keep_original=False, random_state=0).fit(X, Y)
    Xs, Ys, ws = reg.estimator_.seen_
    assert ws is None  # no weighting: the estimator is fitted without sample_weight
    np.testing.assert_allclose(Ys, Xs @ Y, rtol=1e-6, atol=1e-9)  # lam e_i + (1-lam) e_j -> Y
    assert reg.mixer_.task == "regression"
    reg1 = MixUpRegressor(RecordingRidge(), random_state=0).fit(X, Y[:, 0])
    assert reg1.estimator_.seen_[1].ndim == 1 and reg1.predict(X).shape == (8,)


def test_regressor_passes_weights_only_when_rows_carry_them() -> None:
    X, _ = basis_data()
    y = np.arange(8.0)
    KNeighborsRegressor_ok = MixUpRegressor(KNeighborsRegressor(n_neighbors=2), random_state=0)
    assert KNeighborsRegressor_ok.fit(X, y).predict(X).shape == (8,)
    reg = MixUpRegressor(
        RecordingRidge(), mixer=mixkit.MixUp(weighting=ConstantWeights(0.5)), random_state=0
    ).fit(X, y)
    assert sorted(set(reg.estimator_.seen_[2].round(6))) == [0.5, 1.0]
    with pytest.raises(TypeError, match="MixUpRegressor: expected an estimator whose fit accepts"):
        MixUpRegressor(
            KNeighborsRegressor(), mixer=mixkit.MixUp(weighting=ConstantWeights(0.5))
        ).fit(X, y)


# -- errors ------------------------------------------------------------------------------------


def test_an_estimator_without_sample_weight_is_refused_with_alternatives() -> None:
    X, y = load_iris(return_X_y=True)
    with pytest.raises(TypeError, match="MixUpClassifier: expected an estimator whose fit") as e:
        MixUpClassifier(KNeighborsClassifier()).fit(X, y)
    for alternative in ("MLPMixUpClassifier", "MixUpResampler", "LogisticRegression"):
        assert alternative in str(e.value)
    assert str(e.value).endswith("got KNeighborsClassifier()")


def test_bad_mixers_are_refused() -> None:
    X, y = load_iris(return_X_y=True)
    lr = LogisticRegression()
    with pytest.raises(TypeError, match=r"expected mixer to be a mixkit mixer .* got Linear"):
        MixUpClassifier(lr, mixer=torch.nn.Linear(2, 2)).fit(X, y)
    with pytest.raises(ValueError, match=r"expected a mixer with task='multiclass'.*'multilabel'"):
        MixUpClassifier(lr, mixer=mixkit.MixUp(task="multilabel")).fit(X, y)
    with pytest.raises(ValueError, match=r"num_classes=None or 3 \(the classes in y\), got num"):
        MixUpClassifier(lr, mixer=mixkit.MixUp(num_classes=5)).fit(X, y)
    with pytest.raises(ValueError, match="MixUpRegressor: expected a mixer for regression"):
        MixUpRegressor(RecordingRidge(), mixer=mixkit.MixUp(label_smoothing=0.1)).fit(X, y * 1.0)


@pytest.mark.parametrize(
    "mixer",
    [
        mixkit.MixUpE(eta=0.5),
        mixkit.MixUp(term=mixkit.MixupETerm()),
        mixkit.MixUp(term=CleanPenalty(needs_model=False)),  # no model, still a term of a loss
        mixkit.RandomChoice([mixkit.MixUp(), mixkit.MixUp(mode="elem", term=CleanPenalty())]),
        mixkit.MixerWrapper(mixkit.MixUpE()),
    ],
    ids=["MixUpE", "term", "logits-only-term", "inside-RandomChoice", "inside-a-wrapper"],
)
def test_a_mixer_with_an_extra_loss_term_is_refused_without_a_model(mixer: torch.nn.Module) -> None:
    # the meta-estimators never compute a mixkit loss: the term would be dropped silently
    X, y = load_iris(return_X_y=True)
    message = (
        "MixUpClassifier: expected a mixer without an extra loss term (its term adds to the "
        "training loss of a differentiable model: use MLPMixUpClassifier / MLPMixUpRegressor, "
        "or the mixer without term=, e.g. MixUp instead of MixUpE), got "
        f"{type(mixer).__name__} with "
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        MixUpClassifier(LogisticRegression(), mixer=mixer).fit(X, y)
    with pytest.raises(ValueError, match=r"^MixUpRegressor: expected a mixer without an extra"):
        MixUpRegressor(RecordingRidge(), mixer=mixer).fit(X, y * 1.0)


def test_regressor_refuses_class_labels_naming_itself() -> None:
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    expected = (
        "MixUpRegressor: expected numeric regression targets y (mixing averages target values; "
        "for class labels use MixUpClassifier or MLPMixUpClassifier), got y of dtype <U10 "
        "holding 'setosa'"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        MixUpRegressor(Ridge()).fit(X, names)
    mixed = np.array([1.0, 2.0, "three"] * 50, dtype=object)
    with pytest.raises(ValueError, match=r"got y of dtype object holding 'three'$"):
        MixUpRegressor(Ridge()).fit(X, mixed)
    with pytest.raises(ValueError, match=r"got y of dtype <U10 holding 'setosa'$"):
        MixUpRegressor(Ridge()).fit(X, np.stack([names, names], axis=1))  # multi-output
    # numbers stored as objects are numbers (scikit-learn's y_numeric convention)
    numeric = MixUpRegressor(Ridge(), random_state=0).fit(X, y.astype(object))
    reference = MixUpRegressor(Ridge(), random_state=0).fit(X, y.astype(float))
    np.testing.assert_array_equal(numeric.predict(X), reference.predict(X))


def test_hyperparameters_are_validated_by_sklearn() -> None:
    X, y = load_iris(return_X_y=True)
    lr = LogisticRegression()
    with pytest.raises(ValueError, match=r"The 'alpha' parameter of MixUpClassifier must be"):
        MixUpClassifier(lr, alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError, match=r"The 'n_augment' parameter of MixUpClassifier must"):
        MixUpClassifier(lr, n_augment=0).fit(X, y)
    with pytest.raises(ValueError, match=r"The 'mixer' parameter of MixUpRegressor must be"):
        MixUpRegressor(RecordingRidge(), mixer="mixup").fit(X, y * 1.0)
    with pytest.raises(ValueError, match=r"The 'estimator' parameter of MixUpClassifier must"):
        MixUpClassifier(object()).fit(X, y)
