"""mixkit's public conformance suite over every mixer of mixkit-audio.

Each mixer runs twice: on full-length batches (the suite as is) and on zero-padded batches of
clips of different lengths, through a thin :class:`mixkit.MixerWrapper` that passes the lengths
(read off the padding) on every call, so every invariant of the suite also holds on the lengths
path. The operations also run in a plain :class:`mixkit.Mixer`, without their presets.
"""

from __future__ import annotations

from typing import Any

import torch
from audio_testutils import DistanceWeights, NearestMean, RecordingPairing
from torch import Tensor

import mixkit
from mixkit.testing import MixerCase, parametrize_with_checks, run_check
from mixkit_audio import (
    AudioMixed,
    LoudnessMixUp,
    LoudnessOp,
    SpectrogramMixUp,
    SpectrogramOp,
    WaveformMixUp,
    WaveformOp,
)

NOT_CONVEX = (
    "loudness-aware mixing rescales both components so that the louder one plays at the "
    "original's level: g_i x_i + g_j x_j with g_i + g_j >= 1 is not a convex combination"
)


def waves(g: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.randn(6, 2, 48, generator=g), torch.randint(0, 4, (6,), generator=g)


def mono(g: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.randn(5, 40, generator=g), torch.randint(0, 4, (5,), generator=g)


def padded(g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Clips of 20..48 samples, zero-padded to 48 (lengths are read back off the padding)."""
    x, y = waves(g)
    lengths = torch.randint(20, 49, (6,), generator=g)
    lengths[0] = 48
    keep = torch.arange(48) < lengths.unsqueeze(1)
    return x * keep.unsqueeze(1), y


def tags(g: torch.Generator) -> tuple[Tensor, Tensor]:
    x, _ = padded(g)
    return x, (torch.rand(6, 5, generator=g) > 0.5).float()


def spectrograms(g: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.randn(5, 1, 8, 12, generator=g), torch.randint(0, 4, (5,), generator=g)


def padded_spectrograms(g: torch.Generator) -> tuple[Tensor, Tensor]:
    x, y = spectrograms(g)
    frames = torch.randint(5, 13, (5,), generator=g)
    frames[0] = 12
    return x * (torch.arange(12) < frames.unsqueeze(1)).view(5, 1, 1, 12), y


def regression(g: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.randn(5, 1, 30, generator=g), torch.randn(5, 2, generator=g)


class WithLengths(mixkit.MixerWrapper):
    """Calls an audio mixer with the lengths of a zero-padded batch (last non-zero step + 1)."""

    @staticmethod
    def lengths(x: Tensor) -> Tensor:
        sounding = x.reshape(x.shape[0], -1, x.shape[-1]).ne(0).any(dim=1)  # (B, T)
        steps = torch.arange(1, x.shape[-1] + 1, device=x.device)
        return (sounding * steps).amax(dim=1)

    def forward(
        self, x: Tensor, y: Tensor | None = None, *, features: Tensor | None = None, **kwargs: Any
    ) -> AudioMixed:
        out: AudioMixed = super().forward(
            x, y, features=features, lengths=self.lengths(x), **kwargs
        )
        return out

    def draw(
        self, x: Tensor, *, lam: float | None = None, features: Tensor | None = None, **kwargs: Any
    ) -> mixkit.MixParams:
        return super().draw(x, lam=lam, features=features, lengths=self.lengths(x), **kwargs)

    def mix(
        self,
        x: Tensor,
        y: Tensor | None,
        params: mixkit.MixParams,
        *,
        features: Tensor | None = None,
        **kwargs: Any,
    ) -> AudioMixed:
        out: AudioMixed = super().mix(
            x, y, params, features=features, lengths=self.lengths(x), **kwargs
        )
        return out


def seeded(g: torch.Generator, offset: int) -> torch.Generator:
    return torch.Generator().manual_seed(g.initial_seed() + offset)


def case(name: str, make: Any, batch: Any, **kwargs: Any) -> MixerCase:
    return MixerCase(name, make, batch, **kwargs)


CASES = [
    *(
        case(
            f"waveform-{mode}",
            lambda g, m=mode: WaveformMixUp(mode=m, num_classes=4, generator=g),
            waves,
        )
        for mode in ("batch", "elem", "pair")
    ),
    case("waveform-mono-p", lambda g: WaveformMixUp(p=0.5, num_classes=4, generator=g), mono),
    *(
        case(
            f"waveform-lengths-{policy}",
            lambda g, pol=policy: WithLengths(
                WaveformMixUp(mode="elem", policy=pol, num_classes=4, generator=g)
            ),
            padded,
        )
        for policy in ("pad", "min", "max")
    ),
    case(
        "waveform-lengths-union",
        lambda g: WithLengths(
            WaveformMixUp(task="multilabel", union=True, policy="max", generator=g)
        ),
        tags,
    ),
    case(
        "waveform-regression",
        lambda g: WaveformMixUp(task="regression", label_smoothing=0.0, generator=g),
        regression,
    ),
    *(
        case(
            f"loudness-{mode}",
            lambda g, m=mode: LoudnessMixUp(mode=m, num_classes=4, generator=g),
            waves,
            expected_failures={"convex_combination": NOT_CONVEX},
        )
        for mode in ("batch", "elem", "pair")
    ),
    *(
        case(
            f"loudness-lengths-{policy}",
            lambda g, pol=policy: WithLengths(
                LoudnessMixUp(mode="elem", policy=pol, p=0.8, num_classes=4, generator=g)
            ),
            padded,
            expected_failures={"convex_combination": NOT_CONVEX},
        )
        for policy in ("pad", "min", "max")
    ),
    case(
        "spectrogram-linear",
        lambda g: SpectrogramMixUp(mode="elem", num_classes=4, generator=g),
        spectrograms,
    ),
    case(
        "spectrogram-lengths-min",
        lambda g: WithLengths(
            SpectrogramMixUp(mode="elem", policy="min", num_classes=4, generator=g)
        ),
        padded_spectrograms,
    ),
    case(
        "plain-mixer-waveform-op",
        lambda g: mixkit.Mixer(num_classes=4, op=WaveformOp(), generator=g),
        waves,
    ),
    case(
        "plain-mixer-waveform-op-lengths-max",
        lambda g: WithLengths(
            mixkit.Mixer(mode="elem", num_classes=4, op=WaveformOp(policy="max"), generator=g)
        ),
        padded,
    ),
    case(
        "plain-mixer-loudness-op",
        lambda g: WithLengths(
            mixkit.Mixer(
                alpha=0.0, mode="pair", num_classes=4, op=LoudnessOp(snr=(-5.0, 5.0)), generator=g
            )
        ),
        padded,
        expected_failures={"convex_combination": NOT_CONVEX},
    ),
    case(
        "plain-mixer-spectrogram-op",
        lambda g: mixkit.Mixer(num_classes=4, op=SpectrogramOp(domain="log"), generator=g),
        spectrograms,
    ),
    case(
        "spectrogram-db",
        lambda g: SpectrogramMixUp(domain="db", label_smoothing=0.1, num_classes=4, generator=g),
        spectrograms,
    ),
    case(
        "spectrogram-log-pair",
        lambda g: SpectrogramMixUp(domain="log", mode="pair", num_classes=4, generator=g),
        spectrograms,
    ),
    case(
        "waveform-stand-in-pairing-weighting",
        lambda g: WithLengths(
            WaveformMixUp(
                num_classes=4, pairing=RecordingPairing(), weighting=DistanceWeights(), generator=g
            )
        ),
        padded,
    ),
    case(
        "waveform-stand-in-relabel",
        lambda g: WaveformMixUp(
            mode="elem", num_classes=4, relabel=NearestMean(torch.eye(4, 7)), generator=g
        ),
        waves,
    ),
    case(
        "random-choice-audio",
        lambda g: mixkit.RandomChoice(
            [
                WaveformMixUp(num_classes=4, generator=seeded(g, 1)),
                WaveformMixUp(mode="elem", policy="min", num_classes=4, generator=seeded(g, 2)),
            ],
            generator=g,
        ),
        waves,
    ),
]


@parametrize_with_checks(CASES)
def test_conformance(case: MixerCase, check: str, device: torch.device) -> None:
    run_check(case, check, device)


def test_the_padded_batches_really_are_padded() -> None:
    x, _ = padded(torch.Generator().manual_seed(1234))
    lengths = WithLengths.lengths(x)
    assert lengths[0] == 48 and int((lengths < 48).sum()) >= 3
    mixer = WithLengths(WaveformMixUp(policy="min", mode="elem", num_classes=4))
    out = mixer(x, torch.zeros(6, dtype=torch.int64))
    assert out.mask.sum(dim=1).tolist() == out.lengths.tolist()
    assert bool((out.lengths <= lengths).all()) and bool((out.lengths < lengths).any())
