"""Two integrations together: a Hugging Face audio model (input_values + attention_mask) trained
through mixkit-transformers' one-callback integration."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import datasets
import pytest
import torch
from torch import Tensor, nn
from transformers import (
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    Wav2Vec2Config,
    Wav2Vec2ForSequenceClassification,
)

from mixkit_audio import LoudnessMixUp, WaveformMixUp
from mixkit_audio import functional as AF
from mixkit_transformers import MixUpCallback

pytestmark = pytest.mark.slow


class Inputs(TrainerCallback):
    """Listed after MixUpCallback: its hook sees what reaches the model, mixed or not."""

    def __init__(self) -> None:
        self.train: list[dict[str, Tensor]] = []
        self.eval: list[dict[str, Tensor]] = []
        self.handle: Any = None

    def on_train_begin(
        self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any
    ) -> None:
        def record(module: nn.Module, a: Any, kwargs: dict[str, Any]) -> None:
            seen = {k: v.detach().clone() for k, v in kwargs.items() if isinstance(v, Tensor)}
            (self.train if module.training else self.eval).append(seen)

        self.handle = model.register_forward_pre_hook(record, with_kwargs=True)


def tones(n: int) -> datasets.Dataset:
    """Tones of 4 pitches (the class), 120..320 samples, zero-padded to 320 with a mask."""
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 4
    lengths = torch.randint(120, 321, (n,), generator=g)
    t = torch.arange(320) / 1600.0
    wave = torch.sin(2 * math.pi * (100.0 * (labels + 1)).view(-1, 1) * t)
    wave = wave + 0.05 * torch.randn(n, 320, generator=g)
    mask = AF.lengths_to_mask(lengths, 320)
    ds = datasets.Dataset.from_dict(
        {
            "input_values": (wave * mask).numpy(),
            "attention_mask": mask.long().numpy(),
            "labels": labels.numpy(),
        }
    )
    ds.set_format("torch")
    return ds


def tiny_wav2vec2() -> Wav2Vec2ForSequenceClassification:
    torch.manual_seed(0)
    config = Wav2Vec2Config(
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        conv_dim=(8, 8),
        conv_stride=(4, 4),
        conv_kernel=(8, 4),
        num_conv_pos_embeddings=4,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm="layer",  # this kind of Wav2Vec2 takes an attention_mask
        classifier_proj_size=8,
        mask_time_prob=0.0,
        num_labels=4,
    )
    return Wav2Vec2ForSequenceClassification(config)


def test_wav2vec2_trains_with_a_waveform_mixer_in_one_callback(tmp_path: Path) -> None:
    train, val = tones(32), tones(8)
    mixer = WaveformMixUp(alpha=1.0, num_classes=4, generator=torch.Generator().manual_seed(1))
    inputs = Inputs()
    args = TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=8,
        per_device_eval_batch_size=8,
        max_steps=4,
        learning_rate=1e-3,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
    )
    trainer = Trainer(
        model=tiny_wav2vec2(),
        args=args,
        train_dataset=train,
        eval_dataset=val,
        callbacks=[MixUpCallback(mixer), inputs],
    )
    trainer.remove_callback(PrinterCallback)
    result = trainer.train()
    metrics = trainer.evaluate()
    assert math.isfinite(result.training_loss) and math.isfinite(metrics["eval_loss"])
    assert len(inputs.train) == 4 and len(inputs.eval) == 1
    clean = {tuple(row.tolist()) for row in train[:]["input_values"].round(decimals=4)}
    mixed_rows = 0
    for batch in inputs.train:
        x, mask = batch["input_values"], batch["attention_mask"]
        assert "labels" not in batch  # the callback keeps float targets away from the model
        lengths = AF.lengths_from_mask(mask)  # still right-padded
        assert bool(x.masked_select(mask == 0).eq(0).all())  # padding stays silent
        assert torch.equal(mask, AF.lengths_to_mask(lengths, 320).long())
        mixed_rows += sum(tuple(r.tolist()) not in clean for r in x.round(decimals=4))
    assert mixed_rows > 0  # training batches were mixed
    seen = inputs.eval[0]["input_values"]
    assert torch.equal(seen, val[:]["input_values"])  # evaluation never is
    assert torch.equal(inputs.eval[0]["attention_mask"], val[:]["attention_mask"])


class _RecordingLoudness(LoudnessMixUp):
    calls: ClassVar[list[Any]] = []

    def forward(  # type: ignore[override]
        self, x: Tensor, y: Tensor, *, lengths: Tensor | None = None, **kwargs: Any
    ) -> Any:
        out = super().forward(x, y, lengths=lengths, **kwargs)
        self.calls.append((lengths, out))
        return out


def test_the_callback_hands_audio_mixers_the_valid_lengths(tmp_path: Path) -> None:
    train = tones(16)
    mixer = _RecordingLoudness(
        snr=(0.0, 10.0), policy="min", num_classes=4, generator=torch.Generator().manual_seed(2)
    )
    inputs = Inputs()
    args = TrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=8, max_steps=2,
        save_strategy="no", report_to=[], use_cpu=True, disable_tqdm=True, seed=0,
    )  # fmt: skip
    trainer = Trainer(
        model=tiny_wav2vec2(), args=args, train_dataset=train,
        callbacks=[MixUpCallback(mixer), inputs],
    )  # fmt: skip
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    assert len(_RecordingLoudness.calls) == 2
    for (lengths, out), seen in zip(_RecordingLoudness.calls, inputs.train, strict=True):
        # the lengths are the clean batch's valid samples, read off its attention mask
        assert lengths is not None
        # the model sees the mixer's own mask: policy "min" shortens rows mixed with a shorter clip
        assert torch.equal(seen["attention_mask"], out.mask.long())
        assert bool((out.lengths <= lengths).all())
        assert bool((out.lengths < lengths).any())
