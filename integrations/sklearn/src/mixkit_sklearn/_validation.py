"""Error messages of mixkit-sklearn.

Hyperparameters are validated the scikit-learn way (``_parameter_constraints``, checked in
``fit`` with sklearn's own messages). What sklearn's constraints cannot express (a mixer that
does not fit the estimator, an estimator without ``sample_weight``, a device that is not there)
raises with mixkit's one template, ``"Owner: expected X, got Y"``, built by
:func:`mixkit.validation.fail` (the core's public error format) so that the whole project speaks
one format.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import has_fit_parameter
from torch import nn

from mixkit.validation import describe, fail

__all__ = [
    "FLOAT_DTYPES",
    "MIXING_CONSTRAINTS",
    "SPARSE_FORMATS",
    "check_device",
    "describe",
    "fail",
    "numeric_targets",
    "require_sample_weight",
]

# what validate_data accepts: sparse input is densified (mixed rows are dense anyway)
SPARSE_FORMATS = ["csr", "csc", "coo"]
FLOAT_DTYPES = [np.float64, np.float32]

# the mixing hyperparameters shared by the meta-estimators and the resampler
MIXING_CONSTRAINTS: dict[str, list[Any]] = {
    "mixer": [nn.Module, None],
    "alpha": [Interval(Real, 0, None, closed="left"), None],
    "n_augment": [Interval(Integral, 1, None, closed="left")],
    "keep_original": ["boolean"],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
}

# What to say when an estimator cannot take weighted rows.
_ALTERNATIVES = {
    "classifier": (
        "an estimator whose fit accepts sample_weight (e.g. LogisticRegression, SGDClassifier, "
        "RidgeClassifier, SVC, HistGradientBoostingClassifier, RandomForestClassifier): a mixed "
        "row's soft label becomes one row per class weighted by its share. Alternatives: "
        "MLPMixUpClassifier (trains on the soft labels directly), or MixUpResampler("
        "labels='sample') before the estimator (one hard label drawn per mixed row); put "
        "preprocessing in a Pipeline before MixUpClassifier rather than inside it"
    ),
    "regressor": (
        "an estimator whose fit accepts sample_weight when rows carry weights (a Weighting "
        "such as Local Mixup's, or sample_weight), e.g. Ridge, SGDRegressor, "
        "HistGradientBoostingRegressor. Alternatives: MLPMixUpRegressor, or a mixer without "
        "a weighting"
    ),
}


def require_sample_weight(owner: str, estimator: Any, kind: str) -> None:
    """Refuse an estimator whose ``fit`` has no ``sample_weight`` argument, naming alternatives."""
    if not has_fit_parameter(estimator, "sample_weight"):
        fail(owner, _ALTERNATIVES[kind], repr(estimator), type_error=True)


def check_device(owner: str, device: str | torch.device) -> torch.device:
    """A torch device that exists here (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...)."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        fail(owner, "device to be a torch device such as 'cpu' or 'cuda'", repr(device))
    if dev.type == "cuda" and not torch.cuda.is_available():
        fail(owner, "device='cpu' (CUDA is not available here)", repr(device))
    return dev


def numeric_targets(owner: str, y: NDArray[Any], dtype: type[np.floating[Any]]) -> NDArray[Any]:
    """A regressor's targets as floats, or an error naming the estimator.

    ``y`` has been through ``validate_data`` (shape, NaN / infinity of numeric targets). Object
    arrays of numbers convert, as scikit-learn's ``y_numeric`` does; labels (strings, or
    anything else that is not a number) are refused here rather than by NumPy's ``could not
    convert string to float``, which names neither the estimator nor the argument.
    """
    try:
        return np.asarray(y, dtype=dtype)
    except (TypeError, ValueError):
        fail(
            owner,
            "numeric regression targets y (mixing averages target values; for class labels "
            "use MixUpClassifier or MLPMixUpClassifier)",
            f"y of dtype {y.dtype} holding {_first_non_number(y)!r}",
        )


def _first_non_number(y: NDArray[Any]) -> object:
    for value in y.ravel():
        try:
            float(value)
        except (TypeError, ValueError):
            return value.item() if isinstance(value, np.generic) else value
    return None
