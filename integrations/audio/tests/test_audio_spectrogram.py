"""Spectrogram-domain mixing, frame lengths of torchaudio transforms, and the pipeline."""

from __future__ import annotations

import re

import pytest
import torch
import torchaudio
from audio_testutils import padded_batch, params, silenced
from torch import nn

import mixkit
from mixkit_audio import (
    AudioParams,
    AudioPipeline,
    LoudnessMixUp,
    SpectrogramMixUp,
    SpectrogramOp,
    WaveformMixUp,
    WaveformOp,
    transform_lengths,
)
from mixkit_audio import functional as AF

Y = torch.tensor([0, 1, 2, 3])
INDEX = [1, 2, 3, 0]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def log_mel(n_mels: int = 16, hop: int = 64) -> nn.Module:
    return nn.Sequential(
        torchaudio.transforms.MelSpectrogram(16000, n_fft=256, hop_length=hop, n_mels=n_mels),
        torchaudio.transforms.AmplitudeToDB(),
    )


def test_linear_domain_is_core_mixup_on_the_features() -> None:
    feats = torch.randn(4, 1, 8, 20, generator=gen(0))
    drawn = params(INDEX, [0.2, 0.4, 0.6, 0.8])
    ours = SpectrogramMixUp(num_classes=4).mix(feats, Y, drawn)
    core = mixkit.MixUp(num_classes=4).mix(feats, Y, drawn)
    assert torch.equal(ours.inputs, core.inputs) and torch.equal(ours.targets, core.targets)


def test_db_domain_mixes_powers() -> None:
    feats = torch.randn(4, 8, 20, generator=gen(1), dtype=torch.float64) * 20 - 40
    lam = torch.tensor([0.2, 0.4, 0.6, 0.8])
    out = SpectrogramMixUp(domain="db", num_classes=4).mix(feats, Y, params(INDEX, lam.tolist()))
    power = 10 ** (feats / 10)
    lam64 = lam.double().view(-1, 1, 1)
    expected = 10 * torch.log10(lam64 * power + (1 - lam64) * power[torch.tensor(INDEX)])
    torch.testing.assert_close(out.inputs, expected)


def test_mixing_log_mels_is_not_mixing_waveforms() -> None:
    # two noise clips 20 dB apart; the mix of their waveforms at energy share lam
    g = gen(2)
    x = torch.randn(2, 1, 16000, generator=g) * torch.tensor([1.0, 0.1]).view(-1, 1, 1)
    lam = 0.5
    heard = (lam**0.5) * x[0] + ((1 - lam) ** 0.5) * x[1]  # energy shares lam, 1 - lam
    features = log_mel()
    target = features(heard.unsqueeze(0))[0]
    feats = features(x)
    drawn = params([1, 0], lam)
    linear = SpectrogramMixUp(num_classes=2).mix(feats, Y[:2], drawn).inputs[0]
    power = SpectrogramMixUp(domain="db", num_classes=2).mix(feats, Y[:2], drawn).inputs[0]
    error_linear = float((linear - target).abs().mean())
    error_power = float((power - target).abs().mean())
    assert error_power < 1.0  # dB: the power-domain mix is what the mixed clip sounds like
    assert error_linear > 5 * error_power  # the lerp of log-mels is far quieter than heard


def test_padded_log_features_need_the_silence_value() -> None:
    feats = torch.randn(4, 1, 8, 20, generator=gen(3))
    lengths = torch.tensor([20, 15, 9, 20])
    message = (
        "SpectrogramMixUp: expected pad_value (the feature value of silence, e.g. -100.0 for "
        "AmplitudeToDB) to mix padded db features, got pad_value=None"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        SpectrogramMixUp(domain="db", num_classes=4)(feats, Y, lengths=lengths)
    mixer = SpectrogramMixUp(domain="db", pad_value=-100.0, num_classes=4, policy="min")
    out = mixer.mix(feats, Y, params(INDEX, 0.5), lengths=lengths)
    assert out.lengths.tolist() == [15, 9, 9, 20]
    assert bool(out.inputs[0, ..., 15:].eq(-100.0).all())
    # where only the original sounds, the power mix is the original attenuated by lam
    keep = SpectrogramMixUp(domain="db", pad_value=-100.0, num_classes=4).mix(
        feats, Y, params(INDEX, 0.5), lengths=lengths
    )
    torch.testing.assert_close(
        keep.inputs[1, ..., 9:15], feats[1, ..., 9:15] + 10 * torch.log10(torch.tensor(0.5)),
        atol=1e-4, rtol=0,
    )  # fmt: skip


@pytest.mark.parametrize(
    "transform",
    [
        torchaudio.transforms.Spectrogram(n_fft=256, hop_length=100),
        torchaudio.transforms.Spectrogram(n_fft=255, hop_length=64, center=False, pad=3),
        torchaudio.transforms.MelSpectrogram(16000, n_fft=400, hop_length=160, n_mels=20),
        torchaudio.transforms.MFCC(16000, n_mfcc=8, melkwargs={"n_mels": 20, "hop_length": 80}),
        nn.Sequential(torchaudio.transforms.MelSpectrogram(16000, n_mels=20), nn.Identity()),
    ],
)
def test_transform_lengths_are_the_frames_torchaudio_makes(transform: nn.Module) -> None:
    lengths = [256, 300, 999, 1000, 4001]
    for length in lengths:
        frames = transform(torch.randn(1, length)).shape[-1]
        assert transform_lengths(transform, torch.tensor([length])).item() == frames
    assert transform_lengths(transform, torch.tensor([0])).item() == 0


def test_transform_lengths_needs_a_spectrogram() -> None:
    message = "transform_lengths: expected a transform holding a torchaudio.transforms.Spectrogram"
    with pytest.raises(TypeError, match=re.escape(message)):
        transform_lengths(nn.Identity(), torch.tensor([10]))


def test_pipeline_mixes_waveforms_then_computes_features() -> None:
    x, lengths = padded_batch([4000, 2500, 1200, 3100], channels=1, seed=4)
    features = log_mel()
    frames_total = features(x).shape[-1]
    frame_targets = torch.zeros(4, frames_total, 4)
    for i in range(4):
        frame_targets[i, :, i] = 1.0
    pipe = AudioPipeline(LoudnessMixUp(num_classes=4, policy="min", generator=gen(5)), features)
    mixed = pipe(x, Y, lengths=lengths, frame_targets=frame_targets)
    twin = LoudnessMixUp(num_classes=4, policy="min", generator=gen(5))
    waves = twin(x, Y, lengths=lengths)
    assert torch.equal(mixed.inputs, features(waves.inputs))
    assert torch.equal(mixed.source, features(silenced(x, lengths)))
    out_frames = transform_lengths(features, waves.mask.sum(dim=1))
    assert mixed.lengths.tolist() == out_frames.tolist()
    assert torch.equal(mixed.mask, AF.lengths_to_mask(out_frames, frames_total))
    assert torch.equal(mixed.targets, waves.targets) and torch.equal(mixed.lam, waves.lam)
    assert mixed.frame_targets is not None and mixed.frame_mask is not None
    expected = AF.mix_frame_targets(
        frame_targets,
        waves.params.index,
        waves.params.frame_lam,  # type: ignore[attr-defined]
        transform_lengths(features, lengths),
        out_frames,
        moved=waves.params.moved,  # type: ignore[attr-defined]
    )
    assert torch.equal(mixed.frame_targets, expected)
    assert torch.equal(mixed.frame_mask, mixed.mask)


def test_pipeline_mixes_features_with_lengths_in_frames() -> None:
    x, lengths = padded_batch([4000, 2500, 1200, 3100], channels=1, seed=6)
    features = log_mel()
    mixer = SpectrogramMixUp(domain="db", pad_value=-100.0, num_classes=4, generator=gen(7))
    pipe = AudioPipeline(mixer, features, domain="features")
    relative = lengths.double() / 4000
    mixed = pipe(x, Y, lengths=relative)
    feats = features(x)
    frames = transform_lengths(features, lengths)
    twin = SpectrogramMixUp(domain="db", pad_value=-100.0, num_classes=4, generator=gen(7))
    direct = twin(feats, Y, lengths=frames)
    assert torch.equal(mixed.inputs, direct.inputs)
    assert mixed.lengths.dtype == torch.float64  # relative in, relative out (in frames)
    torch.testing.assert_close(mixed.lengths, direct.mask.sum(dim=1).double() / feats.shape[-1])


def test_pipeline_in_eval_mode_gives_the_clean_features() -> None:
    x, lengths = padded_batch([400, 250, 120, 310], channels=1, seed=8)
    features = log_mel()
    pipe = AudioPipeline(WaveformMixUp(num_classes=4), features).eval()
    out = pipe(x, Y, lengths=lengths)
    assert not out.applied and out.inputs is out.source
    assert torch.equal(out.inputs, features(x))
    assert out.lengths.tolist() == transform_lengths(features, lengths).tolist()


def test_pipeline_frame_targets_must_match_the_transform() -> None:
    x, lengths = padded_batch([400, 250, 120, 310], channels=1, seed=8)
    pipe = AudioPipeline(WaveformMixUp(num_classes=4), log_mel())
    message = (
        "AudioPipeline: expected frame_targets with 7 frames (the transform's output, features "
        "of shape (4, 1, 16, 7)), got frame_targets of shape (4, 5, 4)"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        pipe(x, Y, lengths=lengths, frame_targets=torch.zeros(4, 5, 4))


def test_pipeline_repr_and_arguments() -> None:
    pipe = AudioPipeline(WaveformMixUp(num_classes=4), log_mel(), domain="waveform")
    text = repr(pipe)
    assert text.startswith("AudioPipeline(\n  domain='waveform'\n  (mixer): WaveformMixUp(")
    assert "(transform): Sequential(" in text
    with pytest.raises(TypeError, match=re.escape("AudioPipeline: expected mixer to be a")):
        AudioPipeline(mixkit.MixUp(), log_mel())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=re.escape("AudioPipeline: expected transform to be")):
        AudioPipeline(WaveformMixUp(), nn.Identity())
    with pytest.raises(ValueError, match=re.escape("AudioPipeline: expected domain to be one")):
        AudioPipeline(WaveformMixUp(), log_mel(), domain="spectrum")
    features_first = AudioPipeline(SpectrogramMixUp(num_classes=4), log_mel(), domain="features")
    message = (
        "AudioPipeline: expected x of shape (B, T) or (B, channels, T) waveforms, "
        "got shape (2, 1, 16, 7)"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        features_first(torch.zeros(2, 1, 16, 7), Y[:2])
    mono = features_first(torch.randn(2, 400, generator=gen(9)), Y[:2])  # (B, T) waveforms
    assert mono.inputs.shape == (2, 16, 7)


def test_spectrogram_repr() -> None:
    assert repr(SpectrogramMixUp(num_classes=3)) == (
        "SpectrogramMixUp(alpha=1.0, mode='batch', p=1.0, num_classes=3, policy='pad')"
    )
    assert repr(SpectrogramMixUp(domain="db", pad_value=-100, policy="max")) == (
        "SpectrogramMixUp(alpha=1.0, mode='batch', p=1.0, num_classes=None, policy='max', "
        "domain='db', pad_value=-100.0)"
    )


def test_pipeline_takes_any_mixer_with_an_audio_operation() -> None:
    x, lengths = padded_batch([400, 250, 120, 310], channels=1, seed=8)
    features = log_mel()
    plain = mixkit.Mixer(mode="elem", num_classes=4, op=WaveformOp(policy="min"), generator=gen(3))
    preset = WaveformMixUp(mode="elem", num_classes=4, policy="min", generator=gen(3))
    a = AudioPipeline(plain, features)(x, Y, lengths=lengths)
    b = AudioPipeline(preset, features)(x, Y, lengths=lengths)
    assert a.applied and isinstance(a.params, AudioParams)
    for name in ("inputs", "source", "targets", "lengths", "mask"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    spec = mixkit.Mixer(num_classes=4, op=SpectrogramOp(domain="db", pad_value=-100.0))
    out = AudioPipeline(spec, features, domain="features")(x, Y, lengths=lengths)
    assert out.lengths.tolist() == transform_lengths(features, lengths).tolist()
