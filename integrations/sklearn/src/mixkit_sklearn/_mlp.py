"""Torch MLP estimators with the scikit-learn API that mix inside every training step."""

from __future__ import annotations

import abc
import warnings
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import torch
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from torch import nn

from mixkit_sklearn._augment import dense
from mixkit_sklearn._mixers import fit_relabels, prepare_mixer, seeded_generator
from mixkit_sklearn._training import ACTIVATIONS, History, build_mlp, predict_raw, train
from mixkit_sklearn._validation import SPARSE_FORMATS, check_device, fail, numeric_targets

__all__ = ["MLPMixUpClassifier", "MLPMixUpRegressor"]


class _MLPMixUp(BaseEstimator, abc.ABC):
    """Shared parameters, fitting and prediction of the two MLP estimators."""

    _task = "multiclass"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "mixer": [nn.Module, None],
        "alpha": [Interval(Real, 0, None, closed="left"), None],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        mixer: nn.Module | None = None,
        alpha: float | None = None,
        batch_size: int | str = "auto",
        learning_rate_init: float = 1e-3,
        weight_decay: float = 1e-4,
        max_iter: int = 200,
        tol: float = 1e-4,
        n_iter_no_change: int = 10,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        device: str | torch.device = "cpu",
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.mixer = mixer
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.weight_decay = weight_decay
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # densified
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False  # every draw comes from random_state
        return tags

    def _hidden(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if any(isinstance(s, bool) or not isinstance(s, Integral) or s < 1 for s in sizes):
            fail(
                type(self).__name__,
                "hidden_layer_sizes of positive integers",
                repr(self.hidden_layer_sizes),
            )
        return [int(s) for s in sizes]

    @abc.abstractmethod
    def _encode(self, y: NDArray[Any]) -> NDArray[Any]:
        """Targets as the loss wants them (class indices, float values); sets what it learns."""

    def _fit(self, X: Any, y: Any, sample_weight: Any) -> _MLPMixUp:
        owner = type(self).__name__
        regression = self._task == "regression"
        X, y = validate_data(
            self, X, y, accept_sparse=SPARSE_FORMATS, dtype=np.float32, multi_output=regression
        )
        X = dense(X)
        hidden = self._hidden()
        device = check_device(owner, self.device)
        targets = self._encode(y)
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        rng = check_random_state(self.random_state)
        self.mixer_ = prepare_mixer(
            self.mixer,
            owner=owner,
            alpha=self.alpha,
            task=self._task,
            num_classes=None if regression else len(self.classes_),
            rng=rng,
            allow_extra_loss=True,
        )
        init_gen, shuffle_gen = seeded_generator(rng), seeded_generator(rng)
        validation = None
        if self.early_stopping:
            split_seed = int(rng.randint(np.iinfo(np.int32).max))
            arrays = [X, targets] + ([] if sw is None else [sw])
            parts = train_test_split(
                *arrays,
                test_size=self.validation_fraction,
                random_state=split_seed,
                stratify=None if regression else targets,
            )
            X, x_val = parts[0], parts[1]
            targets, t_val = parts[2], parts[3]
            sw = None if sw is None else parts[4]
            validation = (self._tensor(x_val, device), self._tensor(t_val, device))
        x_t, t_t = self._tensor(X, device), self._tensor(targets, device)
        w_t = None if sw is None else torch.as_tensor(sw / sw.mean(), device=device)
        if not regression:
            fit_relabels(self.mixer_, x_t, t_t)
        n_out = len(self.classes_) if not regression else self.n_outputs_
        self.module_ = build_mlp(
            X.shape[1],
            hidden,
            n_out,
            activation=self.activation,
            flat_output=regression and targets.ndim == 1,
            generator=init_gen,
            device=device,
        )
        batch = min(200, X.shape[0]) if self.batch_size == "auto" else int(self.batch_size)
        history: History = train(
            self.module_,
            self.mixer_,
            x_t,
            t_t,
            task=self._task,
            sample_weight=w_t,
            validation=validation,
            batch_size=batch,
            learning_rate=float(self.learning_rate_init),
            weight_decay=float(self.weight_decay),
            max_iter=self.max_iter,
            tol=float(self.tol),
            n_iter_no_change=self.n_iter_no_change,
            generator=shuffle_gen,
            verbose=bool(self.verbose),
        )
        self.n_iter_ = history.n_iter
        self.loss_curve_ = history.loss_curve
        self.validation_loss_curve_ = history.validation_loss_curve if validation else None
        self.best_loss_ = history.best_loss
        if not history.converged:
            warnings.warn(
                f"{owner}: stopped at max_iter={self.max_iter} epochs before the loss stopped "
                "improving; consider a larger max_iter.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    @staticmethod
    def _tensor(a: NDArray[Any], device: torch.device) -> torch.Tensor:
        return torch.as_tensor(dense(a), device=device)

    def _forward(self, X: Any) -> NDArray[np.float32]:
        check_is_fitted(self)
        X = dense(
            validate_data(self, X, reset=False, accept_sparse=SPARSE_FORMATS, dtype=np.float32)
        )
        device = next(self.module_.parameters()).device
        out = predict_raw(self.module_, torch.as_tensor(X, device=device))
        return out.float().cpu().numpy()


class MLPMixUpClassifier(ClassifierMixin, _MLPMixUp):
    r"""A torch multi-layer perceptron classifier that mixes every training batch.

    Each step mixes the batch with ``mixer`` and minimises the mixed cross-entropy with AdamW,
    using the soft labels directly. It is the estimator for the methods that need a model in
    the training step: MixupE's term, and schedules driven by the validation loss. Standardise
    the features first (distances and densities live in the space the estimator sees). See the
    tabular guide of the documentation (docs/guides/tabular.md).

    Args:
        hidden_layer_sizes: units of each hidden layer (default ``(100,)``).
        activation: ``"relu"``, ``"tanh"``, ``"logistic"`` or ``"identity"``.
        mixer: mixkit mixer template (deep-copied in ``fit``); default
            ``MixUp(alpha=1.0, mode="elem")``. A mixer with an extra loss term (``MixUpE``, or
            any mixer's ``term=mixkit.MixupETerm(...)``) adds it to every step: the step loss
            is ``mixed.loss(logits, model=network)``.
        alpha: when set, the Beta concentration of every mixer inside ``mixer``. NOT an L2
            penalty as in scikit-learn's MLPClassifier: that is ``weight_decay`` here.
        batch_size: rows per step; ``"auto"`` is ``min(200, n_samples)``.
        learning_rate_init: AdamW learning rate.
        weight_decay: AdamW's decoupled weight decay.
        max_iter: maximum epochs.
        tol, n_iter_no_change: stop when the monitored loss (training loss, or the clean
            validation loss with ``early_stopping``) has not improved by ``tol`` for
            ``n_iter_no_change`` epochs.
        early_stopping: hold out a stratified ``validation_fraction`` of the training set,
            report its clean loss to the mixer after each epoch (what ``mixkit.AutoSwitch``
            needs) and keep the best epoch's weights.
        validation_fraction: held-out share for ``early_stopping``.
        device: ``"cpu"`` (default) or a CUDA device such as ``"cuda"``.
        random_state: fixes the initial weights, the shuffling, the split and every mixer draw.
        verbose: print the losses of every epoch.

    Attributes:
        classes_, n_features_in_, feature_names_in_: as in scikit-learn.
        module_: the trained ``torch.nn.Sequential`` (eval mode, on ``device``).
        mixer_: the configured mixer copy (its state_dict holds its progress).
        n_iter_, loss_curve_, validation_loss_curve_, best_loss_: the training run.

    Example:
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = make_pipeline(StandardScaler(), MLPMixUpClassifier(
        ...     (32,), alpha=0.4, learning_rate_init=1e-2, max_iter=100, random_state=0))
        >>> clf.fit(X, y).score(X, y) > 0.9
        True
    """

    def _encode(self, y: NDArray[Any]) -> NDArray[Any]:
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        return codes.astype(np.int64)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPMixUpClassifier:
        """Train on mixed batches.

        Args:
            X: ``(n, d)`` numeric features (array, sparse matrix or DataFrame).
            y: ``(n,)`` class labels.
            sample_weight: ``(n,)`` non-negative sample weights.

        Returns:
            self
        """
        self._fit(X, y, sample_weight)
        return self

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Softmax of the network's outputs, columns in ``classes_`` order."""
        logits = self._forward(X).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def predict_log_proba(self, X: Any) -> NDArray[np.float64]:
        """Log of :meth:`predict_proba`."""
        logits = self._forward(X).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        result: NDArray[np.float64] = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return result

    def predict(self, X: Any) -> NDArray[Any]:
        """The most probable class of each row."""
        best = self._forward(X).argmax(axis=1)  # raises NotFittedError first
        result: NDArray[Any] = self.classes_[best]
        return result


class MLPMixUpRegressor(RegressorMixin, _MLPMixUp):
    r"""A torch multi-layer perceptron regressor that mixes every training batch.

    Inputs and targets are mixed with the same ``lam``
    (:math:`\tilde y = \lambda y_i + (1-\lambda) y_j`) and the squared error is minimised
    with AdamW. One or several outputs. Arguments as :class:`MLPMixUpClassifier` (a mixer with
    the default task is switched to ``task="regression"`` on its copy).

    Attributes:
        n_outputs_: number of targets; ``module_``, ``mixer_``, ``n_iter_``, ``loss_curve_``,
        ``validation_loss_curve_``, ``best_loss_``, ``n_features_in_`` as for the classifier.

    Example:
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn.compose import TransformedTargetRegressor
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> X, y = load_diabetes(return_X_y=True)
        >>> reg = TransformedTargetRegressor(
        ...     make_pipeline(StandardScaler(), MLPMixUpRegressor((32,), random_state=0)),
        ...     transformer=StandardScaler())
        >>> reg.fit(X, y).score(X, y) > 0.4
        True

    .. note::
        Scale the targets too (``TransformedTargetRegressor`` with a ``StandardScaler``): the
        squared error of unscaled targets makes the default learning rate far too small.
    """

    _task = "regression"

    def _encode(self, y: NDArray[Any]) -> NDArray[Any]:
        targets = numeric_targets(type(self).__name__, y, np.float32)
        self.n_outputs_ = 1 if targets.ndim == 1 else targets.shape[1]
        return targets

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPMixUpRegressor:
        """Train on mixed batches: ``X`` ``(n, d)``, ``y`` ``(n,)`` or ``(n, k)``."""
        self._fit(X, y, sample_weight)
        return self

    def predict(self, X: Any) -> NDArray[np.float64]:
        """The network's outputs: ``(n,)`` or ``(n, k)`` like the training targets (float64)."""
        return self._forward(X).astype(np.float64)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
