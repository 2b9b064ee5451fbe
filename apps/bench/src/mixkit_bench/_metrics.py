"""What a run is scored on, on the clean test set, and the label noise of the noisy setting.

Every domain scores its test predictions with :func:`classification_metrics`: accuracy, the
negative log-likelihood, the expected calibration error (top-label, 15 equal-width bins:
``torchmetrics.CalibrationError``) and the Brier score, plus the per-bin counts the reliability
diagrams are drawn from. :func:`flip_labels` makes the label-noise setting: a share of the
training labels replaced by another class drawn uniformly; the test set stays clean.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["METRICS", "N_BINS", "classification_metrics", "flip_labels", "mean_metrics"]

#: equal-width confidence bins of the calibration error (the common choice since Guo et al. 2017)
N_BINS = 15

#: the scalar metrics of every run: name -> (what it is, higher is better)
METRICS: dict[str, tuple[str, bool]] = {
    "accuracy": ("accuracy (%)", True),
    "nll": ("NLL (clean test cross-entropy, nats)", False),
    "ece": ("ECE (%, top-label, 15 equal-width bins)", False),
    "brier": ("Brier score (sum over classes, mean over samples)", False),
}


def classification_metrics(log_probs: Tensor, labels: Tensor) -> dict[str, Any]:
    """Scores of predictions ``log_probs`` ``(N, C)`` (log-softmax) for ``labels`` ``(N,)``.

    Returns ``accuracy``, ``nll`` (mean ``-log p_y``), ``ece`` (``torchmetrics``'
    ``CalibrationError(task="multiclass", n_bins=15, norm="l1")``: top-label confidence against
    accuracy), ``brier`` (``mean_i sum_c (p_ic - [y_i = c])^2``, between 0 and 2) and
    ``bins``: per confidence bin the number of predictions, the sum of their confidences and
    the number correct, binned as torchmetrics bins (15 equal-width bins and a 16th that holds
    the confidences equal to 1), from which the reliability diagrams are drawn.
    """
    from torchmetrics import CalibrationError

    logp = log_probs.detach().double().cpu()
    y = labels.detach().long().cpu()
    num_classes = logp.shape[1]
    probs = logp.exp()
    confidence, predicted = probs.max(dim=1)
    correct = (predicted == y).double()
    ece = CalibrationError(task="multiclass", num_classes=num_classes, n_bins=N_BINS, norm="l1")
    one_hot = torch.nn.functional.one_hot(y, num_classes).double()
    boundaries = torch.linspace(0, 1, N_BINS + 1, dtype=torch.float64)
    slot = torch.bucketize(confidence, boundaries, right=True) - 1  # as torchmetrics bins
    slots = N_BINS + 1

    def per_slot(values: Tensor) -> list[float]:
        return torch.zeros(slots, dtype=torch.float64).index_add_(0, slot, values).tolist()

    return {
        "accuracy": float(correct.mean()),
        "nll": float(-logp.gather(1, y[:, None]).mean()),
        "ece": float(ece(probs, y)),
        "brier": float(((probs - one_hot) ** 2).sum(dim=1).mean()),
        "bins": {
            "count": per_slot(torch.ones_like(confidence)),
            "confidence": per_slot(confidence),
            "correct": per_slot(correct),
        },
    }


def mean_metrics(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Several test sets as one result: the mean of each scalar, the bins added up."""
    out: dict[str, Any] = {
        name: float(sum(p[name] for p in parts) / len(parts)) for name in METRICS
    }
    out["bins"] = {
        key: [sum(values) for values in zip(*(p["bins"][key] for p in parts), strict=True)]
        for key in ("count", "confidence", "correct")
    }
    return out


def flip_labels(labels: Tensor, share: float, num_classes: int, seed: int) -> Tensor:
    """A copy of ``labels`` with ``round(share * N)`` of them, chosen at random, replaced by a
    different class drawn uniformly among the other ``num_classes - 1``.

    The same ``seed`` flips the same labels to the same classes (every method of a seed sees
    the same noisy training set). ``share = 0`` returns the labels unchanged.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"expected a label-noise share in [0, 1], got {share}")
    if share == 0.0:
        return labels.clone()
    if num_classes < 2:
        raise ValueError(f"expected at least 2 classes to flip labels between, got {num_classes}")
    g = torch.Generator().manual_seed(30_000 + seed)
    y = labels.detach().cpu().long().clone()
    n = round(share * len(y))
    chosen = torch.randperm(len(y), generator=g)[:n]
    # an offset in 1..C-1 added modulo C: a uniformly drawn class other than the true one
    offset = torch.randint(1, num_classes, (n,), generator=g)
    y[chosen] = (y[chosen] + offset) % num_classes
    return y.to(device=labels.device, dtype=labels.dtype)
