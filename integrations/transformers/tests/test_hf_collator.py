"""The lower-level pieces wired by hand: MixUpCollator + MixUpLoss (+ the collator's switch)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from hf_support import CLASSES, HalfWeights, Recorder, args, image_dataset, tiny_vit, trainer
from torch import Tensor

import mixkit
from mixkit_transformers import MixUpCollator, MixUpLoss

pytestmark = pytest.mark.slow


def is_raw(row: Tensor, rows: Tensor) -> bool:
    return any(torch.equal(row, r) for r in rows)


@pytest.mark.parametrize("encoding", ["dense", "pair"])
def test_collator_and_loss_mix_training_batches_only(tmp_path: Path, encoding: str) -> None:
    train, evaluation = image_dataset(32), image_dataset(16, seed=1)
    collator = MixUpCollator(
        # pair mode: every sample gets a partner other than itself (batches of 8)
        mixkit.MixUp(mode="pair", num_classes=CLASSES, weighting=HalfWeights()),
        encoding=encoding,
    )
    recorder = Recorder()
    t = trainer(
        tiny_vit(),
        args(tmp_path, max_steps=4, eval_strategy="steps", eval_steps=2),
        train_dataset=train,
        eval_dataset=evaluation,
        data_collator=collator,
        compute_loss_func=MixUpLoss(encoding=encoding),
        callbacks=[collator, recorder],
    )
    t.train()
    rows = train[:]["pixel_values"]
    trained = torch.cat(recorder.training("pixel_values"))
    assert trained.shape == (32, 1, 8, 8)
    assert not any(is_raw(r, rows) for r in trained), "a training row reached the model unmixed"
    assert all("labels" not in kw for _, kw in recorder.calls), "labels reached the model"
    seen = torch.cat(recorder.evaluation("pixel_values"))
    assert torch.equal(seen, torch.cat([evaluation[:]["pixel_values"]] * 2))
    assert t.model.config.problem_type is None  # labels never reached the model
    assert not collator.training  # off after training: trainer.evaluate() stays clean
    t.evaluate()
    assert torch.equal(torch.cat(recorder.evaluation("pixel_values"))[-16:], seen[:16])


def test_collator_mixes_in_dataloader_workers(tmp_path: Path) -> None:
    train = image_dataset(24)
    collator = MixUpCollator(mixkit.MixUp(mode="pair", num_classes=CLASSES))
    recorder = Recorder()
    t = trainer(
        tiny_vit(),
        args(tmp_path, max_steps=3, dataloader_num_workers=2),
        train_dataset=train,
        data_collator=collator,
        compute_loss_func=MixUpLoss(),
        callbacks=[collator, recorder],
    )
    t.train()
    trained = torch.cat(recorder.training("pixel_values"))
    assert trained.shape == (24, 1, 8, 8)
    assert not any(is_raw(r, train[:]["pixel_values"]) for r in trained)


def test_collator_traps(tmp_path: Path) -> None:
    data = image_dataset(16)
    collator = MixUpCollator(mixkit.MixUp(num_classes=CLASSES))
    # no compute_loss_func: the float targets reach the model, which switches to BCE
    t = trainer(
        tiny_vit(), args(tmp_path), train_dataset=data, data_collator=collator, callbacks=[collator]
    )
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCollator: expected a single-label classifier for a multi-class mixer "
            "(config.problem_type None or 'single_label_classification'; float (B, C) labels "
            "reaching a Hugging Face classifier switch it to multi-label BCE: pass "
            "compute_loss_func=MixUpLoss(...) to the Trainer so the labels never reach the "
            "model), got problem_type='multi_label_classification'"
        ),
    ):
        t.train()
    # not registered as a callback: never mixes, and says so
    unregistered = MixUpCollator(mixkit.MixUp(num_classes=CLASSES))
    features = [data[i] for i in range(4)]
    with pytest.warns(UserWarning, match=re.escape("callbacks=[collator]")):
        batch = unregistered(features)
    assert torch.equal(batch["pixel_values"], data[:4]["pixel_values"])
    assert torch.equal(batch["labels"], data[:4]["labels"])
    # a batch without the key
    on = MixUpCollator(mixkit.MixUp(num_classes=CLASSES), key="input_values")
    on.training = True
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCollator: expected collated batches with a tensor 'input_values', got keys "
            "['labels', 'pixel_values']"
        ),
    ):
        on(features)
    pair = MixUpCollator(mixkit.MixUp(), encoding="pair")
    pair.training = True
    soft_rows = [{"pixel_values": torch.rand(1, 8, 8), "labels": torch.tensor([0.5, 0.5])}] * 3
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCollator: expected encoding='dense' (the pair encoding needs integer class "
            "labels and no relabelling), got labels a torch.float32 tensor of shape (3, 2) on "
            "cpu, relabelled=False"
        ),
    ):
        pair(soft_rows)
    smoothing = MixUpCollator(mixkit.MixUp(num_classes=CLASSES))
    with pytest.raises(ValueError, match=re.escape("expected label_smoothing_factor=0")):
        trainer(
            tiny_vit(),
            args(tmp_path, label_smoothing_factor=0.1),
            data_collator=smoothing,
            compute_loss_func=MixUpLoss(),
            callbacks=[smoothing],
        )
