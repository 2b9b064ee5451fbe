r"""Mixup as a minority oversampler: new rows for the classes that lack them.

:class:`MixUpResampler` with ``sampling_strategy`` set. For each class :math:`c` that gets
:math:`m_c` new rows (imbalanced-learn's ``sampling_strategy`` conventions), each new row is a
mix of an **anchor** drawn uniformly from class :math:`c` and a **partner**:

* ``pairs="within"``: another row of class :math:`c` (drawn uniformly). The row is
  :math:`\lambda x_a + (1-\lambda) x_b` with both sources of class :math:`c`, so its label is
  exactly :math:`c`: SMOTE's interpolation between two rows of a class, with a random partner
  instead of one of the :math:`k` nearest, and :math:`\lambda \sim \mathrm{Beta}(\alpha,
  \alpha)` instead of uniform (``alpha -> 0`` duplicates rows, as random oversampling does;
  ``alpha = 1`` is uniform on the segment, as SMOTE).
* ``pairs="across"``: a row of another class. The anchor keeps at least half of the row
  (:math:`\lambda \leftarrow \max(\lambda, 1-\lambda)`) and the row is labelled :math:`c`, the
  class that makes most of it (Remix's rule, Chou et al., ECCV workshops 2020: a mix is
  labelled with the minority class it mostly holds). The new rows reach toward the other
  classes, widening the minority region where SMOTE stays inside it.

The mixer supplies :math:`\lambda` (its ``alpha``, ``mode`` and application probability ``p``:
through its own ``draw``) and the interpolation (its ``mix``); the pairs are the oversampler's.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

import mixkit
from mixkit_sklearn._augment import batches
from mixkit_sklearn._validation import fail

__all__ = ["PAIRS", "STRATEGIES", "check_oversampler_mixer", "oversample", "rows_to_add"]

#: imbalanced-learn's named strategies for over-samplers
STRATEGIES = ("auto", "minority", "not minority", "not majority", "all")
PAIRS = ("within", "across")


def rows_to_add(
    owner: str, counts: NDArray[np.int64], classes: NDArray[Any], strategy: Any
) -> NDArray[np.int64]:
    """New rows per class (in the order of ``classes``), imbalanced-learn's conventions.

    * ``"auto"`` / ``"not majority"``: every class but the majority up to the majority's count;
      ``"minority"``: the smallest class only; ``"not minority"``: every class but the
      smallest; ``"all"``: every class (the majority gets none).
    * a float ``r`` in ``(0, 1]``: binary targets only; the minority up to ``r`` times the
      majority's count.
    * a dict ``{class: count}``: those classes up to those counts.

    Raises:
        ValueError: a float for more than two classes or below the present ratio, a dict
            naming unknown classes or counts below the present ones.
    """
    top, low = int(counts.max()), int(np.argmin(counts))
    majority = int(np.argmax(counts))
    target = counts.copy()
    if isinstance(strategy, str):
        chosen = {
            "auto": [c for c in range(len(counts)) if c != majority],
            "not majority": [c for c in range(len(counts)) if c != majority],
            "minority": [low],
            "not minority": [c for c in range(len(counts)) if c != low],
            "all": list(range(len(counts))),
        }[strategy]
        target[chosen] = np.maximum(counts[chosen], top)
    elif isinstance(strategy, Real) and not isinstance(strategy, Integral | bool):
        if len(counts) != 2:
            fail(
                owner,
                "a float sampling_strategy only for two classes (the minority's count over "
                "the majority's after resampling; use a dict or a name for more)",
                f"{len(counts)} classes",
            )
        wanted = int(np.floor(float(strategy) * top))
        if wanted < counts[low]:
            fail(
                owner,
                f"a sampling_strategy at least the present ratio {counts[low] / top:.4g} "
                "(an over-sampler only adds rows)",
                repr(strategy),
            )
        target[low] = wanted
    else:  # a dict, as _parameter_constraints guarantees
        for label, count in strategy.items():
            where = np.flatnonzero(classes == label)
            if where.size == 0:
                fail(
                    owner,
                    f"sampling_strategy keys among the classes {classes.tolist()}",
                    repr(label),
                )
            if not isinstance(count, Integral) or count < counts[where[0]]:
                fail(
                    owner,
                    f"a count of at least {int(counts[where[0]])} (the rows of class "
                    f"{label!r} present; an over-sampler only adds rows) in sampling_strategy",
                    f"{label!r}: {count!r}",
                )
            target[where[0]] = int(count)
    added: NDArray[np.int64] = (target - counts).astype(np.int64)
    return added


def check_oversampler_mixer(owner: str, mixer: nn.Module) -> None:
    """The oversampler picks the pairs and the labels: refuse what it would ignore."""
    for m in mixkit.iter_mixers(mixer):
        unused = {
            "pairing": None if isinstance(m.pairing, mixkit.RandomPairing) else m.pairing,
            "weighting": m.weighting,
            "relabel": m.relabel,
        }
        for slot, strategy in unused.items():
            if strategy is not None:
                fail(
                    owner,
                    f"a mixer without a {slot} with sampling_strategy set (the oversampler draws "
                    "the pairs by class and labels each new row with its anchor's class; use "
                    "sampling_strategy=None to mix the whole training set with it)",
                    f"{type(m).__name__} with {slot}={strategy!r}",
                )


def oversample(
    mixer: nn.Module,
    x: Tensor,
    codes: Tensor,
    added: NDArray[np.int64],
    *,
    pairs: str,
    batch_size: int,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor]:
    """``added[c]`` new rows for each class code ``c`` (see the module notes).

    Returns the new rows ``(m, d)`` and their class codes ``(m,)``, class by class.
    """
    members = [torch.nonzero(codes == c).flatten() for c in range(len(added))]
    new_x: list[Tensor] = []
    new_c: list[Tensor] = []
    for c, count in enumerate(added.tolist()):
        if count <= 0:
            continue
        own = members[c]
        anchors = own[torch.randint(len(own), (count,), generator=generator)]
        if pairs == "within":
            if len(own) > 1:  # another row of the class: an offset in [1, n) around it
                where = torch.searchsorted(own, anchors)
                shift = torch.randint(1, len(own), (count,), generator=generator)
                partners = own[(where + shift) % len(own)]
            else:
                partners = anchors
        else:
            others = torch.nonzero(codes != c).flatten()
            partners = others[torch.randint(len(others), (count,), generator=generator)]
        for chunk in batches(torch.arange(count), batch_size):
            a, b = anchors.index_select(0, chunk), partners.index_select(0, chunk)
            new_x.append(_mix_pairs(mixer, x, codes, a, b, fold=pairs == "across"))
        new_c.append(torch.full((count,), c, dtype=torch.int64))
    if not new_x:
        return x.new_zeros((0, *x.shape[1:])), torch.zeros(0, dtype=torch.int64)
    return torch.cat(new_x), torch.cat(new_c)


def _mix_pairs(
    mixer: nn.Module, x: Tensor, codes: Tensor, a: Tensor, b: Tensor, *, fold: bool
) -> Tensor:
    """Rows ``a`` mixed with rows ``b`` by the mixer: lam from its ``draw`` on the anchors,
    the interpolation by its ``mix`` on the batch ``[anchors; partners]``."""
    n = int(a.shape[0])
    batch = torch.cat([x.index_select(0, a), x.index_select(0, b)])
    labels = torch.cat([codes.index_select(0, a), codes.index_select(0, b)])
    driven: Any = mixer  # a Mixer, RandomChoice or MixerWrapper: each has draw and mix
    drawn: mixkit.MixParams = driven.draw(batch)
    lam = drawn.lam[:n]
    if fold:  # the anchor keeps the larger share
        lam = torch.maximum(lam, 1.0 - lam)
    partner = torch.arange(n, 2 * n)
    params = drawn.replace(
        index=torch.cat([partner, partner]),  # the partners' own rows are not used
        lam=torch.cat([lam, torch.ones(n, dtype=lam.dtype)]),
    )
    mixed: mixkit.Mixed = driven.mix(batch, labels, params)
    out: Tensor = mixed.inputs[:n].detach()
    return out
