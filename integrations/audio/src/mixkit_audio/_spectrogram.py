"""Mixing in the spectrogram domain (after torchaudio's MelSpectrogram / log)."""

from __future__ import annotations

import math
from typing import Any, cast

import torch
from torch import Tensor

import mixkit
from mixkit import functional as core
from mixkit.validation import check_choice, check_float, fail
from mixkit_audio import functional as AF
from mixkit_audio._ops import AudioOp, check_policy, preset_args, refuse_op
from mixkit_audio._params import AudioParams
from mixkit_audio._validation import Lengths

__all__ = ["SpectrogramMixUp", "SpectrogramOp"]

DOMAINS: tuple[str, ...] = ("linear", "log", "db")
_SCALE = {"log": 1.0, "db": math.log(10.0) / 10.0}


def check_domain(owner: str, domain: object) -> str:
    return check_choice(owner, "domain", domain, DOMAINS)


def check_pad_value(owner: str, pad_value: object) -> float | None:
    return None if pad_value is None else check_float(owner, "pad_value", pad_value)


class SpectrogramOp(AudioOp):
    """Spectrogram-like features ``(B, [C,] n_mels, frames)`` with lengths in frames, mixed
    linearly or in the power domain (see :class:`SpectrogramMixUp`).

    Args:
        domain: ``"linear"``, ``"log"`` or ``"db"``.
        pad_value: the feature value of silence (default 0; needed for padded log / dB
            features).
        policy: ``"pad"`` (default), ``"min"`` or ``"max"``.
    """

    ndims = (3, 4)
    layout = "(B, n_mels, frames) or (B, channels, n_mels, frames)"

    def __init__(
        self, *, domain: str = "linear", pad_value: float | None = None, policy: str = "pad"
    ) -> None:
        super().__init__(policy=policy)
        owner = type(self).__name__
        self.domain = check_domain(owner, domain)
        self.pad_value = check_pad_value(owner, pad_value)

    @property
    def silence(self) -> float:
        return 0.0 if self.pad_value is None else self.pad_value

    @property
    def rows(self) -> bool:
        return self.domain == "linear"

    def silenced(self, owner: str, x: Tensor, lengths: Lengths) -> Tensor:
        if lengths.padded and self.domain != "linear" and self.pad_value is None:
            fail(
                owner,
                f"pad_value (the feature value of silence, e.g. -100.0 for AmplitudeToDB) to mix "
                f"padded {self.domain} features",
                "pad_value=None",
            )
        return super().silenced(owner, x, lengths)

    def combine(
        self,
        x: Tensor,
        index: Tensor,
        lam: Tensor | float,
        params: AudioParams,
        *,
        out: Tensor | None = None,
    ) -> Tensor:
        if self.domain == "linear":
            return core.mix(x, index, lam, out=out)
        return AF.mix_log_power(x, index, lam, scale=_SCALE[self.domain], out=out)

    def mix_row(
        self, out: Tensor, own: Tensor, partner: Tensor, weight: float, row: int,
        params: AudioParams,
    ) -> None:  # fmt: skip
        torch.lerp(partner, own, weight, out=out)

    def __repr__(self) -> str:
        return (
            f"SpectrogramOp(domain={self.domain!r}, pad_value={self.pad_value}, "
            f"policy={self.policy!r})"
        )


class SpectrogramMixUp(mixkit.Mixer):
    r"""Mixup of spectrogram-like features with lengths in frames.

    ``x`` is ``(B, n_mels, frames)`` or ``(B, channels, n_mels, frames)`` (time last, as
    torchaudio returns it) and ``lengths`` count frames (:func:`mixkit_audio.transform_lengths`
    converts sample lengths; :class:`mixkit_audio.AudioPipeline` does it for you). Mixing
    log-mels is not mixing waveforms: ``domain`` says whether to blend the values as they are
    or the powers they stand for. The preset is
    ``mixkit.Mixer(op=SpectrogramOp(domain, pad_value, policy))``. See the speech guide of the
    documentation (docs/guides/speech.md).

    Args:
        alpha: Beta concentration (default 1.0).
        domain: ``"linear"`` (default: blend ``X`` as it is), ``"log"`` (``X`` is the natural
            log of a power spectrogram; powers are mixed) or ``"db"`` (``X`` in decibels;
            powers are mixed).
        pad_value: the feature value of silence, held by padded frames (default 0, right for
            linear spectrograms). For log or dB features it is the floor (e.g. -100.0 for
            ``AmplitudeToDB``'s default) and must be given when the batch is padded.
        policy: ``"pad"`` (default), ``"min"`` or ``"max"``, as in :class:`WaveformMixUp`.
        **kwargs: every other argument of :class:`mixkit.MixUp` but ``op``.

    Example:
        >>> import torchaudio
        >>> to_db = torch.nn.Sequential(
        ...     torchaudio.transforms.MelSpectrogram(16000, n_mels=32),
        ...     torchaudio.transforms.AmplitudeToDB())
        >>> feats = to_db(torch.randn(4, 1, 16000))  # (4, 1, 32, 81)
        >>> mixer = SpectrogramMixUp(domain="db", pad_value=-100.0, num_classes=10)
        >>> lengths = torch.tensor([81, 60, 41, 81])  # frames
        >>> mixer(feats, torch.tensor([0, 1, 2, 3]), lengths=lengths).inputs.shape
        torch.Size([4, 1, 32, 81])
    """

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        domain: str = "linear",
        pad_value: float | None = None,
        policy: str = "pad",
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        refuse_op(owner, "SpectrogramOp", kwargs)
        op = SpectrogramOp(
            domain=check_domain(owner, domain),
            pad_value=check_pad_value(owner, pad_value),
            policy=check_policy(owner, policy),
        )
        super().__init__(alpha=alpha, op=op, **kwargs)

    @property
    def domain(self) -> str:
        """Where the features are mixed: ``"linear"``, ``"log"`` or ``"db"``."""
        return cast(SpectrogramOp, self.op).domain

    @property
    def pad_value(self) -> float | None:
        """The feature value of silence (None: 0)."""
        return cast(SpectrogramOp, self.op).pad_value

    @property
    def policy(self) -> str:
        """The length policy of the mixed rows."""
        return cast(SpectrogramOp, self.op).policy

    def repr_args(self) -> dict[str, Any]:
        shown = preset_args(super().repr_args(), self.policy)
        if self.domain != "linear":
            shown["domain"] = self.domain
        if self.pad_value is not None:
            shown["pad_value"] = self.pad_value
        return shown
