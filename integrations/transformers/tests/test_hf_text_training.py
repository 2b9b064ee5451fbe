"""Text in Trainer: evaluation never mixed, the model learns, gradient checkpointing (hooks
outside the checkpoint as in transformers 5, and re-run in backward as transformers 4 did),
gradient accumulation, resume, TMix's site drawn per micro-batch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hf_support import CLASSES, args, text_dataset, tiny_text_model, trainer
from torch import Tensor, nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint
from transformers import TrainerCallback
from transformers.modeling_outputs import BaseModelOutputWithPastAndCrossAttentions

import mixkit
from mixkit_transformers import MixUpCallback

pytestmark = pytest.mark.slow


class Outputs(TrainerCallback):
    """What the model is given and what its embedding module and layers return, per call.
    Listed before MixUpCallback its hooks run first (the unmixed layer outputs, the original
    batch); listed after, last (the mixed ones, the batch the model gets)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.inside = False
        self.layer_calls: list[int] = []  # layer 2's pre-hook, counted (re-runs included)
        self.handles: list[Any] = []

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any):  # type: ignore[no-untyped-def]
        embedding = model.get_input_embeddings()
        blocks = list(model.bert.encoder.layer)
        self.handles = [
            model.register_forward_pre_hook(self._call, with_kwargs=True),
            model.register_forward_hook(self._done),
            embedding.register_forward_hook(lambda m, a, out: self._put(m, "emb", out)),
        ]
        for j, block in enumerate(blocks, start=1):
            self.handles.append(
                block.register_forward_hook(lambda m, a, out, j=j: self._put(m, j, out))
            )
        self.handles.append(
            blocks[1].register_forward_pre_hook(lambda m, a: self.layer_calls.append(1))
        )

    def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        for handle in self.handles:
            handle.remove()

    def _call(self, module: nn.Module, args: Any, kwargs: dict[str, Any]) -> None:
        copied = {k: v.clone() if isinstance(v, Tensor) else v for k, v in kwargs.items()}
        self.calls.append({"training": module.training, "kwargs": copied})
        self.inside = True

    def _done(self, module: nn.Module, args: Any, output: Any) -> None:
        self.inside = False

    def _put(self, module: nn.Module, name: str | int, out: Any) -> None:
        # the last output during the call: the callback calls the embedding module itself
        # too (the features, the original ids' embeddings), before the model's own call ends
        if self.inside:
            self.calls[-1][name] = (out if isinstance(out, Tensor) else out[0]).detach().clone()

    def training(self) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["training"]]


def sites(before: Outputs, after: Outputs, weights: list[Tensor]) -> list[int]:
    """Where each training call was mixed: 0 if the embeddings leaving the module are not the
    original ids' (``weights``: the embedding matrix at each call), k if layer k's output
    changed."""
    found = []
    for raw, mixed, weight in zip(before.training(), after.training(), weights, strict=True):
        own = F.embedding(raw["kwargs"]["input_ids"], weight)
        at = [0] if not torch.allclose(mixed["emb"], own) else []
        at += [k for k in (1, 2) if not torch.equal(raw[k], mixed[k])]
        assert len(at) == 1, at
        found.append(at[0])
    return found


class EmbeddingWeights(TrainerCallback):
    """The embedding matrix at the start of each step (the one its micro-batches see)."""

    def __init__(self) -> None:
        self.weights: list[Tensor] = []
        self.model: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any):  # type: ignore[no-untyped-def]
        self.model = model

    def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        w = self.model.get_input_embeddings().weight.detach().clone()
        self.weights.extend([w] * args.gradient_accumulation_steps)


def mixer(seed: int = 0) -> mixkit.MixUp:
    return mixkit.MixUp(alpha=1.0, mode="elem", num_classes=CLASSES, generator=mixkit_gen(seed))


def mixkit_gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def params(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in model.named_parameters()}


def test_evaluation_is_never_mixed_and_sites_are_drawn_per_micro_batch(tmp_path: Path) -> None:
    model = tiny_text_model("bert")
    before, after, weights = Outputs(), Outputs(), EmbeddingWeights()
    data, held_out = text_dataset(64), text_dataset(16, seed=1)
    t = trainer(
        model,
        args(tmp_path, max_steps=8, eval_strategy="steps", eval_steps=4),
        train_dataset=data,
        eval_dataset=held_out,
        callbacks=[weights, before, MixUpCallback(mixer(), layers=(0, 1, 2)), after],
    )
    t.train()
    drawn = sites(before, after, weights.weights)
    assert len(drawn) == 8 and set(drawn) == {0, 1, 2}
    # evaluation: the batches as they are, unmixed embeddings and layers, own labels
    evaluated = [c for c in after.calls if not c["training"]]
    raw = [c for c in before.calls if not c["training"]]
    assert len(evaluated) == 2
    emb = model.get_input_embeddings()
    for got, was in zip(evaluated, raw, strict=True):
        rows = held_out[:]
        for key in ("input_ids", "attention_mask", "labels"):
            assert torch.equal(got["kwargs"][key], rows[key])
        for k in (1, 2):
            assert torch.equal(got[k], was[k])
        assert got["emb"].shape == emb(rows["input_ids"]).shape
    # the same seed draws the same sites again
    again_before, again_after, again_weights = Outputs(), Outputs(), EmbeddingWeights()
    trainer(
        tiny_text_model("bert"),
        args(tmp_path / "again", max_steps=8),
        train_dataset=data,
        callbacks=[again_weights, again_before, MixUpCallback(mixer(), layers=(0, 1, 2)),
                   again_after],
    ).train()  # fmt: skip
    assert sites(again_before, again_after, again_weights.weights) == drawn


@pytest.mark.parametrize(("family", "layers"), [("bert", 0), ("gpt2", (1, 2))])
def test_the_model_learns_a_tiny_text_task(family: str, layers: Any, tmp_path: Path) -> None:
    def accuracy(prediction: Any) -> dict[str, float]:
        hits = np.argmax(prediction.predictions, -1) == prediction.label_ids
        return {"accuracy": float(hits.mean())}

    t = trainer(
        tiny_text_model(family),
        args(
            tmp_path,
            max_steps=120,
            learning_rate=3e-3,
            per_device_train_batch_size=16,
            logging_steps=20,
            eval_strategy="no",
        ),
        train_dataset=text_dataset(384),
        eval_dataset=text_dataset(128, seed=7),
        compute_metrics=accuracy,
        callbacks=[MixUpCallback(mixkit.MixUp(alpha=0.4, num_classes=CLASSES), layers=layers)],
    )
    t.train()
    assert t.evaluate()["eval_accuracy"] >= 0.8  # chance: 0.25
    losses = [h["loss"] for h in t.state.log_history if "loss" in h]
    assert losses[-1] < 0.8 * losses[0]
    assert any("mixkit/lam_mean" in h for h in t.state.log_history)


def run_to_end(model: nn.Module, out: Path, layers: Any, **settings: Any) -> dict[str, Tensor]:
    trainer(
        model,
        args(out, max_steps=3, logging_steps=1, **settings),
        train_dataset=text_dataset(64),
        callbacks=[MixUpCallback(mixer(), layers=layers)],
    ).train()
    return params(model)


@pytest.mark.parametrize(("family", "layers"), [("bert", 0), ("gpt2", (1, 2))])
def test_lam_one_under_gradient_accumulation_trains_as_the_whole_batch(
    family: str, layers: Any, tmp_path: Path
) -> None:
    # 24 sentences, micro-batches of 10 and 2 steps of accumulation: 10 + 10, then 4. The mixed
    # loss is normalised over the accumulated batch (num_items_in_batch): the training of
    # batches of 20 then 4 without accumulation. (Hugging Face's own text classifiers take
    # **kwargs, so Trainer passes the count and does not divide, yet average each micro-batch:
    # their own accumulated loss is the sum of the micro-batch means.) SGD: Adam's first steps
    # blow up the rounding noise of gradients that are zero in exact arithmetic (key biases)
    settings = {"max_steps": -1, "num_train_epochs": 1, "learning_rate": 0.1, "optim": "sgd"}
    data = text_dataset(24)
    plain = tiny_text_model(family)
    whole = args(tmp_path / "a", per_device_train_batch_size=20, **settings)
    trainer(plain, whole, train_dataset=data).train()
    drawn: list[mixkit.MixParams] = []

    class Drawn(mixkit.MixUp):
        def draw(self, x: Any, **kwargs: Any) -> mixkit.MixParams:
            params: mixkit.MixParams = super().draw(x, **kwargs)
            drawn.append(params)
            return params

    mixed_model = tiny_text_model(family)
    mixing = Drawn(alpha=0.0, num_classes=CLASSES)  # lam = 1: the identity mix, any partner
    t = trainer(
        mixed_model,
        args(
            tmp_path / "b",
            per_device_train_batch_size=10,
            gradient_accumulation_steps=2,
            **settings,
        ),
        train_dataset=data,
        callbacks=[MixUpCallback(mixing, layers=layers)],
    )
    t.train()
    assert t.model_accepts_loss_kwargs
    assert [len(p.lam) for p in drawn] == [10, 10, 4]
    assert all(bool((p.lam == 1).all()) for p in drawn)
    for p, q in zip(plain.parameters(), mixed_model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_gradient_checkpointing_trains_exactly_as_without(tmp_path: Path) -> None:
    plain = run_to_end(tiny_text_model("bert"), tmp_path / "plain", (0, 1, 2))
    checkpointed = tiny_text_model("bert")
    got = run_to_end(checkpointed, tmp_path / "ckpt", (0, 1, 2), activation_checkpointing=True)
    layers = list(checkpointed.bert.encoder.layer)  # Trainer called gradient_checkpointing_enable
    assert all(getattr(layer, "gradient_checkpointing", False) is True for layer in layers)
    for name, value in plain.items():
        torch.testing.assert_close(got[name], value, msg=name)


def checkpoint_layer_calls(model: nn.Module) -> None:
    """Checkpoint each encoder layer's ``__call__``, hooks included, as transformers 4 did: the
    backward re-runs the layers' forward hooks and pre-hooks."""
    encoder = model.bert.encoder

    def forward(hidden_states: Tensor, attention_mask: Any = None, **kwargs: Any) -> Any:
        for layer in encoder.layer:
            hidden_states = checkpoint(layer, hidden_states, attention_mask, use_reentrant=False)
        return BaseModelOutputWithPastAndCrossAttentions(last_hidden_state=hidden_states)

    encoder.forward = forward


def test_hooks_re_run_in_backward_mix_with_the_micro_batch_draw(tmp_path: Path) -> None:
    # TMix at layer 1 (its output mixed, layer 2 given the union mask), two micro-batches per
    # step: each recomputation in backward must get its own micro-batch's draw
    settings = {"gradient_accumulation_steps": 2, "per_device_train_batch_size": 4}
    plain = run_to_end(tiny_text_model("bert"), tmp_path / "plain", 1, **settings)
    model = tiny_text_model("bert")
    checkpoint_layer_calls(model)
    counter = Outputs()
    drawn: list[mixkit.MixParams] = []

    class Drawn(mixkit.MixUp):
        def draw(self, x: Any, **kwargs: Any) -> mixkit.MixParams:
            params: mixkit.MixParams = super().draw(x, **kwargs)
            drawn.append(params)
            return params

    t = trainer(
        model,
        args(tmp_path / "ckpt", max_steps=3, logging_steps=1, **settings),
        train_dataset=text_dataset(64),
        callbacks=[
            MixUpCallback(
                Drawn(alpha=1.0, mode="elem", num_classes=CLASSES, generator=mixkit_gen(0)),
                layers=1,
            ),
            counter,
        ],
    )
    t.train()
    assert len(counter.training()) == 6
    assert len(counter.layer_calls) == 12  # every layer-2 call re-ran once in backward
    # each micro-batch drew its own mix
    assert len(drawn) == 6
    assert all(not torch.equal(a.lam, b.lam) for a, b in zip(drawn[::2], drawn[1::2], strict=True))
    got = params(model)
    for name, value in plain.items():
        torch.testing.assert_close(got[name], value, msg=name)


class StopAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == self.step:
            control.should_training_stop = True


def test_resume_gives_the_batches_of_an_uninterrupted_run(tmp_path: Path) -> None:
    def run(out: Path, seed: int, *extra: TrainerCallback, **kwargs: Any) -> tuple[Any, ...]:
        before, after, weights = Outputs(), Outputs(), EmbeddingWeights()
        t = trainer(
            tiny_text_model("bert"),
            args(out, max_steps=8, save_strategy="steps", save_steps=3, logging_steps=1),
            train_dataset=text_dataset(48),  # 6 steps an epoch: the resume crosses an epoch
            callbacks=[weights, before, MixUpCallback(mixer(seed), layers=(0, 1, 2)), after,
                       *extra],
        )  # fmt: skip
        t.train(**kwargs)
        losses = {h["step"]: h["loss"] for h in t.state.log_history if "loss" in h}
        return before, after, sites(before, after, weights.weights), losses

    _, whole, whole_sites, whole_losses = run(tmp_path / "whole", 1)
    assert len(set(whole_sites)) == 3
    run(tmp_path / "cut", 1, StopAt(3))
    checkpoint_dir = tmp_path / "cut" / "checkpoint-3"
    saved = json.loads((checkpoint_dir / "trainer_state.json").read_text())
    assert "MixUpCallback" in saved["stateful_callbacks"]
    # a new process would build a new mixer, with another seed
    _, rest, rest_sites, rest_losses = run(
        tmp_path / "cut", 99, resume_from_checkpoint=str(checkpoint_dir)
    )
    assert rest_sites == whole_sites[3:]
    for got, expected in zip(rest.training(), whole.training()[3:], strict=True):
        for key in ("input_ids", "attention_mask"):
            assert torch.equal(got["kwargs"][key], expected["kwargs"][key])
        for name in ("emb", 1, 2):
            torch.testing.assert_close(got[name], expected[name])
    for step in range(4, 9):
        assert rest_losses[step] == pytest.approx(whole_losses[step], rel=1e-5), step
