"""Text: token-id models are mixed inside, at the word embeddings or a layer's hidden states
(TMix), with union masks and ids; six families built from configs; the errors are pinned.

The models and the synthetic token task come from ``hf_support`` (no mixkit_bench: these tests
stay fast and independent of the reviews data set)."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import datasets
import pytest
import torch
from hf_support import (
    CLASSES,
    DECODERS,
    PAD,
    TEXT_MODELS,
    NearestPairing,
    Recorder,
    Recording,
    args,
    tiny_text_model,
    token_batch,
    trainer,
)
from torch import Tensor, nn
from torch.nn import functional as F
from transformers import (
    BartConfig,
    BartForSequenceClassification,
    TrainerControl,
    TrainerState,
    ViTConfig,
    ViTForImageClassification,
)

import mixkit
from mixkit_transformers import MixUpCallback

ADVICE = (
    "(token ids cannot be interpolated: for text, leave key=None and the callback mixes inside "
    "the model, at the word embeddings (get_input_embeddings()) or, with layers=k, at the "
    "hidden states of layer k (TMix); or compute inputs_embeds yourself and pass "
    "key='inputs_embeds'. Convert integer images to float first, e.g. x.float() / 255)"
)


def g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def recording(cls: type[mixkit.Mixer]) -> Any:
    """``cls`` keeping every result of ``mix`` (what the callback mixes text with)."""

    class Recorded(cls):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.results: list[mixkit.Mixed] = []

        def mix(self, x: Any, y: Any, params: Any, **kwargs: Any) -> mixkit.Mixed:
            out: mixkit.Mixed = super().mix(x, y, params, **kwargs)
            self.results.append(out)
            return out

    return Recorded


MixUpRecorded = recording(mixkit.MixUp)


def begin(model: nn.Module, mixer: nn.Module, tmp: Path, **kwargs: Any) -> MixUpCallback:
    """The callback's hooks on ``model``, as Trainer's ``on_train_begin`` puts them."""
    cb = MixUpCallback(mixer, **kwargs)
    cb.on_train_begin(args(tmp), TrainerState(), TrainerControl(), model=model.train())
    return cb


class Probe:
    """Registered after the callback: the keyword arguments the model gets, what leaves its
    embedding module, and (``layers``) the mask each layer gets and each layer's output."""

    def __init__(self, model: nn.Module, blocks: list[nn.Module] | None = None) -> None:
        self.kwargs: dict[str, Any] = {}
        self.embeddings: list[Tensor] = []
        self.masks: dict[int, Any] = {}
        self.outputs: dict[int, Tensor] = {}
        self.handles = [
            model.register_forward_pre_hook(self._call, with_kwargs=True),
            model.get_input_embeddings().register_forward_hook(self._embedding),
        ]
        for j, block in enumerate(blocks or [], start=1):
            self.handles.append(
                block.register_forward_pre_hook(
                    lambda m, a, kw, j=j: self.masks.__setitem__(j, _mask(m, a, kw)),
                    with_kwargs=True,
                )
            )
            self.handles.append(
                block.register_forward_hook(lambda m, a, out, j=j: self._output(j, out))
            )

    def _call(self, module: nn.Module, args: Any, kwargs: dict[str, Any]) -> None:
        self.kwargs = dict(kwargs)

    def _embedding(self, module: nn.Module, args: Any, output: Tensor) -> None:
        self.embeddings.append(output.detach().clone())

    def _output(self, j: int, output: Any) -> None:
        tensor = output if isinstance(output, Tensor) else output[0]
        self.outputs[j] = tensor.detach().clone()

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _mask(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    import inspect

    bound = inspect.signature(module.forward).bind_partial(*args, **kwargs)
    mask = bound.arguments.get("attention_mask")
    return None if mask is None else mask.detach().clone()


def blocks_of(model: nn.Module) -> list[nn.Module]:
    count = model.config.num_hidden_layers
    for m in model.base_model.modules():
        if isinstance(m, nn.ModuleList) and len(m) == count:
            return list(m)
    raise AssertionError("no layer list")


def unions(batch: dict[str, Tensor], mixed: mixkit.Mixed) -> tuple[Tensor, Tensor, Tensor]:
    """``(moved rows, union mask, union ids)`` computed by hand."""
    ids, mask, index = batch["input_ids"], batch["attention_mask"], mixed.index
    moved = (mixed.lam < 1) & (index != torch.arange(len(index)))
    union = torch.where(moved[:, None], torch.maximum(mask, mask[index]), mask)
    only_partner = moved[:, None] & (mask == 0) & (mask[index] == 1)
    return moved, union, torch.where(only_partner, ids[index], ids)


def pooled_logits(model: nn.Module, family: str, embeds: Tensor, mask: Tensor) -> Tensor:
    """The classifier on word embeddings ``embeds`` with ``mask``; a decoder pools the last
    position the mask holds (what the ids that follow the union make it pool)."""
    if family not in DECODERS:
        logits: Tensor = model(inputs_embeds=embeds, attention_mask=mask).logits
        return logits
    hidden = model.base_model(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
    last = mask.sum(dim=1) - 1  # right padding
    scored: Tensor = model.score(hidden)[torch.arange(len(last)), last]
    return scored


# -- word-embedding mixup ----------------------------------------------------------------------


@pytest.mark.parametrize("family", list(TEXT_MODELS))
def test_word_embeddings_are_mixed_with_union_masks_ids_and_pooling(
    family: str, tmp_path: Path
) -> None:
    model = tiny_text_model(family)
    mixer = MixUpRecorded(alpha=1.0, mode="elem", p=0.7, num_classes=CLASSES, generator=g(3))
    cb = begin(model, mixer, tmp_path)
    probe = Probe(model)
    batch = token_batch(8)
    out = model(**batch)
    cb.remove_hooks()
    probe.remove()
    assert len(mixer.results) == 1
    mixed = mixer.results[0]
    moved, union, union_ids = unions(batch, mixed)
    assert bool(moved.any()) and not bool(moved.all())  # mixed rows and rows kept whole
    assert bool((union != batch["attention_mask"]).any())  # some partner is longer
    assert "labels" not in probe.kwargs
    # the model gets the union mask, and ids whose non-pad positions are the union
    assert torch.equal(probe.kwargs["attention_mask"], union)
    assert torch.equal(probe.kwargs["input_ids"], union_ids)
    assert torch.equal((probe.kwargs["input_ids"] != PAD).long(), union)
    # the embeddings leaving the module are the mix of the ORIGINAL ids' embeddings
    with torch.no_grad():
        own = model.get_input_embeddings()(batch["input_ids"])
    lam = mixed.lam.view(-1, 1, 1)
    expected = lam * own + (1 - lam) * own[mixed.index]
    torch.testing.assert_close(probe.embeddings[-1], expected)
    # the logits: the model on them with the union mask; decoders pool the union's last token
    with torch.no_grad():
        reference = pooled_logits(model, family, expected, union)
    torch.testing.assert_close(out.logits, reference, rtol=1e-4, atol=1e-5)
    # the loss is the mixed loss
    y = batch["labels"]
    per_sample = mixed.lam * F.cross_entropy(out.logits, y, reduction="none") + (
        1 - mixed.lam
    ) * F.cross_entropy(out.logits, y[mixed.index], reduction="none")
    torch.testing.assert_close(out.loss, per_sample.mean())
    out.loss.backward()
    grad = model.get_input_embeddings().weight.grad
    assert grad is not None and float(grad.abs().sum()) > 0


@pytest.mark.parametrize("family", list(TEXT_MODELS))
def test_tmix_own_masks_up_to_layer_k_then_the_union(family: str, tmp_path: Path) -> None:
    model = tiny_text_model(family, layers=3)
    blocks = blocks_of(model)
    raw: dict[int, Tensor] = {}
    before = blocks[0].register_forward_hook(  # registered first: sees the unmixed output
        lambda m, a, out: raw.__setitem__(1, (out if isinstance(out, Tensor) else out[0]).clone())
    )
    mixer = MixUpRecorded(alpha=1.0, mode="elem", p=0.7, num_classes=CLASSES, generator=g(3))
    cb = begin(model, mixer, tmp_path, layers=1)
    probe = Probe(model, blocks)
    batch = token_batch(8)
    model(**batch)
    cb.remove_hooks()
    before.remove()
    masks_in_training = dict(probe.masks)
    mixed = mixer.results[0]
    moved, union, union_ids = unions(batch, mixed)
    assert bool(moved.any()) and bool((union != batch["attention_mask"]).any())
    # the model gets the own masks and ids that follow the union (a decoder's pooled position)
    assert torch.equal(probe.kwargs["attention_mask"], batch["attention_mask"])
    assert torch.equal(probe.kwargs["input_ids"], union_ids)
    # the word embeddings are the original ids' own
    with torch.no_grad():
        own = model.get_input_embeddings()(batch["input_ids"])
    torch.testing.assert_close(probe.embeddings[0], own)
    # layer 1's output is mixed
    lam = mixed.lam.view(-1, 1, 1)
    torch.testing.assert_close(probe.outputs[1], lam * raw[1] + (1 - lam) * raw[1][mixed.index])
    # layer 1 got the mask the model builds from the own masks, layers 2 and 3 the one it
    # builds from the union masks (exact TMix)
    for mask, layer in ((batch["attention_mask"], 1), (union, 2), (union, 3)):
        probe.masks.clear()
        with torch.no_grad():
            model.eval()(input_ids=batch["input_ids"], attention_mask=mask)
        torch.testing.assert_close(masks_in_training[layer], probe.masks[layer])
    probe.remove()


def test_a_decoder_pools_the_union_last_token_at_a_layer_site(tmp_path: Path) -> None:
    model = tiny_text_model("gpt2")
    final: list[Tensor] = []
    hook = model.base_model.register_forward_hook(
        lambda m, a, out: final.append(out.last_hidden_state)
    )
    mixer = MixUpRecorded(alpha=1.0, mode="elem", num_classes=CLASSES, generator=g(3))
    cb = begin(model, mixer, tmp_path, layers=1)
    batch = token_batch(8)
    out = model(**batch)
    cb.remove_hooks()
    hook.remove()
    _, union, _ = unions(batch, mixer.results[0])
    last = union.sum(dim=1) - 1
    own_last = batch["attention_mask"].sum(dim=1) - 1
    assert bool((last != own_last).any())
    expected = model.score(final[0])[torch.arange(8), last]
    torch.testing.assert_close(out.logits, expected)


def test_pairings_measure_mean_word_embeddings_or_the_features_function(tmp_path: Path) -> None:
    batch = token_batch(8)
    model = tiny_text_model("bert")
    pairing = NearestPairing()
    mixer = mixkit.MixUp(num_classes=CLASSES, pairing=pairing, generator=g(0))
    cb = begin(model, mixer, tmp_path)
    model(**batch)
    cb.remove_hooks()
    with torch.no_grad():
        emb = model.get_input_embeddings()(batch["input_ids"])
    mask = batch["attention_mask"].unsqueeze(-1).float()
    torch.testing.assert_close(pairing.seen[0], (emb * mask).sum(1) / mask.sum(1))

    def lengths(model: nn.Module, batch: dict[str, Any]) -> Tensor:
        return batch["attention_mask"].sum(dim=1, keepdim=True).float()

    cb = begin(model, mixer, tmp_path, features=lengths)
    model(**batch)
    cb.remove_hooks()
    torch.testing.assert_close(pairing.seen[1], lengths(model, batch))


def test_a_mixer_switched_off_leaves_the_batch_alone(tmp_path: Path) -> None:
    model = tiny_text_model("gpt2")
    mixer = MixUpRecorded(num_classes=CLASSES, enabled=False)
    cb = begin(model, mixer, tmp_path, layers=(0, 1))
    probe = Probe(model)
    batch = token_batch(8)
    out = model(**batch)
    cb.remove_hooks()
    probe.remove()
    assert mixer.results == []
    assert torch.equal(probe.kwargs["input_ids"], batch["input_ids"])
    assert torch.equal(probe.kwargs["attention_mask"], batch["attention_mask"])
    with torch.no_grad():
        own = model.get_input_embeddings()(batch["input_ids"])
    torch.testing.assert_close(probe.embeddings[0], own)
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits, batch["labels"]))


# -- MixupE's term: its clean pass replaces the word embeddings ------------------------------


@pytest.mark.parametrize("family", ["bert", "gpt2"])
def test_mixupe_clean_pass_runs_the_model_on_the_clean_embeddings(
    family: str, tmp_path: Path
) -> None:
    model = tiny_text_model(family)
    mixer = recording(mixkit.MixUpE)(alpha=1.0, num_classes=CLASSES, eta=0.5, tau=10.0)
    mixer.manual_seed(0)
    cb = begin(model, mixer, tmp_path)
    batch = token_batch(8)
    out = model(**batch)
    cb.remove_hooks()
    params = mixer.results[0].params
    out.loss.backward()
    got = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    model.zero_grad()
    # by hand: the mixed loss plus the core's term, whose clean pass is the model on the clean
    # embeddings with the own masks (a decoder pooling each row's own last token)
    own = model.get_input_embeddings()(batch["input_ids"])
    by_hand = mixer.mix(own, batch["labels"], params)
    _, union, _ = unions(batch, by_hand)
    logits = pooled_logits(model, family, by_hand.inputs, union)

    def clean(x: Tensor) -> Tensor:
        return pooled_logits(model, family, x, batch["attention_mask"])

    loss = by_hand.loss(logits, model=clean)
    torch.testing.assert_close(out.loss, loss)
    loss.backward()
    expected = [p.grad for p in model.parameters() if p.grad is not None]
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    # the term changed the gradient (eta > 0): not the plain mixup loss's
    model.zero_grad()
    again = mixer.mix(model.get_input_embeddings()(batch["input_ids"]), batch["labels"], params)
    mixkit.mixed_loss(pooled_logits(model, family, again.inputs, union), again).backward()
    plain = [p.grad for p in model.parameters() if p.grad is not None]
    assert any(not torch.allclose(a, b) for a, b in zip(got, plain, strict=True))


# -- errors ------------------------------------------------------------------------------------


def test_token_ids_are_refused_at_train_begin_with_what_to_do(tmp_path: Path) -> None:
    data = datasets.Dataset.from_dict({k: v.numpy() for k, v in token_batch(16).items()})
    data.set_format("torch")
    cb = MixUpCallback(mixkit.MixUp(num_classes=CLASSES), key="input_ids")
    t = trainer(tiny_text_model("bert"), args(tmp_path), train_dataset=data, callbacks=[cb])
    message = f"MixUpCallback: expected a floating-point input under key='input_ids' {ADVICE}"
    with pytest.raises(ValueError, match=re.escape(f"{message}, got key='input_ids' (token ids)")):
        t.train()


def test_integer_inputs_under_any_key_are_refused_at_the_first_batch(tmp_path: Path) -> None:
    class Tokens(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.EmbeddingBag(32, CLASSES)

        def forward(self, tokens: Tensor, labels: Tensor | None = None) -> Tensor:
            out: Tensor = self.embed(tokens)
            return out

    model = Tokens()
    mixer = Recording(num_classes=CLASSES)
    cb = MixUpCallback(mixer, key="tokens")
    cb.on_train_begin(args(tmp_path), TrainerState(), TrainerControl(), model=model)
    ids = token_batch(6)["input_ids"]
    message = (
        f"MixUpCallback: expected a floating-point input under key='tokens' {ADVICE}, got a "
        "torch.int64 tensor of shape (6, 16) on cpu"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        model(tokens=ids, labels=torch.zeros(6, dtype=torch.int64))
    assert mixer.results == [], "the mixer was called on token ids"


def test_embeddings_computed_outside_are_mixed_under_key_inputs_embeds(tmp_path: Path) -> None:
    model = tiny_text_model("bert")
    batch = token_batch(24)
    with torch.no_grad():  # embeddings computed in the dataset
        embeds = model.get_input_embeddings()(batch["input_ids"])
    data = datasets.Dataset.from_dict(
        {
            "inputs_embeds": embeds.numpy(),
            "attention_mask": batch["attention_mask"].numpy(),
            "labels": batch["labels"].numpy(),
        }
    )
    data.set_format("torch")
    mixer = Recording(alpha=1.0, mode="elem", num_classes=CLASSES)
    recorder = Recorder()
    t = trainer(
        model,
        args(tmp_path, max_steps=3, logging_steps=1),
        train_dataset=data,
        callbacks=[MixUpCallback(mixer, key="inputs_embeds"), recorder],
    )
    t.train()
    seen, masks = recorder.training("inputs_embeds"), recorder.training("attention_mask")
    assert len(seen) == len(mixer.results) == 3
    for got, got_mask, mixed in zip(seen, masks, mixer.results, strict=True):
        assert torch.equal(got, mixed.inputs) and got.shape == (8, 16, 32)
        own = (mixed.source.abs().sum(dim=2) != 0).long()  # this batch's masks, from the rows
        moved = (mixed.lam < 1) & (mixed.index != torch.arange(8))
        union = torch.maximum(own, own[mixed.index])
        assert bool(moved.any())
        assert torch.equal(got_mask, torch.where(moved.unsqueeze(1), union, own))


class Custom(nn.Module):
    """A token model outside transformers: ``config``, an embedding, a layer list."""

    def __init__(self, layer: type[nn.Module], count: int = 2) -> None:
        super().__init__()
        self.config = SimpleNamespace(num_hidden_layers=count, pad_token_id=PAD)
        self.embed = nn.Embedding(48, 8)
        self.layers = nn.ModuleList([layer() for _ in range(count)])
        self.head = nn.Linear(8, CLASSES)
        self.unused = nn.Embedding(48, 8)
        self.report_unused = False

    def get_input_embeddings(self) -> nn.Module:
        return self.unused if self.report_unused else self.embed

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor | None = None, labels: Any = None
    ) -> Tensor:
        h = self.embed(input_ids)
        for layer in self.layers:
            h = layer(h)
            h = h["h"] if isinstance(h, dict) else h
        out: Tensor = self.head(h.mean(dim=1))
        return out


class DictLayer(nn.Module):
    def forward(self, hidden_states: Tensor, attention_mask: Tensor | None = None) -> Any:
        return {"h": hidden_states}


class NoMaskLayer(nn.Module):
    def forward(self, hidden_states: Tensor) -> Tensor:
        return hidden_states


def test_text_errors_are_pinned(tmp_path: Path) -> None:
    mixer = mixkit.MixUp(num_classes=CLASSES)
    bart = BartForSequenceClassification(
        BartConfig(
            vocab_size=48,
            d_model=16,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=32,
            decoder_ffn_dim=32,
            max_position_embeddings=16,
            num_labels=CLASSES,
        )
    )
    too_many = tiny_text_model("bert")
    too_many.config.num_hidden_layers = 5
    vit = ViTForImageClassification(
        ViTConfig(image_size=8, patch_size=4, num_channels=1, hidden_size=16,
                  num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    )  # fmt: skip
    cases: list[tuple[Any, type[Exception], str]] = [
        (
            lambda: MixUpCallback(mixer, layers="1"),
            TypeError,
            "MixUpCallback: expected layers to be an int or a non-empty sequence of ints (0: "
            "the word embeddings, k >= 1: the output of layer k), or None, got '1' (str)",
        ),
        (
            lambda: MixUpCallback(mixer, layers=[]),
            ValueError,
            "MixUpCallback: expected layers to be an int or a non-empty sequence of ints (0: "
            "the word embeddings, k >= 1: the output of layer k), or None, got [] (list)",
        ),
        (
            lambda: MixUpCallback(mixer, layers=[1, -1]),
            ValueError,
            "MixUpCallback: expected layers of ints >= 0 (0: the word embeddings), got -1 (int)",
        ),
        (
            lambda: begin(vit, mixer, tmp_path, layers=1),
            ValueError,
            "MixUpCallback: expected layers= only for text models, mixed inside (key=None and a "
            "forward that takes input_ids), got layers=[1] with key='pixel_values'",
        ),
        (
            lambda: begin(tiny_text_model("bert"), mixer, tmp_path, layers=3),
            ValueError,
            "MixUpCallback: expected layers between 0 and config.num_hidden_layers=2 (0: the "
            "word embeddings, k: the output of layer k of BertForSequenceClassification), got "
            "layer 3",
        ),
        (
            lambda: begin(too_many, mixer, tmp_path, layers=1),
            ValueError,
            "MixUpCallback: expected an nn.ModuleList of config.num_hidden_layers=5 layers in "
            "BertForSequenceClassification.base_model (where layers=k mixes the hidden "
            "states), got none",
        ),
        (
            lambda: begin(tiny_text_model("bert"), mixkit.CutMix(num_classes=CLASSES), tmp_path),
            ValueError,
            "MixUpCallback: expected an interpolating mixer for text (MixUp, the seed methods, "
            "MixUpE: op LerpOp; boxes and other operations have no meaning on token "
            "sequences), got CutMix with op CutMixOp(correct_lam=True)",
        ),
        (
            lambda: begin(
                tiny_text_model("bert"), mixkit.MixUpE(num_classes=CLASSES), tmp_path, layers=2
            ),
            ValueError,
            "MixUpCallback: expected layers=0 for a mixer with a loss term (its clean pass "
            "replaces the word embeddings; from a layer's hidden states the model has no entry "
            "point), got layers=[2] with MixupETerm(eta=0.001, tau=1.0, version=3)",
        ),
        (
            lambda: begin(bart, mixer, tmp_path),
            ValueError,
            "MixUpCallback: expected an encoder-only or decoder-only model to mix text inside (an "
            "encoder-decoder model feeds its ids to both halves through one embedding), got "
            "BartForSequenceClassification (config.is_encoder_decoder=True)",
        ),
        (
            lambda: begin(Custom(NoMaskLayer), mixer, tmp_path, layers=1),
            ValueError,
            "MixUpCallback: expected layers that take their mask as 'attention_mask' after the "
            "mixed layer (the union mask replaces it there), got layer(s) [2] of Custom "
            "without it",
        ),
    ]
    for make, kind, message in cases:
        with pytest.raises(kind, match=re.escape(message)):
            make()


def test_text_errors_during_a_call_are_pinned(tmp_path: Path) -> None:
    batch = token_batch(4)
    model = Custom(DictLayer)
    cb = begin(model, mixkit.MixUp(num_classes=CLASSES), tmp_path, layers=1)
    message = (
        "MixUpCallback: expected layer 1 to return a tensor or a tuple starting with one (its "
        "hidden states), got {'h': tensor("
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        model(**batch)
    cb.remove_hooks()

    model = Custom(DictLayer)
    model.report_unused = True  # get_input_embeddings() names a module forward never runs
    cb = begin(model, mixkit.MixUp(num_classes=CLASSES), tmp_path)
    message = (
        "MixUpCallback: expected the model to run the module chosen for mixing in this step, "
        "got no call"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        model(**batch)
    cb.remove_hooks()

    model = Custom(DictLayer)
    cb = begin(model, mixkit.MixUp(num_classes=CLASSES), tmp_path)
    message = (
        "MixUpCallback: expected token ids under 'input_ids': an integer tensor (B, L), got a "
        "torch.float32 tensor of shape (4, 16) on cpu"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        model(input_ids=batch["input_ids"].float(), labels=batch["labels"])
    cb.remove_hooks()

    class NoEmbeddings(nn.Module):
        def forward(self, input_ids: Tensor, labels: Any = None) -> Tensor:
            return torch.zeros(len(input_ids), CLASSES)

    message = (
        "MixUpCallback: expected NoEmbeddings.get_input_embeddings() to return the embedding "
        "module, to mix the token embeddings there, got None"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        begin(NoEmbeddings(), mixkit.MixUp(num_classes=CLASSES), tmp_path)


def test_repr_shows_layers() -> None:
    cb = MixUpCallback(mixkit.MixUp(alpha=0.4, num_classes=2), layers=[7, 9, 12])
    assert repr(cb) == (
        "MixUpCallback(MixUp(alpha=0.4, mode='batch', p=1.0, num_classes=2), layers=(7, 9, 12))"
    )
