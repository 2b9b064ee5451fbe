"""Meta-estimators: mix the training set inside ``fit``, predict with the wrapped estimator."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from numpy.typing import NDArray
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    RegressorMixin,
    _fit_context,
    clone,
)
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    _estimator_has,
    check_is_fitted,
    validate_data,
)
from torch import nn

from mixkit_sklearn._augment import MixedRows, classification_rows, dense, mix_rows
from mixkit_sklearn._mixers import fit_relabels, prepare_mixer, seeded_generator
from mixkit_sklearn._validation import (
    FLOAT_DTYPES,
    MIXING_CONSTRAINTS,
    SPARSE_FORMATS,
    fail,
    numeric_targets,
    require_sample_weight,
)

__all__ = ["MixUpClassifier", "MixUpRegressor"]


class _MixUpMeta(MetaEstimatorMixin, BaseEstimator):
    """Shared parameters and delegation of :class:`MixUpClassifier` and :class:`MixUpRegressor`."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "estimator": [HasMethods(["fit"])],
        **MIXING_CONSTRAINTS,
    }

    def __init__(
        self,
        estimator: Any,
        *,
        mixer: nn.Module | None = None,
        alpha: float | None = None,
        n_augment: int = 1,
        keep_original: bool = True,
        batch_size: int = 256,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.mixer = mixer
        self.alpha = alpha
        self.n_augment = n_augment
        self.keep_original = keep_original
        self.batch_size = batch_size
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # densified: mixed rows are dense
        tags.input_tags.allow_nan = False  # a NaN would spread to every row it is mixed with
        return tags

    def _validate_x(self, X: Any) -> NDArray[np.floating]:
        check_is_fitted(self)
        return dense(
            validate_data(self, X, reset=False, accept_sparse=SPARSE_FORMATS, dtype=FLOAT_DTYPES)
        )

    def _prepare(self, task: str, num_classes: int | None, rng: np.random.RandomState) -> None:
        self.mixer_ = prepare_mixer(
            self.mixer,
            owner=type(self).__name__,
            alpha=self.alpha,
            task=task,
            num_classes=num_classes,
            rng=rng,
            allow_extra_loss=False,
        )

    def _mix(
        self,
        X: NDArray[np.floating],
        y: torch.Tensor,
        sample_weight: NDArray[np.floating] | None,
        generator: torch.Generator,
        start_epoch: int | None,
    ) -> MixedRows:
        x = torch.from_numpy(X)
        weights = None if sample_weight is None else torch.from_numpy(dense(sample_weight))
        return mix_rows(
            self.mixer_,
            x,
            y,
            sample_weight=weights,
            batch_size=self.batch_size,
            rounds=self.n_augment,
            generator=generator,
            start_epoch=start_epoch,
        )

    @available_if(_estimator_has("predict"))
    def predict(self, X: Any) -> Any:
        """Predict with the fitted estimator, on the inputs as given (no mixing)."""
        X = self._validate_x(X)  # raises NotFittedError first
        return self.estimator_.predict(X)


class MixUpClassifier(ClassifierMixin, _MixUpMeta):
    r"""Train any scikit-learn classifier on mixup-augmented data; predict untouched.

    ``fit`` mixes the training set with a mixkit mixer, turns each mixed row's soft label into
    one row per class weighted by its share (:func:`mixkit_sklearn.expand_soft_targets`) and
    fits a clone of ``estimator`` with ``sample_weight``. For a loss linear in the target (log
    loss, gradient boosting, ...) that is exactly training on the soft labels, so any mixkit
    method works with any such estimator. Put scaling and one-hot encoding before it. See the
    tabular guide of the documentation (docs/guides/tabular.md).

    Paper: Zhang, Cisse, Dauphin, Lopez-Paz, *mixup: Beyond Empirical Risk Minimization*,
    ICLR 2018 (arXiv 1710.09412).

    Args:
        estimator: a classifier whose ``fit`` accepts ``sample_weight``.
        mixer: a mixkit mixer used as a template (deep-copied in ``fit``, never modified);
            default ``MixUp(alpha=1.0, mode="elem")``.
        alpha: when set, the Beta concentration of every mixer inside ``mixer`` (what
            ``GridSearchCV`` searches); None keeps the mixer's own.
        n_augment: mixed copies of the training set.
        keep_original: also train on the unmixed rows (mixup on top of ERM); False trains on
            the mixed rows only, as the paper's SGD loop does.
        batch_size: rows per mixer call.
        random_state: seeds the shuffling and every generator of the mixer copy.

    Attributes:
        estimator_: the fitted clone of ``estimator``.
        mixer_: the configured, seeded mixer copy that mixed the data.
        classes_: the class labels.
        n_features_in_, feature_names_in_: as in scikit-learn.

    Raises:
        TypeError: an estimator without ``sample_weight`` (the message names alternatives), a
            mixer that is not a mixkit mixer.
        ValueError: bad data or hyperparameters (scikit-learn's messages), a mixer configured
            for another task, a mixer with an extra loss term (MixupE's needs a model's
            gradient: use :class:`MLPMixUpClassifier`).

    Example:
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.datasets import load_iris
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = MixUpClassifier(LogisticRegression(max_iter=500), alpha=0.4, random_state=0)
        >>> clf.fit(X, y).score(X, y) > 0.9
        True
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags

    def _labels(self, y: Any) -> torch.Tensor:
        return torch.from_numpy(np.searchsorted(self.classes_, y).astype(np.int64))

    def _rows(
        self,
        X: NDArray[np.floating],
        codes: torch.Tensor,
        sample_weight: NDArray[np.floating] | None,
        rows: MixedRows,
        *,
        every_class: bool,
    ) -> tuple[NDArray[np.floating], NDArray[Any], NDArray[np.float64]]:
        x_rows, c_rows, w_rows = classification_rows(
            X, codes.numpy(), sample_weight, rows, keep_original=self.keep_original
        )
        missing = np.setdiff1d(np.arange(len(self.classes_)), c_rows)
        if every_class and missing.size:
            fail(
                type(self).__name__,
                "every class among the training rows of positive weight (the weighting or "
                "sample_weight removed every row of some class)",
                f"no row of class {self.classes_[missing].tolist()}",
            )
        return x_rows, self.classes_[c_rows], w_rows

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MixUpClassifier:
        """Mix the training set and fit a clone of the estimator on it.

        Args:
            X: ``(n, d)`` numeric features (array, sparse matrix or DataFrame).
            y: ``(n,)`` class labels.
            sample_weight: ``(n,)`` non-negative weights of the samples (see
                :mod:`mixkit_sklearn._augment` for how they combine when rows are mixed).

        Returns:
            self
        """
        owner = type(self).__name__
        X, y = validate_data(self, X, y, accept_sparse=SPARSE_FORMATS, dtype=FLOAT_DTYPES)
        X = dense(X)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        require_sample_weight(owner, self.estimator, "classifier")
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        rng = check_random_state(self.random_state)
        self._prepare("multiclass", len(self.classes_), rng)
        codes = self._labels(y)
        fit_relabels(self.mixer_, torch.from_numpy(X), codes)
        self._shuffler = seeded_generator(rng)  # partial_fit carries on with it
        rows = self._mix(X, codes, sw, self._shuffler, start_epoch=0)
        x_fit, y_fit, w_fit = self._rows(X, codes, sw, rows, every_class=True)
        self.estimator_ = clone(self.estimator).fit(x_fit, y_fit, sample_weight=w_fit)
        return self

    @available_if(_estimator_has("partial_fit"))
    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> MixUpClassifier:
        """Mix one batch and pass it to the estimator's ``partial_fit``.

        The first call needs ``classes`` (all the labels that will ever come), prepares the
        mixer and clones the estimator; later calls reuse both, so the mixer's generator and
        step counter (step schedules) carry on. Relabellings are not fitted here (fit GenLabel
        on representative data yourself before passing the mixer).
        """
        owner = f"{type(self).__name__}.partial_fit"
        first = not hasattr(self, "estimator_")
        if first:
            self._validate_params()
            if classes is None:
                fail(owner, "classes (every label) on the first call", "None")
        X, y = validate_data(
            self, X, y, reset=first, accept_sparse=SPARSE_FORMATS, dtype=FLOAT_DTYPES
        )
        X = dense(X)
        check_classification_targets(y)
        if first:
            self.classes_ = np.unique(np.asarray(classes))
            require_sample_weight(type(self).__name__, self.estimator, "classifier")
            rng = check_random_state(self.random_state)
            self._prepare("multiclass", len(self.classes_), rng)
            self._shuffler = seeded_generator(rng)
            self.estimator_ = clone(self.estimator)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            fail(owner, f"labels among classes {self.classes_.tolist()}", unknown.tolist())
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        codes = self._labels(y)
        rows = self._mix(X, codes, sw, self._shuffler, start_epoch=None)
        x_rows, y_rows, w_rows = self._rows(X, codes, sw, rows, every_class=False)
        self.estimator_.partial_fit(x_rows, y_rows, classes=self.classes_, sample_weight=w_rows)
        return self

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: Any) -> Any:
        """Class probabilities of the fitted estimator (columns in ``classes_`` order)."""
        X = self._validate_x(X)  # raises NotFittedError first
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> Any:
        """Log class probabilities of the fitted estimator."""
        X = self._validate_x(X)  # raises NotFittedError first
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X: Any) -> Any:
        """Decision function of the fitted estimator."""
        X = self._validate_x(X)  # raises NotFittedError first
        return self.estimator_.decision_function(X)


class MixUpRegressor(RegressorMixin, _MixUpMeta):
    r"""Train any scikit-learn regressor on mixup-augmented data; predict untouched.

    Inputs and targets are mixed with the same ``lam``:
    :math:`\tilde x = \lambda x_i + (1-\lambda) x_j`,
    :math:`\tilde y = \lambda y_i + (1-\lambda) y_j` (one- or multi-output). Rows reach the
    estimator as they are; ``sample_weight`` is passed only when rows carry weights (a
    weighting such as Local Mixup's, or your ``sample_weight``), so estimators without it work
    with plain mixers.

    Args: as :class:`MixUpClassifier` (``estimator`` a regressor). A mixer built with the
    default ``task`` is switched to ``task="regression"`` on the copy; one with a relabelling
    or label smoothing is refused.

    Attributes:
        estimator_, mixer_, n_features_in_, feature_names_in_: as in :class:`MixUpClassifier`.

    Example:
        >>> from sklearn.linear_model import Ridge
        >>> from sklearn.datasets import load_diabetes
        >>> X, y = load_diabetes(return_X_y=True)
        >>> reg = MixUpRegressor(Ridge(alpha=0.1), alpha=0.2, random_state=0).fit(X, y)
        >>> reg.score(X, y) > 0.4
        True

    .. note::
        Mixing targets linearly suits a squared loss; for a target on a log scale, mix the
        transformed target (``TransformedTargetRegressor`` around this estimator mixes the
        transformed values).
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = get_tags(self.estimator).target_tags.multi_output
        return tags

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MixUpRegressor:
        """Mix inputs and targets and fit a clone of the estimator on them.

        Args:
            X: ``(n, d)`` numeric features.
            y: ``(n,)`` or ``(n, k)`` numeric targets.
            sample_weight: ``(n,)`` non-negative weights of the samples.

        Returns:
            self

        Raises:
            ValueError: targets that are not numbers (class labels: use
                :class:`MixUpClassifier`), besides scikit-learn's own checks.
        """
        X, y = validate_data(
            self, X, y, accept_sparse=SPARSE_FORMATS, dtype=FLOAT_DTYPES, multi_output=True
        )
        X = dense(X)
        targets = dense(numeric_targets(type(self).__name__, y, np.float64))
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        rng = check_random_state(self.random_state)
        self._prepare("regression", None, rng)
        rows = self._mix(X, torch.from_numpy(targets), sw, seeded_generator(rng), start_epoch=0)
        w = rows.weights.numpy()
        keep = w > 0
        x_fit, y_fit, w_fit = rows.inputs.numpy()[keep], rows.targets.numpy()[keep], w[keep]
        if self.keep_original:  # the originals first, as for the classifier
            w0 = np.ones(X.shape[0]) if sw is None else sw
            keep0 = w0 > 0
            x_fit = np.concatenate([X[keep0], x_fit])
            y_fit = np.concatenate([targets[keep0], y_fit])
            w_fit = np.concatenate([w0[keep0], w_fit])
        if sw is None and np.all(w_fit == 1.0):
            self.estimator_ = clone(self.estimator).fit(x_fit, y_fit)
        else:
            require_sample_weight(type(self).__name__, self.estimator, "regressor")
            self.estimator_ = clone(self.estimator).fit(x_fit, y_fit, sample_weight=w_fit)
        return self
