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

    .. math::
        \sigma_c = \arg\min_{\sigma \in S_k} \sum_{i=1}^{k}
            d\big(f(x_{s_{c,i}}),\, f(x_{t_{c,\sigma(i)}})\big), \qquad
        \mathrm{index}[s_{c,i}] = t_{c,\sigma_c(i)}

    where ``t = randperm(B)`` is the random partner order (drawn first, exactly as
    :class:`mixkit.RandomPairing` draws it), ``s`` a random grouping of the batch into chunks
    ``c`` of ``k`` (drawn second), ``f`` the features and ``d`` the Euclidean distance (the
    authors' cost) or its square. With uniform weights the optimal plan is a permutation
    (Birkhoff), so exact OT is an assignment problem, solved per chunk.

    Paper: Greenewald et al., *k-Mixup Regularization for Deep Learning via Optimal
    Transport*, TMLR 2023 (arXiv 2106.02933).

    Args:
        k: chunk size, ``>= 1``. ``k = 1`` draws exactly what :class:`mixkit.RandomPairing`
            draws (same generator use), so the mixer equals vanilla mixup bit for bit.
        cost: ``"euclidean"`` (default, the authors') or ``"sqeuclidean"``.
        solver: ``"exact"`` (default): Hungarian algorithm per chunk (scipy), the exact OT
            matching and the fastest for chunk sizes up to a few hundred; ``"emd"``: POT's
            network simplex (``ot.emd``) per chunk, the same optimum (ties may be broken
            differently), slower; ``"sinkhorn"``: entropic OT with POT's batched log-domain
            Sinkhorn (``ot.batch``, POT >= 0.9.6), run on the features' device for all chunks
            at once, then rounded to a permutation there (see the note). On the CPU the exact
            solver is faster at every chunk size measured; ``"sinkhorn"`` is for keeping
            large-``k`` matching on a GPU.
        reg: entropic regularisation for ``"sinkhorn"``, relative to each chunk's mean cost;
            ``> 0``, default 0.05. Smaller is closer to exact (and slower to converge).
        max_iter: Sinkhorn iterations at most, ``>= 1`` (default 100: enough at the default
            ``reg`` to round to the same matching; raise it with a smaller ``reg``).
        avoid_self: forbid matching a sample with itself (see the note). Default False: the
            authors' matching.

    Returns (from :meth:`pair`): ``(B,)`` int64 partner index on the CPU. Without
    ``avoid_self`` it is a permutation of the batch.

    Raises:
        ValueError / TypeError: a bad argument, e.g. ``"OTPairing: expected k >= 1, got 0"``.

    Example:
        >>> pairing = OTPairing(k=16)
        >>> mixer = MixUp(alpha=1.0, num_classes=10, pairing=pairing)
        >>> # manifold k-mixup: match on embeddings, mix the inputs
        >>> # mixed = mixer(x, y, features=encoder(x).detach())

    .. note::
        **Features.** The mixer passes the flattened inputs, or what the caller gives as
        ``features=`` (embeddings: manifold k-mixup). Labels are never used for matching.

        **Self-pairs.** The source chunk and its partner chunk are drawn from the same batch, so
        they share about ``k^2 / B`` samples, and a shared sample is usually matched with itself
        (distance 0) and so not mixed. With ``k >= B`` there is a single chunk holding the whole
        batch on both sides and *every* sample is its own partner: no mixing at all. Keep
        ``k`` well below ``B`` (the authors: ``k = 16``, ``B = 512``), or set
        ``avoid_self=True`` to match each chunk without self-pairs (then ``k = B`` pairs each
        sample with a near neighbour).

        **Remainder.** When ``k`` does not divide ``B``, the ``B mod k`` samples left over by
        the grouping form a smaller chunk matched to the last ``B mod k`` partners (the
        authors' code does this; their paper's pseudo-code leaves them unmatched).

        **Entropic rounding.** The Sinkhorn plan is rounded to a permutation on the device by
        parallel greedy matching (each unmatched row proposes its most likely free column, each
        column keeps its best proposal; at most ``k`` rounds), so nothing but the final
        ``(B,)`` index leaves the device. For small ``reg`` this is the exact matching; for
        large ``reg`` a greedy approximation of it.

        **Versus the authors' code.** It builds one ``B x B`` cost with a penalty of 1000 off
        the diagonal blocks and runs one ``O(B^3)`` Hungarian on it, after a wasted forward
        pass of the network; here each chunk is solved on its own (``O(B k D + B k^2)``),
        hundreds of times faster at ``B = 512, k = 16`` (``benchmarks/bench_kmixup.py``). The
        chunks of the batch are drawn at random rather than taken in loader order, so the
        result does not depend on the loader's shuffling.
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

    .. math::
        \tilde x_i = \lambda x_i + (1-\lambda) x_{\mathrm{index}_i}, \quad
        \tilde y_i = \lambda y_i + (1-\lambda) y_{\mathrm{index}_i}, \quad
        \lambda \sim \mathrm{Beta}(\alpha, \alpha)

    with ``index`` the chunk-wise OT matching of :class:`OTPairing`. Exactly
    ``MixUp(pairing=OTPairing(k, cost=..., solver=...), ...)``.

    Paper: Greenewald, Gu, Yurochkin, Solomon, Chien, *k-Mixup Regularization for Deep
    Learning via Optimal Transport*, TMLR 2023 (arXiv 2106.02933).

    Args:
        k: chunk size (default 16, the authors' README example and their usual choice at batch
            512). ``k = 1`` is vanilla mixup, bit for bit, for the same generator seed.
        alpha: Beta concentration (default 1.0, mixkit's MixUp default, so ``KMixUp`` and
            ``MixUp`` differ only in their pairing). Matched partners are closer than random
            ones, so the same ``alpha`` perturbs less; the paper finds that k-mixup tolerates
            and often prefers larger ``alpha`` (the authors' README runs ``alpha=10``,
            ``k=16``). Tune ``alpha`` in about ``[1, 10]``.
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

    .. note::
        Keep ``k`` well below the batch size: with ``k >= B`` each sample is matched with itself
        and nothing is mixed (see :class:`OTPairing`). The authors' code computes an adjusted
        ``alpha_k`` (matching the squared pair distances of ``k = 1``) but trains with the given
        ``alpha``; mixkit uses the ``alpha`` you give.
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
