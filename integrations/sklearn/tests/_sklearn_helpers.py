"""Stand-ins for the composition axes (the seed methods' contracts), and recording estimators.

Small, deterministic implementations of :class:`mixkit.Pairing`, :class:`mixkit.Weighting`,
:class:`mixkit.Relabel` (with a ``fit`` like GenLabel's) and :class:`mixkit.LossTerm` (an extra
loss term that runs the model on the clean batch, as MixupE's does): the integration is tested
against the contracts, so the seed methods work through it whatever their internals.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression, Ridge
from torch import Tensor

import mixkit
from mixkit import Mixed


class ReversePairing(mixkit.Pairing):
    """Sample i mixes with sample B-1-i: a deterministic pairing (like OT matching)."""

    needs_features = True

    def __init__(self) -> None:
        self.seen: list[Tensor] = []

    def pair(self, batch_size: int, features: Tensor | None, generator: torch.Generator) -> Tensor:
        assert features is not None
        self.seen.append(features)
        return torch.arange(batch_size - 1, -1, -1)

    def __repr__(self) -> str:
        return "ReversePairing()"


class ConstantWeights(mixkit.Weighting):
    """Weight ``value`` for every mixed row, 1 for self-pairs (the contract)."""

    def __init__(self, value: float) -> None:
        self.value = value

    def weights(self, features: Tensor, index: Tensor, lam: Tensor) -> Tensor:
        rows = torch.arange(index.shape[0], device=index.device)
        w = torch.full(index.shape, self.value, dtype=torch.float32, device=index.device)
        return torch.where(index == rows, torch.ones_like(w), w)

    def __repr__(self) -> str:
        return f"ConstantWeights({self.value})"


class UniformRelabel(mixkit.Relabel):
    """Relabels every mixed row to the uniform distribution; ``fit`` records what it saw."""

    def __init__(self) -> None:
        self.fitted_on: tuple[Tensor, Tensor] | None = None

    def fit(self, x: Tensor, y: Tensor) -> UniformRelabel:
        self.fitted_on = (x.clone(), y.clone())
        return self

    def relabel(
        self, mixed_inputs: Tensor, mixed_features: Tensor | None, targets: Tensor
    ) -> Tensor:
        assert self.fitted_on is not None, "relabel before fit"
        return torch.full_like(targets, 1.0 / targets.shape[1])

    def __repr__(self) -> str:
        return "UniformRelabel()"


class CleanPenalty(mixkit.LossTerm):
    """An extra loss term, MixupE-style: ``loss + scale * mean(model(mixed.source) ** 2)``.

    One extra pass of the model over the clean batch; counts its calls and the models it saw.
    ``needs_model=False`` makes it a term that works from the logits alone (it then adds
    ``scale * mean(logits ** 2)``).
    """

    def __init__(self, scale: float = 0.01, *, needs_model: bool = True) -> None:
        self.scale = scale
        self.needs_model = needs_model
        self.calls = 0
        self.models: list[Any] = []

    def __call__(
        self,
        loss: Tensor,
        mixed: Mixed,
        logits: Tensor,
        model: Any,
        *,
        reduction: str,
        num_samples: Tensor | float | None,
    ) -> Tensor:
        self.calls += 1
        self.models.append(model)
        out = model(mixed.source) if self.needs_model else logits
        return loss + self.scale * (out**2).mean()

    def __repr__(self) -> str:
        return f"CleanPenalty({self.scale})"


class RecordingMixUp(mixkit.MixUp):
    """MixUp that records, per call, the epoch, the batch size and whether it mixed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: list[tuple[int, int, bool]] = []

    def forward(self, x: Tensor, y: Tensor, *, features: Tensor | None = None) -> Mixed:
        out = super().forward(x, y, features=features)
        self.calls.append((self.epoch, int(x.shape[0]), out.applied))
        return out


class _Recording:
    """Keeps the rows, labels / targets and weights the estimator was fitted on (``seen_``)."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        weights = None if sample_weight is None else np.array(sample_weight)
        self.seen_ = (np.array(X), np.array(y), weights)
        return super().fit(X, y, sample_weight=sample_weight)  # type: ignore[misc]


class RecordingLogisticRegression(_Recording, LogisticRegression):
    """LogisticRegression that keeps what it was fitted on."""


class RecordingRidge(_Recording, Ridge):
    """Ridge that keeps what it was fitted on."""


def basis_data(n: int = 8, classes: int = 3) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """``X = I_n``: a mixed row ``lam e_i + (1-lam) e_j`` shows both sources and lam."""
    return np.eye(n), np.arange(n) % classes


def class_shares(
    X: NDArray[np.float64], y: NDArray[Any], w: NDArray[np.float64]
) -> dict[bytes, Counter[Any]]:
    """Total weight per class of each distinct row (the expanded form of a soft label)."""
    shares: dict[bytes, Counter[Any]] = {}
    for row, label, weight in zip(X, y, w, strict=True):
        shares.setdefault(np.round(row, 6).tobytes(), Counter())[label] += float(weight)
    return shares
