"""The drawn parameters of one mixed batch, and the samplers that draw them.

All randomness of mixkit goes through an explicit CPU ``torch.Generator`` in this module.
Parameters are small (a partner index, a lam per sample, maybe boxes) and are drawn on the CPU,
then moved to the data's device: one seed gives the same draw on CPU and CUDA alike.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.special
import torch
from torch import Tensor

__all__ = ["MixParams", "Mode"]

Mode = Literal["batch", "elem", "pair"]
MODES: tuple[str, ...] = ("batch", "elem", "pair")


@dataclass(frozen=True, eq=False)
class MixParams:
    """What was drawn for one batch (immutable; all tensors on the CPU).

    Attributes:
        index: ``(B,)`` int64, the partner of each sample. Not necessarily a permutation: rows
            skipped by the application probability ``p`` are their own partner.
        lam: ``(B,)`` float32, the weight of the original sample (``1`` = untouched).
        box: ``(1 | B, n_spatial, 2)`` int64 ``[start, stop)`` boxes for CutMix-like ops, else None.
        choice: which mixer of a :class:`mixkit.RandomChoice` drew these, else None.
    """

    index: Tensor
    lam: Tensor
    box: Tensor | None = None
    choice: int | None = None

    @property
    def batch_size(self) -> int:
        return int(self.index.shape[0])

    @functools.cached_property
    def weight(self) -> Tensor | float:
        """``lam`` as one float when every sample has the same (cheaper to apply), else lam."""
        values = self.lam.tolist()
        return float(values[0]) if values and values.count(values[0]) == len(values) else self.lam

    @classmethod
    def identity(cls, batch_size: int) -> MixParams:
        """Every sample its own partner with ``lam = 1``: mixing with these changes nothing."""
        return cls(index=torch.arange(batch_size), lam=torch.ones(batch_size, dtype=torch.float32))

    def replace(self, **changes: object) -> MixParams:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        box = None if self.box is None else tuple(self.box.shape)
        return (
            f"MixParams(batch_size={self.batch_size}, lam={self.lam.tolist()}, "
            f"index={self.index.tolist()}, box_shape={box}, choice={self.choice})"
        )


def sample_beta(alpha: float, n: int, generator: torch.Generator) -> Tensor:
    """``n`` draws of ``Beta(alpha, alpha)`` as float32, from ``generator`` only.

    Inverse-CDF sampling (``scipy.special.betaincinv`` of a uniform): exact, one uniform per
    draw, and driven by the torch generator alone, so it is reproducible and resumable.
    ``alpha = 0`` means no mixing (``lam = 1``), as in the reference code.
    """
    if alpha == 0.0:
        return torch.ones(n, dtype=torch.float32)
    u = torch.rand(n, dtype=torch.float64, generator=generator)
    return torch.from_numpy(beta_ppf(alpha, u.numpy())).to(torch.float32)


# Outside this range scipy's betaincinv(alpha, alpha, u) returns NaN or a wrong 0.5 (subnormal
# alpha); there the limits are exact to float64 precision.
_ALPHA_TINY, _ALPHA_HUGE = 1e-300, 1e300


def beta_ppf(alpha: float, u: np.ndarray | float) -> np.ndarray:
    """The ``Beta(alpha, alpha)`` quantile of ``u`` (float64 array, or float), for ``alpha > 0``.

    As ``alpha -> 0`` the distribution tends to the fair coin on {0, 1} (lam = 0 below u = 1/2);
    as ``alpha -> inf`` to a normal around 1/2 with variance ``1 / (8 alpha + 4)``.
    """
    if alpha < _ALPHA_TINY:
        return np.where(u < 0.5, 0.0, 1.0)
    if alpha > _ALPHA_HUGE:
        normal: np.ndarray = scipy.special.ndtri(u)
        spread: np.ndarray = 0.5 + normal / np.sqrt(8.0 * alpha + 4.0)
        return spread
    return np.asarray(scipy.special.betaincinv(alpha, alpha, u), dtype=np.float64)


def draw_lam(mode: str, batch_size: int, alpha: float, generator: torch.Generator) -> Tensor:
    """``(B,)`` lam: one per batch (``batch``), per sample (``elem``) or per pair (``pair``).

    In ``pair`` mode, element ``k`` of the returned draws belongs to the k-th pair of the
    involution drawn by :func:`random_involution`; :func:`spread_pair_lam` puts it on both rows.
    """
    if mode == "batch":
        if alpha == 0.0:
            return torch.ones(batch_size, dtype=torch.float32)
        # the common case, kept to two small ops (one uniform, one fill) and a scalar quantile
        u = torch.rand(1, dtype=torch.float64, generator=generator).tolist()[0]
        return torch.full((batch_size,), float(beta_ppf(alpha, u)))
    if mode == "elem":
        return sample_beta(alpha, batch_size, generator)
    return sample_beta(alpha, batch_size // 2, generator)


def random_involution(batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Random pairs: ``index[index[i]] == i``; with odd B one sample is its own partner.

    Returns ``(index, pair_id)`` where ``pair_id[i]`` is the pair row ``i`` belongs to
    (``-1`` for the unpaired sample).
    """
    perm = torch.randperm(batch_size, generator=generator)
    n_pairs = batch_size // 2
    first, second = perm[0 : 2 * n_pairs : 2], perm[1 : 2 * n_pairs : 2]
    index = torch.arange(batch_size)
    index[first], index[second] = second, first
    pair_id = torch.full((batch_size,), -1, dtype=torch.int64)
    pair_id[first] = pair_id[second] = torch.arange(n_pairs)
    return index, pair_id


def spread_pair_lam(pair_lam: Tensor, pair_id: Tensor) -> Tensor:
    """Per-pair lam onto both members (``lam = 1`` for an unpaired sample)."""
    lam = torch.ones(pair_id.shape[0], dtype=torch.float32)
    paired = pair_id >= 0
    lam[paired] = pair_lam[pair_id[paired]]
    return lam


def skip_rows(
    index: Tensor, lam: Tensor, p: float, generator: torch.Generator, pair_id: Tensor | None
) -> tuple[Tensor, Tensor]:
    """Application probability ``p`` per sample (per pair in ``pair`` mode).

    Skipped rows get ``lam = 1`` and themselves as partner: they pass through untouched.
    """
    batch_size = index.shape[0]
    if pair_id is None:
        skip = torch.rand(batch_size, generator=generator) >= p
    else:
        pair_skip = torch.rand(batch_size // 2, generator=generator) >= p
        skip = torch.zeros(batch_size, dtype=torch.bool)
        paired = pair_id >= 0
        skip[paired] = pair_skip[pair_id[paired]]
    index = torch.where(skip, torch.arange(batch_size), index)
    lam = torch.where(skip, torch.ones_like(lam), lam)
    return index, lam
