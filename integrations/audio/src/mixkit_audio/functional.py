r"""Pure audio kernels: lengths and masks, the mixing rules, frame targets. No randomness.

Every mixer of mixkit-audio calls these, and you can too. Conventions:

* Time is the LAST axis: waveforms ``(B, T)`` or ``(B, channels, T)``, spectrograms
  ``(B, n_mels, frames)`` or ``(B, channels, n_mels, frames)``.
* Lengths are absolute ``(B,)`` int64 counts along that axis (:func:`absolute_lengths` converts
  SpeechBrain's relative lengths). Masks are ``(B, T)`` bool, True on VALID steps (like Hugging
  Face's ``attention_mask``); ``~mask`` is the padding mask (like PyTorch's
  ``key_padding_mask``).
* ``lam`` is the weight of the ORIGINAL row ``i``, ``1 - lam`` that of its partner ``index[i]``
  (as everywhere in mixkit).
* Mixing kernels expect sources whose padding already holds the silence value
  (:func:`fill_padding`), never modify their arguments and return new tensors (or write into
  an explicit ``out=`` where they take one).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

from mixkit import functional as core
from mixkit.validation import fail, shape_str
from mixkit_audio._validation import check_out

__all__ = [
    "POLICIES",
    "absolute_lengths",
    "energy_share",
    "fill_padding",
    "frame_lengths",
    "lengths_from_mask",
    "lengths_to_mask",
    "loudness_gains",
    "mix_frame_targets",
    "mix_log_power",
    "mix_loudness",
    "mixed_lengths",
    "padding_holds",
    "segment_rms",
    "share_to_snr",
    "snr_to_share",
]

Policy = Literal["min", "max", "pad"]
POLICIES: tuple[str, ...] = ("min", "max", "pad")
_HALF = (torch.float16, torch.bfloat16)


def _per_row(values: Tensor, ndim: int, dtype: torch.dtype) -> Tensor:
    # (B,) -> (B, 1, ..., 1), broadcasting against a (B, ...) batch
    return values.to(dtype).reshape(-1, *([1] * (ndim - 1)))


# -- lengths and masks ----------------------------------------------------------------------


def lengths_to_mask(lengths: Tensor, size: int) -> Tensor:
    """``(B, size)`` bool mask, True on the first ``lengths[i]`` steps of row ``i``.

    Example:
        >>> lengths_to_mask(torch.tensor([1, 3]), 3)
        tensor([[ True, False, False],
                [ True,  True,  True]])
    """
    if lengths.device.type == "cpu" and size >= 1 << 13:  # long rows: one memset per row
        mask = torch.zeros(lengths.shape[0], size, dtype=torch.bool)
        for i, n in enumerate(lengths.tolist()):
            mask[i, :n] = True
        return mask
    return torch.arange(size, device=lengths.device) < lengths.unsqueeze(1)


def lengths_from_mask(mask: Tensor) -> Tensor:
    """Lengths ``(B,)`` int64 of a right-padded ``(B, T)`` mask (Hugging Face ``attention_mask``).

    Raises:
        ValueError: the mask is not ``(B, T)``, or a row has a valid step after a padded one
            (left padding: mixkit-audio's lengths count valid steps from the start).
    """
    if mask.ndim != 2:
        fail("lengths_from_mask", "a (B, T) mask", f"shape {shape_str(mask.shape)}")
    valid = mask.to(torch.bool)
    lengths = valid.sum(dim=1)
    if not torch.equal(valid, lengths_to_mask(lengths, mask.shape[1])):
        fail(
            "lengths_from_mask",
            "a right-padded mask (valid steps first, then padding)",
            "a row with a valid step after a padded one",
        )
    return lengths.to(torch.int64)


def absolute_lengths(relative: Tensor, size: int) -> Tensor:
    """Relative lengths in ``[0, 1]`` (SpeechBrain) to int64 counts: ``round(rel * size)``."""
    return torch.round(relative.to(torch.float64) * size).to(torch.int64)


def mixed_lengths(
    lengths: Tensor, index: Tensor, policy: str, *, moved: Tensor | None = None
) -> Tensor:
    """Length of each mixed row under a policy.

    * ``"min"``: truncate to the shorter source, ``min(L_i, L_j)`` (ESPnet's choice: both
      sources are present over the whole clip, but the longer one loses its end);
    * ``"max"``: keep the longer, ``max(L_i, L_j)`` (the shorter source is silent past its end);
    * ``"pad"``: keep the original's length ``L_i``, the partner cut or padded with silence
      (lengths, masks and frame labels stay those of the original row).

    Rows with ``moved[i] == False`` (not mixed) keep their own length.
    """
    partner = lengths.index_select(0, index)
    if policy == "min":
        out = torch.minimum(lengths, partner)
    elif policy == "max":
        out = torch.maximum(lengths, partner)
    elif policy == "pad":
        out = lengths.clone()
    else:
        fail(
            "mixed_lengths", f"policy to be one of {' | '.join(map(repr, POLICIES))}", repr(policy)
        )
    return out if moved is None else torch.where(moved, out, lengths)


def fill_padding(x: Tensor, lengths: Tensor, value: float = 0.0) -> Tensor:
    """A copy of ``x`` whose steps past each row's length hold ``value`` (silence).

    Waveform silence is 0; for log features pass the floor (e.g. -100 dB).
    """
    mask = lengths_to_mask(lengths.to(x.device), x.shape[-1])  # (B, T)
    mask = mask.reshape(x.shape[0], *([1] * (x.ndim - 2)), x.shape[-1])
    return x.masked_fill(~mask, value)


def frame_lengths(lengths: Tensor, num_samples: int, num_frames: int) -> Tensor:
    """Frames covering each row when ``num_samples`` steps map onto ``num_frames`` frames.

    ``ceil(L * F / T)``: a frame that holds at least part of the clip counts as valid. For the
    exact frame count of a torchaudio transform use :func:`mixkit_audio.transform_lengths`.
    """
    return (lengths.to(torch.int64) * num_frames + num_samples - 1) // num_samples


# -- loudness -------------------------------------------------------------------------------


def segment_rms(x: Tensor, rows: Tensor, stop: Tensor) -> Tensor:
    """RMS of row ``rows[k]`` of ``x`` over its first ``stop[k]`` steps, all channels together.

    Only valid samples count: padding never dilutes the level. Rows with ``stop = 0`` get 0.
    Accumulated in float64. On the CPU each request reads its segment once (no temporary of
    the batch's size); elsewhere one vectorised prefix sum.

    Args:
        x: ``(B, ..., T)`` batch.
        rows: ``(K,)`` int64 row of each request.
        stop: ``(K,)`` int64 number of leading steps, in ``[0, T]``.

    Returns:
        ``(K,)`` float64 on ``x``'s device.
    """
    x = x.detach()
    flat = x.reshape(x.shape[0], -1, x.shape[-1])  # (B, C, T)
    if x.device.type == "cpu":
        energy = _segment_energy_rows(flat, rows, stop)
    else:
        energy = _segment_energy_prefix(flat, rows.to(x.device), stop.to(x.device))
    count = (stop.to(torch.float64) * flat.shape[1]).to(x.device)
    return torch.where(count > 0, energy / count.clamp_min(1.0), 0.0).sqrt()


def _segment_energy_rows(flat: Tensor, rows: Tensor, stop: Tensor) -> Tensor:
    pairs = zip(rows.tolist(), stop.tolist(), strict=True)
    return torch.tensor(
        [
            float(torch.linalg.vector_norm(flat[r, :, :n], dtype=torch.float64)) ** 2
            for r, n in pairs
        ],
        dtype=torch.float64,
    )


def _segment_energy_prefix(flat: Tensor, rows: Tensor, stop: Tensor) -> Tensor:
    per_step = flat.float().square().sum(dim=1)  # (B, T)
    prefix = torch.cumsum(per_step, dim=1, dtype=torch.float64)
    prefix = torch.nn.functional.pad(prefix, (1, 0))  # (B, T + 1), prefix[:, 0] = 0
    return prefix[rows, stop]


def padding_holds(x: Tensor, lengths: Tensor, value: float) -> bool:
    """True when every step past each row's length already holds ``value``.

    For long CPU rows only the padding is read, row by row: the common zero-padded batch (a
    collate, a Hugging Face feature extractor) then needs no silenced copy.
    """
    if x.device.type == "cpu" and x.shape[-1] >= 1 << 13:
        return _padding_holds_rows(x, lengths, value)
    return _padding_holds_masked(x, lengths, value)


def _padding_holds_rows(x: Tensor, lengths: Tensor, value: float) -> bool:
    size = x.shape[-1]
    for i, n in enumerate(lengths.tolist()):
        if n < size:
            tail = x[i, ..., n:]
            if bool(tail.any() if value == 0.0 else tail.ne(value).any()):
                return False
    return True


def _padding_holds_masked(x: Tensor, lengths: Tensor, value: float) -> bool:
    size = x.shape[-1]
    pad = ~lengths_to_mask(lengths.to(x.device), size)  # (B, T)
    pad = pad.reshape(x.shape[0], *([1] * (x.ndim - 2)), size)
    return not bool((x.ne(value) & pad).any())


def snr_to_share(snr_db: Tensor) -> Tensor:
    r"""Energy share of the original at a given SNR: :math:`1 / (1 + 10^{-s/10})`."""
    return torch.sigmoid(snr_db.to(torch.float64) * (math.log(10.0) / 10.0))


def share_to_snr(share: Tensor) -> Tensor:
    r"""Inverse of :func:`snr_to_share`: :math:`10 \log_{10}(\lambda / (1 - \lambda))` dB.

    ``share = 1`` gives ``+inf`` (the partner is not heard), ``0`` gives ``-inf``.
    """
    s = share.to(torch.float64)
    return 10.0 * (torch.log10(s) - torch.log10(1.0 - s))


def loudness_gains(lam: Tensor, rms_own: Tensor, rms_partner: Tensor) -> Tensor:
    r"""Gains ``(B, 2)`` of the original and of its partner for loudness-aware mixing.

    The two components of the mix differ by :math:`s = 10\log_{10}(\lambda/(1-\lambda))` dB
    (``lam`` is the nominal energy share, :func:`snr_to_share`), measured by their RMS over the
    samples that land in the mix, and the LOUDER component plays at the original's level:

    .. math::
        \rho = 10^{s/20},\quad g_i = \min(1, \rho),\quad
        g_j = \frac{\mathrm{rms}_i}{\mathrm{rms}_j}\,\min(1, 1/\rho)

    so ``g_i rms_i / (g_j rms_j) = rho``. ``lam = 1`` gives ``(1, 0)`` (the original alone).
    A silent partner (RMS 0) gets gain 0; callers leave such rows unmixed.

    Returns:
        ``(B, 2)`` float64: column 0 the original's gain, column 1 the partner's.
    """
    lam = lam.to(torch.float64)
    own = torch.sqrt(torch.clamp(lam / (1.0 - lam), max=1.0))  # lam = 1: inf -> 1
    partner = torch.sqrt(torch.clamp((1.0 - lam) / lam, max=1.0))  # lam = 1: 0
    rms_own, rms_partner = rms_own.to(torch.float64), rms_partner.to(torch.float64)
    ratio = torch.where(rms_partner > 0, rms_own / rms_partner.clamp_min(1e-300), 0.0)
    partner = torch.where(lam >= 1.0, 0.0, partner * ratio)
    return torch.stack([own, partner], dim=1)


def energy_share(lam: Tensor, n_own: Tensor, n_partner: Tensor) -> Tensor:
    r"""The original's share of the mix's energy.

    Its samples and the partner's cover ``n_own`` and ``n_partner`` steps at a level ratio given
    by ``lam`` (:func:`loudness_gains`):

    .. math:: \frac{\lambda\, n_i}{\lambda\, n_i + (1 - \lambda)\, n_j}

    Equal coverage gives ``lam`` itself. The cross term ``2 g_i g_j <x_i, x_j>`` is ignored
    (zero on average for independent clips). Returns float64.
    """
    lam = lam.to(torch.float64)
    own = lam * n_own.to(torch.float64)
    total = own + (1.0 - lam) * n_partner.to(torch.float64)
    return torch.where(total > 0, own / total.clamp_min(1e-300), 1.0)


def mix_loudness(x: Tensor, index: Tensor, gains: Tensor, *, out: Tensor | None = None) -> Tensor:
    r"""``g_i x_i + g_j x_{index_i}`` for gains from :func:`loudness_gains`.

    Computed as ``(g_i + g_j) * lerp(x_j, x_i, g_i / (g_i + g_j))`` with the core's
    :func:`mixkit.functional.mix`: rows with gains ``(1, 0)`` come back bit-exact. ``out``: a
    tensor like ``x`` to write into (as for :func:`mixkit.functional.mix`).
    """
    gains = gains.to(device=x.device, dtype=torch.float64)
    total = gains.sum(dim=1)
    weight = torch.where(total > 0, gains[:, 0] / total.clamp_min(1e-300), 1.0)
    out = core.mix(x, index, weight.to(torch.float32), out=out)
    if bool((total != 1.0).any()):
        out.mul_(_per_row(torch.where(total > 0, total, 1.0), x.ndim, x.dtype))
    return out


def mix_log_power(
    x: Tensor, index: Tensor, lam: Tensor | float, *, scale: float, out: Tensor | None = None
) -> Tensor:
    r"""Mix log features in the power domain: the log of ``lam * P_i + (1 - lam) * P_j``.

    For features ``X = log(P) / scale`` (``scale = 1`` for the natural log of a power
    spectrogram, ``ln(10) / 10`` for decibels):

    .. math:: \tilde X_i = \frac{1}{k}\,\mathrm{logaddexp}(kX_i + \log\lambda,\;
        kX_j + \log(1-\lambda))

    which lies between ``X_i`` and ``X_j``. On average over the phases, the spectrogram of
    ``sqrt(lam) x_i + sqrt(1 - lam) x_j`` is exactly this mix of powers; a plain ``lerp`` of log
    features is a geometric mean of powers instead (the trap this kernel avoids). ``out``: a
    tensor like ``x`` to write into (not differentiable).
    """
    if out is not None:
        check_out("mix_log_power", out, x)
    work = x.float() if x.dtype in _HALF else x
    if isinstance(lam, Tensor):
        weight = _per_row(lam, x.ndim, work.dtype).to(x.device)
    else:
        weight = torch.tensor(float(lam), dtype=work.dtype, device=x.device)
    own = (work * scale).add_(torch.log(weight))  # two new tensors, the rest in place
    partner = work.index_select(0, index).mul_(scale).add_(torch.log1p(-weight))
    if work.requires_grad and torch.is_grad_enabled():  # out= kernels are not differentiable
        return (torch.logaddexp(own, partner) / scale).to(x.dtype)
    if out is None or out.dtype != work.dtype:
        mixed = torch.logaddexp(own, partner, out=own).div_(scale).to(x.dtype)
        return mixed if out is None else out.copy_(mixed)
    return torch.logaddexp(own, partner, out=out).div_(scale)


# -- frame-level targets --------------------------------------------------------------------


def mix_frame_targets(
    targets: Tensor,
    index: Tensor,
    lam: Tensor,
    lengths: Tensor,
    out_lengths: Tensor,
    *,
    moved: Tensor | None = None,
    union: bool = False,
) -> Tensor:
    r"""Mix frame-level targets ``(B, F, C)`` consistently with the mixed lengths.

    In frame ``f`` of mixed row ``i`` each source counts only if it sounds there (``f`` below
    its own length and below the mixed length):

    .. math::
        w_i = \lambda_i [f < F_i],\quad w_j = (1-\lambda_i)[f < F_j],\quad
        \tilde Y_i[f] = \frac{w_i Y_i[f] + w_j Y_j[f]}{w_i + w_j}

    so a frame where only the partner sounds carries the partner's label in full, and frames
    past the mixed length are 0. With ``union=True`` (multi-label tagging) a frame holds the
    labels of every source that sounds there (``max``). Rows with ``moved[i] == False`` keep
    their targets.

    Args:
        targets: ``(B, F, C)`` float frame targets (one-hot / soft / multi-hot).
        index: ``(B,)`` partner index.
        lam: ``(B,)`` weight of the original where both sound (for the loudness rule: the
            nominal energy share).
        lengths: ``(B,)`` int64 valid frames of each source.
        out_lengths: ``(B,)`` int64 valid frames of each mixed row.
        moved: ``(B,)`` bool, rows that were mixed (default: all).
        union: multi-label union instead of the weighted mix.

    Returns:
        ``(B, F, C)`` float32.
    """
    device = targets.device
    frames = targets.shape[1]
    index, lengths, out_lengths = index.to(device), lengths.to(device), out_lengths.to(device)
    lam = lam.to(device=device, dtype=torch.float32).unsqueeze(1)  # (B, 1)
    inside = lengths_to_mask(out_lengths, frames)  # (B, F)
    own = lengths_to_mask(lengths, frames) & inside
    partner_on = lengths_to_mask(lengths.index_select(0, index), frames) & inside
    w_own = lam * own  # (B, F)
    w_partner = (1.0 - lam) * partner_on
    partner = targets.index_select(0, index)
    if union:
        out = torch.maximum(
            targets * (w_own > 0).unsqueeze(2), partner * (w_partner > 0).unsqueeze(2)
        )
    else:
        total = (w_own + w_partner).unsqueeze(2)  # (B, F, 1)
        mixed = w_own.unsqueeze(2) * targets + w_partner.unsqueeze(2) * partner
        out = torch.where(total > 0, mixed / total.clamp_min(1e-12), 0.0)
    if moved is not None:
        out = torch.where(moved.to(device).reshape(-1, 1, 1), out, targets)
    return out
