"""The core's seed methods on audio, through the audio mixers: k-mixup pairing, Local Mixup
weights, GenLabel relabelling and MixupE, with distances on clips or on caller features."""

from __future__ import annotations

import math
import re

import pytest
import torch
from audio_testutils import padded_batch, params, silenced
from torch import Tensor, nn

import mixkit
from mixkit.testing import MixerCase, parametrize_with_checks, run_check
from mixkit_audio import AudioPipeline, LoudnessMixUp, SpectrogramMixUp, WaveformMixUp


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def two_groups(garbage: float) -> tuple[Tensor, Tensor, Tensor]:
    """16 clips: 8 low tones and 8 high tones of various lengths, padding holding garbage."""
    t = torch.arange(400) / 4000.0
    freqs = torch.tensor([100.0] * 8 + [900.0] * 8)
    x = torch.sin(2 * math.pi * freqs.view(-1, 1) * t).unsqueeze(1)  # (16, 1, 400)
    lengths = torch.randint(150, 401, (16,), generator=gen(1))
    x = x.masked_fill((torch.arange(400) >= lengths.unsqueeze(1)).unsqueeze(1), garbage)
    return x, lengths, (freqs > 500).long()


def test_k_mixup_matches_clips_within_their_group() -> None:
    x, lengths, group = two_groups(garbage=50.0)
    spectra = torch.fft.rfft(silenced(x, lengths)[:, 0]).abs()  # what the clips contain
    for features in (spectra, None):
        mixer = WaveformMixUp(
            num_classes=2, pairing=mixkit.OTPairing(k=16, avoid_self=True), generator=gen(2)
        )
        out = mixer(x, group, lengths=lengths, features=features)
        # on caller features, or on the clips themselves with silent padding (50.0 there would
        # otherwise dominate every distance): every clip finds a partner of its own group
        assert bool((group == group[out.index]).all())
    random = WaveformMixUp(num_classes=2, generator=gen(2))(x, group, lengths=lengths)
    assert float((group != group[random.index]).float().mean()) > 0.2


def test_k_mixup_never_sees_the_padding_garbage() -> None:
    clean, lengths, group = two_groups(garbage=0.0)
    dirty, _, _ = two_groups(garbage=1e3)
    mixers = [
        WaveformMixUp(num_classes=2, pairing=mixkit.OTPairing(k=4), generator=gen(3))
        for _ in range(2)
    ]
    a = mixers[0](clean, group, lengths=lengths)
    b = mixers[1](dirty, group, lengths=lengths)
    assert torch.equal(a.index, b.index) and torch.equal(a.inputs, b.inputs)


def test_local_mixup_weights_on_clips_and_on_features() -> None:
    x, lengths = padded_batch([10, 6, 3, 8])
    y = torch.tensor([0, 1, 2, 3])
    drawn = params([1, 2, 3, 0], 0.5)
    clean = silenced(x, lengths).flatten(1)
    distance = (clean - clean[torch.tensor([1, 2, 3, 0])]).norm(dim=1)
    eps = float(distance.median())
    local = WaveformMixUp(num_classes=4, weighting=mixkit.LocalWeights(eps=eps))
    out = local.mix(x, y, drawn, lengths=lengths)
    assert torch.equal(out.weights, (distance <= eps).float())
    assert 0 < float(out.weights.sum()) < 4
    plain = WaveformMixUp(num_classes=4).mix(x, y, drawn, lengths=lengths)
    infinite = WaveformMixUp(num_classes=4, weighting=mixkit.LocalWeights(eps=math.inf))
    logits = torch.randn(4, 4, generator=gen(4))
    assert torch.equal(infinite.mix(x, y, drawn, lengths=lengths).loss(logits), plain.loss(logits))
    feats = torch.tensor([[0.0], [1.0], [5.0], [5.5]])
    on_feats = local.mix(x, y, drawn, lengths=lengths, features=feats)
    smooth = WaveformMixUp(num_classes=4, weighting=mixkit.LocalWeights(sigma=1.0))
    torch.testing.assert_close(
        smooth.mix(x, y, drawn, lengths=lengths, features=feats).weights,
        torch.exp(-torch.tensor([1.0, 4.0, 0.5, 5.5])),
    )
    assert on_feats.weights.shape == (4,)


def test_genlabel_on_features_fixes_an_intrusion() -> None:
    # three collinear classes in feature space: A at -3, B at 0, C at +3
    g = gen(5)
    fit_feats = torch.cat([torch.randn(60, 1, generator=g) * 0.5 + c for c in (-3.0, 0.0, 3.0)])
    fit_labels = torch.arange(3).repeat_interleave(60)
    relabel = mixkit.GenLabel(on="features").fit(fit_feats, fit_labels)
    x, lengths = padded_batch([10, 6, 3, 8])
    y = torch.tensor([0, 2, 1, 1])  # clips of A and C, and two of B
    feats = torch.tensor([[-3.0], [3.0], [0.0], [0.0]])
    mixer = LoudnessMixUp(num_classes=3, relabel=relabel)
    out = mixer.mix(x, y, params([1, 0, 3, 2], 0.5), lengths=lengths, features=feats)
    assert out.relabelled
    # the A-C mixes land near B (features mix with the label weights: 0.625 and 0.5 here);
    # mixup would label them mostly A and half A / half C, GenLabel labels them B
    assert out.lam[:2].tolist() == [0.625, 0.5]
    assert out.targets[:2].argmax(dim=1).tolist() == [1, 1]
    waveform = WaveformMixUp(num_classes=3, relabel=relabel).mix(
        x, y, params([1, 0, 3, 2], 0.5), lengths=lengths, features=feats
    )
    assert int(waveform.targets[0].argmax()) == 1 and int(waveform.targets[1].argmax()) == 1
    assert float(waveform.targets[0, 1]) > 0.9


def test_mixupe_on_clips_of_different_lengths() -> None:
    x, lengths = padded_batch([10, 6, 3, 8], channels=1)
    y = torch.tensor([0, 1, 2, 0])
    model = nn.Sequential(nn.Flatten(), nn.Linear(10, 3))
    mixer = WaveformMixUp(
        alpha=1.0, num_classes=3, term=mixkit.MixupETerm(eta=0.5), generator=gen(6)
    )
    mixed = mixer(x, y, lengths=lengths)
    assert isinstance(mixed.term, mixkit.MixupETerm)
    loss = mixed.loss(model(mixed.inputs), model=model)
    plain = mixkit.mixed_loss(model(mixed.inputs), mixed)
    torch.testing.assert_close(loss, plain)  # the authors' rescaling: same value
    (grad_e,) = torch.autograd.grad(loss, model[1].weight)
    (grad_p,) = torch.autograd.grad(plain, model[1].weight)
    assert not torch.allclose(grad_e, grad_p)  # the term reaches the gradient
    # the clean pass ran on the clips with silent padding
    assert torch.equal(mixed.source, silenced(x, lengths))
    # the term needs the model: without it the loss refuses instead of dropping the term
    with pytest.raises(ValueError, match=re.escape("Mixed.loss: expected model= (the mixer's")):
        mixed.loss(model(mixed.inputs))


def test_mixupe_term_on_every_audio_mixer_that_draws_an_alpha() -> None:
    x, lengths = padded_batch([10, 6, 3, 8], channels=1)
    y = torch.tensor([0, 1, 2, 0])
    feats = torch.randn(4, 1, 4, 10, generator=gen(12))
    term = mixkit.MixupETerm(eta=0.5)
    cases = [
        (WaveformMixUp(num_classes=3, mode="elem", term=term, generator=gen(13)), x, lengths),
        (SpectrogramMixUp(domain="db", num_classes=3, term=term, generator=gen(13)), feats, None),
    ]
    for mixer, batch, lens in cases:
        model = nn.Sequential(nn.Flatten(), nn.LazyLinear(3))
        mixed = mixer(batch, y, lengths=lens)
        logits = model(mixed.inputs)
        loss = mixed.loss(logits, model=model)
        torch.testing.assert_close(loss, mixkit.mixed_loss(logits, mixed))
        assert loss.requires_grad
    # LoudnessMixUp draws an SNR, not an alpha: MixupE's weight alpha / (2 alpha + 1) is 0
    message = (
        "LoudnessMixUp: expected a mixer that draws lam from Beta(alpha, alpha) with alpha > 0 "
        "for a MixupETerm"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        LoudnessMixUp(num_classes=3, term=mixkit.MixupETerm())


def test_mixupe_through_the_feature_pipeline() -> None:
    import torchaudio

    x, lengths = padded_batch([800, 500, 300, 650], channels=1)
    y = torch.tensor([0, 1, 2, 0])
    features = torchaudio.transforms.MelSpectrogram(16000, n_fft=128, hop_length=64, n_mels=8)
    mixer = WaveformMixUp(num_classes=3, term=mixkit.MixupETerm(eta=0.5), generator=gen(7))
    pipe = AudioPipeline(mixer, features)
    model = nn.Sequential(nn.Flatten(), nn.LazyLinear(3))
    mixed = pipe(x, y, lengths=lengths)
    logits = model(mixed.inputs)  # materialises the lazy layer
    loss = mixed.loss(logits, model=model)
    plain = mixkit.mixed_loss(logits, mixed)
    torch.testing.assert_close(loss, plain)
    (grad_e,) = torch.autograd.grad(loss, model[1].weight, retain_graph=True)
    (grad_p,) = torch.autograd.grad(plain, model[1].weight)
    assert not torch.allclose(grad_e, grad_p)
    assert mixed.source.shape == mixed.inputs.shape  # the clean pass is in feature space


def _spectrum(x: Tensor) -> Tensor:
    return torch.fft.rfft(x.reshape(x.shape[0], -1).float()).abs()[:, :4]


def _fitted_genlabel() -> mixkit.GenLabel:
    g = gen(8)
    clips = torch.randn(60, 2, 48, generator=g)
    return mixkit.GenLabel(feature_fn=_spectrum).fit(clips, torch.arange(60) % 4)


def waves(g: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.randn(6, 2, 48, generator=g), torch.randint(0, 4, (6,), generator=g)


def spectrograms(g: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.randn(6, 1, 8, 12, generator=g), torch.randint(0, 4, (6,), generator=g)


NOT_CONVEX = "loudness-aware mixing rescales the components: not a convex combination"

CASES = [
    MixerCase(
        "waveform-kmixup",
        lambda g: WaveformMixUp(num_classes=4, pairing=mixkit.OTPairing(k=3), generator=g),
        waves,
    ),
    MixerCase(
        "loudness-kmixup-local",
        lambda g: LoudnessMixUp(
            num_classes=4,
            mode="elem",
            pairing=mixkit.OTPairing(k=2),
            weighting=mixkit.LocalWeights(sigma=0.05),
            generator=g,
        ),
        waves,
        expected_failures={"convex_combination": NOT_CONVEX},
    ),
    MixerCase(
        "waveform-genlabel",
        lambda g: WaveformMixUp(num_classes=4, relabel=_fitted_genlabel(), generator=g),
        waves,
    ),
    MixerCase(
        "spectrogram-local-knn",
        lambda g: SpectrogramMixUp(
            domain="db", num_classes=4, weighting=mixkit.LocalWeights(knn=2), generator=g
        ),
        spectrograms,
    ),
    MixerCase(
        "mixupe-waveform",
        lambda g: WaveformMixUp(num_classes=4, term=mixkit.MixupETerm(eta=1e-3), generator=g),
        waves,
    ),
    MixerCase(
        "mixupe-spectrogram-elem",
        lambda g: SpectrogramMixUp(
            mode="elem", num_classes=4, term=mixkit.MixupETerm(eta=0.1), generator=g
        ),
        spectrograms,
    ),
]


@parametrize_with_checks(CASES)
def test_seed_methods_conformance(case: MixerCase, check: str, device: torch.device) -> None:
    run_check(case, check, device)


def test_the_presets_and_the_audio_mixers_agree_on_full_clips() -> None:
    # the seed presets are MixUp subclasses; on audio the same methods are their strategies
    # plugged into an audio mixer, which on full-length clips mixes exactly as the preset
    x, y = waves(gen(9))
    pairs = [
        (
            mixkit.KMixUp(k=3, num_classes=4, generator=gen(10)),
            WaveformMixUp(num_classes=4, pairing=mixkit.OTPairing(k=3), generator=gen(10)),
        ),
        (
            mixkit.LocalMixUp(sigma=0.1, num_classes=4, generator=gen(11)),
            WaveformMixUp(
                num_classes=4, weighting=mixkit.LocalWeights(sigma=0.1), generator=gen(11)
            ),
        ),
    ]
    for preset, audio in pairs:
        a, b = preset(x, y), audio(x, y)
        for name in ("inputs", "targets", "index", "lam", "weights"):
            assert torch.equal(getattr(a, name), getattr(b, name)), (type(preset).__name__, name)
