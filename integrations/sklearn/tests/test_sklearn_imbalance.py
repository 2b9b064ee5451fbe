"""MixUpResampler inside imbalanced-learn: its Pipeline and GridSearchCV, and the oversampling
role (``sampling_strategy``) next to SMOTE and RandomOverSampler."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from _sklearn_helpers import ConstantWeights, ReversePairing, UniformRelabel, basis_data
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from numpy.typing import NDArray
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.preprocessing import StandardScaler

import mixkit
from mixkit_sklearn import MixUpResampler

ROOT = Path(__file__).resolve().parents[3]


def imbalanced(seed: int = 0) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Breast cancer, 1 malignant for 9 benign (39 : 357)."""
    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(seed)
    benign = np.flatnonzero(y == 1)
    malignant = rng.choice(np.flatnonzero(y == 0), len(benign) // 9, replace=False)
    rows = np.concatenate([benign, malignant])
    return X[rows], y[rows]


def skewed() -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """``X = I_12`` (a mixed row shows its two sources and lam); 8 rows of class 0, 2 of 1, 2
    of 2."""
    X, _ = basis_data(n=12)
    return X, np.array([0] * 8 + [1, 1, 2, 2])


def _sources(row: NDArray[np.float64]) -> list[int]:
    return np.flatnonzero(np.abs(row) > 1e-12).tolist()


def test_in_an_imblearn_pipeline_and_grid_search() -> None:
    X, y = imbalanced()
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("mix", MixUpResampler(sampling_strategy="auto", random_state=0)),
            ("clf", LogisticRegression(max_iter=2000)),
        ]
    )
    grid = {
        "mix__alpha": [0.2, 1.0],
        "mix__pairs": ["within", "across"],
        "mix__sampling_strategy": ["auto", None],
    }
    search = GridSearchCV(pipe, grid, scoring="balanced_accuracy", cv=3).fit(X, y)
    assert set(search.best_params_) == set(grid)
    assert len(search.cv_results_["params"]) == 8
    # the sampler acts in fit only: prediction sees the rows it is given, one label each
    assert search.predict(X).shape == y.shape
    assert pipe.fit(X, y).named_steps["mix"].sample_weight_.shape == (357 * 2,)


@pytest.mark.parametrize(
    "strategy",
    ["auto", "minority", "not minority", "not majority", "all", {0: 60, 2: 30}],
)
def test_counts_follow_imbalanced_learns_conventions(strategy: object) -> None:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2, 3], [10, 50, 20, 35])
    X = rng.normal(size=(len(y), 3))
    _, y_ours = MixUpResampler(sampling_strategy=strategy, random_state=0).fit_resample(X, y)
    _, y_ros = RandomOverSampler(sampling_strategy=strategy, random_state=0).fit_resample(X, y)
    assert Counter(y_ours.tolist()) == Counter(y_ros.tolist())
    X2, y2 = X[y < 2], y[y < 2]  # a float: two classes, minority over majority afterwards
    _, y_ours = MixUpResampler(sampling_strategy=0.5, random_state=0).fit_resample(X2, y2)
    _, y_ros = RandomOverSampler(sampling_strategy=0.5, random_state=0).fit_resample(X2, y2)
    assert Counter(y_ours.tolist()) == Counter(y_ros.tolist()) == {1: 50, 0: 25}


def test_within_pairs_interpolate_two_rows_of_the_class() -> None:
    X, y = skewed()
    sampler = MixUpResampler(sampling_strategy="auto", alpha=1.0, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(X_res[:12], X)  # the training rows first, untouched
    np.testing.assert_array_equal(y_res[:12], y)
    new, labels = X_res[12:], y_res[12:]
    assert Counter(labels.tolist()) == {1: 6, 2: 6}
    assert sampler.sample_weight_.tolist() == [1.0] * 24
    for row, label in zip(new, labels, strict=True):
        sources = _sources(row)
        assert len(sources) == 2 and all(y[s] == label for s in sources)  # both of its class
        assert row.sum() == pytest.approx(1.0) and (row >= 0).all()  # a convex combination
    # the same random_state gives the same rows
    again = MixUpResampler(sampling_strategy="auto", alpha=1.0, random_state=0)
    np.testing.assert_array_equal(again.fit_resample(X, y)[0], X_res)


def test_across_pairs_keep_the_anchors_class_and_at_least_half() -> None:
    X, y = skewed()
    sampler = MixUpResampler(sampling_strategy="auto", pairs="across", random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    shares = []
    for row, label in zip(X_res[12:], y_res[12:], strict=True):
        sources = _sources(row)
        anchor = [s for s in sources if y[s] == label]
        partner = [s for s in sources if y[s] != label]
        assert len(anchor) == 1 and len(partner) <= 1  # one row of the class, one of another
        assert row[anchor[0]] >= 0.5  # the anchor keeps at least half: its class is the label
        shares.append(row[anchor[0]])
    assert min(shares) < 0.8 < max(shares)  # lam really drawn (alpha = 1: uniform on [0.5, 1])


def test_the_mixer_gives_lam() -> None:
    X, y = skewed()
    # alpha = 0: lam = 1, every new row a copy of one of the class's rows (random oversampling)
    X_res, y_res = MixUpResampler(sampling_strategy="auto", alpha=0.0, random_state=0).fit_resample(
        X, y
    )
    for row, label in zip(X_res[12:], y_res[12:], strict=True):
        assert len(_sources(row)) == 1 and y[_sources(row)[0]] == label
    # the mixer's own alpha, mode and p reach the draw
    skipped = MixUpResampler(
        mixer=mixkit.MixUp(alpha=1.0, mode="elem", p=0.0), sampling_strategy="auto"
    )
    X_res, _ = skipped.fit_resample(X, y)
    assert all(len(_sources(row)) == 1 for row in X_res[12:])
    batch = MixUpResampler(mixer=mixkit.MixUp(alpha=1.0, mode="batch"), sampling_strategy="auto")
    X_res, _ = batch.fit_resample(X, y)
    lam = {round(float(row.max()), 6) for row in X_res[12:]}
    assert len(lam) == 2  # one lam per mixer call: one call per class here
    choice = mixkit.RandomChoice([mixkit.MixUp(mode="elem"), mixkit.MixUp(mode="elem")])
    X_res, _ = MixUpResampler(mixer=choice, sampling_strategy="minority").fit_resample(X, y)
    assert X_res.shape == (18, 12)


def test_the_oversampler_is_competitive_with_smote_on_a_1_to_9_table() -> None:
    X, y = imbalanced()
    folds = StratifiedKFold(5, shuffle=True, random_state=0)

    def score(sampler: object) -> float:
        pipe = Pipeline(
            [
                ("scale", StandardScaler()),
                ("sampler", sampler),
                ("clf", LogisticRegression(C=0.1, max_iter=2000)),
            ]
        )
        return float(cross_val_score(pipe, X, y, cv=folds, scoring="balanced_accuracy").mean())

    none = score("passthrough")
    smote = score(SMOTE(random_state=0))
    ros = score(RandomOverSampler(random_state=0))
    augment = score(MixUpResampler(alpha=1.0, random_state=0))
    within = score(MixUpResampler(sampling_strategy="auto", alpha=1.0, random_state=0))
    across = score(
        MixUpResampler(sampling_strategy="auto", pairs="across", alpha=0.4, random_state=0)
    )
    # mixing the whole table keeps the 1:9 proportions: no help against the imbalance ...
    assert augment < none + 0.01 < smote
    # ... the oversampling role is: within 0.02 of the better of SMOTE and random oversampling
    # (measured: none 0.884, SMOTE 0.969, ROS 0.963, within 0.968, across 0.955)
    for ours in (within, across):
        assert ours > none + 0.05 and ours > max(smote, ros) - 0.02, (none, smote, ros, ours)


def test_oversampling_errors() -> None:
    X, y = skewed()

    def run(**kw: object) -> None:
        MixUpResampler(sampling_strategy=kw.pop("strategy", "auto"), **kw).fit_resample(X, y)

    with pytest.raises(
        ValueError, match=re.escape("The 'sampling_strategy' parameter of MixUpResampler")
    ):
        run(strategy="majority")
    with pytest.raises(ValueError, match=re.escape("The 'pairs' parameter of MixUpResampler")):
        run(pairs="near")
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpResampler: expected a float sampling_strategy only for two classes (the "
            "minority's count over the majority's after resampling; use a dict or a name for "
            "more), got 3 classes"
        ),
    ):
        run(strategy=0.5)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpResampler: expected a sampling_strategy at least the present ratio 0.5 (an "
            "over-sampler only adds rows), got 0.25"
        ),
    ):
        MixUpResampler(sampling_strategy=0.25).fit_resample(X[:6], np.array([0, 0, 0, 0, 1, 1]))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpResampler: expected sampling_strategy keys among the classes [0, 1, 2], got 7"
        ),
    ):
        run(strategy={7: 20})
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpResampler: expected a count of at least 8 (the rows of class 0 present; an "
            "over-sampler only adds rows) in sampling_strategy, got 0: 5"
        ),
    ):
        run(strategy={0: 5})
    for name, value, needed in (
        ("keep_original", False, True),
        ("n_augment", 2, 1),
        ("labels", "expand", "sample"),
    ):
        with pytest.raises(
            ValueError,
            match=re.escape(
                f"MixUpResampler: expected {name}={needed!r} with sampling_strategy set (an "
                "oversampler adds to the training rows as many new, unweighted, hard-labelled "
                f"rows as each class lacks), got {name}={value!r}"
            ),
        ):
            run(**{name: value})
    with pytest.raises(
        ValueError,
        match=re.escape("MixUpResampler: expected sample_weight=None with sampling_strategy set"),
    ):
        MixUpResampler(sampling_strategy="auto").fit_resample(X, y, sample_weight=np.ones(12))
    for slot, mixer in (
        ("pairing", mixkit.MixUp(pairing=ReversePairing())),
        ("weighting", mixkit.MixUp(weighting=ConstantWeights(0.5))),
        ("relabel", mixkit.MixUp(relabel=UniformRelabel())),
    ):
        with pytest.raises(
            ValueError,
            match=re.escape(
                f"MixUpResampler: expected a mixer without a {slot} with sampling_strategy set "
                "(the oversampler draws the pairs by class and labels each new row with its "
                "anchor's class; use sampling_strategy=None to mix the whole training set with "
                f"it), got MixUp with {slot}="
            ),
        ):
            run(mixer=mixer)


@pytest.mark.slow
def test_the_evaluation_script_prints_its_table() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "imbalance_evaluation.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    rows = [r for r in done.stdout.splitlines() if r.startswith("| ") and "±" in r]
    names = [r.split("|")[1].strip() for r in rows]
    assert names[:6] == [
        "no resampling",
        "RandomOverSampler",
        "SMOTE",
        "MixUpResampler() (augmentation)",
        'MixUpResampler(sampling_strategy="auto")',
        'MixUpResampler(sampling_strategy="auto", pairs="across")',
    ]
    for row in rows:
        for value in row.strip("|").split("|")[1:]:
            assert 0.0 <= float(value.split(" ± ")[0]) <= 1.0
    assert "Command: `python benchmarks/imbalance_evaluation.py --quick`" in done.stdout
