"""Mixing composed with torchaudio feature transforms: lengths in frames, exact frame targets."""

from __future__ import annotations

import dataclasses
from typing import Literal

import torch
import torchaudio  # type: ignore[import-untyped]
from torch import Tensor, nn

import mixkit
from mixkit.validation import check_choice, describe, fail, shape_str
from mixkit_audio import functional as AF
from mixkit_audio._mixed import AudioMixed
from mixkit_audio._ops import AudioOp
from mixkit_audio._params import AudioParams
from mixkit_audio._validation import Lengths, check_audio, check_frame_targets, check_lengths

__all__ = ["AudioPipeline", "transform_lengths"]

Domain = Literal["waveform", "features"]
DOMAINS: tuple[str, ...] = ("waveform", "features")


def _spectrogram(transform: nn.Module) -> torchaudio.transforms.Spectrogram | None:
    for module in transform.modules():
        if isinstance(module, torchaudio.transforms.Spectrogram):
            return module
    return None


def transform_lengths(transform: nn.Module, lengths: Tensor) -> Tensor:
    r"""Valid frames that a torchaudio transform makes of clips of ``lengths`` samples.

    Reads the STFT settings (``n_fft``, ``hop_length``, ``pad``, ``center``) of the first
    ``torchaudio.transforms.Spectrogram`` inside ``transform`` (``Spectrogram``,
    ``MelSpectrogram``, ``MFCC``, ``LFCC``, or any ``nn.Sequential`` holding one):

    .. math:: F(L) = \lfloor (L + 2\,\mathrm{pad} + 2\lfloor n_{fft}/2 \rfloor
        [\mathrm{center}] - n_{fft}) / \mathrm{hop} \rfloor + 1

    (0 for an empty clip), the number of frames ``transform`` gives a clip of ``L`` samples on
    its own. In a padded batch the last of these frames also see some padding.

    Args:
        transform: the feature transform.
        lengths: ``(B,)`` int64 sample counts.

    Returns:
        ``(B,)`` int64 frame counts, on ``lengths``' device.

    Raises:
        TypeError: ``transform`` holds no ``torchaudio.transforms.Spectrogram``.
    """
    spec = _spectrogram(transform)
    if spec is None:
        fail(
            "transform_lengths",
            "a transform holding a torchaudio.transforms.Spectrogram (Spectrogram, "
            "MelSpectrogram, MFCC, LFCC, or a Sequential of them)",
            describe(transform),
            type_error=True,
        )
    n_fft, hop = int(spec.n_fft), int(spec.hop_length)
    extra = 2 * int(spec.pad) + (2 * (n_fft // 2) if spec.center else 0)
    total = lengths.to(torch.int64) + extra - n_fft
    frames = torch.div(total, hop, rounding_mode="floor") + 1
    return torch.where(lengths > 0, frames.clamp_min(0), 0)


class AudioPipeline(nn.Module):
    """An audio mixer composed with a torchaudio feature transform, lengths carried through.

    * ``domain="waveform"`` (default): mix the waveforms, then compute features of the mix:
      ``transform(mixer(wave).inputs)``. What mixing sounds means; the mixer is a
      :class:`WaveformMixUp` or :class:`LoudnessMixUp`.
    * ``domain="features"``: compute features, then mix them with lengths in frames (the mixer
      is a :class:`SpectrogramMixUp`; mind its ``domain`` for log features).

    Either way the result is in feature space: ``inputs`` the mixed features, ``source`` the
    features of the clean batch (what MixupE's clean pass needs), ``lengths`` / ``mask`` in
    frames (:func:`transform_lengths`), and frame targets aligned with the transform's frames
    mixed with the exact frame lengths. Labels, weights and the loss are the mixer's.

    Args:
        mixer: a :class:`mixkit.Mixer` with an audio operation (:class:`AudioOp`): a
            :class:`WaveformMixUp`, :class:`LoudnessMixUp`, :class:`SpectrogramMixUp`, or
            ``mixkit.Mixer(op=...)`` with one of their operations.
        transform: an ``nn.Module`` from waveforms ``(B, [C,] T)`` to features ``(..., frames)``
            holding a ``torchaudio.transforms.Spectrogram`` (``MelSpectrogram``, ``MFCC``, an
            ``nn.Sequential(MelSpectrogram(...), AmplitudeToDB())``, ...).
        domain: ``"waveform"`` or ``"features"``.

    Example:
        >>> feats = torch.nn.Sequential(
        ...     torchaudio.transforms.MelSpectrogram(16000, n_mels=32),
        ...     torchaudio.transforms.AmplitudeToDB())
        >>> pipe = AudioPipeline(LoudnessMixUp(num_classes=10), feats)
        >>> mixed = pipe(torch.randn(4, 1, 16000), torch.tensor([0, 1, 2, 3]),
        ...              lengths=torch.tensor([16000, 12000, 8000, 15000]))
        >>> mixed.inputs.shape, mixed.lengths.tolist()  # frames (hop 200, centred)
        (torch.Size([4, 1, 32, 81]), [81, 61, 41, 76])

    ``pipe.eval()`` turns the mixer off (the features of the clean batch come back).
    """

    def __init__(
        self, mixer: mixkit.Mixer, transform: nn.Module, *, domain: str = "waveform"
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if not (isinstance(mixer, mixkit.Mixer) and isinstance(mixer.op, AudioOp)):
            fail(
                owner,
                "mixer to be a mixkit.Mixer with an audio operation (a mixkit_audio.AudioOp: "
                "WaveformMixUp, LoudnessMixUp, SpectrogramMixUp, ...)",
                describe(mixer),
                type_error=True,
            )
        if not isinstance(transform, nn.Module) or _spectrogram(transform) is None:
            fail(
                owner,
                "transform to be an nn.Module holding a torchaudio.transforms.Spectrogram "
                "(MelSpectrogram, MFCC, ...)",
                describe(transform),
                type_error=True,
            )
        self.domain = check_choice(owner, "domain", domain, DOMAINS)
        self.mixer = mixer
        self.transform = transform

    def forward(
        self,
        x: Tensor,
        y: Tensor,
        *,
        lengths: Tensor | None = None,
        frame_targets: Tensor | None = None,
        features: Tensor | None = None,
    ) -> AudioMixed:
        """Mix waveforms ``x`` ``(B, [C,] T)`` with labels ``y``; features come out.

        Args:
            x: ``(B, T)`` or ``(B, C, T)`` waveforms.
            y: ``(B,)`` class labels (or ``(B, C)`` soft targets).
            lengths: ``(B,)`` valid samples (int) or relative lengths (float in ``[0, 1]``).
            frame_targets: ``(B, F, C)`` targets on the transform's F frames.
            features: representation for the mixer's pairing / weighting (optional).
        """
        owner = type(self).__name__
        x = check_audio(owner, x, (2, 3), "(B, T) or (B, channels, T) waveforms")
        lens = check_lengths(owner, lengths, x)
        if self.domain == "features":
            return self._features_first(x, y, lens, frame_targets, features)
        mixed: AudioMixed = self.mixer(x, y, lengths=lengths, features=features)
        out = self.transform(mixed.inputs)
        source = out if not mixed.applied else self.transform(mixed.source)
        frames = out.shape[-1]
        src = self._frames(lens.absolute.to(x.device), frames)
        new = self._frames(mixed.mask.sum(dim=-1), frames)
        targets, frame_mask = None, None
        if frame_targets is not None:
            targets = self._frame_targets(frame_targets, out, y)
            params = mixed.params
            if isinstance(params, AudioParams):
                targets = AF.mix_frame_targets(
                    targets,
                    params.index,
                    params.frame_lam,
                    src,
                    new,
                    moved=params.moved,
                    union=self.mixer.union,
                )
            frame_mask = AF.lengths_to_mask(new, frames)
        return dataclasses.replace(
            mixed,
            inputs=out,
            source=source,
            lengths=self._report(lens.relative, new, frames, lengths),
            mask=AF.lengths_to_mask(new, frames),
            frame_targets=targets,
            frame_mask=frame_mask,
        )

    def _features_first(
        self,
        x: Tensor,
        y: Tensor,
        lens: Lengths,
        frame_targets: Tensor | None,
        features: Tensor | None,
    ) -> AudioMixed:
        feats = self.transform(x)
        frames = feats.shape[-1]
        src = self._frames(lens.absolute.to(x.device), frames)
        if frame_targets is not None:
            frame_targets = self._frame_targets(frame_targets, feats, y)
        mixed: AudioMixed = self.mixer(
            feats, y, lengths=src, frame_targets=frame_targets, features=features
        )
        return dataclasses.replace(
            mixed,
            lengths=self._report(lens.relative, mixed.mask.sum(dim=-1), frames, lens.given),
        )

    def _frames(self, samples: Tensor, frames: int) -> Tensor:
        return transform_lengths(self.transform, samples).clamp_max(frames)

    def _frame_targets(self, frame_targets: Tensor, feats: Tensor, y: Tensor) -> Tensor:
        owner = type(self).__name__
        targets = check_frame_targets(owner, frame_targets, feats, self.mixer.task)
        assert targets is not None
        if targets.shape[1] != feats.shape[-1]:
            fail(
                owner,
                f"frame_targets with {feats.shape[-1]} frames (the transform's output, "
                f"features of shape {shape_str(feats.shape)})",
                f"frame_targets of shape {shape_str(targets.shape)}",
            )
        return targets

    @staticmethod
    def _report(relative: bool, frames_valid: Tensor, frames: int, given: Tensor | None) -> Tensor:
        if relative and given is not None:
            return (frames_valid.to(torch.float64) / frames).to(given.dtype)
        return frames_valid.to(torch.int64)

    def extra_repr(self) -> str:
        return f"domain={self.domain!r}"
