"""Shared helpers of the mixkit-audio tests: batches and stand-in strategies."""

from __future__ import annotations

import torch
from torch import Tensor

import mixkit

GARBAGE = 99.0  # what the padding of test batches holds: it must never matter


def padded_batch(
    lengths: list[int],
    *,
    channels: int = 2,
    size: int | None = None,
    seed: int = 0,
    garbage: float = GARBAGE,
) -> tuple[Tensor, Tensor]:
    """``(x, lengths)``: random clips with ``garbage`` in their padding."""
    g = torch.Generator().manual_seed(seed)
    size = max(lengths) if size is None else size
    x = torch.randn(len(lengths), channels, size, generator=g)
    lens = torch.tensor(lengths, dtype=torch.int64)
    pad = torch.arange(size) >= lens.unsqueeze(1)  # (B, T)
    return x.masked_fill(pad.unsqueeze(1), garbage), lens


def silenced(x: Tensor, lengths: Tensor, value: float = 0.0) -> Tensor:
    pad = torch.arange(x.shape[-1]) >= lengths.unsqueeze(1)
    return x.masked_fill(pad.reshape(x.shape[0], *([1] * (x.ndim - 2)), x.shape[-1]), value)


def params(index: list[int], lam: list[float] | float) -> mixkit.MixParams:
    lam_t = torch.tensor(lam if isinstance(lam, list) else [lam] * len(index))
    return mixkit.MixParams(index=torch.tensor(index), lam=lam_t.to(torch.float32))


class RecordingPairing(mixkit.Pairing):
    """A feature-driven stand-in pairing (as k-mixup is): pairs each clip with its farthest
    neighbour and records what it saw."""

    needs_features = True

    def __init__(self) -> None:
        self.seen: Tensor | None = None

    def pair(self, batch_size: int, features: Tensor | None, generator: torch.Generator) -> Tensor:
        assert features is not None
        self.seen = features
        return torch.cdist(features, features).argmax(dim=1).cpu()

    def __repr__(self) -> str:
        return "RecordingPairing()"


class DistanceWeights(mixkit.Weighting):
    """A stand-in for Local Mixup's smooth weights: ``exp(-d)`` on the features it gets."""

    def __init__(self) -> None:
        self.seen: Tensor | None = None

    def weights(self, features: Tensor, index: Tensor, lam: Tensor) -> Tensor:
        self.seen = features
        return torch.exp(-(features - features[index]).norm(dim=1)).float()

    def __repr__(self) -> str:
        return "DistanceWeights()"


class NearestMean(mixkit.Relabel):
    """A stand-in for GenLabel: one-hot of the class mean nearest to the mixed features."""

    def __init__(self, means: Tensor) -> None:
        self.means = means
        self.seen: tuple[Tensor, Tensor | None] | None = None

    def relabel(
        self, mixed_inputs: Tensor, mixed_features: Tensor | None, targets: Tensor
    ) -> Tensor:
        self.seen = (mixed_inputs, mixed_features)
        dims = self.means.shape[1]
        source = mixed_inputs.flatten(1)[:, :dims] if mixed_features is None else mixed_features
        nearest = torch.cdist(source.float(), self.means).argmin(dim=1)
        return torch.nn.functional.one_hot(nearest, targets.shape[1]).float()

    def __repr__(self) -> str:
        return "NearestMean()"
