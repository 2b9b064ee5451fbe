"""mixkit-audio: mixkit for speech and audio, with torchaudio.

Audio is a kind of data for the core's template: the input operations (:class:`AudioOp`:
:class:`WaveformOp`, :class:`LoudnessOp`, :class:`SpectrogramOp`) fill a :class:`mixkit.Mixer`'s
``op`` slot, and the named mixers are presets of them.

* :class:`WaveformMixUp`: mixup of padded waveform batches that knows each clip's length
  (absolute or relative lengths; ``"pad"`` / ``"min"`` / ``"max"`` policy; lengths and masks
  returned).
* :class:`LoudnessMixUp`: the partner placed at a sampled SNR (levels over valid samples
  only), labels following the energy share.
* :class:`SpectrogramMixUp`: mixing after ``MelSpectrogram`` / log, linearly or in the power
  domain; :class:`AudioPipeline` composes a mixer with a torchaudio transform and carries
  lengths into frames (:func:`transform_lengths`).
* Targets: soft / pair (core), multi-label union (``union=True``) and frame-level
  ``(B, F, C)`` (``frame_targets=``, :meth:`AudioMixed.frame_loss`).
* Every core strategy composes: ``pairing=`` (k-mixup), ``weighting=`` (Local Mixup),
  ``relabel=`` (GenLabel), ``term=mixkit.MixupETerm(...)`` (MixupE, through
  ``mixed.loss(logits, model=model)``), with distances on the clips or on ``features=``.
* :func:`pad_collate`: batch clips of different lengths (zero-padded) with their lengths.
"""

from mixkit_audio import functional
from mixkit_audio._collate import pad_collate
from mixkit_audio._loudness import LoudnessMixUp, LoudnessOp
from mixkit_audio._mixed import AudioMixed
from mixkit_audio._ops import AudioOp
from mixkit_audio._params import AudioParams
from mixkit_audio._pipeline import AudioPipeline, transform_lengths
from mixkit_audio._spectrogram import SpectrogramMixUp, SpectrogramOp
from mixkit_audio._waveform import WaveformMixUp, WaveformOp

__version__ = "0.2.0"

__all__ = [
    "AudioMixed",
    "AudioOp",
    "AudioParams",
    "AudioPipeline",
    "LoudnessMixUp",
    "LoudnessOp",
    "SpectrogramMixUp",
    "SpectrogramOp",
    "WaveformMixUp",
    "WaveformOp",
    "__version__",
    "functional",
    "pad_collate",
    "transform_lengths",
]
