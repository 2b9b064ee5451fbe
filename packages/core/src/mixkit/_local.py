r"""Local Mixup: a mixed pair counts in the loss only as much as its two sources are close.

Mixing two far-apart samples can land the blend in another class's region ("manifold
intrusion"). Local Mixup weights each mixed sample's loss by a decreasing function of the
distance between its two sources (:class:`LocalWeights`, preset :class:`LocalMixUp`); the
authors' notebook variant draws near partners instead (:class:`LocalPairing`). mixkit follows
the paper, not the authors' code, which rescales the whole batch loss. See the Local Mixup page
of the documentation (docs/methods/local-mixup.md).

Paper: Baena, Drumetz, Gripon, *Preventing Manifold Intrusion with Locality: Local Mixup*,
EUSIPCO 2022 (arXiv 2201.04368).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from mixkit._mixup import MixUp
from mixkit._pairing import Pairing
from mixkit._weighting import Weighting
from mixkit.validation import check_bool, check_float, check_int, fail

__all__ = [
    "LocalMixUp",
    "LocalPairing",
    "LocalWeights",
    "knn_weights",
    "partner_distances",
    "smooth_weights",
    "threshold_weights",
]


# -- kernels ---------------------------------------------------------------------------------


def partner_distances(features: Tensor, index: Tensor) -> Tensor:
    r"""``(B,)`` Euclidean distance of each sample to its partner, :math:`\lVert f_i - f_j\rVert_2`.

    Args:
        features: ``(B, D)`` float features (flattened inputs or embeddings).
        index: ``(B,)`` int64 partner index on the same device.

    Returns:
        ``(B,)`` distances in the dtype of ``features``; exactly 0 for a sample paired with
        itself (or with an exact duplicate).
    """
    diff = features - features.index_select(0, index)  # (B, D)
    dist: Tensor = torch.linalg.vector_norm(diff, dim=1)  # (B,)
    return dist


def threshold_weights(features: Tensor, index: Tensor, eps: float) -> Tensor:
    """``(B,)`` float32 weights ``1[d <= eps]`` (the paper's threshold rule)."""
    return (partner_distances(features, index) <= eps).to(torch.float32)


def smooth_weights(features: Tensor, index: Tensor, sigma: float) -> Tensor:
    """``(B,)`` float32 weights ``exp(-sigma * d)`` with the plain (not squared) distance."""
    return torch.exp(-sigma * partner_distances(features, index)).to(torch.float32)


def knn_weights(features: Tensor, index: Tensor, knn: int) -> Tensor:
    """``(B,)`` float32 weights: 1 when the partner is among the ``knn`` nearest of the sample.

    The rank of partner ``j`` of sample ``i`` is 0 when ``j == i`` and otherwise one plus the
    number of other samples strictly closer to ``i`` than ``j`` (so ties share the better rank
    and the result does not depend on a sort order). Weight ``1[rank <= knn]``. The relation is
    not symmetric: ``j`` may be among the nearest of ``i`` but not the reverse.

    Cost: one ``(B, B)`` distance matrix, ``O(B^2 D)`` (skipped when ``knn >= B - 1``, where
    every partner qualifies).
    """
    batch = features.shape[0]
    if knn >= batch - 1:
        return torch.ones(batch, dtype=torch.float32, device=features.device)
    dist = torch.cdist(features, features)  # (B, B)
    partner = dist.gather(1, index.unsqueeze(1))  # (B, 1), from the same matrix: ties stay ties
    dist.fill_diagonal_(math.inf)  # the sample itself is never "closer"
    rank = (dist < partner).sum(dim=1) + 1  # (B,)
    rank = torch.where(index == torch.arange(batch, device=features.device), 0, rank)
    return (rank <= knn).to(torch.float32)


# -- the weighting ---------------------------------------------------------------------------

_RULES = ("eps", "sigma", "knn")


def _check_rule(
    owner: str, eps: float | None, sigma: float | None, knn: int | None
) -> tuple[str, float | int]:
    """Validate "exactly one of eps, sigma or knn" and its value; returns ``(name, value)``."""
    given = {name: v for name, v in zip(_RULES, (eps, sigma, knn), strict=True) if v is not None}
    if len(given) != 1:
        got = ", ".join(f"{k}={v!r}" for k, v in given.items()) or "none"
        fail(owner, "exactly one of eps, sigma or knn", got)
    if eps is not None:
        return "eps", check_float(owner, "eps", eps, low=0.0, allow_inf=True)
    if sigma is not None:
        return "sigma", check_float(owner, "sigma", sigma, low=0.0)
    return "knn", check_int(owner, "knn", knn, low=1)


class LocalWeights(Weighting):
    r"""Local Mixup's per-sample loss weights by the distance between the two sources.

    Give exactly one rule: ``eps`` (threshold, :math:`w_i = \mathbb 1[d_i \le \varepsilon]`),
    ``sigma`` (smooth, :math:`w_i = e^{-\sigma d_i}`) or ``knn`` (:math:`w_i = 1` when the
    partner is among the ``knn`` nearest in-batch neighbours of sample ``i``, itself rank 0:
    :func:`knn_weights`). :math:`d_i` is the Euclidean distance between the flattened inputs, or
    the ``features=`` given to the mixer call; weights do not depend on ``lam``. Far pairs count
    less, which limits manifold intrusion. A :class:`mixkit.Weighting`, usable with any mixer.
    See the Local Mixup page of the documentation (docs/methods/local-mixup.md) for the
    reductions and what ``eps = 0`` means.

    Args:
        eps: threshold, ``>= 0``; ``math.inf`` keeps every pair (vanilla mixup).
        sigma: decay rate, ``>= 0`` and finite; ``0`` is vanilla mixup.
        knn: number of neighbours, ``>= 1``; ``>= B - 1`` is vanilla mixup.

    Raises:
        ValueError: none or several rules given, or a value out of range.
        TypeError: a value of the wrong type.

    Example:
        >>> feats, lam = torch.tensor([[0.0], [1.0], [5.0]]), torch.full((3,), 0.5)
        >>> LocalWeights(eps=2.0).weights(feats, torch.tensor([1, 2, 2]), lam)  # d = 1, 4, 0
        tensor([1., 0., 1.])
        >>> LocalWeights(sigma=0.5).weights(feats, torch.tensor([1, 2, 2]), lam)
        tensor([0.6065, 0.1353, 1.0000])
        >>> LocalWeights(knn=1).weights(feats, torch.tensor([1, 2, 0]), lam)  # ranks 1, 2, 2
        tensor([1., 0., 0.])
        >>> mixer = MixUp(num_classes=2, weighting=LocalWeights(eps=2.0))  # with any mixer
    """

    def __init__(
        self, *, eps: float | None = None, sigma: float | None = None, knn: int | None = None
    ) -> None:
        self.rule, self.value = _check_rule(type(self).__name__, eps, sigma, knn)

    @property
    def eps(self) -> float | None:
        """The threshold, or None when another rule is used."""
        return float(self.value) if self.rule == "eps" else None

    @property
    def sigma(self) -> float | None:
        """The decay rate, or None when another rule is used."""
        return float(self.value) if self.rule == "sigma" else None

    @property
    def knn(self) -> int | None:
        """The number of neighbours, or None when another rule is used."""
        return int(self.value) if self.rule == "knn" else None

    def weights(self, features: Tensor, index: Tensor, lam: Tensor) -> Tensor:
        """``(B,)`` float32 weights on the device of ``features`` (``lam`` is not used)."""
        if self.rule == "eps":
            return threshold_weights(features, index, float(self.value))
        if self.rule == "sigma":
            return smooth_weights(features, index, float(self.value))
        return knn_weights(features, index, int(self.value))

    def __repr__(self) -> str:
        return f"LocalWeights({self.rule}={self.value!r})"


# -- the resample-partner variant ------------------------------------------------------------


class LocalPairing(Pairing):
    r"""Draw each sample's partner with probability proportional to :math:`e^{-\sigma d_{ij}}`.

    The variant of Local Mixup in the authors' CIFAR notebook: instead of mixing with a random
    partner and down-weighting far pairs, mix mostly with near ones (all pairs then count
    fully). :math:`d_{ij}` is the Euclidean distance between the flattened inputs (or the
    caller's ``features=``) of samples ``i`` and ``j`` of the batch:

    .. math:: P(\mathrm{index}_i = j) = \frac{e^{-\sigma d_{ij}}}{\sum_k e^{-\sigma d_{ik}}}

    The sample itself is a candidate (``d_ii = 0``, the largest probability), as in the
    authors' notebook; ``include_self=False`` leaves it out (then B = 1 pairs with itself).
    Partners are drawn independently (``index`` is not a permutation). ``sigma = 0`` is a
    uniform partner; a large ``sigma`` approaches ERM (self-pairs), or nearest-neighbour
    pairing with ``include_self=False``.

    Randomness: one uniform per sample from the mixer's CPU generator, turned into a partner by
    inverse-CDF sampling on the CPU (float64), so one seed gives the same draw on every device
    (up to distances that differ in the last bits across devices). Cost: one ``(B, B)``
    distance matrix on the data's device, ``O(B^2 D)``, copied to the CPU.

    Args:
        sigma: decay rate, finite and ``>= 0`` (the notebook's ``alpha``).
        include_self: whether a sample may draw itself as partner. Default True.

    Example:
        >>> pairing = LocalPairing(sigma=50.0, include_self=False)  # almost nearest neighbour
        >>> feats = torch.tensor([[0.0], [0.1], [5.0], [5.2]])
        >>> pairing.pair(4, feats, torch.Generator().manual_seed(0))
        tensor([1, 0, 3, 2])
        >>> mixer = MixUp(num_classes=10, pairing=LocalPairing(sigma=1.0))
        >>> mixer = LocalMixUp(eps=2.0, pairing=LocalPairing(sigma=1.0))  # both ideas at once
    """

    needs_features = True

    def __init__(self, *, sigma: float, include_self: bool = True) -> None:
        owner = type(self).__name__
        self.sigma = check_float(owner, "sigma", sigma, low=0.0)
        self.include_self = check_bool(owner, "include_self", include_self)

    def probabilities(self, features: Tensor) -> Tensor:
        """``(B, B)`` float64 CPU partner probabilities, row ``i`` for sample ``i``."""
        batch = features.shape[0]
        dist = torch.cdist(features, features).to("cpu", torch.float64)  # (B, B)
        dist.fill_diagonal_(0.0)  # exactly 0 (cdist's matrix-product path may leave a residue)
        logits = dist.mul_(-self.sigma)
        if not self.include_self and batch > 1:
            logits.fill_diagonal_(-math.inf)
        return torch.softmax(logits, dim=1)

    def pair(self, batch_size: int, features: Tensor | None, generator: torch.Generator) -> Tensor:
        if features is None:
            fail(type(self).__name__, "features (needs_features=True)", None)
        u = torch.rand(batch_size, 1, dtype=torch.float64, generator=generator)  # (B, 1) CPU
        cdf = self.probabilities(features).cumsum_(dim=1)  # (B, B)
        # first j with cdf_j > u * total: P(j) = p_j, and zero-probability partners never come
        index = torch.searchsorted(cdf, u * cdf[:, -1:], right=True).squeeze(1)
        return index.clamp_(max=batch_size - 1)

    def __repr__(self) -> str:
        extra = "" if self.include_self else ", include_self=False"
        return f"LocalPairing(sigma={self.sigma!r}{extra})"


# -- the preset ------------------------------------------------------------------------------


class LocalMixUp(MixUp):
    r"""Local Mixup: :class:`mixkit.MixUp` whose loss weights near pairs more than far ones.

    ``LocalMixUp(eps=1.0, ...)`` is ``MixUp(weighting=LocalWeights(eps=1.0), ...)``: the mixed
    batch is vanilla mixup's (same draw for the same seed) and ``mixed.weights`` holds
    :math:`W(d_i)`, which :meth:`mixkit.Mixed.loss` applies per sample, as the paper does. See
    the Local Mixup page of the documentation (docs/methods/local-mixup.md).

    Args:
        eps: threshold rule ``W = 1[d <= eps]`` (``math.inf``: vanilla mixup).
        sigma: smooth rule ``W = exp(-sigma * d)`` (``0``: vanilla mixup).
        knn: k-NN rule, ``W = 1`` when the partner is among the ``knn`` nearest in the batch.
            Give exactly one of ``eps``, ``sigma``, ``knn``.
        alpha: Beta concentration of lam (default 1.0, as the paper).
        **kwargs: every other argument of :class:`mixkit.MixUp` (``mode``, ``p``,
            ``num_classes``, ``pairing`` — e.g. :class:`LocalPairing` or a k-mixup pairing —,
            ``relabel``, ``schedule``, ``generator``, ...), except ``weighting``.

    Raises:
        ValueError: none or several of ``eps`` / ``sigma`` / ``knn``, a value out of range,
            or a ``weighting`` argument.

    Example:
        >>> mixer = LocalMixUp(eps=2.0, num_classes=2, generator=torch.Generator().manual_seed(0))
        >>> x, y = torch.tensor([[0.0], [1.0], [5.0]]), torch.tensor([0, 0, 1])
        >>> mixed = mixer(x, y)                       # a training step: mixed.loss(model(...))
        >>> params = mixer.draw(x, lam=0.5).replace(index=torch.tensor([1, 2, 2]))
        >>> mixer.mix(x, y, params).weights           # d = 1, 4 and 0 (a self-pair)
        tensor([1., 0., 1.])
    """

    def __init__(
        self,
        *,
        eps: float | None = None,
        sigma: float | None = None,
        knn: int | None = None,
        alpha: float = 1.0,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        if "weighting" in kwargs:
            fail(
                owner,
                "no weighting argument (LocalMixUp's weighting is LocalWeights(eps | sigma | "
                "knn); use MixUp(weighting=...) for another one)",
                f"weighting={kwargs['weighting']!r}",
            )
        _check_rule(owner, eps, sigma, knn)  # errors name LocalMixUp, not LocalWeights
        weighting = LocalWeights(eps=eps, sigma=sigma, knn=knn)
        super().__init__(alpha=alpha, weighting=weighting, **kwargs)

    def repr_args(self) -> dict[str, Any]:
        shown = super().repr_args()
        if isinstance(self.weighting, LocalWeights):  # the rule first, instead of the weighting
            del shown["weighting"]
            shown = {self.weighting.rule: self.weighting.value, **shown}
        return shown
