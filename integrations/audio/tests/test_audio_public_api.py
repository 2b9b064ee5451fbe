"""The public names and reprs of mixkit-audio are pinned, and the doc examples run."""

from __future__ import annotations

import doctest
import importlib

import pytest
import torch
import torchaudio

import mixkit
import mixkit_audio
import mixkit_audio.functional
from mixkit_audio import AudioMixed, AudioParams, WaveformMixUp


def test_package_public_names() -> None:
    assert mixkit_audio.__all__ == [
        "AudioMixed",
        "AudioMixer",
        "AudioParams",
        "AudioPipeline",
        "LoudnessMixUp",
        "SpectrogramMixUp",
        "SpokenDigits",
        "WaveformMixUp",
        "__version__",
        "functional",
        "pad_collate",
        "transform_lengths",
    ]
    for name in mixkit_audio.__all__:
        assert hasattr(mixkit_audio, name), name
    assert mixkit_audio.__version__ == "0.1.0"


def test_functional_public_names() -> None:
    assert mixkit_audio.functional.__all__ == [
        "POLICIES",
        "absolute_lengths",
        "energy_share",
        "fill_padding",
        "frame_lengths",
        "lengths_from_mask",
        "lengths_to_mask",
        "loudness_gains",
        "mix_frame_targets",
        "mix_log_power",
        "mix_loudness",
        "mixed_lengths",
        "padding_holds",
        "segment_rms",
        "share_to_snr",
        "snr_to_share",
    ]
    for name in mixkit_audio.functional.__all__:
        assert hasattr(mixkit_audio.functional, name), name


def test_mixers_are_core_mixers() -> None:
    for cls in (
        mixkit_audio.WaveformMixUp,
        mixkit_audio.LoudnessMixUp,
        mixkit_audio.SpectrogramMixUp,
    ):
        assert issubclass(cls, mixkit_audio.AudioMixer) and issubclass(cls, mixkit.Mixer)
    assert issubclass(AudioMixed, mixkit.Mixed) and issubclass(AudioParams, mixkit.MixParams)


def test_reprs() -> None:
    assert repr(WaveformMixUp(num_classes=10)) == (
        "WaveformMixUp(alpha=1.0, mode='batch', p=1.0, num_classes=10, policy='pad')"
    )
    assert repr(WaveformMixUp(alpha=0.2, policy="min", task="multilabel", union=True)) == (
        "WaveformMixUp(alpha=0.2, mode='batch', p=1.0, num_classes=None, policy='min', "
        "task='multilabel', union=True)"
    )
    x = torch.zeros(2, 1, 4)
    mixer = WaveformMixUp(num_classes=2, policy="max")
    params = mixkit.MixParams(index=torch.tensor([1, 0]), lam=torch.tensor([0.5, 0.5]))
    mixed = mixer.mix(x, torch.tensor([0, 1]), params, lengths=torch.tensor([4, 2]))
    assert repr(mixed) == (
        "AudioMixed(batch_size=2, inputs_shape=(2, 1, 4), targets_shape=(2, 2), "
        "lengths=[4, 4], frame_targets_shape=None, task='multiclass', applied=True)"
    )
    assert repr(mixed.params) == (
        "AudioParams(batch_size=2, lam=[0.5, 0.5], index=[1, 0], lengths=[4, 2], "
        "out_lengths=[4, 4], snr_db=None)"
    )


MODULES = ["functional", "_waveform", "_loudness", "_spectrogram", "_pipeline", "_mixed", "_base"]


@pytest.mark.parametrize("module", MODULES)
def test_doc_examples_run(module: str) -> None:
    mod = importlib.import_module(f"mixkit_audio.{module}")
    names = {name: getattr(mixkit_audio, name) for name in mixkit_audio.__all__}
    result = doctest.testmod(
        mod, extraglobs={"torch": torch, "torchaudio": torchaudio, **names}, verbose=False
    )
    assert result.failed == 0
    if module not in ("_mixed", "_base"):
        assert result.attempted > 0
