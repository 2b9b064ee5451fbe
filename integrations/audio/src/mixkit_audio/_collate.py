"""Batching clips of different lengths: zero-padded, with the lengths the mixers take."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from mixkit.validation import fail

__all__ = ["pad_collate"]


def pad_collate(batch: Sequence[tuple[Tensor, int | Tensor]]) -> tuple[Tensor, Tensor, Tensor]:
    """Collate ``(waveform (C, T_i), label)`` pairs into a zero-padded batch with lengths.

    Returns:
        ``(x, lengths, y)``: ``(B, C, max T_i)`` float, ``(B,)`` int64 valid samples,
        ``(B,)`` labels (int64 for int labels, stacked tensors otherwise).

    Raises:
        ValueError: an empty batch or clips with different channel counts.
    """
    if len(batch) == 0:
        fail("pad_collate", "a non-empty batch", "0 items")
    waves = [w if w.ndim == 2 else w.unsqueeze(0) for w, _ in batch]
    channels = {int(w.shape[0]) for w in waves}
    if len(channels) != 1:
        fail("pad_collate", "clips with the same number of channels", sorted(channels))
    lengths = torch.tensor([w.shape[-1] for w in waves], dtype=torch.int64)
    x = waves[0].new_zeros(len(waves), channels.pop(), int(lengths.max()))
    for i, w in enumerate(waves):
        x[i, :, : w.shape[-1]] = w
    labels = [label for _, label in batch]
    if all(isinstance(label, int) for label in labels):
        y = torch.tensor(labels, dtype=torch.int64)
    else:
        y = torch.stack([torch.as_tensor(label) for label in labels])
    return x, lengths, y
