r"""Local Mixup: a mixed pair counts in the loss only as much as its two sources are close.

Paper: Baena, Drumetz, Gripon, *Preventing Manifold Intrusion with Locality: Local Mixup*,
EUSIPCO 2022 (arXiv 2201.04368). Mixing two far-apart samples can land the mixed point in
another class's region ("manifold intrusion"); Local Mixup weights the loss of each mixed
sample by a decreasing function of the distance between its two sources:

.. math::
    L = \frac{1}{B} \sum_i W(d_i)\, \ell\big(f(\tilde x_i), \tilde y_i\big), \qquad
    d_i = \lVert x_i - x_{\mathrm{index}_i} \rVert_2

with the plain (not squared) Euclidean distance on the flattened model inputs (or on the
``features=`` the caller passes to the mixer, e.g. embeddings). Three weight functions:

* threshold ``W = 1[d <= eps]`` (the paper's main one);
* smooth ``W = exp(-sigma * d)`` (the authors used ``sigma = 5e-4`` on 784-d inputs);
* k-NN indicator: ``W = 1`` when the partner is among the ``knn`` nearest in-batch neighbours
  of the sample (the sample itself has rank 0, its nearest other sample rank 1).

And the variant of the authors' CIFAR notebook that does not weight but *resamples* the partner
with probability proportional to ``exp(-sigma * d_ij)`` (:class:`LocalPairing`).

Limits that hold exactly: ``eps = inf``, ``sigma = 0`` or ``knn >= B - 1`` is vanilla mixup
(all weights 1). A sample paired with itself has ``d = 0`` and weight 1, so ``eps = 0`` keeps
only self-pairs, which are unmixed samples: plain ERM (see :class:`LocalWeights` for the exact
statement).

.. note::
    **The official code does not do what the paper says, mixkit implements the paper.** In the
    authors' scripts the criterion is mean-reduced *before* it is multiplied by the weights, so
    ``(loss * w).mean()`` is ``loss * mean(w)``: a rescale of the whole batch loss under which
    every pair, near or far, counts equally; the Fashion-MNIST / SVHN model returns weights of
    1; the SVHN script loads Fashion-MNIST. Here each sample's own loss is weighted
    (:func:`mixkit.mixed_loss`).
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

    A :class:`mixkit.Weighting` usable with any mixer (``MixUp``, ``CutMix``, a k-mixup pairing,
    GenLabel targets, ...): ``MixUp(weighting=LocalWeights(eps=1.0))``. Give exactly one rule:

    * ``eps``: threshold, :math:`w_i = \mathbb 1[d_i \le \varepsilon]`;
    * ``sigma``: smooth, :math:`w_i = e^{-\sigma d_i}`;
    * ``knn``: :math:`w_i = 1` when the partner is among the ``knn`` nearest in-batch neighbours
      of sample ``i`` (itself rank 0; see :func:`knn_weights`).

    :math:`d_i = \lVert x_i - x_{\mathrm{index}_i}\rVert_2` on the flattened inputs, or on the
    ``features=`` given to the mixer call (embeddings: distances in pixel space mean little
    for natural images). Weights do not depend on ``lam``, as in the paper.

    Paper: Baena, Drumetz, Gripon, *Preventing Manifold Intrusion with Locality: Local Mixup*,
    EUSIPCO 2022 (arXiv 2201.04368).

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

    .. note::
        **Which reduction.** ``reduction="mean"`` (the default, the paper's) divides by ``B``:
        an unbiased batch estimate of :math:`\mathbb E[W(d)\,\ell]`, whose scale shrinks with
        the share of pairs kept, so with plain SGD a small ``eps`` also lowers the effective
        learning rate. ``"weighted_mean"`` divides by the weight sum: the average loss of the
        kept pairs, same scale whatever ``eps`` (no retuning of the learning rate), but a ratio
        that gets noisy when a batch keeps few pairs; the authors instead enlarged the batch
        for small ``eps`` so that about 20 pairs per batch were kept. Normalise *per sample*,
        never ``(criterion(...) * w).mean()`` with a mean-reduced criterion (the authors'
        bug: that is a global rescale).

    .. note::
        **What "eps = 0 is ERM" means with a random partner.** At ``eps = 0`` only pairs at
        distance 0 keep weight: the rows drawn as their own partner (and exact duplicates).
        Those rows are unmixed (``lerp`` of a sample with itself is exact), so for every draw
        ``mixed.loss(logits, reduction="none") == (mixed.index == arange(B)) *
        cross_entropy(logits, y, reduction="none")``: ``"weighted_mean"`` is plain
        cross-entropy on the self-paired rows, and averaged over the random permutation (a row
        is its own partner with probability ``1/B``) the ``"mean"`` loss is the ERM loss
        divided by ``B`` — the paper's sum over all pairs ``(i, j)``, where only ``i = j``
        survives. Same direction as ERM, ``1/B`` the signal: in practice train ERM for
        ``eps = 0``, as the authors did.
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
    batch is vanilla mixup's (same draw, same inputs and targets for the same seed) and
    ``mixed.weights`` holds :math:`W(d_i)`, which :meth:`mixkit.Mixed.loss` applies per sample.

    .. math::
        L = \frac{1}{B}\sum_i W\big(\lVert x_i - x_{\mathrm{index}_i}\rVert_2\big)\,
        \ell\big(f(\tilde x_i), \tilde y_i\big)

    Paper: Baena, Drumetz, Gripon, *Preventing Manifold Intrusion with Locality: Local Mixup*,
    EUSIPCO 2022 (arXiv 2201.04368). mixkit implements the paper; the official code weights a
    mean-reduced loss (a global rescale).

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

    .. note::
        Measure distances where they mean something: on normalised model inputs for low-
        dimensional data, or pass ``features=`` (embeddings) to the call for images. For which
        loss reduction to use, and for what ``eps = 0`` means, see :class:`LocalWeights`.
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
