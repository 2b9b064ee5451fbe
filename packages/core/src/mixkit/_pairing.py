"""Pairing: who mixes with whom.

A pairing returns the partner index of each sample. The default, :class:`RandomPairing`, is a
random permutation drawn from the mixer's generator: it does not depend on the loader's
shuffling and works for any batch size (odd, or 1), unlike ``flip`` / ``roll`` pairings.
"""

from __future__ import annotations

import abc

import torch
from torch import Tensor

__all__ = ["Pairing", "RandomPairing"]


class Pairing(abc.ABC):
    """Base class of partner selection.

    Attributes:
        needs_features: True when :meth:`pair` looks at the samples (optimal transport,
            nearest neighbours); the mixer then passes ``(B, D)`` float features (the flattened
            inputs, or what the caller gives as ``features=``), on the data's device, detached.
    """

    needs_features: bool = False

    @abc.abstractmethod
    def pair(self, batch_size: int, features: Tensor | None, generator: torch.Generator) -> Tensor:
        """``(B,)`` int64 partner index on the CPU."""


class RandomPairing(Pairing):
    """Each sample mixes with a uniformly random partner: ``index = randperm(B)``."""

    def pair(self, batch_size: int, features: Tensor | None, generator: torch.Generator) -> Tensor:
        return torch.randperm(batch_size, generator=generator)

    def __repr__(self) -> str:
        return "RandomPairing()"
