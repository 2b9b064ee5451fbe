"""Every bad input gets a clear error naming the argument, what was expected and what came."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest
import torch
import torchaudio

import mixkit
from mixkit_audio import (
    AudioPipeline,
    LoudnessMixUp,
    LoudnessOp,
    SpectrogramMixUp,
    SpectrogramOp,
    WaveformMixUp,
    WaveformOp,
    pad_collate,
)

X = torch.randn(2, 1, 100)
Y = torch.tensor([0, 1])


def raises(error: type[Exception], message: str, call: Callable[[], object]) -> None:
    with pytest.raises(error, match=re.escape(message)):
        call()


def wave(**kwargs: object) -> WaveformMixUp:
    return WaveformMixUp(num_classes=2, **kwargs)  # type: ignore[arg-type]


# -- the audio batch ------------------------------------------------------------------------


def test_non_float_audio() -> None:
    pcm = (X * 1000).to(torch.int16)
    raises(
        ValueError,
        "WaveformMixUp: expected x to be a floating-point tensor (convert PCM first, e.g. int16 "
        "samples with x.float() / 32768), got a torch.int16 tensor of shape (2, 1, 100) on cpu",
        lambda: wave()(pcm, Y),
    )
    raises(
        TypeError,
        "WaveformMixUp: expected x to be a torch.Tensor, got [0.0, 1.0] (list)",
        lambda: wave()([0.0, 1.0], Y),  # type: ignore[arg-type]
    )


def test_empty_batch_and_empty_clips() -> None:
    raises(
        ValueError,
        "WaveformMixUp: expected a non-empty batch, got x of shape (0, 1, 100)",
        lambda: wave()(torch.zeros(0, 1, 100), Y[:0]),
    )
    raises(
        ValueError,
        "LoudnessMixUp: expected a non-empty time axis (the last dimension of x), "
        "got x of shape (2, 1, 0)",
        lambda: LoudnessMixUp(num_classes=2)(torch.zeros(2, 1, 0), Y),
    )


def test_wrong_layouts() -> None:
    raises(
        ValueError,
        "WaveformMixUp: expected x of shape (B, T) or (B, channels, T), got shape (2, 1, 8, 8)",
        lambda: wave()(torch.zeros(2, 1, 8, 8), Y),
    )
    raises(
        ValueError,
        "SpectrogramMixUp: expected x of shape (B, n_mels, frames) or "
        "(B, channels, n_mels, frames), got shape (2, 100)",
        lambda: SpectrogramMixUp(num_classes=2)(torch.zeros(2, 100), Y),
    )


def test_mismatched_lengths_tensor() -> None:
    raises(
        ValueError,
        "WaveformMixUp: expected lengths of shape (2,) (one per row of x, shape (2, 1, 100)), "
        "got lengths of shape (3,)",
        lambda: wave()(X, Y, lengths=torch.tensor([100, 50, 20])),
    )
    raises(
        ValueError,
        "WaveformMixUp: expected lengths of shape (2,) (one per row of x, shape (2, 1, 100)), "
        "got lengths of shape (2, 1)",
        lambda: wave().draw(X, lengths=torch.tensor([[100], [50]])),
    )
    raises(
        TypeError,
        "WaveformMixUp: expected lengths to be a torch.Tensor of shape (B,) or None, "
        "got [100, 50] (list)",
        lambda: wave()(X, Y, lengths=[100, 50]),  # type: ignore[arg-type]
    )
    raises(
        ValueError,
        "WaveformMixUp: expected lengths as an integer tensor (absolute) or a floating tensor "
        "(relative, in [0, 1]), got a torch.bool tensor of shape (2,) on cpu",
        lambda: wave()(X, Y, lengths=torch.tensor([True, False])),
    )
    raises(
        ValueError,
        "WaveformMixUp: expected lengths on the device of x (cpu), got lengths on meta",
        lambda: wave()(X, Y, lengths=torch.tensor([100, 50], device="meta")),
    )


def test_lengths_longer_than_the_batch() -> None:
    raises(
        ValueError,
        "WaveformMixUp: expected lengths <= 100 (the time axis of x, shape (2, 1, 100)), "
        "got a length of 101",
        lambda: wave()(X, Y, lengths=torch.tensor([101, 50])),
    )
    raises(
        ValueError,
        "WaveformMixUp: expected relative lengths (a floating tensor) in [0, 1]; pass absolute "
        "lengths as an integer tensor, got a value of 1.5",
        lambda: wave()(X, Y, lengths=torch.tensor([1.5, 0.5])),
    )
    raises(
        ValueError,
        "WaveformMixUp: expected relative lengths (a floating tensor) in [0, 1]; pass absolute "
        "lengths as an integer tensor, got a value of 100",
        lambda: wave()(X, Y, lengths=torch.tensor([100.0, 50.0])),
    )
    raises(
        ValueError,
        "WaveformMixUp.mix: expected lengths >= 0, got a length of -3",
        lambda: wave().mix(X, Y, mixkit.MixParams.identity(2), lengths=torch.tensor([-3, 5])),
    )
    raises(
        ValueError,
        "WaveformMixUp: expected relative lengths (a floating tensor) in [0, 1]; pass absolute "
        "lengths as an integer tensor, got a value of nan",
        lambda: wave()(X, Y, lengths=torch.tensor([float("nan"), 0.5])),
    )


def test_frame_targets() -> None:
    raises(
        ValueError,
        "WaveformMixUp: expected frame_targets of shape (2, frames, C) (B = the batch size of x), "
        "got frame_targets of shape (3, 5, 2)",
        lambda: wave()(X, Y, frame_targets=torch.zeros(3, 5, 2)),
    )
    raises(
        TypeError,
        "WaveformMixUp: expected frame_targets to be a torch.Tensor of shape (B, frames, C) or "
        "None, got 'frames' (str)",
        lambda: wave()(X, Y, frame_targets="frames"),  # type: ignore[arg-type]
    )
    raises(
        ValueError,
        "WaveformMixUp: expected frame_targets with values in [0, 1], got values in [0, 2]",
        lambda: wave()(X, Y, frame_targets=torch.tensor([[[0.0, 2.0]], [[1.0, 0.0]]])),
    )
    raises(
        ValueError,
        "WaveformMixUp: expected frame_targets only with task='multiclass' or 'multilabel', "
        "got task='regression'",
        lambda: WaveformMixUp(task="regression")(
            X, torch.zeros(2), frame_targets=torch.zeros(2, 5, 1)
        ),
    )


def test_mixer_arguments_and_misc() -> None:
    raises(
        ValueError,
        "WaveformMixUp: expected policy to be one of 'min' | 'max' | 'pad', got 'longest'",
        lambda: WaveformMixUp(policy="longest"),
    )
    raises(
        ValueError,
        "WaveformMixUp: expected finite inputs (check_finite=True), got NaN or infinite values "
        "in x",
        lambda: wave(check_finite=True)(torch.full((2, 1, 100), float("nan")), Y),
    )
    raises(
        ValueError,
        "WaveformMixUp.mix: expected params for a batch of 2 (params.index of shape (2,)), "
        "got params.index of shape (3,)",
        lambda: wave().mix(X, Y, mixkit.MixParams.identity(3)),
    )
    raises(
        ValueError,
        "WaveformMixUp.mix: expected MixParams for a batch of 2 (from draw()), got None",
        lambda: wave().mix(X, Y, None),  # type: ignore[arg-type]
    )
    raises(
        ValueError,
        "WaveformMixUp: expected y with batch size 2",
        lambda: wave()(X, torch.tensor([0, 1, 1])),
    )
    raises(
        ValueError,
        "SpectrogramMixUp: expected domain to be one of 'linear' | 'log' | 'db', got 'mel'",
        lambda: SpectrogramMixUp(domain="mel"),
    )
    raises(
        ValueError,
        "SpectrogramMixUp: expected pad_value to be finite, got nan",
        lambda: SpectrogramMixUp(pad_value=float("nan")),
    )


def test_unknown_keywords_are_refused() -> None:
    accepted = "keyword arguments of the input operation (lengths=, frame_targets=)"
    raises(
        TypeError,
        f"WaveformMixUp: expected {accepted}, got length=",
        lambda: wave()(X, Y, length=torch.tensor([100, 50])),
    )
    raises(
        TypeError,
        f"LoudnessMixUp: expected {accepted}, got frames=, mask=",
        lambda: LoudnessMixUp(num_classes=2).draw(X, mask=None, frames=None),
    )
    raises(
        TypeError,
        f"SpectrogramMixUp.mix: expected {accepted}, got lenghts=",
        lambda: SpectrogramMixUp(num_classes=2).mix(
            torch.zeros(2, 4, 5), Y, mixkit.MixParams.identity(2), lenghts=None
        ),
    )


def test_presets_fill_the_op_slot_themselves() -> None:
    for preset, op in ((WaveformMixUp, "WaveformOp"), (SpectrogramMixUp, "SpectrogramOp")):
        name = preset.__name__
        raises(
            ValueError,
            f"{name}: expected no op argument ({name}'s operation is {op}; use "
            "mixkit.Mixer(op=...) for another), got op=WaveformOp(policy='pad')",
            lambda preset=preset: preset(op=WaveformOp()),
        )
    raises(
        ValueError,
        "LoudnessMixUp: expected no op argument (LoudnessMixUp's operation is LoudnessOp; use "
        "mixkit.Mixer(op=...) for another), got op=LerpOp()",
        lambda: LoudnessMixUp(op=mixkit.LerpOp()),
    )


def test_operation_arguments_name_the_operation() -> None:
    raises(
        ValueError,
        "WaveformOp: expected policy to be one of 'min' | 'max' | 'pad', got 'all'",
        lambda: WaveformOp(policy="all"),
    )
    raises(
        ValueError,
        "LoudnessOp: expected snr as (low, high) in dB with low <= high, got (3, 1)",
        lambda: LoudnessOp(snr=(3.0, 1.0)),
    )
    raises(
        ValueError,
        "LoudnessOp: expected min_rms >= 0, got -0.5",
        lambda: LoudnessOp(min_rms=-0.5),
    )
    raises(
        ValueError,
        "SpectrogramOp: expected domain to be one of 'linear' | 'log' | 'db', got 'power'",
        lambda: SpectrogramOp(domain="power"),
    )
    raises(
        TypeError,
        "SpectrogramOp: expected pad_value to be a real number, got '-100' (str)",
        lambda: SpectrogramOp(pad_value="-100"),  # type: ignore[arg-type]
    )
    raises(
        ValueError,
        "Mixer.mix: expected pad_value (the feature value of silence, e.g. -100.0 for "
        "AmplitudeToDB) to mix padded log features, got pad_value=None",
        lambda: mixkit.Mixer(num_classes=2, op=SpectrogramOp(domain="log")).mix(
            torch.zeros(2, 4, 5),
            Y,
            mixkit.MixParams.identity(2),
            lengths=torch.tensor([5, 3]),
        ),
    )


def test_audio_pipeline_needs_a_mixer_with_an_audio_operation() -> None:
    raises(
        TypeError,
        "AudioPipeline: expected mixer to be a mixkit.Mixer with an audio operation (a "
        "mixkit_audio.AudioOp: WaveformMixUp, LoudnessMixUp, SpectrogramMixUp, ...), got "
        "MixUp(alpha=1.0, mode='batch', p=1.0, num_classes=None) (MixUp)",
        lambda: AudioPipeline(
            mixkit.MixUp(),  # type: ignore[arg-type]
            torchaudio.transforms.MelSpectrogram(16000, n_mels=8),
        ),
    )


# -- loudness -------------------------------------------------------------------------------


def test_snr_range_inverted_and_other_loudness_arguments() -> None:
    raises(
        ValueError,
        "LoudnessMixUp: expected snr as (low, high) in dB with low <= high, got (10, -5)",
        lambda: LoudnessMixUp(snr=(10.0, -5.0)),
    )
    raises(
        TypeError,
        "LoudnessMixUp: expected snr as a number or a (low, high) pair in dB, got 'loud' (str)",
        lambda: LoudnessMixUp(snr="loud"),  # type: ignore[arg-type]
    )
    raises(
        TypeError,
        "LoudnessMixUp: expected snr as a number or a (low, high) pair in dB, "
        "got (1.0, 2.0, 3.0) (tuple)",
        lambda: LoudnessMixUp(snr=(1.0, 2.0, 3.0)),  # type: ignore[arg-type]
    )
    raises(
        ValueError,
        "LoudnessMixUp: expected snr to be finite, got inf",
        lambda: LoudnessMixUp(snr=(0.0, float("inf"))),
    )
    raises(
        TypeError,
        "LoudnessMixUp: expected no alpha (the mix is drawn as an SNR: pass snr=(low, high) in "
        "dB), got alpha=0.4",
        lambda: LoudnessMixUp(alpha=0.4),
    )
    raises(
        ValueError,
        "LoudnessMixUp: expected min_rms >= 0, got -1.0",
        lambda: LoudnessMixUp(min_rms=-1.0),
    )
    raises(
        ValueError,
        "LoudnessMixUp: expected a schedule on p (the SNR is drawn, there is no alpha to scale), "
        "got a schedule with target='alpha'",
        lambda: LoudnessMixUp(schedule=mixkit.LinearDecay(start=0, end=5, target="alpha")),
    )


# -- results, collation, data ---------------------------------------------------------------


def test_frame_loss_arguments() -> None:
    raises(
        ValueError,
        "reduce_loss: expected weights of shape (2,) or None, got",
        lambda: dataclasses.replace(
            wave()(X, Y, frame_targets=torch.zeros(2, 5, 2)), weights=torch.ones(3)
        ).frame_loss(torch.zeros(2, 5, 2)),
    )
    mixed = wave()(X, Y)
    raises(
        ValueError,
        "AudioMixed.frame_loss: expected a batch mixed with frame_targets=, got no frame targets",
        lambda: mixed.frame_loss(torch.zeros(2, 5, 2)),
    )
    framed = wave()(X, Y, frame_targets=torch.zeros(2, 5, 2))
    raises(
        ValueError,
        "AudioMixed.frame_loss: expected logits of shape (2, 5, 2), got (2, 2)",
        lambda: framed.frame_loss(torch.zeros(2, 2)),
    )
    raises(
        ValueError,
        "AudioMixed.frame_loss: expected reduction to be one of 'mean' | 'weighted_mean' | "
        "'sum' | 'none', got 'avg'",
        lambda: framed.frame_loss(torch.zeros(2, 5, 2), reduction="avg"),  # type: ignore[arg-type]
    )


def test_pad_collate_arguments() -> None:
    raises(
        ValueError, "pad_collate: expected a non-empty batch, got 0 items", lambda: pad_collate([])
    )
    raises(
        ValueError,
        "pad_collate: expected clips with the same number of channels, got [1, 2]",
        lambda: pad_collate([(torch.zeros(1, 5), 0), (torch.zeros(2, 5), 1)]),
    )
