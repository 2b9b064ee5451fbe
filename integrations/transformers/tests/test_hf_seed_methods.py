"""The seed methods of the core through the one callback: Local Mixup (per-sample weights),
k-mixup (optimal-transport partners, here on model features), GenLabel (densities fitted before
training, carried by checkpoints) and MixupE (a loss term: its clean pass through the model)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from hf_support import CLASSES, Recorder, args, image_dataset, tiny_vit, trainer
from torch import Tensor, nn
from transformers import TrainerControl, TrainerState

import mixkit
from mixkit_transformers import MixUpCallback

pytestmark = pytest.mark.slow


def install(cb: MixUpCallback, model: nn.Module, tmp_path: Path) -> None:
    cb.on_train_begin(args(tmp_path), TrainerState(), TrainerControl(), model=model)


def replay(cb: MixUpCallback, x: Tensor, y: Tensor, **kwargs: Any) -> mixkit.Mixed:
    """The draw of the first micro-batch of step 0, made again from the callback's seed."""
    assert cb._seed is not None
    mixkit.reseed(cb.mixer, cb._seed, 0, 0, 0)
    cb.mixer.set_step(0)
    out: mixkit.Mixed = cb.mixer(x, y, **kwargs)
    return out


def batch() -> tuple[Tensor, Tensor]:
    data = image_dataset(8, seed=3)[:]
    return data["pixel_values"], data["labels"]


def test_local_mixup_weights_reach_the_loss_and_the_logs(tmp_path: Path) -> None:
    model = tiny_vit()
    cb = MixUpCallback(mixkit.LocalMixUp(eps=3.0, num_classes=CLASSES))
    install(cb, model, tmp_path)
    x, y = batch()
    out = model(pixel_values=x, labels=y)
    cb.remove_hooks()
    mixed = replay(cb, x, y)
    assert 0 < float(mixed.weights.sum()) < 8, "expected some far pairs weighted 0"
    torch.testing.assert_close(out.loss, mixed.loss(out.logits))  # sum_i w_i l_i / B
    t = trainer(
        tiny_vit(),
        args(tmp_path, max_steps=2, logging_steps=2),
        train_dataset=image_dataset(16),
        callbacks=[MixUpCallback(mixkit.LocalMixUp(eps=3.0, num_classes=CLASSES))],
    )
    t.train()
    (logged,) = [h for h in t.state.log_history if "mixkit/weight_mean" in h]
    assert 0.0 < logged["mixkit/weight_mean"] < 1.0


def test_kmixup_matches_partners_on_model_features(tmp_path: Path) -> None:
    model = tiny_vit()

    def embed(module: nn.Module, inputs: Any) -> Tensor:
        return module.vit(pixel_values=inputs["pixel_values"]).last_hidden_state[:, 0]

    cb = MixUpCallback(mixkit.KMixUp(k=4, num_classes=CLASSES), features=embed)
    pairing = cb.mixer.pairing
    seen: list[Tensor] = []
    match = pairing.pair

    def spy(batch_size: int, features: Tensor | None, generator: torch.Generator) -> Tensor:
        assert features is not None
        seen.append(features)
        return match(batch_size, features, generator)

    pairing.pair = spy  # type: ignore[method-assign]
    install(cb, model, tmp_path)
    x, y = batch()
    out = model(pixel_values=x, labels=y)
    cb.remove_hooks()
    with torch.no_grad():
        features = embed(model, {"pixel_values": x})
    torch.testing.assert_close(seen[0], features)  # the OT cost was built on the embeddings
    mixed = replay(cb, x, y, features=features)
    torch.testing.assert_close(out.loss, mixed.loss(out.logits))


def test_genlabel_fitted_before_training_comes_back_with_the_checkpoint(tmp_path: Path) -> None:
    data = image_dataset(32)
    rows = data[:]

    def mixer(fit: bool) -> mixkit.GenLabelMixUp:
        m = mixkit.GenLabelMixUp(gamma=0.5, num_classes=CLASSES)
        return m.fit(rows["pixel_values"].flatten(1), rows["labels"]) if fit else m

    first = mixer(fit=True)
    t = trainer(
        tiny_vit(),
        args(tmp_path, max_steps=2, save_strategy="steps", save_steps=2),
        train_dataset=data,
        callbacks=[MixUpCallback(first)],
    )
    t.train()
    state = json.loads((tmp_path / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["stateful_callbacks"]["MixUpCallback"]["attributes"]["mixkit_state"]
    fresh = mixer(fit=False)
    assert not fresh.genlabel.fitted
    t = trainer(
        tiny_vit(),
        args(tmp_path, max_steps=3),
        train_dataset=data,
        callbacks=[MixUpCallback(fresh)],
    )
    t.train(resume_from_checkpoint=str(tmp_path / "checkpoint-2"))
    assert fresh.genlabel.fitted and t.state.global_step == 3
    saved, restored = first.state_dict(), fresh.state_dict()
    assert saved.keys() == restored.keys()
    x, _ = batch()
    torch.testing.assert_close(
        first.genlabel.relabel(x.flatten(1), None, torch.zeros(8, CLASSES)),
        fresh.genlabel.relabel(x.flatten(1), None, torch.zeros(8, CLASSES)),
    )


def test_mixupe_runs_its_clean_pass_through_the_trainers_model(tmp_path: Path) -> None:
    mixer = mixkit.MixUpE(mode="pair", num_classes=CLASSES, eta=0.1)
    recorder = Recorder()
    model = tiny_vit()
    t = trainer(
        model,
        args(tmp_path, max_steps=2, logging_steps=1),
        train_dataset=image_dataset(16),
        callbacks=[MixUpCallback(mixer), recorder],
    )
    t.train()
    calls = recorder.training("pixel_values")
    assert len(calls) == 4, "expected the mixed call and the clean pass at each step"
    rows = image_dataset(16)[:]["pixel_values"]
    for mixed_call, clean_call in zip(calls[0::2], calls[1::2], strict=True):
        assert all(any(torch.equal(r, d) for d in rows) for r in clean_call)
        assert not any(any(torch.equal(r, d) for d in rows) for r in mixed_call)
    losses = [h["loss"] for h in t.state.log_history if "loss" in h]
    assert len(losses) == 2 and all(0 < v < 10 for v in losses)
