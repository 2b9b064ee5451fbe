"""Mixing in the spectrogram domain (after torchaudio's MelSpectrogram / log)."""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor

from mixkit import functional as core
from mixkit_audio import functional as AF
from mixkit_audio._base import AudioMixer
from mixkit_audio._params import AudioParams
from mixkit_audio._validation import Lengths, check_choice, check_float, fail

__all__ = ["SpectrogramMixUp"]

DOMAINS: tuple[str, ...] = ("linear", "log", "db")
_SCALE = {"log": 1.0, "db": math.log(10.0) / 10.0}


class SpectrogramMixUp(AudioMixer):
    r"""Mixup of spectrogram-like features with lengths in frames.

    ``x`` is ``(B, n_mels, frames)`` or ``(B, channels, n_mels, frames)`` (time last, as
    torchaudio's ``MelSpectrogram`` returns it) and ``lengths`` count frames
    (:func:`mixkit_audio.transform_lengths` converts sample lengths for a torchaudio transform;
    :class:`mixkit_audio.AudioPipeline` does it for you). The length policies are those of
    :class:`WaveformMixUp`, in frames.

    Mixing log-mels is NOT mixing waveforms. The spectrogram of a mix of independent clips
    has, on average, the mixed POWERS of the two; a ``lerp`` of log-mels is the log of their
    geometric mean instead, which erases a quiet clip far less than hearing it would. Choose:

    * ``domain="linear"`` (default): ``lam * X_i + (1 - lam) * X_j`` on whatever ``X`` is: the
      right thing for power / magnitude spectrograms, the common practice (SpecMix, most
      audio tagging recipes) for log-mels;
    * ``domain="log"``: ``X`` is the natural log of a power spectrogram (``log(mel + eps)``);
      mixes powers, :func:`mixkit_audio.functional.mix_log_power`;
    * ``domain="db"``: ``X`` is in decibels (``torchaudio.transforms.AmplitudeToDB``); mixes
      powers.

    In the power domains ``lam`` is also the energy share of the original, as for
    :class:`LoudnessMixUp`.

    Args:
        alpha: Beta concentration (default 1.0).
        domain: ``"linear"``, ``"log"`` or ``"db"``.
        pad_value: the feature value of silence, held by padded frames (default 0, right for
            linear spectrograms). For log or dB features it is the floor (e.g. -100.0 for
            ``AmplitudeToDB``'s default ``amin=1e-10``) and must be given when the batch is
            padded.
        policy: ``"pad"`` (default), ``"min"`` or ``"max"``.
        **kwargs: every other argument of :class:`mixkit.MixUp`.

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

    _ndims = (3, 4)
    _layout = "(B, n_mels, frames) or (B, channels, n_mels, frames)"

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        domain: str = "linear",
        pad_value: float | None = None,
        policy: str = "pad",
        **kwargs: Any,
    ) -> None:
        super().__init__(alpha=alpha, policy=policy, **kwargs)
        owner = type(self).__name__
        self.domain = check_choice(owner, "domain", domain, DOMAINS)
        self.pad_value = None if pad_value is None else check_float(owner, "pad_value", pad_value)

    def _silence(self) -> float:
        return 0.0 if self.pad_value is None else self.pad_value

    def _filled(self, x: Tensor, lengths: Lengths) -> Tensor:
        if lengths.padded and self.domain != "linear" and self.pad_value is None:
            fail(
                type(self).__name__,
                f"pad_value (the feature value of silence, e.g. -100.0 for AmplitudeToDB) to mix "
                f"padded {self.domain} features",
                "pad_value=None",
            )
        return super()._filled(x, lengths)

    def _row_path(self) -> bool:
        return self.domain == "linear"

    def _combine(
        self, x: Tensor, index: Tensor, lam: Tensor | float, params: AudioParams | None
    ) -> Tensor:
        if self.domain == "linear":
            return core.mix(x, index, lam)
        return AF.mix_log_power(x, index, lam, scale=_SCALE[self.domain])

    def _repr_args(self) -> dict[str, Any]:
        shown = super()._repr_args()
        if self.domain != "linear":
            shown["domain"] = self.domain
        if self.pad_value is not None:
            shown["pad_value"] = self.pad_value
        return shown
