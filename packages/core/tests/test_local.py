"""Local Mixup: the weights, the resample-partner pairing, the preset, their exact limits."""

from __future__ import annotations

import itertools
import math
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as TF
from torch import Tensor

import mixkit
from mixkit import CutMix, LocalMixUp, LocalPairing, LocalWeights, MixParams, MixUp
from mixkit._local import knn_weights, partner_distances
from mixkit._params import Mode
from mixkit.testing import MixerCase, parametrize_with_checks, run_check

ROOT = Path(__file__).resolve().parents[3]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def batch(n: int = 12, c: int = 4, seed: int = 0) -> tuple[Tensor, Tensor]:
    g = gen(seed)
    return torch.randn(n, 3, 4, generator=g), torch.randint(0, c, (n,), generator=g)


def same(a: mixkit.Mixed, b: mixkit.Mixed) -> None:
    for name in ("inputs", "targets", "lam", "index", "weights"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name


# -- the weights -----------------------------------------------------------------------------


def test_distances_are_plain_euclidean_on_flattened_inputs() -> None:
    x, y = batch()
    out = LocalMixUp(sigma=1.0, num_classes=4, generator=gen())(x, y)
    flat = x.reshape(12, -1)
    d = torch.stack([torch.dist(flat[i], flat[j]) for i, j in enumerate(out.index.tolist())])
    torch.testing.assert_close(partner_distances(flat, out.index), d)
    torch.testing.assert_close(out.weights, torch.exp(-d), msg="exp(-sigma * d), not squared")
    assert partner_distances(flat, torch.arange(12)).eq(0).all(), "self-pairs: d is exactly 0"


def test_threshold_keeps_exactly_the_pairs_within_eps() -> None:
    x, y = batch(32)
    eps = 3.5
    out = LocalMixUp(eps=eps, mode="elem", num_classes=4, generator=gen(1))(x, y)
    d = partner_distances(x.flatten(1), out.index)
    assert torch.equal(out.weights, (d <= eps).float())
    assert 0 < int(out.weights.sum()) < 32, "the batch mixes near and far pairs"


def test_knn_matches_a_brute_force_ranking() -> None:
    g = gen(2)
    feats = torch.randn(40, 5, generator=g)  # distinct distances (no ties)
    index = torch.randint(0, 40, (40,), generator=g)
    dist = torch.cdist(feats, feats, compute_mode="donot_use_mm_for_euclid_dist")
    for k in (1, 3, 10):
        expected = []
        for i, j in enumerate(index.tolist()):
            others = [n for n in dist[i].argsort().tolist() if n != i]
            expected.append(1.0 if j == i or others.index(j) < k else 0.0)
        assert torch.equal(knn_weights(feats, index, k), torch.tensor(expected)), k


def test_knn_ranks_ties_together_and_itself_first() -> None:
    feats = torch.tensor([[0.0], [1.0], [-1.0], [3.0]])
    # sample 0: samples 1 and 2 tie at distance 1 (both rank 1); sample 3 is rank 3
    w = knn_weights(feats, torch.tensor([1, 0, 0, 0]), 1)
    assert w.tolist() == [1.0, 1.0, 1.0, 0.0]
    w = knn_weights(feats, torch.tensor([2, 1, 2, 1]), 1)  # self-pairs have rank 0
    assert w.tolist() == [1.0, 1.0, 1.0, 1.0]
    w = knn_weights(feats, torch.tensor([3, 3, 3, 2]), 2)
    assert w.tolist() == [0.0, 1.0, 0.0, 0.0], "3 -> 2: 1 and 0 are closer, rank 3 > 2"


@pytest.mark.parametrize(
    "weighting",
    [LocalWeights(eps=0.0), LocalWeights(sigma=1e6), LocalWeights(knn=1)],
    ids=["eps0", "sigma_huge", "knn1"],
)
def test_self_pairs_have_weight_one_under_every_rule(weighting: LocalWeights) -> None:
    x, y = batch(64)
    out = MixUp(mode="elem", p=0.5, num_classes=4, weighting=weighting, generator=gen(3))(x, y)
    own = out.index == torch.arange(64)
    assert 10 < int(own.sum()) < 54
    assert torch.equal(out.weights[own], torch.ones(int(own.sum())))
    if weighting.knn is None:  # far random pairs get (almost) nothing
        assert float(out.weights[~own].max()) < 1e-6


def test_weights_use_the_callers_features_and_not_lam() -> None:
    x, y = batch()
    mixer = LocalMixUp(eps=0.0, num_classes=4, generator=gen(4))
    out = mixer(x, y, features=torch.zeros(12, 7))  # every pair coincides in feature space
    assert torch.equal(out.weights, torch.ones(12))
    params = mixer.draw(x)
    w_half = mixer.mix(x, y, params.replace(lam=torch.full((12,), 0.5)), features=x * 2).weights
    w_one = mixer.mix(x, y, params.replace(lam=torch.ones(12)), features=x * 2).weights
    assert torch.equal(w_half, w_one)


def test_pair_mode_weights_both_members_alike() -> None:
    x, y = batch(16)
    out = LocalMixUp(sigma=0.3, mode="pair", num_classes=4, generator=gen(5))(x, y)
    assert torch.equal(out.weights[out.index], out.weights)


def test_weights_carry_no_gradient_and_inputs_stay_untouched() -> None:
    x, y = batch()
    x.requires_grad_(True)
    x0 = x.detach().clone()
    out = LocalMixUp(sigma=0.2, num_classes=4, generator=gen())(x, y)
    assert not out.weights.requires_grad and out.inputs.requires_grad
    assert torch.equal(x.detach(), x0)


# -- the exact limits ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["batch", "elem", "pair"])
@pytest.mark.parametrize(
    "make",
    [
        lambda mode, g: LocalMixUp(eps=math.inf, mode=mode, num_classes=4, generator=g),
        lambda mode, g: LocalMixUp(sigma=0.0, mode=mode, num_classes=4, generator=g),
        lambda mode, g: LocalMixUp(knn=11, mode=mode, num_classes=4, generator=g),
    ],
    ids=["eps_inf", "sigma0", "knn_b_minus_1"],
)
def test_the_vanilla_limits_equal_mixup_exactly(
    make: Callable[[Mode, torch.Generator], LocalMixUp], mode: Mode, device: torch.device
) -> None:
    x, y = (t.to(device) for t in batch())
    local, vanilla = make(mode, gen(6)), MixUp(mode=mode, num_classes=4, generator=gen(6))
    logits = torch.randn(12, 4, generator=gen(7)).to(device)
    for _ in range(3):
        a, b = local(x, y), vanilla(x, y)
        same(a, b)
        for form in ("pair", "soft"):
            for reduction in ("mean", "weighted_mean", "sum", "none"):
                assert torch.equal(
                    a.loss(logits, form=form, reduction=reduction),
                    b.loss(logits, form=form, reduction=reduction),
                ), (form, reduction)


def test_eps_zero_is_erm_on_the_self_pairs_for_every_draw() -> None:
    x, y = batch(8)
    logits = torch.randn(8, 4, generator=gen(8))
    ce = TF.cross_entropy(logits, y, reduction="none")
    mixer = LocalMixUp(eps=0.0, mode="elem", num_classes=4, generator=gen(9))
    seen_self = 0
    for _ in range(40):
        out = mixer(x, y)
        own = out.index == torch.arange(8)
        seen_self += int(own.sum())
        assert torch.equal(out.weights, own.float())  # distinct points: only self-pairs
        assert torch.equal(out.inputs[own], x[own]), "a self-pair is an unmixed sample"
        assert torch.equal(out.loss(logits, reduction="none"), own.float() * ce)
        if own.any():
            torch.testing.assert_close(
                out.loss(logits, reduction="weighted_mean"), ce[own].mean(), rtol=1e-6, atol=0
            )
        else:
            assert float(out.loss(logits, reduction="weighted_mean")) == 0.0
    assert seen_self > 0


def test_eps_zero_averaged_over_partners_is_erm_divided_by_b() -> None:
    # every permutation of a batch of 5: E[sum_i w_i CE_i / B] = ERM loss / B, for any lam
    x, y = batch(5)
    logits = torch.randn(5, 4, generator=gen(10))
    mixer = LocalMixUp(eps=0.0, num_classes=4)
    losses = [
        mixer.mix(x, y, MixParams(index=torch.tensor(perm), lam=torch.full((5,), 0.3))).loss(logits)
        for perm in itertools.permutations(range(5))
    ]
    erm = TF.cross_entropy(logits, y)
    torch.testing.assert_close(torch.stack(losses).mean(), erm / 5)


def test_eps_zero_with_skipped_rows_trains_on_exactly_the_unmixed_rows() -> None:
    x, y = batch(64)
    logits = torch.randn(64, 4, generator=gen(11))
    out = LocalMixUp(eps=0.0, p=0.5, mode="elem", num_classes=4, generator=gen(12))(x, y)
    clean = out.index == torch.arange(64)
    assert torch.equal(out.inputs[clean], x[clean])
    torch.testing.assert_close(
        out.loss(logits, reduction="weighted_mean"),
        TF.cross_entropy(logits[clean], y[clean]),
        rtol=1e-6,
        atol=0,
    )


def test_duplicates_count_as_distance_zero() -> None:
    x = torch.tensor([[0.0, 1.0], [0.0, 1.0], [5.0, 5.0]])
    out = LocalMixUp(eps=0.0, num_classes=2).mix(
        x, torch.tensor([0, 1, 0]), MixParams(index=torch.tensor([1, 0, 0]), lam=torch.ones(3))
    )
    assert out.weights.tolist() == [1.0, 1.0, 0.0]


# -- the resample-partner pairing ------------------------------------------------------------


def test_pairing_probabilities_are_the_softmax_of_minus_sigma_d() -> None:
    feats = torch.tensor([[0.0], [1.0], [3.0]])
    d = torch.cdist(feats, feats).double()
    p = LocalPairing(sigma=0.7).probabilities(feats)
    torch.testing.assert_close(p, torch.softmax(-0.7 * d, dim=1))
    q = LocalPairing(sigma=0.7, include_self=False).probabilities(feats)
    assert torch.equal(q.diagonal(), torch.zeros(3, dtype=torch.float64))
    torch.testing.assert_close(q.sum(dim=1), torch.ones(3, dtype=torch.float64))
    uniform = torch.full((3, 3), 1 / 3, dtype=torch.float64)
    assert torch.equal(LocalPairing(sigma=0.0).probabilities(feats), uniform)


def test_pairing_draws_follow_the_probabilities() -> None:
    g = gen(13)
    feats = torch.tensor([[0.0], [0.5], [2.0], [4.0]])
    pairing = LocalPairing(sigma=1.0)
    draws = torch.stack([pairing.pair(4, feats, g) for _ in range(3000)])  # (3000, 4)
    freq = torch.stack([torch.bincount(draws[:, i], minlength=4) for i in range(4)]) / 3000
    # binomial sd <= sqrt(.25 / 3000) ~ 0.009: 4.5 sd
    torch.testing.assert_close(freq.double(), pairing.probabilities(feats), atol=0.04, rtol=0)


def test_pairing_limits_erm_and_nearest_neighbour() -> None:
    x, y = batch(10)
    mixer = MixUp(num_classes=4, pairing=LocalPairing(sigma=1e4), generator=gen(14))
    out = mixer(x, y)
    assert torch.equal(out.index, torch.arange(10)) and torch.equal(out.inputs, x)
    nearest = MixUp(
        num_classes=4, pairing=LocalPairing(sigma=1e4, include_self=False), generator=gen(14)
    )(x, y)
    d = torch.cdist(x.flatten(1), x.flatten(1)).fill_diagonal_(math.inf)
    assert torch.equal(nearest.index, d.argmin(dim=1))
    assert torch.equal(
        LocalPairing(sigma=1.0, include_self=False).pair(1, torch.zeros(1, 3), gen()),
        torch.tensor([0]),
    )


def test_pairing_is_reproducible_and_uses_only_the_generator(device: torch.device) -> None:
    x, y = batch(16)
    feats = torch.randn(16, 6, generator=gen(15))
    cpu = MixUp(num_classes=4, pairing=LocalPairing(sigma=0.5), generator=gen(16))
    other = MixUp(num_classes=4, pairing=LocalPairing(sigma=0.5), generator=gen(16))
    torch.manual_seed(0)
    first = cpu(x, y, features=feats)
    torch.manual_seed(1)  # the global RNG plays no part
    same(first, other(x, y, features=feats))
    there = MixUp(num_classes=4, pairing=LocalPairing(sigma=0.5), generator=gen(16))
    moved = there(x.to(device), y.to(device), features=feats.to(device))
    assert torch.equal(moved.index.cpu(), first.index), "same seed, same partners on any device"
    assert first.params.index.device.type == "cpu"


def test_pairing_and_weights_compose_in_the_preset() -> None:
    x, y = batch(24)
    mixer = LocalMixUp(eps=4.0, pairing=LocalPairing(sigma=2.0), num_classes=4, generator=gen(17))
    out = mixer(x, y)
    d = partner_distances(x.flatten(1), out.index)
    assert torch.equal(out.weights, (d <= 4.0).float())
    rand = LocalMixUp(eps=4.0, num_classes=4, generator=gen(17))(x, y)
    assert float(d.mean()) < float(partner_distances(x.flatten(1), rand.index).mean())


# -- the preset, repr, errors ----------------------------------------------------------------


def test_preset_is_mixup_with_local_weights() -> None:
    x, y = batch()
    a = LocalMixUp(knn=3, alpha=0.4, mode="elem", num_classes=4, generator=gen(18))
    b = MixUp(
        alpha=0.4, mode="elem", num_classes=4, weighting=LocalWeights(knn=3), generator=gen(18)
    )
    for _ in range(2):
        same(a(x, y), b(x, y))
    assert isinstance(a.weighting, LocalWeights) and a.weighting.knn == 3
    assert (a.weighting.eps, a.weighting.sigma) == (None, None)
    c = CutMix(num_classes=4, weighting=LocalWeights(eps=1.0))(torch.rand(4, 1, 8, 8), y[:4])
    assert c.weights.shape == (4,)


def test_repr() -> None:
    assert repr(LocalMixUp(eps=1.5, num_classes=10)) == (
        "LocalMixUp(eps=1.5, alpha=1.0, mode='batch', p=1.0, num_classes=10)"
    )
    assert repr(LocalMixUp(sigma=5e-4, alpha=0.2, pairing=LocalPairing(sigma=2.0))) == (
        "LocalMixUp(sigma=0.0005, alpha=0.2, mode='batch', p=1.0, num_classes=None, "
        "pairing=LocalPairing(sigma=2.0))"
    )
    assert repr(LocalMixUp(knn=5, mode="pair", enabled=False)) == (
        "LocalMixUp(knn=5, alpha=1.0, mode='pair', p=1.0, num_classes=None, enabled=False)"
    )
    assert repr(LocalWeights(eps=math.inf)) == "LocalWeights(eps=inf)"
    assert repr(LocalWeights(eps=2)) == "LocalWeights(eps=2.0)"
    assert repr(LocalWeights(knn=4)) == "LocalWeights(knn=4)"
    assert repr(LocalPairing(sigma=1, include_self=False)) == (
        "LocalPairing(sigma=1.0, include_self=False)"
    )
    assert repr(MixUp(num_classes=3, weighting=LocalWeights(sigma=0.5))) == (
        "MixUp(alpha=1.0, mode='batch', p=1.0, num_classes=3, weighting=LocalWeights(sigma=0.5))"
    )


ERRORS: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    (
        "no_rule",
        lambda: LocalWeights(),
        ValueError,
        "LocalWeights: expected exactly one of eps, sigma or knn, got none",
    ),
    (
        "two_rules",
        lambda: LocalWeights(eps=1.0, knn=3),
        ValueError,
        "LocalWeights: expected exactly one of eps, sigma or knn, got eps=1.0, knn=3",
    ),
    (
        "preset_no_rule",
        lambda: LocalMixUp(alpha=0.4),
        ValueError,
        "LocalMixUp: expected exactly one of eps, sigma or knn, got none",
    ),
    (
        "eps_negative",
        lambda: LocalMixUp(eps=-0.5),
        ValueError,
        "LocalMixUp: expected eps >= 0, got -0.5",
    ),
    (
        "eps_nan",
        lambda: LocalWeights(eps=float("nan")),
        ValueError,
        "LocalWeights: expected a finite eps >= 0, got nan",
    ),
    (
        "eps_string",
        lambda: LocalWeights(eps="1"),  # type: ignore[arg-type]
        TypeError,
        "LocalWeights: expected eps to be a real number, got '1' (str)",
    ),
    (
        "sigma_negative",
        lambda: LocalWeights(sigma=-1.0),
        ValueError,
        "LocalWeights: expected sigma >= 0, got -1.0",
    ),
    (
        "sigma_infinite",
        lambda: LocalMixUp(sigma=math.inf),
        ValueError,
        "LocalMixUp: expected a finite sigma >= 0, got inf",
    ),
    ("knn_zero", lambda: LocalWeights(knn=0), ValueError, "LocalWeights: expected knn >= 1, got 0"),
    (
        "knn_float",
        lambda: LocalMixUp(knn=2.0),  # type: ignore[arg-type]
        TypeError,
        "LocalMixUp: expected knn to be an int, got 2.0 (float)",
    ),
    (
        "preset_weighting",
        lambda: LocalMixUp(eps=1.0, weighting=LocalWeights(sigma=1.0)),
        ValueError,
        "LocalMixUp: expected no weighting argument (LocalMixUp's weighting is "
        "LocalWeights(eps | sigma | knn); use MixUp(weighting=...) for another one), "
        "got weighting=LocalWeights(sigma=1.0)",
    ),
    (
        "pairing_sigma_negative",
        lambda: LocalPairing(sigma=-0.1),
        ValueError,
        "LocalPairing: expected sigma >= 0, got -0.1",
    ),
    (
        "pairing_sigma_infinite",
        lambda: LocalPairing(sigma=math.inf),
        ValueError,
        "LocalPairing: expected a finite sigma >= 0, got inf",
    ),
    (
        "pairing_include_self",
        lambda: LocalPairing(sigma=1.0, include_self=1),  # type: ignore[arg-type]
        TypeError,
        "LocalPairing: expected include_self to be a bool, got 1 (int)",
    ),
    (
        "pairing_without_features",
        lambda: LocalPairing(sigma=1.0).pair(3, None, gen()),
        ValueError,
        "LocalPairing: expected features (needs_features=True), got None",
    ),
    (
        "pair_mode_with_local_pairing",
        lambda: LocalMixUp(eps=1.0, mode="pair", pairing=LocalPairing(sigma=1.0)),
        ValueError,
        "LocalMixUp: expected random pairing with mode='pair' (it pairs samples two by two), "
        "got pairing=LocalPairing(sigma=1.0)",
    ),
]


@pytest.mark.parametrize(
    ("call", "kind", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_bad_input_message(call: Callable[[], object], kind: type[Exception], message: str) -> None:
    with pytest.raises(kind, match=f"^{re.escape(message)}$"):
        call()


# -- the conformance suite -------------------------------------------------------------------


def images(g: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.randn(6, 3, 8, 8, generator=g), torch.randint(0, 5, (6,), generator=g)


def regression(g: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.randn(5, 3, generator=g), torch.randn(5, 2, generator=g)


CASES = [
    MixerCase("local-eps", lambda g: LocalMixUp(eps=12.0, num_classes=5, generator=g), images),
    MixerCase(
        "local-sigma-elem",
        lambda g: LocalMixUp(sigma=0.05, mode="elem", p=0.7, num_classes=5, generator=g),
        images,
    ),
    MixerCase(
        "local-knn-pair",
        lambda g: LocalMixUp(knn=2, mode="pair", label_smoothing=0.1, num_classes=5, generator=g),
        images,
    ),
    MixerCase(
        "local-resample",
        lambda g: MixUp(num_classes=5, pairing=LocalPairing(sigma=0.1), generator=g),
        images,
    ),
    MixerCase(
        "local-eps-resample-scheduled",
        lambda g: LocalMixUp(
            eps=11.0,
            pairing=LocalPairing(sigma=0.2, include_self=False),
            schedule=mixkit.LinearDecay(start=0, end=4, unit="step"),
            num_classes=5,
            generator=g,
        ),
        images,
    ),
    MixerCase(
        "cutmix-local-weights",
        lambda g: CutMix(mode="elem", num_classes=5, weighting=LocalWeights(knn=1), generator=g),
        images,
    ),
    MixerCase(
        "local-regression",
        lambda g: LocalMixUp(sigma=0.5, task="regression", generator=g),
        regression,
    ),
]


@parametrize_with_checks(CASES)
def test_conformance(case: MixerCase, check: str, device: torch.device) -> None:
    run_check(case, check, device)


# -- the example -----------------------------------------------------------------------------


@pytest.mark.slow
def test_spirals_example_runs(tmp_path: Path) -> None:
    out = tmp_path / "spirals.png"
    script = ROOT / "examples" / "local_mixup_spirals.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    quantiles = re.search(r"5% ([\d.]+) \| 50% ([\d.]+) \| 95% ([\d.]+)", text)
    assert quantiles is not None, text
    for ours, theirs in zip(map(float, quantiles.groups()), (0.47, 1.79, 3.26), strict=True):
        assert abs(ours - theirs) < 0.05, (ours, theirs)
    rows = re.findall(r"eps=\s*([\d.]+)\s+batch\s+(\d+).*test accuracy ([\d.]+)", text)
    assert [float(r[0]) for r in rows] == [0.0, 1.5, 10.0]
    assert [int(r[1]) for r in rows] == [20, 52, 20], "batch for ~20 kept pairs (authors: 50)"
    assert all(0.0 <= float(r[2]) <= 1.0 for r in rows)
    assert "ERM (no mixing)" in text and "loss weight 100.0% kept" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
