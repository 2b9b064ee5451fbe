"""Resume and DataLoader workers: the mixed batches do not depend on either."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from hf_support import (
    CLASSES,
    NearestMean,
    Recorder,
    args,
    image_dataset,
    tiny_convnext,
    tiny_vit,
    trainer,
)
from torch import Tensor
from transformers import TrainerCallback

import mixkit
from mixkit_transformers import MixUpCallback

pytestmark = pytest.mark.slow


class StopAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == self.step:
            control.should_training_stop = True


def make_mixer(seed: int, fitted: bool) -> mixkit.MixUp:
    relabel = NearestMean()
    if fitted:
        data = image_dataset(40)[:]  # every row, as stacked tensors
        relabel.fit(data["pixel_values"], data["labels"], CLASSES)
    return mixkit.MixUp(
        alpha=1.0,
        mode="elem",
        num_classes=CLASSES,
        relabel=relabel,
        schedule=mixkit.LinearDecay(start=2, end=8, unit="step"),  # p decays with the step
        generator=torch.Generator().manual_seed(seed),
    )


def run(
    out: Path, mixer: mixkit.MixUp, *extra: TrainerCallback, **kwargs: Any
) -> tuple[list[Tensor], dict[int, float]]:
    """The mixed inputs of each training step, and the logged loss by step."""
    recorder = Recorder()
    settings = {"max_steps": 8, "save_strategy": "steps", "save_steps": 3, "logging_steps": 1}
    # ConvNeXt: with transformers 5.23, Trainer's own resume drops the encoder weights of ViT
    # and AST (their checkpoints keep the pre-v5 parameter names, which _load_from_checkpoint
    # does not convert back), so the losses would differ whatever the callback does.
    t = trainer(
        tiny_convnext(),
        args(out, **settings),
        train_dataset=image_dataset(40),  # 5 steps per epoch: the resume crosses an epoch
        callbacks=[MixUpCallback(mixer), recorder, *extra],
    )
    t.train(**kwargs)
    losses = {h["step"]: h["loss"] for h in t.state.log_history if "loss" in h}
    return recorder.training("pixel_values"), losses


def test_mixed_batches_after_a_resume_equal_an_uninterrupted_run(tmp_path: Path) -> None:
    whole, whole_losses = run(tmp_path / "whole", make_mixer(seed=1, fitted=True))
    assert len(whole) == 8
    first, _ = run(tmp_path / "cut", make_mixer(seed=1, fitted=True), StopAt(3))
    assert len(first) == 3
    for a, b in zip(first, whole, strict=False):
        assert torch.equal(a, b)
    checkpoint = tmp_path / "cut" / "checkpoint-3"
    saved = json.loads((checkpoint / "trainer_state.json").read_text())
    assert set(saved["stateful_callbacks"]["MixUpCallback"]["attributes"]) == {
        "mixkit_state",
        "mixkit_seed",
    }
    # a new process would build a new mixer: another seed, an unfitted relabelling
    fresh = make_mixer(seed=99, fitted=False)
    rest, rest_losses = run(tmp_path / "cut", fresh, resume_from_checkpoint=str(checkpoint))
    assert len(rest) == 5
    for step, (a, b) in enumerate(zip(rest, whole[3:], strict=True), start=4):
        assert torch.equal(a, b), f"step {step} differs after the resume"
    # same targets (the relabelling came back fitted) and same model: the same losses
    assert sorted(rest_losses) == list(range(1, 9))  # steps 1-3 come from the checkpoint
    for step, loss in rest_losses.items():
        assert loss == pytest.approx(whole_losses[step], rel=1e-5), step
    assert isinstance(fresh.relabel, NearestMean) and fresh.relabel.means is not None


def test_dataloader_workers_do_not_change_the_mixed_batches(tmp_path: Path) -> None:
    def batches(workers: int) -> list[Tensor]:
        recorder = Recorder()
        t = trainer(
            tiny_vit(),
            args(tmp_path / str(workers), max_steps=3, dataloader_num_workers=workers),
            train_dataset=image_dataset(24),
            callbacks=[MixUpCallback(mixkit.MixUp(num_classes=CLASSES)), recorder],
        )
        t.train()
        return recorder.training("pixel_values")

    single, parallel = batches(0), batches(2)  # workers copy the dataset, never the mixer
    assert len(single) == len(parallel) == 3
    for a, b in zip(single, parallel, strict=True):
        assert torch.equal(a, b)
