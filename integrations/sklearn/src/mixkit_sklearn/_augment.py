r"""Mixing a whole training set, and turning soft labels into weighted rows.

Two pure steps shared by :class:`MixUpClassifier`, :class:`MixUpRegressor` and
:class:`MixUpResampler` (one code path, so the three give the same rows for the same seed):

1. :func:`mix_rows`: shuffle the rows, cut them into batches, let the mixer mix each batch
   (its pairing, lam sampling, weighting and relabelling all apply), and collect the mixed
   inputs, targets and per-row weights.
2. :func:`expand_soft_targets`: one mixed row with soft label :math:`t` becomes one row per
   class with :math:`t_c > 0`, weighted by its share. For a loss linear in the target (the log
   loss of every probabilistic classifier) this is exact:

   .. math::
       \sum_c t_c\, w\, \ell(f(\tilde x), c) = w\, \mathrm{CE}(f(\tilde x), t).

Sample weights define the empirical distribution that is mixed: a row mixed from samples
:math:`i` and :math:`j` counts :math:`s_i s_j / \bar s` (a pair is drawn with probability
:math:`\propto s_i s_j`), a row left unmixed counts :math:`s_i`. A sample of weight 0 thus has
no influence at all, mixed or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from mixkit_sklearn._validation import fail

__all__ = [
    "MixedRows",
    "batches",
    "classification_rows",
    "dense",
    "expand_soft_targets",
    "mix_rows",
    "pair_weights",
    "sample_hard_labels",
]


def batches(order: Tensor, size: int) -> list[Tensor]:
    """``order`` cut into consecutive pieces of ``size`` (the last one shorter)."""
    return [order[start : start + size] for start in range(0, order.shape[0], size)]


def dense(X: Any) -> NDArray[Any]:
    """A writable C-contiguous dense array (copied only when needed), for torch to wrap.

    Mixing makes rows dense anyway, so sparse input is densified once, up front; read-only
    arrays (memory maps) are copied because torch cannot wrap them. Nothing writes into it.
    """
    return np.require(X.toarray() if sp.issparse(X) else X, requirements=["C", "W"])


@dataclass(frozen=True)
class MixedRows:
    """A mixed copy (or several) of a training set, on the CPU.

    Attributes:
        inputs: ``(m, d)`` mixed rows, in the dtype of the inputs.
        targets: ``(m, C)`` float32 soft labels (classification) or the mixed regression
            targets ``(m,)`` / ``(m, k)``.
        weights: ``(m,)`` float64 row weights: the mixer's (Local Mixup) times the pair's sample
            weight.
    """

    inputs: Tensor
    targets: Tensor
    weights: Tensor

    def __repr__(self) -> str:
        return (
            f"MixedRows(rows={self.inputs.shape[0]}, inputs_shape={tuple(self.inputs.shape)}, "
            f"targets_shape={tuple(self.targets.shape)})"
        )


def pair_weights(sample_weight: Tensor, index: Tensor, mean: float) -> Tensor:
    """Weight of each mixed row from the sample weights of its two sources.

    ``s_i * s_index[i] / mean`` for a row mixed with a partner, ``s_i`` for a row whose partner
    is itself (rows the mixer skipped).
    """
    rows = torch.arange(index.shape[0], device=index.device)
    mixed = sample_weight * sample_weight.index_select(0, index) / mean
    return torch.where(index == rows, sample_weight, mixed)


def mix_rows(
    mixer: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    sample_weight: Tensor | None,
    batch_size: int,
    rounds: int,
    generator: torch.Generator,
    start_epoch: int | None = 0,
) -> MixedRows:
    """Mix ``rounds`` shuffled copies of ``(x, y)``, ``batch_size`` rows at a time.

    Args:
        mixer: a prepared mixer (see :func:`mixkit_sklearn._mixers.prepare_mixer`).
        x: ``(n, d)`` float inputs.
        y: ``(n,)`` int64 class indices, or float regression targets ``(n,)`` / ``(n, k)``.
        sample_weight: ``(n,)`` float64 or None.
        batch_size: rows the mixer sees at once (its pairing and weighting work inside a batch).
        rounds: number of mixed copies.
        generator: drives the shuffling.
        start_epoch: the mixer's epoch for the first copy, counted up by one per copy (so
            epoch schedules change the mixing from one copy to the next); None leaves the
            mixer's epoch alone (``partial_fit``: the caller owns the progress).

    Returns:
        :class:`MixedRows` with ``rounds * n`` rows.
    """
    inputs, targets, weights = [], [], []
    mean = float(sample_weight.mean()) if sample_weight is not None else 1.0
    set_epoch = getattr(mixer, "set_epoch", None)
    for r in range(rounds):
        if start_epoch is not None and callable(set_epoch):
            set_epoch(start_epoch + r)
        order = torch.randperm(x.shape[0], generator=generator)
        for chunk in batches(order, batch_size):
            out = mixer(x.index_select(0, chunk), y.index_select(0, chunk))
            w = out.weights.to(torch.float64)
            if sample_weight is not None:
                w = w * pair_weights(sample_weight.index_select(0, chunk), out.index, mean)
            inputs.append(out.inputs.detach())
            targets.append(out.targets.detach())
            weights.append(w.detach())
    return MixedRows(torch.cat(inputs), torch.cat(targets), torch.cat(weights))


def expand_soft_targets(
    X: NDArray[np.floating] | Tensor,
    Y: NDArray[np.floating] | Tensor,
    sample_weight: NDArray[np.floating] | Tensor | None = None,
) -> tuple[NDArray[np.floating], NDArray[np.int64], NDArray[np.float64]]:
    r"""Soft labels as weighted hard-labelled rows: what any ``sample_weight`` estimator can fit.

    Row :math:`i` with soft label :math:`Y_i` and weight :math:`w_i` becomes one row
    :math:`(X_i, c, w_i Y_{ic})` per class :math:`c` with :math:`Y_{ic} > 0`. For a loss linear
    in the target, such as the log loss of logistic regression, the weighted loss of the rows
    equals the soft-target loss exactly:
    :math:`\sum_c w_i Y_{ic}\,\ell(f(X_i), c) = w_i\,\mathrm{CE}(f(X_i), Y_i)`.

    Args:
        X: ``(n, d)`` inputs (mixed rows).
        Y: ``(n, C)`` non-negative soft labels (rows usually sum to 1).
        sample_weight: ``(n,)`` non-negative row weights; default 1.

    Returns:
        ``(X_rows, y_rows, w_rows)``: the repeated inputs, the class column index of each row
        (``0..C-1``; map it through your ``classes_``), and the row weights. A mixup row of two
        different classes gives two rows, of one class one row; rows of zero weight are dropped.

    Raises:
        ValueError: shapes that do not line up, or negative labels / weights.

    Example:
        >>> X = np.array([[0.0, 1.0]])
        >>> Xr, yr, wr = expand_soft_targets(X, np.array([[0.25, 0.75, 0.0]]))
        >>> yr.tolist(), wr.tolist()
        ([0, 1], [0.25, 0.75])

    .. note::
        The identity holds for the *loss*; an estimator that is not fitted by minimising a loss
        linear in the target (a decision tree's impurity, say) sees weighted rows, which is the
        natural reading of a soft label but not an exact one.
    """
    owner = "expand_soft_targets"
    x = np.asarray(X.detach().cpu() if isinstance(X, Tensor) else X)
    t = np.asarray(Y.detach().cpu() if isinstance(Y, Tensor) else Y, dtype=np.float64)
    if x.ndim < 1 or t.ndim != 2 or t.shape[0] != x.shape[0]:
        fail(
            owner,
            "Y of shape (n, C) with n the number of rows of X",
            f"X of shape {x.shape} and Y of shape {t.shape}",
        )
    if sample_weight is None:
        w = np.ones(t.shape[0])
    else:
        w = np.asarray(
            sample_weight.detach().cpu() if isinstance(sample_weight, Tensor) else sample_weight,
            dtype=np.float64,
        )
        if w.shape != (t.shape[0],):
            fail(owner, f"sample_weight of shape ({t.shape[0]},)", f"shape {w.shape}")
    if not (t >= 0).all() or not (w >= 0).all():
        fail(owner, "non-negative soft labels and weights", "negative (or NaN) values")
    share = t * w[:, None]  # (n, C)
    rows, classes = np.nonzero(share > 0)
    return x[rows], classes.astype(np.int64), share[rows, classes]


def sample_hard_labels(
    targets: NDArray[np.floating], rng: np.random.RandomState
) -> NDArray[np.int64]:
    """One class per row drawn from its soft label: ``E[one_hot(c)] = t`` (unbiased)."""
    t = np.asarray(targets, dtype=np.float64)
    cum = np.cumsum(t, axis=1)  # (m, C)
    u = rng.random_sample(t.shape[0]) * cum[:, -1]
    labels = (u[:, None] >= cum).sum(axis=1)
    result: NDArray[np.int64] = np.minimum(labels, t.shape[1] - 1).astype(np.int64)
    return result


def classification_rows(
    X: NDArray[np.floating],
    codes: NDArray[np.int64],
    sample_weight: NDArray[np.floating] | None,
    rows: MixedRows,
    *,
    keep_original: bool,
) -> tuple[NDArray[np.floating], NDArray[np.int64], NDArray[np.float64]]:
    """The weighted hard-labelled rows a ``sample_weight`` classifier fits.

    The original rows first (when ``keep_original``, with their sample weights), then the
    mixed rows expanded by :func:`expand_soft_targets`; rows of zero weight are left out.
    Returns inputs, class indices and weights.
    """
    x_rows, c_rows, w_rows = expand_soft_targets(rows.inputs, rows.targets, rows.weights)
    if keep_original:
        w0 = np.ones(X.shape[0]) if sample_weight is None else sample_weight
        keep = w0 > 0
        x_rows = np.concatenate([X[keep], x_rows])
        c_rows = np.concatenate([codes[keep], c_rows])
        w_rows = np.concatenate([w0[keep], w_rows])
    return x_rows, c_rows, w_rows
