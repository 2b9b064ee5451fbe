"""Every estimator of mixkit-sklearn through scikit-learn's own estimator checks.

Deviations are declared with their reason (``expected_failed_checks``) and run as strict xfails:
a declared deviation that starts passing fails the suite, so the list cannot go stale.

The checks are those of ``parametrize_with_checks`` (built with the same generator,
``estimator_checks_generator``), with one change: scikit-learn's array-API check skips itself
unless ``SCIPY_ARRAY_API=1`` was set before scipy was imported (a process-wide switch that this
test process cannot flip), so those checks run together in one subprocess started with it, and
none is skipped.
"""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
from sklearn.utils.estimator_checks import estimator_checks_generator

from mixkit_sklearn import (
    MixUpClassifier,
    MixUpRegressor,
    MixUpResampler,
    MLPMixUpClassifier,
    MLPMixUpRegressor,
)

# Mixing pairs rows at random: fitting on rows repeated k times is not fitting on rows of weight
# k (the repeated copies are mixed with different partners), so no mixing estimator can pass
# scikit-learn's weights-equal-repetitions checks. ERM (alpha=0) would, but that is no test.
_REPEATS = (
    "mixup pairs rows at random: a row repeated k times is mixed with k different partners, "
    "a row of weight k with one, so weights are not repetitions (and cannot be for mixup)"
)


def _mlp_kwargs() -> dict[str, Any]:
    # small and quick, yet accurate enough for check_classifiers_train / check_regressors_train
    return {
        "hidden_layer_sizes": (16,),
        "learning_rate_init": 0.02,
        "max_iter": 60,
        "batch_size": 64,
        "alpha": 0.4,
        "random_state": 0,
    }


ESTIMATORS = [
    MixUpClassifier(LogisticRegression(), alpha=0.4, random_state=0),
    MixUpClassifier(SGDClassifier(loss="log_loss", random_state=0), alpha=0.4, random_state=0),
    MixUpRegressor(Ridge(), alpha=0.4, random_state=0),
    MixUpResampler(alpha=0.4, random_state=0),
    MixUpResampler(sampling_strategy="auto", alpha=0.4, random_state=0),  # the oversampler
    MLPMixUpClassifier(**_mlp_kwargs()),
    MLPMixUpRegressor(**_mlp_kwargs()),
]


def expected_failures(estimator: Any) -> dict[str, str]:
    if isinstance(estimator, MixUpResampler):  # no estimator fitted on weighted rows
        return {}
    return {
        "check_sample_weight_equivalence_on_dense_data": _REPEATS,
        "check_sample_weight_equivalence_on_sparse_data": _REPEATS,
    }


def _name(check: Any) -> str:
    return str(getattr(check, "func", check).__name__)


def _id(estimator: Any, check: Any) -> str:
    keywords = getattr(check, "keywords", {})
    args = "(" + ",".join(f"{k}={v}" for k, v in keywords.items()) + ")" if keywords else ""
    return re.sub(r"\s+", "", repr(estimator)) + "-" + _name(check) + args


def _split_checks() -> tuple[list[Any], list[tuple[str, Any, Any]]]:
    """scikit-learn's checks for every estimator, the array-API ones set apart."""
    regular: list[Any] = []
    array_api: list[tuple[str, Any, Any]] = []
    for original in ESTIMATORS:
        for item in estimator_checks_generator(
            original,
            expected_failed_checks=expected_failures(original),
            mark="xfail",
            xfail_strict=True,
        ):
            marked = hasattr(item, "marks")  # a pytest.param: an expected failure
            marks = item.marks if marked else ()
            estimator, check = item.values if marked else item
            if _name(check).startswith("check_array_api"):
                array_api.append((_id(estimator, check), estimator, check))
            else:
                regular.append(
                    pytest.param(estimator, check, marks=marks, id=_id(estimator, check))
                )
    return regular, array_api


REGULAR, ARRAY_API = _split_checks()


@pytest.mark.parametrize(("estimator", "check"), REGULAR)
def test_sklearn_estimator_checks(estimator: Any, check: Any) -> None:
    check(estimator)


_RUNNER = """
import pickle, sys, traceback, warnings
warnings.simplefilter("ignore")
import torch
torch.set_num_threads(1)
results = {}
for key, estimator, check in pickle.load(open(sys.argv[1], "rb")):
    try:
        check(estimator)
        results[key] = "ok"
    except Exception:
        results[key] = traceback.format_exc()
pickle.dump(results, open(sys.argv[2], "wb"))
"""


def test_sklearn_array_api_checks_in_a_fresh_process(tmp_path: Path) -> None:
    """Every estimator's array-API check, in one process started with ``SCIPY_ARRAY_API=1``."""
    assert len(ARRAY_API) >= len(ESTIMATORS)
    inputs, outputs = tmp_path / "in.pkl", tmp_path / "out.pkl"
    inputs.write_bytes(pickle.dumps(ARRAY_API))
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(inputs), str(outputs)],
        env={**os.environ, "SCIPY_ARRAY_API": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    results: dict[str, str] = pickle.loads(outputs.read_bytes())
    assert sorted(results) == sorted(key for key, _, _ in ARRAY_API)
    failed = {key: trace for key, trace in results.items() if trace != "ok"}
    assert not failed, failed
