"""MixUpCallback in a real Trainer: learning, evaluation untouched, accumulation, traps, logs."""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from hf_support import (
    CLASSES,
    HalfWeights,
    Recorder,
    Recording,
    args,
    image_dataset,
    load_example,
    tiny_convnext,
    tiny_vit,
    trainer,
    transformed_dataset,
)
from torch import nn

import mixkit
from mixkit_transformers import MixUpCallback, MixUpCollator, MixUpLoss

pytestmark = pytest.mark.slow


def test_one_callback_trains_below_chance_on_fashion_mnist_and_never_mixes_evaluation(
    tmp_path: Path,
) -> None:
    example = load_example("hf_image_classification")
    plain_train, plain_test, side, _ = example.load_fashion(1024, 256, seed=0)
    assert side == 28
    # as uint8 images turned into pixel_values by with_transform (the values are k / 255)
    xtr, xte = (
        (d[:]["pixel_values"].squeeze(1) * 255).round().to(torch.uint8)
        for d in (plain_train, plain_test)
    )
    train = transformed_dataset(xtr, plain_train[:]["labels"])
    test = transformed_dataset(xte, plain_test[:]["labels"])
    model = tiny_vit(side=side, patch=7, hidden=64, classes=10)
    mixer = Recording(alpha=0.4, num_classes=10)
    recorder = Recorder()
    t = trainer(
        model,
        args(
            tmp_path,
            per_device_train_batch_size=32,
            per_device_eval_batch_size=128,
            max_steps=-1,
            num_train_epochs=3,
            learning_rate=3e-3,
            eval_strategy="epoch",
            logging_steps=16,
            remove_unused_columns=False,  # with_transform builds pixel_values from `image`
        ),
        train_dataset=train,
        eval_dataset=test,
        callbacks=[MixUpCallback(mixer), recorder],
    )
    t.train()
    losses = [h["eval_loss"] for h in t.state.log_history if "eval_loss" in h]
    assert losses[-1] < 1.8 < math.log(10), losses  # chance: log(10) = 2.303
    # evaluation saw the test images exactly, in order, each epoch
    seen = torch.cat(recorder.evaluation("pixel_values"))
    assert torch.equal(seen, torch.cat([plain_test[:]["pixel_values"]] * 3))
    # training saw what the mixer produced, and the mixer mixed
    trained = recorder.training("pixel_values")
    assert len(trained) == len(mixer.results) == 96
    assert all(torch.equal(a, m.inputs) for a, m in zip(trained, mixer.results, strict=True))
    assert all(m.applied and bool((m.lam < 1).all()) for m in mixer.results)
    logged = [h for h in t.state.log_history if "mixkit/lam_mean" in h]
    assert len(logged) == 6 and all(h["mixkit/active"] == 1.0 for h in logged)
    assert all(0.0 < h["mixkit/lam_mean"] < 1.0 for h in logged)


@pytest.mark.parametrize(
    ("make_model", "wiring"),
    [(tiny_vit, "callback"), (tiny_convnext, "callback"), (tiny_vit, "collator")],
    ids=["vit", "convnext", "vit-collator"],
)
def test_lam_one_reproduces_trainers_own_training_under_gradient_accumulation(
    tmp_path: Path, make_model: Any, wiring: str
) -> None:
    # 24 samples, micro-batches of 10 and 2 steps of accumulation: micro-batches 10+10, then 4.
    # ViT takes **kwargs, so Trainer passes num_items_in_batch (the loss is normalised by the
    # accumulated count); ConvNeXt does not (Trainer divides by the number of micro-batches).
    # MixUpLoss always gets the count (of its (B, C) dense labels' entries).
    data = image_dataset(24)
    settings = {
        "per_device_train_batch_size": 10,
        "gradient_accumulation_steps": 2,
        "max_steps": -1,
        "num_train_epochs": 1,
        "learning_rate": 1e-2,
    }
    plain = make_model()
    trainer(plain, args(tmp_path / "a", **settings), train_dataset=data).train()
    mixed_model = make_model()
    mixer = Recording(alpha=0.0, num_classes=CLASSES)  # lam = 1: the identity mix, any partner
    if wiring == "callback":
        wired: dict[str, Any] = {"callbacks": [MixUpCallback(mixer)]}
    else:
        collator = MixUpCollator(mixer)
        wired = {
            "data_collator": collator,
            "compute_loss_func": MixUpLoss(),
            "callbacks": [collator],
        }
    t = trainer(mixed_model, args(tmp_path / "b", **settings), train_dataset=data, **wired)
    t.train()
    assert [m.batch_size for m in mixer.results] == [10, 10, 4]
    assert all(m.applied for m in mixer.results)
    if wiring == "callback":
        assert t.model_accepts_loss_kwargs == (make_model is tiny_vit)
    for p, q in zip(plain.parameters(), mixed_model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_mixed_precision_and_gradient_checkpointing(tmp_path: Path) -> None:
    model = tiny_vit()
    mixer = Recording(alpha=1.0, num_classes=CLASSES)
    t = trainer(
        model,
        args(tmp_path, bf16=True, activation_checkpointing=True, max_steps=3, logging_steps=1),
        train_dataset=image_dataset(24),
        callbacks=[MixUpCallback(mixer)],
    )
    before = [p.detach().clone() for p in model.parameters()]
    t.train()
    assert model.is_activation_checkpointing and t.accelerator.mixed_precision == "bf16"
    assert len(mixer.results) == 3, "each micro-batch mixed once (no re-mix on recomputation)"
    assert all(m.inputs.dtype == torch.float32 for m in mixer.results)
    losses = [h["loss"] for h in t.state.log_history if "loss" in h]
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_weights_and_schedules_show_in_the_logs(tmp_path: Path, caplog: Any) -> None:
    schedule = mixkit.AutoSwitch(patience=1)
    mixer = mixkit.MixUp(num_classes=CLASSES, weighting=HalfWeights(), schedule=schedule)
    t = trainer(
        tiny_vit(),
        args(
            tmp_path,
            learning_rate=0.0,
            max_steps=4,
            logging_steps=1,
            eval_strategy="steps",
            eval_steps=1,
        ),
        train_dataset=image_dataset(32),
        eval_dataset=image_dataset(16, seed=1),
        callbacks=[MixUpCallback(mixer)],
    )
    with caplog.at_level(logging.INFO, logger="mixkit_transformers"):
        t.train()
    # lr 0: the clean validation loss never improves, AutoSwitch stops mixing after 2 reports
    assert schedule.switched_at == {"epoch": 0, "step": 2}
    logged = [h for h in t.state.log_history if "mixkit/active" in h]
    assert [h["mixkit/active"] for h in logged] == [1.0, 1.0, 0.0, 0.0]
    assert logged[0]["mixkit/weight_mean"] < 1.0 and logged[-1]["mixkit/weight_mean"] == 1.0
    assert "MixUpCallback: mixing switched off at epoch 0, step 2" in caplog.text
    assert "MixUpCallback: mixing 'pixel_values' of ViTForImageClassification" in caplog.text


def test_traps_raise_before_training(tmp_path: Path) -> None:
    data = image_dataset(16)
    cb = MixUpCallback(mixkit.MixUp(num_classes=CLASSES, label_smoothing=0.1))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected label_smoothing_factor=0 in TrainingArguments (Trainer's "
            "label smoother would replace the mixed loss and smooth again; smooth once in the "
            "mixer, e.g. MixUp(label_smoothing=0.1)), got 0.1"
        ),
    ):
        trainer(tiny_vit(), args(tmp_path, label_smoothing_factor=0.1), callbacks=[cb])
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected restore_callback_states_from_checkpoint=False (Trainer "
            "would rebuild this callback from JSON without its mixer; it restores its own state "
            "from the checkpoint), got True"
        ),
    ):
        trainer(
            tiny_vit(), args(tmp_path, restore_callback_states_from_checkpoint=True), callbacks=[cb]
        )
    t = trainer(
        tiny_vit(),
        args(tmp_path),
        train_dataset=data,
        callbacks=[MixUpCallback(mixkit.MixUp(num_classes=CLASSES), key="image")],
    )
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected a key that ViTForImageClassification.forward names "
            "(Trainer passes the batch as model(**batch), and remove_unused_columns drops "
            "dataset columns forward does not name), got 'image'"
        ),
    ):
        t.train()


def test_traps_of_datasets_and_models(tmp_path: Path) -> None:
    transformed = transformed_dataset(torch.zeros(16, 8, 8, dtype=torch.uint8), torch.zeros(16))
    cb = MixUpCallback(mixkit.MixUp(num_classes=CLASSES))
    t = trainer(tiny_vit(), args(tmp_path), train_dataset=transformed, callbacks=[cb])
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected remove_unused_columns=False in TrainingArguments (the "
            "training set has no 'pixel_values' column, so a transform or collator builds it, "
            "from columns that Trainer removes because the model's forward does not name "
            "them), got remove_unused_columns=True, columns left ['labels']"
        ),
    ):
        t.train()
    model = tiny_vit()
    model.config.problem_type = "multi_label_classification"
    t = trainer(model, args(tmp_path), train_dataset=image_dataset(16), callbacks=[cb])
    with pytest.raises(
        ValueError, match=re.escape("got problem_type='multi_label_classification'")
    ):
        t.train()
    t = trainer(
        tiny_vit(),
        args(tmp_path),
        train_dataset=image_dataset(16),
        compute_loss_func=MixUpLoss(),
        callbacks=[MixUpCallback(mixkit.MixUp(num_classes=CLASSES))],
    )
    with pytest.raises(ValueError, match=re.escape("to hold the labels under 'labels'")):
        t.train()
    two = [MixUpCallback(mixkit.MixUp(num_classes=CLASSES)) for _ in range(2)]
    t = trainer(tiny_vit(), args(tmp_path), train_dataset=image_dataset(16), callbacks=two)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected one MixUpCallback per Trainer (two would mix every batch "
            "twice), got 2 of them"
        ),
    ):
        t.train()


def test_a_model_without_image_inputs_needs_a_key(tmp_path: Path) -> None:
    class Tabular(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Linear(3, CLASSES)

        def forward(self, features: torch.Tensor, labels: Any = None) -> torch.Tensor:
            return self.head(features)

    g = torch.Generator().manual_seed(0)
    ds = (
        image_dataset(16)
        .remove_columns("pixel_values")
        .add_column("features", torch.randn(16, 3, generator=g).tolist())
    )
    ds.set_format("torch")
    cb = MixUpCallback(mixkit.MixUp(num_classes=CLASSES))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected key= naming the float input to mix (Tabular.forward takes "
            "none of pixel_values, input_values, input_features, nor input_ids for text), got "
            "key=None"
        ),
    ):
        trainer(Tabular(), args(tmp_path), train_dataset=ds, callbacks=[cb]).train()
    mixer = Recording(num_classes=CLASSES)
    t = trainer(
        Tabular(),
        args(tmp_path, max_steps=2),
        train_dataset=ds,
        callbacks=[MixUpCallback(mixer, key="features")],
    )
    t.train()
    assert len(mixer.results) == 2 and mixer.results[0].inputs.shape == (8, 3)
