"""Model outputs and batch entries as Hugging Face models produce and take them.

A classifier returns a ``ModelOutput`` (``logits``, maybe ``loss``), a tuple with
``return_dict=False`` (``(loss?, logits, ...)``), or, for a plain ``nn.Module``, the logits tensor.
``Trainer.compute_loss`` reads ``outputs["loss"]`` from a mapping and ``outputs[0]`` otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor
from transformers.utils.generic import ModelOutput

from mixkit import Mixed
from mixkit.validation import fail, shape_str

__all__ = ["fit_logits", "logits_of", "mix_attention_mask", "with_loss"]


def logits_of(owner: str, output: object) -> Tensor:
    """The logits of a model output (``output["logits"]``, ``output[0]`` or the tensor)."""
    if isinstance(output, Tensor):
        return output
    if isinstance(output, Mapping):
        logits = output.get("logits")
        if isinstance(logits, Tensor):
            return logits
        fail(owner, "a model output holding 'logits'", f"keys {sorted(output)}")
    if isinstance(output, tuple | list) and output and isinstance(output[0], Tensor):
        return output[0]
    fail(owner, "model outputs with logits (a ModelOutput, a tuple or a tensor)", type(output))


def with_loss(output: Any, loss: Tensor) -> Any:
    """``output`` with ``loss`` in the place Trainer reads it from."""
    if isinstance(output, ModelOutput):
        output["loss"] = loss  # a ModelOutput keeps the item and the attribute in step
        output.move_to_end("loss", last=False)  # first, as when the model computes it
        return output
    if isinstance(output, Mapping):
        return {**output, "loss": loss}
    if isinstance(output, tuple):
        return (loss, *output)
    return {"loss": loss, "logits": output}


def fit_logits(owner: str, mixed: Mixed, logits: Tensor) -> Tensor:
    """Logits shaped like the targets: a regression head's ``(B, 1)`` against ``(B,)`` targets."""
    if logits.shape == mixed.targets.shape:
        return logits
    if mixed.task == "regression" and logits.numel() == mixed.targets.numel():
        return logits.reshape(mixed.targets.shape)
    fail(
        owner,
        f"logits of shape {shape_str(mixed.targets.shape)} (the targets' shape)",
        shape_str(logits.shape),
    )


def mix_attention_mask(mask: object, x: Tensor, mixed: Mixed) -> object:
    """The attention mask of a mixed batch: where a sample was mixed with a partner, the union of
    both masks (the mixed waveform holds both signals); elsewhere its own mask.

    Only a mask aligned with the mixed input (``mask.shape == x.shape[:mask.ndim]``, e.g. a
    ``(B, T)`` mask of ``(B, T)`` audio) is changed; anything else is returned as it came.
    """
    if not isinstance(mask, Tensor) or not mixed.applied or mask.ndim == 0:
        return mask
    if tuple(mask.shape) != tuple(x.shape[: mask.ndim]):
        return mask
    index = mixed.index.to(mask.device)
    moved = (mixed.lam.to(mask.device) < 1) & (
        index != torch.arange(index.shape[0], device=mask.device)
    )
    union = torch.maximum(mask, mask.index_select(0, index))
    return torch.where(moved.view(-1, *([1] * (mask.ndim - 1))), union, mask)
