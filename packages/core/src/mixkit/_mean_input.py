"""The mean training input: MixupE version 1's ``x_bar``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from mixkit.validation import describe, fail, shape_str

__all__ = ["mean_input"]


def mean_input(loader_or_iterable: Iterable[Any], *, key: str | int | None = None) -> Tensor:
    """The mean training input, in model-input space: MixupE version 1's ``x_bar``.

    Iterates once over batches and averages every sample (float64 accumulation), like the
    authors' ``get_x_mean``. Pass the loader the model trains on, with its normalisation but
    without random augmentation, so ``x_bar`` lives where the model's inputs do.

    Args:
        loader_or_iterable: yields batches ``(B, ...)``: tensors, ``(inputs, labels, ...)``
            tuples / lists (the inputs are taken at ``key``, default 0), or mappings (a dict
            batch; ``key`` names the inputs, e.g. ``"pixel_values"``). A ``Dataset`` yields
            single samples, not batches: wrap it in a ``DataLoader``.
        key: where the inputs are in each batch (a mapping key or a sequence index).

    Returns:
        The mean sample: a tensor of the shape of one sample, in the batches' floating dtype, on
        the first batch's device.

    Raises:
        TypeError: not iterable, or a batch holding no tensor at ``key``.
        ValueError: no batch, integer inputs, samples of different shapes.

    Example:
        >>> loader = [torch.ones(4, 3), torch.zeros(4, 3)]
        >>> mean_input(loader)
        tensor([0.5000, 0.5000, 0.5000])
    """
    owner = "mean_input"
    if not isinstance(loader_or_iterable, Iterable):
        fail(
            owner,
            "an iterable of batches (a DataLoader)",
            describe(loader_or_iterable),
            type_error=True,
        )
    total: Tensor | None = None
    dtype, count = torch.float32, 0
    for number, batch in enumerate(loader_or_iterable):
        x = _inputs_of(owner, batch, key, number)
        if total is None:
            if x.ndim == 0 or not x.is_floating_point():
                fail(
                    owner,
                    "batches of floating-point inputs (B, ...) as the model sees them",
                    f"{describe(x)} in batch 0",
                )
            total = torch.zeros(x.shape[1:], dtype=torch.float64, device=x.device)  # (...)
            dtype = x.dtype
        elif x.shape[1:] != total.shape or not x.is_floating_point():
            fail(
                owner,
                f"every batch with floating samples of shape {shape_str(total.shape)} "
                "(from batch 0)",
                f"{describe(x)} in batch {number}",
            )
        total += x.detach().to(device=total.device, dtype=torch.float64).sum(dim=0)
        count += x.shape[0]
    if total is None or count == 0:
        fail(owner, "at least one non-empty batch", "an empty iterable" if total is None else 0)
    return (total / count).to(dtype)


def _inputs_of(owner: str, batch: Any, key: str | int | None, number: int) -> Tensor:
    if isinstance(batch, Tensor):
        if key is not None:
            fail(
                owner, f"batches that can be indexed by key={key!r}", f"a tensor in batch {number}"
            )
        return batch
    if isinstance(batch, Mapping):
        if key is None or key not in batch:
            keys = ", ".join(repr(k) for k in batch)
            fail(owner, f"key naming the inputs of a dict batch (one of {keys})", repr(key))
        x = batch[key]
    elif isinstance(batch, Sequence) and not isinstance(batch, str):
        index = 0 if key is None else key
        if not isinstance(index, int) or not -len(batch) <= index < len(batch):
            fail(owner, f"key to be an index into batches of {len(batch)} items", repr(key))
        x = batch[index]
    else:
        fail(owner, "batches as tensors, tuples or dicts", f"{describe(batch)} in batch {number}")
    if not isinstance(x, Tensor):
        fail(
            owner,
            "a tensor of inputs in each batch",
            f"{describe(x)} in batch {number}",
            type_error=True,
        )
    return x
