"""The drawn parameters bound to one padded audio batch."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from mixkit import MixParams

__all__ = ["AudioParams"]


@dataclass(frozen=True, eq=False, kw_only=True)
class AudioParams(MixParams):
    """:class:`mixkit.MixParams` bound to a padded audio batch: what the audio op applied.

    A mixer draws plain ``MixParams`` (partners and lam); binding them to the batch resolves
    everything that depends on the lengths and, for the loudness rule, on the levels of the
    clips. All tensors are small and on the CPU. ``mixed.params`` of an audio mixer is one of
    these.

    Attributes:
        index: ``(B,)`` partners (rows left unmixed because a source is silent point to
            themselves).
        lam: ``(B,)`` float32 LABEL weight of the original: the drawn lam for the amplitude
            rule, the original's energy share of the mix for the loudness rule.
        lengths: ``(B,)`` int64 valid steps of each source.
        out_lengths: ``(B,)`` int64 valid steps of each mixed row (the length policy applied).
        moved: ``(B,)`` bool, the rows that were actually mixed (``lam < 1``, another partner,
            no silent source); the others are returned as they came.
        frame_lam: ``(B,)`` float32 weight of the original in frames where both sources sound
            (``lam`` for the amplitude rule, the nominal share ``1 / (1 + 10^(-snr/10))`` for
            the loudness rule).
        gains: ``(B, 2)`` float64 gains of the original and of the partner (loudness rule),
            else None.
        snr_db: ``(B,)`` float64 level of the original over the partner in dB (loudness rule;
            ``+inf`` on unmixed rows), else None.
    """

    lengths: Tensor
    out_lengths: Tensor
    moved: Tensor
    frame_lam: Tensor
    gains: Tensor | None = None
    snr_db: Tensor | None = None

    def __repr__(self) -> str:
        snr = None if self.snr_db is None else [round(v, 2) for v in self.snr_db.tolist()]
        return (
            f"AudioParams(batch_size={self.batch_size}, lam={self.lam.tolist()}, "
            f"index={self.index.tolist()}, lengths={self.lengths.tolist()}, "
            f"out_lengths={self.out_lengths.tolist()}, snr_db={snr})"
        )
