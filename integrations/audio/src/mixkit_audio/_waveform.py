"""Waveform mixup for padded batches of clips of different lengths (the amplitude rule)."""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import Tensor

import mixkit
from mixkit import functional as core
from mixkit_audio._ops import AudioOp, check_policy, preset_args, refuse_op
from mixkit_audio._params import AudioParams

__all__ = ["WaveformMixUp", "WaveformOp"]


class WaveformOp(AudioOp):
    """The amplitude rule on padded waveforms: ``lam * x_i + (1 - lam) * x_j`` over the valid
    samples, cut to the length the ``policy`` gives (see :class:`WaveformMixUp`).

    Args:
        policy: ``"pad"`` (default), ``"min"`` or ``"max"``.

    Example:
        >>> op = WaveformOp(policy="min")
        >>> mixer = mixkit.Mixer(alpha=0.4, num_classes=4, op=op, generator=torch.Generator())
        >>> mixer.manual_seed(0)
        >>> x, y, lengths = torch.randn(3, 8), torch.tensor([0, 1, 2]), torch.tensor([8, 5, 3])
        >>> mixed = mixer(x, y, lengths=lengths)
        >>> mixed.index.tolist(), mixed.lengths.tolist()  # row 1 drew itself: kept as it was
        ([2, 1, 0], [3, 5, 3])
    """

    def combine(
        self,
        x: Tensor,
        index: Tensor,
        lam: Tensor | float,
        params: AudioParams,
        *,
        out: Tensor | None = None,
    ) -> Tensor:
        return core.mix(x, index, lam, out=out)

    def mix_row(
        self, out: Tensor, own: Tensor, partner: Tensor, weight: float, row: int,
        params: AudioParams,
    ) -> None:  # fmt: skip
        torch.lerp(partner, own, weight, out=out)


class WaveformMixUp(mixkit.Mixer):
    r"""Mixup of raw waveforms that knows each clip's length: the classic amplitude lerp.

    Samples past a clip's length are silence, and the mixed row is cut to the length the
    ``policy`` gives: ``"pad"`` the original's (default), ``"min"`` the shorter clip's
    (ESPnet's truncation), ``"max"`` the longer clip's. Mixing a padded batch as if every clip
    were full lets padding dilute, or a partner's tail leak into, a clip's valid region; this
    mixer keeps lengths and masks true. The preset is ``mixkit.Mixer(op=WaveformOp(policy))``.
    See the speech guide of the documentation (docs/guides/speech.md).

    Paper: Zhang et al., *mixup*, ICLR 2018 (arXiv 1710.09412); on speech, Medennikov et al.,
    *An Investigation of Mixup Training Strategies for Acoustic Models in ASR*, Interspeech 2018.

    Args:
        alpha: Beta concentration, ``>= 0`` (default 1.0).
        policy: ``"pad"``, ``"min"`` or ``"max"``, see above.
        **kwargs: every other argument of :class:`mixkit.MixUp` but ``op`` (``mode``, ``p``,
            ``num_classes``, ``task``, ``union``, ``pairing``, ``weighting``, ``relabel``,
            ``term``, ``schedule``, ``generator``, ``enabled``, ...).

    Call: ``mixer(x, y, lengths=None, frame_targets=None, features=None, out=None)`` with
    ``x`` of shape ``(B, T)`` (mono) or ``(B, channels, T)``; returns
    :class:`mixkit_audio.AudioMixed` with the mixed ``lengths`` and ``mask``.

    Raises:
        ValueError / TypeError: integer (PCM) audio, an empty batch, lengths of the wrong shape,
            longer than ``T`` or relative lengths outside ``[0, 1]``, ... each naming the
            argument, what was expected and what came.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> mixer = WaveformMixUp(alpha=0.4, num_classes=10, generator=g)
        >>> x = torch.randn(4, 1, 16000)  # a padded batch of clips
        >>> lengths = torch.tensor([16000, 12000, 8000, 15000])
        >>> mixed = mixer(x, torch.tensor([0, 1, 2, 3]), lengths=lengths)
        >>> mixed.lengths.tolist()  # policy "pad": each row keeps its own length
        [16000, 12000, 8000, 15000]
        >>> bool(mixed.inputs[2, :, 8000:].eq(0).all())  # padding stays silent
        True
    """

    def __init__(self, *, alpha: float = 1.0, policy: str = "pad", **kwargs: Any) -> None:
        owner = type(self).__name__
        refuse_op(owner, "WaveformOp", kwargs)
        op = WaveformOp(policy=check_policy(owner, policy))
        super().__init__(alpha=alpha, op=op, **kwargs)

    @property
    def policy(self) -> str:
        """The length policy of the mixed rows."""
        return cast(WaveformOp, self.op).policy

    def repr_args(self) -> dict[str, Any]:
        return preset_args(super().repr_args(), self.policy)
