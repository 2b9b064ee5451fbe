"""Text: token ids are refused with what to do instead; their embeddings are mixed."""

from __future__ import annotations

import re
from pathlib import Path

import datasets
import pytest
import torch
from hf_support import CLASSES, Recorder, Recording, args, trainer
from torch import Tensor, nn
from transformers import BertConfig, BertForSequenceClassification, TrainerControl, TrainerState

import mixkit
from mixkit_transformers import MixUpCallback

ADVICE = (
    "(token ids cannot be interpolated: for text, mix their embeddings, e.g. compute "
    "inputs_embeds with model.get_input_embeddings() in the dataset or collator and pass "
    "key='inputs_embeds'; mixing text inside the model is planned. Convert integer images to "
    "float first, e.g. x.float() / 255)"
)


def tiny_bert(seed: int = 0) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=32,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        num_labels=CLASSES,
    )
    return BertForSequenceClassification(config)


def tokens(n: int = 16, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """``(input_ids, attention_mask, labels)``: 4 to 12 tokens, padded with id 0 to 12."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(4, 13, (n,), generator=g)
    mask = (torch.arange(12).unsqueeze(0) < lengths.unsqueeze(1)).long()
    ids = torch.randint(1, 32, (n, 12), generator=g) * mask
    return ids, mask, torch.randint(0, CLASSES, (n,), generator=g)


def test_token_ids_are_refused_at_train_begin_with_what_to_do(tmp_path: Path) -> None:
    ids, mask, labels = tokens()
    data = datasets.Dataset.from_dict(
        {"input_ids": ids.numpy(), "attention_mask": mask.numpy(), "labels": labels.numpy()}
    )
    data.set_format("torch")
    cb = MixUpCallback(mixkit.MixUp(num_classes=CLASSES), key="input_ids")
    t = trainer(tiny_bert(), args(tmp_path), train_dataset=data, callbacks=[cb])
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
    ids, _, labels = tokens(6)
    message = (
        f"MixUpCallback: expected a floating-point input under key='tokens' {ADVICE}, got a "
        "torch.int64 tensor of shape (6, 12) on cpu"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        model(tokens=ids, labels=labels)
    assert mixer.results == [], "the mixer was called on token ids"


def test_the_advice_works_embeddings_and_their_masks_are_mixed(tmp_path: Path) -> None:
    model = tiny_bert()
    ids, mask, labels = tokens(24)
    with torch.no_grad():  # what the advice says: embeddings computed in the dataset
        embeds = model.get_input_embeddings()(ids)
    data = datasets.Dataset.from_dict(
        {"inputs_embeds": embeds.numpy(), "attention_mask": mask.numpy(), "labels": labels.numpy()}
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
        assert torch.equal(got, mixed.inputs) and got.shape == (8, 12, 16)
        own = (mixed.source.abs().sum(dim=2) != 0).long()  # this batch's masks, from the rows
        moved = (mixed.lam < 1) & (mixed.index != torch.arange(8))
        union = torch.maximum(own, own[mixed.index])
        assert bool(moved.any())
        assert torch.equal(got_mask, torch.where(moved.unsqueeze(1), union, own))
    losses = [h["loss"] for h in t.state.log_history if "loss" in h]
    assert len(losses) == 3 and all(0.0 < v < 10.0 for v in losses)
