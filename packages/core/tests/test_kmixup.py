"""k-mixup: OTPairing and KMixUp (optimal-transport pairing within chunks of k)."""

from __future__ import annotations

import itertools
import math
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial import distance_matrix
from torch import Tensor

import mixkit
from mixkit import CutMix, KMixUp, MixUp, OTPairing
from mixkit._transport import _round_plan, chunk_costs
from mixkit.testing import MixerCase, parametrize_with_checks, run_check

ROOT = Path(__file__).resolve().parents[3]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(n: int = 24, seed: int = 0) -> tuple[Tensor, Tensor]:
    g = gen(seed)
    return torch.randn(n, 3, 4, 4, generator=g), torch.randint(0, 5, (n,), generator=g)


def two_blobs(batch: int, g: torch.Generator, gap: float = 20.0) -> tuple[Tensor, Tensor]:
    blob = (torch.arange(batch) % 2)[torch.randperm(batch, generator=g)]
    centres = torch.tensor([[-gap / 2, 0.0], [gap / 2, 0.0]])
    return centres[blob] + torch.randn(batch, 2, generator=g), blob


def replay(seed: int, batch: int, k: int) -> tuple[Tensor, Tensor]:
    """The partner order and the grouping OTPairing draws first (for reference checks)."""
    g = gen(seed)
    partners = torch.randperm(batch, generator=g)
    sources = torch.randperm(batch, generator=g) if batch > k else torch.arange(batch)
    return partners, sources


def chunks(batch: int, k: int) -> list[slice]:
    full = batch - batch % k
    return [slice(s, s + k) for s in range(0, full, k)] + (
        [slice(full, batch)] if full < batch else []
    )


# -- k = 1 is vanilla mixup, bit for bit ----------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "p"), [("batch", 1.0), ("elem", 1.0), ("batch", 0.5), ("elem", 0.3)]
)
def test_k1_equals_mixup_bit_for_bit(mode: str, p: float) -> None:
    x, y = images()
    ours = KMixUp(k=1, mode=mode, p=p, num_classes=5, generator=gen(11))
    ref = MixUp(mode=mode, p=p, num_classes=5, generator=gen(11))  # type: ignore[arg-type]
    for _ in range(4):  # the generators stay in step call after call
        a, b = ours(x, y), ref(x, y)
        for name in ("inputs", "targets", "lam", "index", "weights", "y_b"):
            assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert torch.equal(ours.generator.get_state(), ref.generator.get_state())


def test_k1_pairing_equals_random_pairing_in_any_mixer(device: torch.device) -> None:
    x, y = (t.to(device) for t in images(9))
    ours = CutMix(mode="elem", num_classes=5, pairing=OTPairing(1), generator=gen(3))
    ref = CutMix(mode="elem", num_classes=5, generator=gen(3))
    a, b = ours(x, y, features=x.flatten(1) * 2), ref(x, y)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.index, b.index)
    assert not OTPairing(1).needs_features and OTPairing(2).needs_features


# -- the matching is optimal: against brute force and the authors' formulation --------------


def test_each_chunk_is_the_optimal_assignment_by_brute_force() -> None:
    g = gen(5)
    x = torch.randn(12, 3, generator=g)
    for cost in ("euclidean", "sqeuclidean"):
        index = OTPairing(4, cost=cost).pair(12, x, gen(9))
        partners, sources = replay(9, 12, 4)
        d = torch.cdist(x.double(), x.double())
        d = d if cost == "euclidean" else d**2
        for part in chunks(12, 4):
            src, dst = sources[part].tolist(), partners[part].tolist()
            assert sorted(index[src].tolist()) == sorted(dst), "partners stay in their chunk"
            ours = float(sum(d[i, index[i]] for i in src))
            best = min(
                float(sum(d[i, j] for i, j in zip(src, perm, strict=True)))
                for perm in itertools.permutations(dst)
            )
            assert math.isclose(ours, best, rel_tol=1e-9, abs_tol=1e-9), cost


@pytest.mark.parametrize("solver", ["exact", "emd"])
def test_same_total_cost_as_the_authors_formulation_with_a_remainder(solver: str) -> None:
    batch, k = 21, 8  # chunks of 8, 8 and a remainder of 5
    x = torch.randn(batch, 6, generator=gen(1), dtype=torch.float64)
    index = OTPairing(k, solver=solver).pair(batch, x.float(), gen(4))  # type: ignore[arg-type]
    partners, sources = replay(4, batch, k)
    # the authors: one B x B cost, 1000 off the diagonal blocks, one Hungarian
    xs, xp = x[sources].numpy(), x[partners].numpy()
    cost = 1000.0 * np.ones((batch, batch))
    for part in chunks(batch, k):
        cost[part, part] = distance_matrix(xs[part], xp[part])
        src, dst = sources[part], partners[part]
        assert sorted(index[src].tolist()) == sorted(dst.tolist())  # remainder among itself
    rows, cols = linear_sum_assignment(cost)
    theirs = cost[rows, cols].sum()
    assert theirs < 1000.0
    ours = float((x - x[index]).norm(dim=1).sum())
    assert math.isclose(ours, theirs, rel_tol=1e-6)
    assert sorted(index.tolist()) == list(range(batch)), "a permutation of the batch"


@pytest.mark.parametrize("dim", [7, 100])  # direct differences / one batched matmul
def test_chunk_costs_match_scipy_and_self_pairs_cost_zero(dim: int) -> None:
    x = torch.randn(10, dim, generator=gen(2)) + 50.0  # a large offset: centring matters
    src = torch.tensor([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]])
    dst = torch.tensor([[9, 1, 3, 0, 2], [4, 8, 5, 6, 7]])
    got = chunk_costs(x, src, dst, cost="euclidean").double()
    x64 = x.double().numpy()
    for c in range(2):
        want = distance_matrix(x64[src[c]], x64[dst[c]])
        np.testing.assert_allclose(got[c].numpy(), want, rtol=1e-4, atol=1e-4)
    assert got[0, 1, 1] == 0.0 and got[0, 3, 2] == 0.0, "a sample against itself costs 0"
    sq = chunk_costs(x, src, dst, cost="sqeuclidean").double()
    torch.testing.assert_close(sq, got**2, rtol=1e-4, atol=1e-3)


# -- the paper's effect: two separated blobs, B = 64 ----------------------------------------


def cross_and_self(k: int, draws: int, avoid_self: bool = False) -> tuple[float, float]:
    g, cross, selfp = gen(0), 0.0, 0.0
    pairing = OTPairing(k, avoid_self=avoid_self)
    for _ in range(draws):
        x, blob = two_blobs(64, g)
        index = pairing.pair(64, x, g)
        cross += float((blob != blob[index]).float().mean()) / draws
        selfp += float((index == torch.arange(64)).float().mean()) / draws
    return cross, selfp


def test_blobs_cross_cluster_pairs_fall_from_half_to_zero() -> None:
    cross1, self1 = cross_and_self(1, 40)
    assert 0.42 < cross1 < 0.58, cross1  # random pairing: about half the pairs cross
    cross16, _ = cross_and_self(16, 40)
    assert cross16 < 0.2, cross16
    cross64, self64 = cross_and_self(64, 5)
    assert cross64 == 0.0
    # the trap the docs warn about: k = B matches the batch with itself, nothing is mixed
    assert self64 == 1.0 and self1 < 0.05
    cross64, self64 = cross_and_self(64, 5, avoid_self=True)
    assert cross64 == 0.0 and self64 == 0.0, "without self-pairs: real mixing, same clusters"


def test_blobs_cross_pairs_are_exactly_the_forced_ones() -> None:
    # optimal transport between two chunks crosses the gap only as often as the chunks' blob
    # counts differ: |#blob-0 sources - #blob-0 partners|
    g = gen(8)
    for _ in range(5):
        x, blob = two_blobs(64, g)
        state = g.get_state()
        index = OTPairing(16).pair(64, x, g)
        g2 = torch.Generator()
        g2.set_state(state)
        partners = torch.randperm(64, generator=g2)
        sources = torch.randperm(64, generator=g2)
        for part in chunks(64, 16):
            src, dst = sources[part], partners[part]
            forced = abs(int((blob[src] == 0).sum()) - int((blob[dst] == 0).sum()))
            assert int((blob[src] != blob[index[src]]).sum()) == forced


# -- features: manifold k-mixup, devices ----------------------------------------------------


def test_matching_uses_the_callers_features(device: torch.device) -> None:
    x, y = (t.to(device) for t in images(32))
    g = gen(6)
    feats, blob = two_blobs(32, g)
    feats = feats.to(device)
    mixer = KMixUp(k=32, avoid_self=True, num_classes=5, generator=gen(2))
    out = mixer(x, y, features=feats)
    assert out.index.device == x.device
    blob = blob.to(device)
    assert bool((blob == blob[out.index]).all()), "pairs follow the features, not x"
    direct = OTPairing(32, avoid_self=True).pair(32, feats, gen(2))
    assert torch.equal(out.index.cpu(), direct)
    assert not torch.equal(direct, OTPairing(32, avoid_self=True).pair(32, x.flatten(1), gen(2)))


def test_same_draw_on_every_device(device: torch.device) -> None:
    x, y = images(20)
    for solver in ("exact", "sinkhorn"):
        cpu = KMixUp(k=8, solver=solver, num_classes=5, generator=gen(5))(x, y)
        other = KMixUp(k=8, solver=solver, num_classes=5, generator=gen(5))(
            x.to(device), y.to(device)
        )
        assert torch.equal(cpu.index, other.index.cpu()) and torch.equal(cpu.lam, other.lam.cpu())


def test_features_and_inputs_are_not_modified() -> None:
    x, y = images(16)
    feats = torch.randn(16, 5)
    x0, f0 = x.clone(), feats.clone()
    KMixUp(k=4, num_classes=5, generator=gen())(x, y, features=feats)
    assert torch.equal(x, x0) and torch.equal(feats, f0)


# -- entropic solver and the rounding of its plan -------------------------------------------


def test_sinkhorn_with_small_reg_finds_the_exact_matching(device: torch.device) -> None:
    g = gen(3)
    x = (torch.randn(48, 2, generator=g) * 10).to(device)
    exact = OTPairing(8).pair(48, x, gen(1))
    sink = OTPairing(8, solver="sinkhorn", reg=1e-3, max_iter=3000).pair(48, x, gen(1))
    assert sorted(sink.tolist()) == list(range(48))
    xc = x.cpu()
    cost_exact = float((xc - xc[exact]).norm(dim=1).sum())
    cost_sink = float((xc - xc[sink]).norm(dim=1).sum())
    assert cost_sink <= cost_exact * 1.001
    assert float((sink == exact).float().mean()) > 0.95


def test_sinkhorn_gives_a_permutation_even_with_a_flat_plan() -> None:
    x = torch.randn(40, 3, generator=gen(0))
    for reg in (100.0, 0.05):
        index = OTPairing(16, solver="sinkhorn", reg=reg).pair(40, x, gen(2))
        assert sorted(index.tolist()) == list(range(40))


def test_sinkhorn_avoid_self_pairs_within_clusters() -> None:
    x, blob = two_blobs(32, gen(3))
    index = OTPairing(32, solver="sinkhorn", avoid_self=True).pair(32, x, gen(4))
    assert not bool((index == torch.arange(32)).any())
    assert bool((blob == blob[index]).all())


def test_round_plan_recovers_permutations_and_breaks_ties() -> None:
    perms = torch.stack([torch.randperm(6, generator=gen(s)) for s in range(3)])  # (3, 6)
    plan = torch.nn.functional.one_hot(perms, 6).float() * 0.9 + 0.01
    assert torch.equal(_round_plan(plan), perms)
    flat = _round_plan(torch.ones(2, 5, 5))  # every entry tied: still a permutation
    assert torch.equal(flat.sort(dim=1).values, torch.arange(5).expand(2, 5))
    # a contested column goes to the stronger row; the loser takes its next best
    score = torch.tensor([[[0.9, 0.8, 0.0], [0.95, 0.1, 0.0], [0.0, 0.0, 1.0]]])
    assert _round_plan(score).tolist() == [[1, 0, 2]]


# -- composition ----------------------------------------------------------------------------


class DistanceWeights(mixkit.Weighting):
    def weights(self, features: Tensor, index: Tensor, lam: Tensor) -> Tensor:
        return torch.exp(-(features - features[index]).norm(dim=1))

    def __repr__(self) -> str:
        return "DistanceWeights()"


def test_composes_with_a_weighting_and_a_schedule() -> None:
    x, y = images(16)
    mixer = KMixUp(
        k=4,
        num_classes=5,
        weighting=DistanceWeights(),
        schedule=mixkit.OffAfter(epoch=1),
        generator=gen(1),
    )
    out = mixer(x, y)
    flat = x.flatten(1)
    torch.testing.assert_close(out.weights, torch.exp(-(flat - flat[out.index]).norm(dim=1)))
    assert out.applied
    mixer.set_epoch(1)
    assert not mixer(x, y).applied, "the schedule switches k-mixup off"


def test_state_dict_round_trip_replays_the_same_pairs() -> None:
    x, y = images(20)
    mixer = KMixUp(k=8, num_classes=5, generator=gen(4))
    mixer(x, y)
    state = mixer.state_dict()
    first = mixer(x, y)
    other = KMixUp(k=8, num_classes=5, generator=gen(99))
    other.load_state_dict(state)
    assert torch.equal(first.index, other(x, y).index)


# -- the conformance suite ------------------------------------------------------------------


def soft(g: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.randn(7, 5, generator=g), torch.softmax(torch.randn(7, 4, generator=g), dim=1)


def regression(g: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.randn(6, 3, generator=g), torch.randn(6, 2, generator=g)


def multilabel(g: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.randn(6, 2, 8, generator=g), (torch.rand(6, 5, generator=g) > 0.5).float()


def image_batch(g: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.randn(10, 3, 6, 6, generator=g), torch.randint(0, 5, (10,), generator=g)


def case(
    name: str,
    make: Callable[[torch.Generator], mixkit.Mixer],
    batch: Callable[[torch.Generator], tuple[Tensor, Tensor]] = image_batch,
) -> MixerCase:
    return MixerCase(name, make, batch)


CASES = [
    case("kmixup-batch", lambda g: KMixUp(k=4, num_classes=5, generator=g)),
    case("kmixup-elem", lambda g: KMixUp(k=3, mode="elem", num_classes=5, generator=g)),
    case(
        "kmixup-p-smoothing",
        lambda g: KMixUp(k=4, p=0.5, label_smoothing=0.1, num_classes=5, generator=g),
    ),
    case(
        "kmixup-sqeuclidean-emd",
        lambda g: KMixUp(k=4, cost="sqeuclidean", solver="emd", num_classes=5, generator=g),
    ),
    case("kmixup-sinkhorn", lambda g: KMixUp(k=4, solver="sinkhorn", num_classes=5, generator=g)),
    case("kmixup-avoid-self", lambda g: KMixUp(k=10, avoid_self=True, num_classes=5, generator=g)),
    case("kmixup-k1", lambda g: KMixUp(k=1, num_classes=5, generator=g)),
    case(
        "cutmix-otpairing",
        lambda g: CutMix(mode="elem", pairing=OTPairing(4), num_classes=5, generator=g),
    ),
    case(
        "kmixup-weighted-scheduled",
        lambda g: KMixUp(
            k=4,
            num_classes=5,
            weighting=DistanceWeights(),
            schedule=mixkit.LinearDecay(start=0, end=10, unit="step"),
            generator=g,
        ),
    ),
    case("kmixup-soft", lambda g: KMixUp(k=3, alpha=0.4, generator=g), soft),
    case("kmixup-regression", lambda g: KMixUp(k=2, task="regression", generator=g), regression),
    case(
        "kmixup-multilabel-union",
        lambda g: KMixUp(k=4, task="multilabel", union=True, generator=g),
        multilabel,
    ),
]


@parametrize_with_checks(CASES)
def test_conformance(case: MixerCase, check: str, device: torch.device) -> None:
    run_check(case, check, device)


# -- repr and errors ------------------------------------------------------------------------


def test_repr() -> None:
    assert repr(OTPairing()) == "OTPairing(k=16, cost='euclidean', solver='exact')"
    assert repr(OTPairing(4, solver="sinkhorn", reg=0.1, avoid_self=True)) == (
        "OTPairing(k=4, cost='euclidean', solver='sinkhorn', reg=0.1, max_iter=100, "
        "avoid_self=True)"
    )
    assert repr(KMixUp(num_classes=10)) == (
        "KMixUp(k=16, alpha=1.0, mode='batch', p=1.0, num_classes=10)"
    )
    assert repr(KMixUp(k=8, alpha=10.0, cost="sqeuclidean", solver="sinkhorn", reg=0.2)) == (
        "KMixUp(k=8, alpha=10.0, mode='batch', p=1.0, num_classes=None, cost='sqeuclidean', "
        "solver='sinkhorn', reg=0.2, max_iter=100)"
    )
    assert repr(MixUp(num_classes=2, pairing=OTPairing(4))) == (
        "MixUp(alpha=1.0, mode='batch', p=1.0, num_classes=2, "
        "pairing=OTPairing(k=4, cost='euclidean', solver='exact'))"
    )
    assert KMixUp(k=8).k == 8


ERRORS: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("k_zero", lambda: OTPairing(0), ValueError, "OTPairing: expected k >= 1, got 0"),
    (
        "k_float",
        lambda: OTPairing(2.0),  # type: ignore[arg-type]
        TypeError,
        "OTPairing: expected k to be an int, got 2.0 (float)",
    ),
    ("kmixup_k_zero", lambda: KMixUp(k=0), ValueError, "KMixUp: expected k >= 1, got 0"),
    (
        "cost",
        lambda: KMixUp(cost="l1"),  # type: ignore[arg-type]
        ValueError,
        "KMixUp: expected cost to be one of 'euclidean' | 'sqeuclidean', got 'l1'",
    ),
    (
        "solver",
        lambda: OTPairing(solver="hungarian"),  # type: ignore[arg-type]
        ValueError,
        "OTPairing: expected solver to be one of 'exact' | 'emd' | 'sinkhorn', got 'hungarian'",
    ),
    ("reg_zero", lambda: OTPairing(reg=0.0), ValueError, "OTPairing: expected reg > 0, got 0.0"),
    (
        "reg_inf",
        lambda: KMixUp(reg=float("inf")),
        ValueError,
        "KMixUp: expected a finite reg > 0, got inf",
    ),
    (
        "max_iter",
        lambda: OTPairing(max_iter=0),
        ValueError,
        "OTPairing: expected max_iter >= 1, got 0",
    ),
    (
        "avoid_self",
        lambda: OTPairing(avoid_self=1),  # type: ignore[arg-type]
        TypeError,
        "OTPairing: expected avoid_self to be a bool, got 1 (int)",
    ),
    (
        "pairing_given",
        lambda: KMixUp(pairing=mixkit.RandomPairing()),
        ValueError,
        "KMixUp: expected no pairing argument (KMixUp always pairs with OTPairing; for another "
        "pairing use MixUp(pairing=...)), got pairing=RandomPairing()",
    ),
    (
        "pair_mode",
        lambda: KMixUp(k=2, mode="pair"),
        ValueError,
        "KMixUp: expected random pairing with mode='pair' (it pairs samples two by two), "
        "got pairing=OTPairing(k=2, cost='euclidean', solver='exact')",
    ),
    (
        "pair_without_features",
        lambda: OTPairing(4).pair(8, None, gen()),
        ValueError,
        "OTPairing.pair: expected (B, D) floating-point features when k > 1, got None (NoneType)",
    ),
    (
        "pair_wrong_rows",
        lambda: OTPairing(4).pair(8, torch.zeros(7, 2), gen()),
        ValueError,
        "OTPairing.pair: expected features of shape (8, D), got features of shape (7, 2)",
    ),
    (
        "pair_nan_features",
        lambda: OTPairing(4).pair(8, torch.full((8, 2), float("nan")), gen()),
        ValueError,
        "OTPairing.pair: expected finite features, got NaN or infinite distances",
    ),
    (
        "mixer_features_rows",
        lambda: KMixUp(k=2, num_classes=5)(*images(6), features=torch.zeros(5, 2)),
        ValueError,
        "KMixUp: expected features with batch size 6 (the batch size of x), "
        "got features of shape (5, 2)",
    ),
]


@pytest.mark.parametrize(
    ("call", "kind", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_bad_input_message(call: Callable[[], object], kind: type[Exception], message: str) -> None:
    with pytest.raises(kind, match=f"^{re.escape(message)}$"):
        call()


# -- the example ----------------------------------------------------------------------------


def test_blobs_example_runs(tmp_path: Path) -> None:
    out = tmp_path / "blobs.png"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "kmixup_blobs.py"),
            "--quick",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0].isdigit():
            rows[(int(parts[0]), parts[1] == "True")] = [float(v) for v in parts[2:]]
    assert rows[(1, False)][0] > 0.35, "random pairing crosses the gap often"
    assert rows[(64, False)] == [0.0, 1.0, 0.0], "k = B: every sample its own partner"
    assert rows[(64, True)][0] < 0.02 and rows[(64, True)][1] == 0.0
    assert out.stat().st_size > 10_000
