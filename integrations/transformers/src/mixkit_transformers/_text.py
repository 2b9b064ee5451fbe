"""Text inside the model: word-embedding mixup and TMix for models that take token ids.

Token ids cannot be interpolated; what a model makes of them can. With no ``key=``, a model
whose forward takes ``input_ids`` is mixed inside, at site 0 (the output of
``get_input_embeddings()``) or site k (the hidden states after layer k, TMix). For each training
call :class:`~mixkit_transformers._hooks.ModelHooks` draws the parameters and calls
:meth:`TextMixing.prepare`, which arms one :class:`TextPass`: ids that follow the union of the
two sources, the word embeddings of the original ids, and the union of the attention masks. The
pass stays armed until its owner disarms it, so a recomputation under gradient checkpointing is
mixed alike; the owner's own calls (``busy``) pass through, the embeddings replaced by
``substitute`` when it is set. See the text guide of the documentation (docs/guides/text.md).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

import mixkit
from mixkit.validation import describe, fail

__all__ = ["ALIGNED_KEYS", "TEXT_KEY", "TextMixing", "TextPass", "check_layers"]

#: the token-id input of text models
TEXT_KEY = "input_ids"
#: integer entries aligned with the ids that follow the union like them
ALIGNED_KEYS: tuple[str, ...] = (TEXT_KEY, "token_type_ids", "position_ids")
#: the argument under which Hugging Face layers take their attention mask
LAYER_MASK = "attention_mask"


def check_layers(owner: str, layers: object) -> tuple[int, ...] | None:
    """``layers=`` as a tuple of distinct sites (``None`` stays None), or an error."""
    if layers is None:
        return None
    values: object = (
        [layers] if isinstance(layers, int) and not isinstance(layers, bool) else layers
    )
    if not isinstance(values, Sequence) or isinstance(values, str) or not values:
        fail(
            owner,
            "layers to be an int or a non-empty sequence of ints (0: the word embeddings, "
            "k >= 1: the output of layer k), or None",
            describe(layers),
            type_error=not isinstance(values, Sequence) or isinstance(values, str),
        )
    sites: list[int] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            fail(owner, "layers of ints >= 0 (0: the word embeddings)", describe(value))
        if value not in sites:
            sites.append(value)
    return tuple(sites)


@dataclass
class TextPass:
    """One training call of a text model: what was drawn and what the model was given."""

    step: mixkit.MixStep
    site: int
    ids: Tensor  # the batch's own input_ids
    passed: Tensor  # the ids the model was given (following the union)
    index: Tensor  # (B,) partners, on the ids' device
    moved: Tensor  # (B,) bool: rows mixed with another row
    #: the last mask a layer was given and its union (the layers share one mask: joined once)
    joined: tuple[Any, Any] | None = None

    def union(self, mask: Any) -> Any:
        """:func:`union_rows` of ``mask``, computed once for the mask every layer gets."""
        if self.joined is not None and self.joined[0] is mask:
            return self.joined[1]
        union = union_rows(mask, self.index, self.moved)
        self.joined = (mask, union)
        return union


class TextMixing:
    """Where a token-id model is mixed, and the hooks that mix it there (module notes).

    Args:
        owner: the name errors start with.
        model: the model Trainer trains.
        layers: the sites (0: word embeddings; k: output of layer k), one drawn per call.
    """

    def __init__(self, owner: str, model: nn.Module, layers: tuple[int, ...]) -> None:
        self.owner, self.layers = owner, layers
        name = type(model).__name__
        config = getattr(model, "config", None)
        if getattr(config, "is_encoder_decoder", False):
            fail(
                owner,
                "an encoder-only or decoder-only model to mix text inside (an encoder-decoder "
                "model feeds its ids to both halves through one embedding)",
                f"{name} (config.is_encoder_decoder=True)",
            )
        getter = getattr(model, "get_input_embeddings", None)
        embedding = getter() if callable(getter) else None
        if not isinstance(embedding, nn.Module):
            fail(
                owner,
                f"{name}.get_input_embeddings() to return the embedding module, to mix the "
                "token embeddings there",
                describe(embedding),
            )
        self.embedding = embedding
        pad = getattr(_text_config(config), "pad_token_id", None)
        self.pad_token_id: int | None = pad if isinstance(pad, int) else None
        deep = [k for k in layers if k >= 1]
        self.blocks = find_layers(owner, model, max(deep)) if deep else []
        self._mask_at: list[int | None] = [_mask_position(block) for block in self.blocks]
        after = range(min(deep), len(self.blocks)) if deep else range(0)
        missing = [j + 1 for j in after if self._mask_at[j] is None]
        if missing:
            fail(
                owner,
                f"layers that take their mask as {LAYER_MASK!r} after the mixed layer (the "
                "union mask replaces it there)",
                f"layer(s) {missing} of {name} without it",
            )
        self.armed: TextPass | None = None
        self.substitute: Tensor | None = None
        self.busy = False
        self._own_call = False
        self._swapped = False
        self._handles: list[RemovableHandle] = []

    # -- hooks in place --------------------------------------------------------------------

    def install(self) -> None:
        """Hooks on the embedding module, on the mixed layers and on the layers after them.
        Under ``torch.compile`` they run eagerly, like the model's own hooks."""
        self.remove()
        eager: Any = torch.compiler.disable  # untyped in torch
        handles = [
            self.embedding.register_forward_pre_hook(eager(self._on_embedding_input)),
            self.embedding.register_forward_hook(eager(self._on_embedding)),
        ]
        deep = sorted(k for k in self.layers if k >= 1)
        for k in deep:
            hook = eager(functools.partial(self._on_layer, k))
            handles.append(self.blocks[k - 1].register_forward_hook(hook))
        if deep:
            for j in range(deep[0] + 1, len(self.blocks) + 1):
                hook = eager(functools.partial(self._on_layer_input, j))
                handles.append(self.blocks[j - 1].register_forward_pre_hook(hook, with_kwargs=True))
        self._handles = handles

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self.disarm()

    def disarm(self) -> None:
        self.armed = None
        self._swapped = False

    # -- one call --------------------------------------------------------------------------

    def draw_site(self, *parts: int) -> int:
        """The site of this call: drawn uniformly from ``layers``, a pure function of ``parts``
        (seed, rank, step, micro-batch): the same after a resume and, shared, on every rank."""
        if len(self.layers) == 1:
            return self.layers[0]
        gen = torch.Generator().manual_seed(mixkit.derive_seed(*parts, -1))
        return self.layers[int(torch.randint(len(self.layers), (1,), generator=gen))]

    def valid(self, ids: Tensor, mask: object) -> Tensor | None:
        """``(B, L)`` bool: the positions holding tokens (the mask, else ``ids != pad``)."""
        if isinstance(mask, Tensor) and mask.shape == ids.shape:
            return mask != 0
        if self.pad_token_id is not None:
            return ids != self.pad_token_id
        return None

    def sentence_features(self, ids: Tensor, valid: Tensor | None) -> Tensor:
        """``(B, D)`` float32: the mean word embedding of each row's tokens, without gradient
        (what pairings such as k-mixup and Local Mixup measure)."""
        with torch.no_grad():
            emb = self._embed(ids).float()
        if valid is None:
            return emb.mean(dim=1)
        weight = valid.unsqueeze(-1).to(emb.dtype)
        return (emb * weight).sum(dim=1) / weight.sum(dim=1).clamp_min(1.0)

    def prepare(
        self,
        batch: Mapping[str, Any],
        *,
        step: mixkit.MixStep,
        site: int,
        mask_key: str | None,
        valid: Tensor | None,
    ) -> dict[str, Any]:
        """Arm the pass of ``step`` at ``site``; the keyword arguments the model gets."""
        ids: Tensor = batch[TEXT_KEY]
        params = step.params
        assert params is not None  # drawn before the call
        index = params.index.to(ids.device)
        moved = (params.lam.to(ids.device) < 1) & (
            index != torch.arange(index.shape[0], device=ids.device)
        )
        out = dict(batch)
        if valid is not None:
            only_partner = moved.unsqueeze(1) & ~valid & valid.index_select(0, index)
            for key in ALIGNED_KEYS:
                value = batch.get(key)
                if isinstance(value, Tensor) and value.shape == ids.shape:
                    out[key] = torch.where(only_partner, value.index_select(0, index), value)
        mask = batch.get(mask_key) if mask_key is not None else None
        if site == 0 and isinstance(mask, Tensor) and mask.shape == ids.shape and mask_key:
            out[mask_key] = union_rows(mask, index, moved)
        self.armed = TextPass(step, site, ids, out[TEXT_KEY], index, moved)
        self._swapped = False
        return out

    # -- the hooks -------------------------------------------------------------------------

    def _embed(self, ids: Tensor) -> Tensor:
        """The embedding module on ``ids``, the hooks letting the call through."""
        self._own_call = True
        try:
            out: Tensor = self.embedding(ids)
        finally:
            self._own_call = False
        return out

    def _on_embedding_input(self, module: nn.Module, args: tuple[Any, ...]) -> Any:
        """The batch's call of the embedding module gets the original ids back."""
        armed = self.armed
        if armed is None or self._own_call or self.busy or not module.training:
            return None
        ids = args[0] if args and isinstance(args[0], Tensor) else None
        if ids is None or not _same_tensor(ids, armed.passed):
            return None  # the module called on something else than the batch's ids
        self._swapped = True
        return (armed.ids.reshape(ids.shape), *args[1:])

    def _on_embedding(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        if self._own_call:
            return None
        if self.busy:  # the owner's own calls: a loss term's clean pass gets its tensor
            return self.substitute
        armed = self.armed
        if armed is None or not self._swapped:
            return None
        self._swapped = False
        return armed.step.apply(output) if armed.site == 0 else None

    def _on_layer(self, k: int, module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        armed = self.armed
        if armed is None or armed.site != k or self.busy or not module.training:
            return None
        if isinstance(output, Tensor):
            return armed.step.apply(output)
        if isinstance(output, tuple | list) and output and isinstance(output[0], Tensor):
            return type(output)([armed.step.apply(output[0]), *output[1:]])
        fail(
            self.owner,
            f"layer {k} to return a tensor or a tuple starting with one (its hidden states)",
            describe(output),
        )

    def _on_layer_input(
        self, j: int, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
        armed = self.armed
        if armed is None or not 1 <= armed.site < j or self.busy or not module.training:
            return None
        if LAYER_MASK in kwargs:
            return args, {**kwargs, LAYER_MASK: armed.union(kwargs[LAYER_MASK])}
        at = self._mask_at[j - 1]
        if at is not None and at < len(args):
            return (*args[:at], armed.union(args[at]), *args[at + 1 :]), kwargs
        return None


def union_rows(mask: Any, index: Tensor, moved: Tensor) -> Any:
    """Each moved row's mask joined with its partner's (elementwise maximum); other rows (joined
    with themselves: unchanged) and masks that are not per row (``None``, broadcast over the
    batch) as they came."""
    if not isinstance(mask, Tensor) or mask.ndim == 0 or mask.shape[0] != index.shape[0]:
        return mask
    # a row-wise choice of partner, not an elementwise torch.where over the (B, 1, L, L) masks
    # (10 times slower on boolean masks)
    own = torch.arange(index.shape[0], device=index.device)
    partners = torch.where(moved, index, own).to(mask.device)
    return torch.maximum(mask, mask.index_select(0, partners))


def find_layers(owner: str, model: nn.Module, deepest: int) -> list[nn.Module]:
    """The base model's layers: its first ``nn.ModuleList`` of ``config.num_hidden_layers``
    modules (``encoder.layer`` of BERT, ``h`` of GPT-2, ``layers`` of Llama...)."""
    name = type(model).__name__
    count = getattr(_text_config(getattr(model, "config", None)), "num_hidden_layers", None)
    base = getattr(model, "base_model", model)
    if not isinstance(count, int) or not isinstance(base, nn.Module):
        fail(owner, f"{name}.config.num_hidden_layers, to find the layers to mix at", "none")
    found = [m for m in base.modules() if isinstance(m, nn.ModuleList) and len(m) == count]
    if not found:
        fail(
            owner,
            f"an nn.ModuleList of config.num_hidden_layers={count} layers in {name}.base_model "
            "(where layers=k mixes the hidden states)",
            "none",
        )
    if deepest > count:
        fail(
            owner,
            f"layers between 0 and config.num_hidden_layers={count} (0: the word embeddings, "
            f"k: the output of layer k of {name})",
            f"layer {deepest}",
        )
    return list(found[0])


def _text_config(config: Any) -> Any:
    """The configuration of the text part (a multimodal model's text config), or ``config``."""
    getter = getattr(config, "get_text_config", None)
    return getter() if callable(getter) else config


def _mask_position(block: nn.Module) -> int | None:
    """Where ``block.forward`` takes ``attention_mask`` positionally (None: not at all)."""
    try:
        names = list(inspect.signature(block.forward).parameters)
    except (TypeError, ValueError):
        return None
    return names.index(LAYER_MASK) if LAYER_MASK in names else None


def _same_tensor(a: Tensor, b: Tensor) -> bool:
    """``a`` holds the ids ``b`` (the same memory, maybe viewed; else the same values)."""
    if a.numel() != b.numel():
        return False
    if a.data_ptr() == b.data_ptr() and a.dtype == b.dtype:
        return True
    return bool(torch.equal(a.reshape(b.shape), b))
