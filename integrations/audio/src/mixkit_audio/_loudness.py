"""Loudness-aware mixing: the partner placed at a sampled SNR, labels by energy share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import Tensor

import mixkit
from mixkit.validation import check_float, describe, fail
from mixkit_audio import functional as AF
from mixkit_audio._ops import AudioOp, check_policy, preset_args, refuse_op
from mixkit_audio._params import AudioParams
from mixkit_audio._validation import Lengths

__all__ = ["LoudnessMixUp", "LoudnessOp"]


def check_snr(owner: str, snr: object) -> tuple[float, float]:
    """``snr`` as a ``(low, high)`` range in dB (one number: a fixed SNR)."""
    if isinstance(snr, int | float) and not isinstance(snr, bool):
        low = high = check_float(owner, "snr", snr)
    else:
        if not isinstance(snr, Sequence) or isinstance(snr, str) or len(snr) != 2:
            fail(
                owner,
                "snr as a number or a (low, high) pair in dB",
                describe(snr),
                type_error=True,
            )
        low, high = (check_float(owner, "snr", v) for v in snr)
    if low > high:
        fail(owner, "snr as (low, high) in dB with low <= high", f"({low:g}, {high:g})")
    return low, high


class LoudnessOp(AudioOp):
    """The loudness rule: the partner placed at an SNR drawn per batch, row or pair (the mode),
    levels over valid samples, labels by energy share (see :class:`LoudnessMixUp`).

    The mixer's ``alpha`` is not used (lam comes from the SNR): build the mixer with
    ``alpha=0`` so that nothing else is drawn, as :class:`LoudnessMixUp` does.

    Args:
        snr: ``(low, high)`` in dB, or one number.
        policy: ``"pad"`` (default), ``"min"`` or ``"max"``.
        min_rms: sources at or below this RMS over their samples in the mix are silent: their
            rows are left unmixed.
    """

    def __init__(
        self,
        *,
        snr: float | tuple[float, float] = (-10.0, 10.0),
        policy: str = "pad",
        min_rms: float = 1e-4,
    ) -> None:
        super().__init__(policy=policy)
        owner = type(self).__name__
        self.snr = check_snr(owner, snr)
        self.min_rms = check_float(owner, "min_rms", min_rms, low=0.0)

    def draw(
        self,
        batch: mixkit.OpBatch,
        lam: Tensor,
        index: Tensor,
        generator: torch.Generator,
        *,
        mode: str,
        fixed: bool,
    ) -> tuple[Tensor, Tensor | None]:
        """An SNR per batch / row / pair, as the nominal energy share; a fixed lam IS that
        share (the SNR is drawn all the same, so the stream does not depend on it)."""
        size = lam.shape[0]
        low, high = self.snr
        u = torch.rand(1 if mode == "batch" else size, dtype=torch.float64, generator=generator)
        if mode == "pair":  # both members of a pair share the lower member's draw
            u = u[torch.minimum(torch.arange(size), index)]
        own = index == torch.arange(size)
        if fixed:
            return torch.where(own, 1.0, lam), None
        share = AF.snr_to_share((low + (high - low) * u).expand(size)).to(torch.float32)
        return torch.where(own, 1.0, share), None

    def bind(self, batch: mixkit.OpBatch, params: mixkit.MixParams) -> AudioParams:
        """Levels over the samples that land in the mix, gains, label shares."""
        lengths: Lengths = batch.context["lengths"]
        x: Tensor = batch.data
        size = params.batch_size
        rows = torch.arange(size)
        index = params.index
        nominal = params.lam
        if isinstance(params, AudioParams) and params.snr_db is not None:  # re-binding
            nominal = AF.snr_to_share(params.snr_db).to(torch.float32)
        moved = (nominal < 1) & (index != rows)
        full = lengths.absolute
        out = AF.mixed_lengths(full, index, self.policy, moved=moved)
        n_own = torch.minimum(full, out)
        n_partner = torch.minimum(full.index_select(0, index), out)
        both = AF.segment_rms(x, torch.cat([rows, index]), torch.cat([n_own, n_partner])).cpu()
        rms_own, rms_partner = both[:size], both[size:]
        silent = moved & ((rms_own <= self.min_rms) | (rms_partner <= self.min_rms))
        moved = moved & ~silent
        index = torch.where(silent, rows, index)
        nominal = torch.where(moved, nominal, 1.0)
        out = torch.where(moved, out, full)
        share = AF.energy_share(nominal, n_own, n_partner).to(torch.float32)
        label = torch.where(n_own == n_partner, nominal, share)
        return AudioParams(
            index=index, lam=torch.where(moved, label, 1.0), box=None, choice=params.choice,
            lengths=full, out_lengths=out, moved=moved, frame_lam=nominal,
            gains=AF.loudness_gains(nominal, rms_own, rms_partner),
            snr_db=AF.share_to_snr(nominal),
        )  # fmt: skip

    def combine(
        self,
        x: Tensor,
        index: Tensor,
        lam: Tensor | float,
        params: AudioParams,
        *,
        out: Tensor | None = None,
    ) -> Tensor:
        if params.gains is None:  # not bound by this operation
            fail(type(self).__name__, "parameters bound by LoudnessOp.bind", repr(params))
        return AF.mix_loudness(x, index, params.gains, out=out)

    def mix_row(
        self, out: Tensor, own: Tensor, partner: Tensor, weight: float, row: int,
        params: AudioParams,
    ) -> None:  # fmt: skip
        if params.gains is None:
            fail(type(self).__name__, "parameters bound by LoudnessOp.bind", repr(params))
        gain_own, gain_partner = params.gains[row].tolist()
        torch.mul(own, gain_own, out=out)
        out.add_(partner, alpha=gain_partner)

    def __repr__(self) -> str:
        return f"LoudnessOp(snr={self.snr}, policy={self.policy!r}, min_rms={self.min_rms})"


class LoudnessMixUp(mixkit.Mixer):
    r"""Mix each clip with its partner at a sampled signal-to-noise ratio; labels follow energy.

    For each mixed row an SNR in dB is drawn; the partner is scaled to sit that far below the
    original (levels measured over the valid samples only), the louder component plays at the
    original's level, and the original's label weight is its share of the energy of the mix.
    Labels then follow what is heard, even for clips of different lengths. The preset is
    ``mixkit.Mixer(alpha=0, op=LoudnessOp(snr, policy, min_rms))``. See the speech guide of the
    documentation (docs/guides/speech.md) for the formulas and the defaults.

    Args:
        snr: ``(low, high)`` range in dB (default ``(-10, 10)``: label shares from 0.09 to
            0.91), or one number for a fixed SNR. ``mode="batch"`` draws one SNR per batch,
            ``"elem"`` one per row, ``"pair"`` one per pair.
        policy: ``"pad"`` (default), ``"min"`` or ``"max"``, as in :class:`WaveformMixUp`.
        min_rms: sources whose RMS over their samples in the mix is at or below this are
            silent, and their rows are left unmixed. Default 1e-4 (-80 dBFS).
        **kwargs: every other argument of :class:`mixkit.MixUp` except ``alpha`` and ``op``
            (``mode``, ``p``, ``num_classes``, ``task``, ``union``, ``pairing``, ``weighting``,
            ``relabel``, ``schedule`` on ``p``, ``generator``, ``enabled``, ...).

    Raises:
        ValueError: an inverted SNR range, a negative ``min_rms``, a schedule on ``alpha``,
            and every input error of :class:`WaveformMixUp`.
        TypeError: ``alpha`` given (the weight comes from the SNR).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> mixer = LoudnessMixUp(snr=(0, 6), num_classes=10, generator=g)
        >>> mixed = mixer(torch.randn(4, 16000), torch.tensor([0, 1, 2, 3]))
        >>> mixed.params.snr_db.min() >= 0 and bool((mixed.lam >= 0.5).all())
        True
    """

    def __init__(
        self,
        *,
        snr: float | tuple[float, float] = (-10.0, 10.0),
        policy: str = "pad",
        min_rms: float = 1e-4,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        if "alpha" in kwargs:
            fail(
                owner,
                "no alpha (the mix is drawn as an SNR: pass snr=(low, high) in dB)",
                f"alpha={kwargs['alpha']!r}",
                type_error=True,
            )
        refuse_op(owner, "LoudnessOp", kwargs)
        op = LoudnessOp(
            snr=check_snr(owner, snr),
            policy=check_policy(owner, policy),
            min_rms=check_float(owner, "min_rms", min_rms, low=0.0),
        )
        super().__init__(alpha=0.0, op=op, **kwargs)
        if self.schedule is not None and self.schedule.target == "alpha":
            fail(
                owner,
                "a schedule on p (the SNR is drawn, there is no alpha to scale)",
                "a schedule with target='alpha'",
            )

    @property
    def snr(self) -> tuple[float, float]:
        """The SNR range in dB."""
        return cast(LoudnessOp, self.op).snr

    @property
    def policy(self) -> str:
        """The length policy of the mixed rows."""
        return cast(LoudnessOp, self.op).policy

    @property
    def min_rms(self) -> float:
        """The RMS at or below which a source counts as silent."""
        return cast(LoudnessOp, self.op).min_rms

    def repr_args(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"snr": self.snr}
        shown.update(preset_args(super().repr_args(), self.policy))
        del shown["alpha"]
        if self.min_rms != 1e-4:
            shown["min_rms"] = self.min_rms
        return shown
