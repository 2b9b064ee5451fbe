"""MLPMixUpClassifier / MLPMixUpRegressor: mixing in every step, with any method."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
import torch
from _sklearn_helpers import CleanPenalty, RecordingMixUp, UniformRelabel
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import mixkit
from mixkit_sklearn import MLPMixUpClassifier, MLPMixUpRegressor
from mixkit_sklearn._augment import pair_weights
from mixkit_sklearn._mixers import draw_seed
from mixkit_sklearn._validation import check_device

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


def small(**kwargs: object) -> MLPMixUpClassifier:
    base: dict[str, object] = {
        "hidden_layer_sizes": (16,),
        "learning_rate_init": 0.02,
        "max_iter": 40,
        "batch_size": 32,
        "random_state": 0,
    }
    return MLPMixUpClassifier(**{**base, **kwargs})


def test_learns_and_predicts_consistently(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    clf = small(alpha=0.4).fit(X, y)
    assert clf.score(X, y) > 0.9
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), atol=1e-10)
    assert clf.n_iter_ == len(clf.loss_curve_) <= 40 and clf.validation_loss_curve_ is None
    assert not clf.module_.training  # left in eval mode


def test_random_state_fixes_everything_and_global_rng_is_untouched(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    before = torch.random.get_rng_state()
    a = small(max_iter=5).fit(X, y).predict_proba(X)
    assert torch.equal(before, torch.random.get_rng_state())
    b = small(max_iter=5).fit(X, y).predict_proba(X)
    c = small(max_iter=5, random_state=1).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_the_mixer_mixes_every_step_and_sees_the_epochs(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    mixer = RecordingMixUp(schedule=mixkit.OffAfter(epoch=3))
    clf = small(mixer=mixer, max_iter=5, n_iter_no_change=100).fit(X, y)
    calls = clf.mixer_.calls
    assert mixer.calls == []  # the template is never used
    assert len(calls) == 5 * math.ceil(150 / 32)  # one call per step
    assert [size for _, size, _ in calls[:5]] == [32, 32, 32, 32, 22]
    assert {epoch for epoch, _, _ in calls} == {0, 1, 2, 3, 4}
    assert all(applied == (epoch < 3) for epoch, _, applied in calls)  # OffAfter(epoch=3)
    assert clf.mixer_.num_classes == 3 and clf.mixer_.alpha == 1.0


def test_sample_weight_of_ones_changes_nothing(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    plain = small(max_iter=3).fit(X, y).predict_proba(X)
    ones = small(max_iter=3).fit(X, y, sample_weight=np.full(len(X), 2.0)).predict_proba(X)
    np.testing.assert_allclose(ones, plain, rtol=1e-6, atol=1e-7)
    w = pair_weights(torch.tensor([1.0, 2.0, 0.0]), torch.tensor([1, 1, 0]), 1.0)
    assert w.tolist() == [2.0, 2.0, 0.0]  # s_i s_j for a pair, s_i for a self-pair


def test_sample_weight_zero_removes_a_sample(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    sw = (y != 2).astype(float)  # class 2 has no weight: it is never predicted
    clf = small(max_iter=20).fit(X, y, sample_weight=sw)
    assert 2 not in set(clf.predict(X))


def test_an_extra_loss_term_is_applied_every_step(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    template = mixkit.MixUp(term=CleanPenalty())
    clf = small(mixer=template, max_iter=2, n_iter_no_change=100).fit(X, y)
    term = clf.mixer_.term
    assert term.calls == 2 * math.ceil(150 / 32)  # one mixed.loss(logits, model=...) per step
    assert all(model is clf.module_ for model in term.models)  # the network itself
    assert clf.mixer_.num_classes == 3  # the mixer holding the term was configured
    assert template.term.calls == 0  # the template's term was not used
    plain = small(max_iter=2, n_iter_no_change=100, mixer=mixkit.MixUp()).fit(X, y)
    assert not np.allclose(clf.predict_proba(X), plain.predict_proba(X))  # same draws, + term


def test_an_extra_loss_term_reaches_every_mixer_of_a_random_choice(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    choice = mixkit.RandomChoice(
        [mixkit.MixUp(term=CleanPenalty()), mixkit.MixUp(mode="elem", term=CleanPenalty())]
    )
    clf = small(mixer=choice, max_iter=2, n_iter_no_change=100).fit(X, y)
    calls = [m.term.calls for m in clf.mixer_.mixers]
    assert sum(calls) == 2 * math.ceil(150 / 32) and min(calls) > 0


def test_the_mixer_copy_is_reseeded_from_random_state(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    choice = mixkit.RandomChoice([mixkit.MixUp(), mixkit.MixUp(mode="elem")])
    clf = small(mixer=choice, max_iter=1).fit(X, y)
    seed = draw_seed(np.random.RandomState(0))  # the first draw from random_state=0
    found = [g.initial_seed() for g in mixkit.generators(clf.mixer_)]
    assert found == [mixkit.derive_seed(seed, i) for i in range(3)]  # the choice and 2 mixers


def test_a_relabelling_is_fitted_on_the_training_split(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    clf = small(
        mixer=mixkit.MixUp(relabel=UniformRelabel()),
        early_stopping=True,
        validation_fraction=0.2,
        max_iter=3,
    ).fit(X, y)
    x_fit, y_fit = clf.mixer_.relabel.fitted_on
    assert x_fit.shape == (120, 4) and x_fit.dtype == torch.float32
    assert torch.bincount(y_fit).tolist() == [40, 40, 40]  # stratified split, training part


def test_early_stopping_reports_to_the_schedule(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    switch = mixkit.AutoSwitch(patience=2)
    clf = small(
        mixer=mixkit.MixUp(schedule=switch),
        early_stopping=True,
        max_iter=30,
        n_iter_no_change=5,
    ).fit(X, y)
    curve = clf.validation_loss_curve_
    assert curve is not None and len(curve) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.best_loss_ == min(curve)
    fitted = clf.mixer_.schedule  # fed every epoch's clean validation loss until it switched
    assert fitted.switched and fitted.switched_at["epoch"] == fitted.reports - 1 < clf.n_iter_
    assert switch.reports == 0 and not switch.switched  # the template's copy, not the template


def test_dataframe_input_and_feature_names(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    clf = small(max_iter=5).fit(frame, pd.Series(y))
    assert clf.feature_names_in_.tolist() == ["sl", "sw", "pl", "pw"]
    assert clf.n_features_in_ == 4
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        from_array = clf.predict(X)  # scikit-learn's usual warning, and the same predictions
    np.testing.assert_array_equal(clf.predict(frame), from_array)
    with pytest.raises(ValueError, match="The feature names should match"):
        clf.predict(frame.rename(columns={"sl": "x"}))


def test_device(iris: tuple[np.ndarray, np.ndarray], device: torch.device) -> None:
    X, y = iris
    clf = small(max_iter=3, device=device).fit(X, y)
    assert next(clf.module_.parameters()).device.type == device.type
    assert isinstance(clf.predict_proba(X), np.ndarray)


def test_device_errors() -> None:
    with pytest.raises(ValueError, match="MLP: expected device to be a torch device such as"):
        check_device("MLP", "tpu")
    if torch.cuda.is_available():
        assert check_device("MLP", "cuda").type == "cuda"
    else:
        with pytest.raises(ValueError, match=re.escape("MLP: expected device='cpu' (CUDA is not")):
            check_device("MLP", "cuda")


def test_parameters_are_validated(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    with pytest.raises(ValueError, match="The 'alpha' parameter of MLPMixUpClassifier must be"):
        small(alpha=-0.1).fit(X, y)
    with pytest.raises(ValueError, match="The 'activation' parameter of MLPMixUpClassifier"):
        small(activation="gelu").fit(X, y)
    with pytest.raises(
        ValueError,
        match=r"MLPMixUpClassifier: expected hidden_layer_sizes of positive integers, got \(8, 0\)",
    ):
        small(hidden_layer_sizes=(8, 0)).fit(X, y)
    with pytest.raises(ValueError, match="The 'device' parameter of MLPMixUpRegressor must be"):
        MLPMixUpRegressor(device=3).fit(X, y.astype(float))


def test_regressor_one_and_several_outputs(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = iris
    w = np.array([[1.0, -2.0], [0.5, 0.0], [0.0, 1.0], [-1.0, 0.5]])
    Y = X @ w
    reg = MLPMixUpRegressor((32,), learning_rate_init=0.01, max_iter=60, random_state=0)
    reg.fit(X, Y)
    assert reg.predict(X).shape == (150, 2) and reg.predict(X).dtype == np.float64
    assert reg.score(X, Y) > 0.9 and reg.n_outputs_ == 2
    assert reg.mixer_.task == "regression"
    one = MLPMixUpRegressor((8,), max_iter=3, random_state=0).fit(X, Y[:, 0])
    assert one.predict(X).shape == (150,) and one.n_outputs_ == 1
    with pytest.raises(ValueError, match="MLPMixUpRegressor: expected a mixer for regression"):
        MLPMixUpRegressor(mixer=mixkit.MixUp(relabel=UniformRelabel())).fit(X, Y)


def test_convergence_warning_names_max_iter(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="stopped at max_iter=2 epochs"):
        small(max_iter=2, n_iter_no_change=10).fit(X, y)


def test_regressor_refuses_class_labels_naming_itself(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    expected = (
        "MLPMixUpRegressor: expected numeric regression targets y (mixing averages target "
        "values; for class labels use MixUpClassifier or MLPMixUpClassifier), got y of dtype "
        "<U10 holding 'setosa'"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        MLPMixUpRegressor((8,), max_iter=1).fit(X, names)
    as_objects = MLPMixUpRegressor((8,), max_iter=2, random_state=0).fit(X, y.astype(object))
    as_floats = MLPMixUpRegressor((8,), max_iter=2, random_state=0).fit(X, y.astype(float))
    np.testing.assert_array_equal(as_objects.predict(X), as_floats.predict(X))
