r"""k-mixup: mix each sample with its optimal-transport partner within chunks of ``k``.

Paper: Greenewald, Gu, Yurochkin, Solomon, Chien, *k-Mixup Regularization for Deep Learning via
Optimal Transport*, TMLR 2023 (arXiv 2106.02933).

Vanilla mixup pairs samples at random. k-mixup splits the batch and a random partner order into
chunks of ``k`` samples and pairs each chunk with its partner chunk by the optimal transport
(OT) matching, the one that minimises the total distance of the pairs; matched pairs are then
mixed with one ``lam`` as in mixup. Interpolating between matched k-point empirical measures
(displacement interpolation) keeps mixed points near the data and respects its clusters.

Here k-mixup is a :class:`mixkit.Pairing` (:class:`OTPairing`), usable by any mixer (MixUp,
CutMix, ...) and composable with a weighting, a relabelling or a schedule; :class:`KMixUp` is
the preset ``MixUp(pairing=OTPairing(k))``.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import Tensor

from mixkit._mixup import MixUp
from mixkit._pairing import Pairing
from mixkit._transport import COSTS, SOLVERS, Cost, Solver, ot_match
from mixkit.validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    describe,
    fail,
    shape_str,
)

__all__ = ["KMixUp", "OTPairing"]


def _check_args(
    owner: str, k: Any, cost: Any, solver: Any, reg: Any, max_iter: Any, avoid_self: Any
) -> tuple[int, str, str, float, int, bool]:
    return (
        check_int(owner, "k", k, low=1),
        check_choice(owner, "cost", cost, COSTS),
        check_choice(owner, "solver", solver, SOLVERS),
        check_float(owner, "reg", reg, low=0.0, low_open=True),
        check_int(owner, "max_iter", max_iter, low=1),
        check_bool(owner, "avoid_self", avoid_self),
    )


# -- the pairing -------------------------------------------------------------------------------


class OTPairing(Pairing):
    r"""k-mixup pairing: optimal transport matching within chunks of ``k`` samples.

    The batch and a random partner order (drawn as :class:`mixkit.RandomPairing` draws it) are
    cut into chunks of ``k``, and each chunk is matched with its partner chunk so that the total
    distance of the pairs is smallest. Matched partners are near each other, so the blends stay
    near the data and respect its clusters. Each chunk is solved on its own, as the authors'
    repository does, not as one ``B x B`` assignment over the whole batch. A
    :class:`mixkit.Pairing`: it works in any mixer.

    Paper: Greenewald et al., *k-Mixup Regularization for Deep Learning via Optimal
    Transport*, TMLR 2023 (arXiv 2106.02933). The math, the solvers, self-pairs and where the
    authors' code differs from their paper: see the k-mixup page of the documentation
    (docs/methods/k-mixup.md).

    Args:
        k: chunk size, ``>= 1``. ``k = 1`` is vanilla mixup's pairing, bit for bit. Keep it
            well below the batch size: with ``k >= B`` every sample is its own partner.
        cost: ``"euclidean"`` (default, the authors') or ``"sqeuclidean"``.
        solver: ``"exact"`` (default: Hungarian per chunk, scipy), ``"emd"`` (POT's network
            simplex, the same optimum) or ``"sinkhorn"`` (entropic, all chunks at once on the
            features' device, rounded to a permutation there; for large ``k`` on a GPU).
        reg: ``"sinkhorn"`` only: entropic regularisation relative to each chunk's mean cost,
            ``> 0`` (default 0.05).
        max_iter: ``"sinkhorn"`` only: iterations at most, ``>= 1`` (default 100).
        avoid_self: forbid matching a sample with itself. Default False: the authors' matching.

    Returns (from :meth:`pair`): ``(B,)`` int64 partner index on the CPU, a permutation of the
    batch unless ``avoid_self``.

    Raises:
        ValueError / TypeError: a bad argument, e.g. ``"OTPairing: expected k >= 1, got 0"``.

    Example:
        >>> pairing = OTPairing(k=16)
        >>> mixer = MixUp(alpha=1.0, num_classes=10, pairing=pairing)
        >>> # manifold k-mixup: match on embeddings, mix the inputs
        >>> # mixed = mixer(x, y, features=encoder(x).detach())
    """

    def __init__(
        self,
        k: int = 16,
        *,
        cost: Cost = "euclidean",
        solver: Solver = "exact",
        reg: float = 0.05,
        max_iter: int = 100,
        avoid_self: bool = False,
    ) -> None:
        (
            self.k,
            self.cost,
            self.solver,
            self.reg,
            self.max_iter,
            self.avoid_self,
        ) = _check_args(type(self).__name__, k, cost, solver, reg, max_iter, avoid_self)
        # k = 1 never looks at the samples: the mixer then skips computing features
        self.needs_features = self.k > 1

    def pair(self, batch_size: int, features: Tensor | None, generator: torch.Generator) -> Tensor:
        """Partner of each sample: ``(B,)`` int64 on the CPU (see the class docs).

        Args:
            batch_size: ``B``.
            features: ``(B, D)`` float features (needed when ``k > 1``), on any device.
            generator: the CPU generator every random draw comes from.
        """
        partners = torch.randperm(batch_size, generator=generator)  # as RandomPairing
        if self.k == 1 or batch_size == 1:
            return partners
        owner = f"{type(self).__name__}.pair"
        if not isinstance(features, Tensor) or not features.is_floating_point():
            fail(owner, "(B, D) floating-point features when k > 1", describe(features))
        if features.ndim != 2 or features.shape[0] != batch_size:
            fail(
                owner,
                f"features of shape ({batch_size}, D)",
                f"features of shape {shape_str(features.shape)}",
            )
        if batch_size > self.k:
            sources = torch.randperm(batch_size, generator=generator)
        else:  # one chunk: its grouping cannot matter, draw nothing
            sources = torch.arange(batch_size)
        full = batch_size - batch_size % self.k  # samples in whole chunks of k
        groups = [(0, full, self.k)] if full else []
        if full < batch_size:  # the remainder: one smaller chunk, matched among itself
            groups.append((full, batch_size, batch_size - full))
        feats = features.detach().float()
        index = torch.empty(batch_size, dtype=torch.int64)
        for start, stop, size in groups:
            src = sources[start:stop].view(-1, size)  # (n, m) chunks of the batch
            dst = partners[start:stop].view(-1, size)  # (n, m) their partner chunks
            match = self._match(feats, src, dst)  # (n, m) column of each row
            index[src.reshape(-1)] = dst.gather(1, match).reshape(-1)
        return index

    def _match(self, features: Tensor, src: Tensor, dst: Tensor) -> Tensor:
        return ot_match(
            features,
            src,
            dst,
            cost=cast(Cost, self.cost),
            solver=cast(Solver, self.solver),
            reg=self.reg,
            max_iter=self.max_iter,
            avoid_self=self.avoid_self,
            owner=f"{type(self).__name__}.pair",
        )

    def __repr__(self) -> str:
        args = [f"k={self.k}", f"cost={self.cost!r}", f"solver={self.solver!r}"]
        if self.solver == "sinkhorn":
            args += [f"reg={self.reg!r}", f"max_iter={self.max_iter}"]
        if self.avoid_self:
            args.append("avoid_self=True")
        return f"OTPairing({', '.join(args)})"


# -- the preset --------------------------------------------------------------------------------


class KMixUp(MixUp):
    r"""k-mixup: mixup whose partners are optimal-transport matches within chunks of ``k``.

    Exactly ``MixUp(pairing=OTPairing(k, cost=..., solver=...), ...)``: the blend and the
    targets are mixup's, the partners those of :class:`OTPairing`. Blending matched pairs keeps
    the mixed points near the data. See the k-mixup page of the documentation
    (docs/methods/k-mixup.md) for the math and the defaults.

    Paper: Greenewald, Gu, Yurochkin, Solomon, Chien, *k-Mixup Regularization for Deep
    Learning via Optimal Transport*, TMLR 2023 (arXiv 2106.02933).

    Args:
        k: chunk size (default 16, the authors' usual choice). ``k = 1`` is vanilla mixup, bit
            for bit, for the same generator seed; keep ``k`` well below the batch size.
        alpha: Beta concentration (default 1.0, as :class:`mixkit.MixUp`). k-mixup tolerates
            and often prefers larger values: tune it in about ``[1, 10]``.
        cost, solver, reg, max_iter, avoid_self: see :class:`OTPairing`.
        **kwargs: every other argument of :class:`mixkit.MixUp` (``mode`` ``"batch"`` or
            ``"elem"``, ``p``, ``num_classes``, ``label_smoothing``, ``task``, ``weighting``,
            ``relabel``, ``schedule``, ``generator``, ``enabled``, ...). Not ``pairing``, and
            not ``mode="pair"`` (which pairs at random by construction).

    Returns (on call): :class:`mixkit.Mixed`; pass ``features=`` to match on embeddings.

    Raises:
        ValueError / TypeError: bad arguments, each message naming the argument, e.g.
            ``"KMixUp: expected cost to be one of 'euclidean' | 'sqeuclidean', got 'l1'"``.

    Example:
        >>> mixer = KMixUp(k=16, alpha=1.0, num_classes=10,
        ...                generator=torch.Generator().manual_seed(0))
        >>> x, y = torch.randn(64, 3, 8, 8), torch.randint(0, 10, (64,))
        >>> mixed = mixer(x, y)
        >>> mixed.inputs.shape, mixed.targets.shape
        (torch.Size([64, 3, 8, 8]), torch.Size([64, 10]))
    """

    def __init__(
        self,
        *,
        k: int = 16,
        alpha: float = 1.0,
        cost: Cost = "euclidean",
        solver: Solver = "exact",
        reg: float = 0.05,
        max_iter: int = 100,
        avoid_self: bool = False,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        if "pairing" in kwargs:
            fail(
                owner,
                "no pairing argument (KMixUp always pairs with OTPairing; for another "
                "pairing use MixUp(pairing=...))",
                f"pairing={kwargs['pairing']!r}",
            )
        # validated here so that messages name KMixUp, not OTPairing
        k_, cost_, solver_, reg_, iters, avoid = _check_args(
            owner, k, cost, solver, reg, max_iter, avoid_self
        )
        pairing = OTPairing(
            k_,
            cost=cast(Cost, cost_),
            solver=cast(Solver, solver_),
            reg=reg_,
            max_iter=iters,
            avoid_self=avoid,
        )
        super().__init__(alpha=alpha, pairing=pairing, **kwargs)

    @property
    def k(self) -> int:
        """The chunk size."""
        return self._ot().k

    def _ot(self) -> OTPairing:
        return cast(OTPairing, self.pairing)  # set in __init__

    def repr_args(self) -> dict[str, Any]:
        ot = self._ot()
        shown: dict[str, Any] = {"k": ot.k}
        shown.update(super().repr_args())
        del shown["pairing"]
        defaults = {"cost": "euclidean", "solver": "exact", "avoid_self": False}
        for name, default in defaults.items():
            if getattr(ot, name) != default:
                shown[name] = getattr(ot, name)
        if ot.solver == "sinkhorn":
            shown["reg"], shown["max_iter"] = ot.reg, ot.max_iter
        return shown
