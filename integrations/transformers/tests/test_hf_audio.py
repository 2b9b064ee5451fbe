"""Audio classifiers built from configs: Wav2Vec2 (padded waveforms + attention mask) and AST
(spectrogram features), through Trainer with the one callback."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hf_support import (
    CLASSES,
    Recorder,
    Recording,
    args,
    audio_dataset,
    spectrogram_dataset,
    tiny_ast,
    tiny_wav2vec2,
    trainer,
)

from mixkit_transformers import MixUpCallback

pytestmark = pytest.mark.slow


def test_wav2vec2_mixes_padded_waveforms_and_their_masks(tmp_path: Path) -> None:
    mixer = Recording(alpha=1.0, mode="elem", p=0.8, num_classes=CLASSES)
    recorder = Recorder()
    t = trainer(
        tiny_wav2vec2(),
        args(tmp_path, max_steps=3, eval_strategy="steps", eval_steps=3),
        train_dataset=audio_dataset(24),
        eval_dataset=audio_dataset(8, seed=1),
        callbacks=[MixUpCallback(mixer), recorder],  # the key is found: input_values
    )
    t.train()
    masks = recorder.training("attention_mask")
    assert len(masks) == len(mixer.results) == 3
    for got, mixed in zip(masks, mixer.results, strict=True):
        source = mixed.source
        own = (source != 0).long()  # the dataset's waveforms are zero exactly where padded
        moved = (mixed.lam < 1) & (mixed.index != torch.arange(mixed.batch_size))
        union = torch.maximum(own, own[mixed.index])
        want = torch.where(moved.unsqueeze(1), union, own)
        assert torch.equal(got, want)
    evaluated = audio_dataset(8, seed=1)[:]
    assert torch.equal(torch.cat(recorder.evaluation("input_values")), evaluated["input_values"])
    assert torch.equal(
        torch.cat(recorder.evaluation("attention_mask")), evaluated["attention_mask"]
    )


def test_ast_mixes_spectrogram_features(tmp_path: Path) -> None:
    mixer = Recording(alpha=0.4, num_classes=CLASSES)
    model = tiny_ast()
    before = [p.detach().clone() for p in model.parameters()]
    t = trainer(
        model,
        args(tmp_path, max_steps=2),
        train_dataset=spectrogram_dataset(16),
        callbacks=[MixUpCallback(mixer)],
    )
    t.train()
    assert [tuple(m.inputs.shape) for m in mixer.results] == [(8, 16, 8), (8, 16, 8)]
    assert all(m.applied for m in mixer.results)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
