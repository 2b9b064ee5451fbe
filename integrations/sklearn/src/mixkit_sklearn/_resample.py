"""A ``fit_resample`` step (imbalanced-learn's sampler protocol) that adds mixed rows."""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar

import numpy as np
import torch
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data
from torch import nn

from mixkit_sklearn._augment import classification_rows, dense, mix_rows, sample_hard_labels
from mixkit_sklearn._mixers import fit_relabels, prepare_mixer, seeded_generator
from mixkit_sklearn._oversample import (
    PAIRS,
    STRATEGIES,
    check_oversampler_mixer,
    oversample,
    rows_to_add,
)
from mixkit_sklearn._validation import FLOAT_DTYPES, MIXING_CONSTRAINTS, SPARSE_FORMATS, fail

__all__ = ["MixUpResampler"]


class MixUpResampler(BaseEstimator):
    """Add mixup rows to a classification training set: a ``fit_resample`` step.

    It follows imbalanced-learn's sampler protocol, ``X_res, y_res = fit_resample(X, y)``, so
    a ``Pipeline`` mixes at fit time only. Without ``sampling_strategy`` it is an augmentation
    (``n_augment`` mixed copies, class proportions kept); with one it is a minority oversampler
    in the role of SMOTE. Mix after preprocessing; the output is numpy arrays. See the tabular
    guide of the documentation (docs/guides/tabular.md) for both roles and the two ways a soft
    label leaves the step (``labels``).

    Args:
        mixer, alpha, n_augment, keep_original, batch_size, random_state: as in
            :class:`MixUpClassifier` (the same ``random_state`` gives the same mixed rows).
        labels: ``"sample"`` (default: one hard label drawn per mixed row, unweighted rows,
            for pipelines) or ``"expand"`` (one row per class weighted by its share, the
            weights in :attr:`sample_weight_` for the caller to pass on; not in a pipeline).
        sampling_strategy: None (augmentation), or which classes get new rows and how many
            (oversampling, imbalanced-learn's conventions): ``"auto"``, ``"minority"``,
            ``"not minority"``, ``"not majority"``, ``"all"``, a float in ``(0, 1]`` (two
            classes: the minority's count over the majority's after resampling), or
            ``{class: count}``.
        pairs: the partners in the oversampling role: ``"within"`` the anchor's class or
            ``"across"`` classes (the anchor keeps at least half and its label).

    Attributes:
        classes_, n_features_in_, feature_names_in_: of the last ``fit`` / ``fit_resample``.
        mixer_: the configured mixer copy.
        sample_weight_: ``(n_res,)`` weights of the rows the last ``fit_resample`` returned
            (all ones for ``labels="sample"``).

    Example:
        >>> from sklearn.datasets import load_iris
        >>> X, y = load_iris(return_X_y=True)
        >>> X_res, y_res = MixUpResampler(alpha=0.4, random_state=0).fit_resample(X, y)
        >>> X_res.shape  # the 150 originals and 150 mixed rows
        (300, 4)
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **MIXING_CONSTRAINTS,
        "labels": [StrOptions({"sample", "expand"})],
        "sampling_strategy": [
            None,
            StrOptions(set(STRATEGIES)),
            Interval(Real, 0, 1, closed="right"),
            dict,
        ],
        "pairs": [StrOptions(set(PAIRS))],
    }

    def __init__(
        self,
        *,
        mixer: nn.Module | None = None,
        alpha: float | None = None,
        n_augment: int = 1,
        keep_original: bool = True,
        batch_size: int = 256,
        labels: str = "sample",
        sampling_strategy: Any = None,
        pairs: str = "within",
        random_state: Any = None,
    ) -> None:
        self.mixer = mixer
        self.alpha = alpha
        self.n_augment = n_augment
        self.keep_original = keep_original
        self.batch_size = batch_size
        self.labels = labels
        self.sampling_strategy = sampling_strategy
        self.pairs = pairs
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = False
        return tags

    def _setup(
        self, X: Any, y: Any, sample_weight: Any
    ) -> tuple[
        NDArray[np.floating], NDArray[np.int64], NDArray[np.float64] | None, np.random.RandomState
    ]:
        X, y = validate_data(self, X, y, accept_sparse=SPARSE_FORMATS, dtype=FLOAT_DTYPES)
        X = dense(X)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        rng = check_random_state(self.random_state)
        self.mixer_ = prepare_mixer(
            self.mixer,
            owner=type(self).__name__,
            alpha=self.alpha,
            task="multiclass",
            num_classes=len(self.classes_),
            rng=rng,
            allow_extra_loss=False,
        )
        codes = np.searchsorted(self.classes_, y).astype(np.int64)
        return X, codes, sw, rng

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MixUpResampler:
        """Validate the data and prepare the mixer (no rows are made; see fit_resample)."""
        self._setup(X, y, sample_weight)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_resample(
        self, X: Any, y: Any, sample_weight: Any = None
    ) -> tuple[NDArray[np.floating], NDArray[Any]]:
        """Return the training rows with the mixed rows added.

        Args:
            X: ``(n, d)`` numeric features.
            y: ``(n,)`` class labels.
            sample_weight: ``(n,)`` non-negative sample weights (imbalanced-learn's
                ``Pipeline`` passes ``stepname__sample_weight`` here).

        Returns:
            ``(X_res, y_res)``: originals first (``keep_original``), then the mixed rows;
            labels in the classes of ``y``. Their weights: :attr:`sample_weight_`.
        """
        X, codes, sw, rng = self._setup(X, y, sample_weight)
        x_t, c_t = torch.from_numpy(X), torch.from_numpy(codes)
        if self.sampling_strategy is not None:
            return self._oversample(X, codes, sw, rng)
        fit_relabels(self.mixer_, x_t, c_t)
        rows = mix_rows(
            self.mixer_,
            x_t,
            c_t,
            sample_weight=None if sw is None else torch.from_numpy(dense(sw)),
            batch_size=self.batch_size,
            rounds=self.n_augment,
            generator=seeded_generator(rng),
        )
        if self.labels == "expand":
            x_res, c_res, w_res = classification_rows(
                X, codes, sw, rows, keep_original=self.keep_original
            )
            self.sample_weight_ = w_res
            return x_res, self.classes_[c_res]
        # one hard label per mixed row; weights become keep probabilities
        mixed_c = sample_hard_labels(rows.targets.numpy(), rng)
        mixed_w = rows.weights.numpy()
        w0 = np.ones(X.shape[0]) if sw is None else sw
        top = max(float(mixed_w.max(initial=0.0)), float(w0.max()) if self.keep_original else 0)
        keep = rng.random_sample(mixed_w.shape[0]) * top < mixed_w
        parts_x, parts_c = [rows.inputs.numpy()[keep]], [mixed_c[keep]]
        if self.keep_original:
            keep0 = rng.random_sample(X.shape[0]) * top < w0
            parts_x.insert(0, X[keep0])
            parts_c.insert(0, codes[keep0])
        x_res, c_res = np.concatenate(parts_x), np.concatenate(parts_c)
        self.sample_weight_ = np.ones(x_res.shape[0])
        return x_res, self.classes_[c_res]

    def _oversample(
        self,
        X: NDArray[np.floating],
        codes: NDArray[np.int64],
        sw: NDArray[np.float64] | None,
        rng: np.random.RandomState,
    ) -> tuple[NDArray[np.floating], NDArray[Any]]:
        """The oversampling role: the training rows, then each class's new rows."""
        owner = type(self).__name__
        settings = {
            "keep_original": (self.keep_original, True),
            "n_augment": (self.n_augment, 1),
            "labels": (self.labels, "sample"),
            "sample_weight": (None if sw is None else "given", None),
        }
        for name, (value, needed) in settings.items():
            if value != needed:
                fail(
                    owner,
                    f"{name}={needed!r} with sampling_strategy set (an oversampler adds to the "
                    "training rows as many new, unweighted, hard-labelled rows as each class "
                    "lacks)",
                    f"{name}={value!r}",
                )
        check_oversampler_mixer(owner, self.mixer_)
        counts = np.bincount(codes, minlength=len(self.classes_))
        added = rows_to_add(owner, counts, self.classes_, self.sampling_strategy)
        new_x, new_c = oversample(
            self.mixer_,
            torch.from_numpy(X),
            torch.from_numpy(codes),
            added,
            pairs=self.pairs,
            batch_size=self.batch_size,
            generator=seeded_generator(rng),
        )
        x_res = np.concatenate([X, new_x.numpy()])
        c_res = np.concatenate([codes, new_c.numpy()])
        self.sample_weight_ = np.ones(x_res.shape[0])
        return x_res, self.classes_[c_res]
