"""MixUp, CutMix and RandomChoice: behaviour, modes, references (timm, torchvision)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

import mixkit
from mixkit import CutMix, MixUp, RandomChoice
from mixkit import functional as F


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def batch(n: int = 8, c: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = gen(seed)
    return torch.randn(n, 3, 8, 8, generator=g), torch.randint(0, c, (n,), generator=g)


# -- MixUp --------------------------------------------------------------------------------


def test_mixup_output_is_the_formula(device: torch.device) -> None:
    x, y = (t.to(device) for t in batch())
    out = MixUp(alpha=0.4, num_classes=10, generator=gen())(x, y)
    lam, index = out.lam, out.index
    assert bool((lam == lam[0]).all()), "batch mode draws one lam"
    assert sorted(index.tolist()) == list(range(8)), "random permutation pairing"
    expected = lam.view(-1, 1, 1, 1) * x + (1 - lam.view(-1, 1, 1, 1)) * x[index]
    torch.testing.assert_close(out.inputs, expected)
    onehot = torch.nn.functional.one_hot(y, 10).float()
    torch.testing.assert_close(
        out.targets, lam[:, None] * onehot + (1 - lam[:, None]) * onehot[index]
    )
    assert torch.equal(out.y_a, y) and torch.equal(out.y_b, y[index])


def test_elem_mode_draws_a_lam_per_sample() -> None:
    x, y = batch(16)
    out = MixUp(mode="elem", num_classes=10, generator=gen())(x, y)
    assert len(set(out.lam.tolist())) == 16


def test_pair_mode_is_symmetric_and_handles_odd_batches() -> None:
    x, y = batch(9)
    out = MixUp(mode="pair", num_classes=10, generator=gen())(x, y)
    index, lam = out.index, out.lam
    assert torch.equal(index[index], torch.arange(9)), "pairs: index is an involution"
    assert torch.equal(lam[index], lam), "both members of a pair share lam"
    alone = (index == torch.arange(9)).nonzero().flatten().tolist()
    assert len(alone) == 1 and lam[alone[0]] == 1.0


def test_alpha_zero_means_no_mixing() -> None:
    x, y = batch()
    out = MixUp(alpha=0.0, num_classes=10, generator=gen())(x, y)
    assert torch.equal(out.inputs, x)
    assert torch.equal(out.lam, torch.ones(8))


def test_apply_probability_skips_rows_exactly() -> None:
    x, y = batch(64)
    out = MixUp(p=0.5, mode="elem", num_classes=10, generator=gen())(x, y)
    skipped = out.lam == 1.0
    assert 16 < int(skipped.sum()) < 48
    assert torch.equal(out.index[skipped], torch.arange(64)[skipped]), "skipped: own partner"
    assert torch.equal(out.inputs[skipped], x[skipped])
    assert torch.equal(MixUp(p=0.0, num_classes=10)(x, y).inputs, x)


def test_lam_follows_beta_distribution() -> None:
    from scipy import stats

    mixer = MixUp(alpha=0.4, mode="elem", num_classes=2, generator=gen(3))
    x, y = torch.zeros(4000, 1), torch.zeros(4000, dtype=torch.int64)
    lam = mixer(x, y).lam.numpy()
    assert stats.kstest(lam, stats.beta(0.4, 0.4).cdf).pvalue > 0.01


@pytest.mark.parametrize("alpha", [5e-324, 1e-320, 2.2250738585072014e-308, 1e-305])
@pytest.mark.parametrize("mode", ["batch", "elem"])
def test_a_vanishing_alpha_draws_the_fair_coin_on_0_and_1(alpha: float, mode: str) -> None:
    """Beta(alpha, alpha) -> Bernoulli(1/2) on {0, 1}; scipy's betaincinv gives NaN or 0.5 here."""
    mixer = MixUp(alpha=alpha, mode=mode, num_classes=2, generator=gen(1))
    x, y = torch.zeros(400, 1), torch.zeros(400, dtype=torch.int64)
    lam = torch.cat([mixer(x, y).lam for _ in range(1 if mode == "elem" else 400)])
    assert torch.isfinite(lam).all()
    assert ((lam == 0) | (lam == 1)).all()  # float32: 1e-308 is 0
    assert 0.4 < float((lam == 1).float().mean()) < 0.6


def test_a_huge_alpha_draws_one_half() -> None:
    for alpha in (1e299, 1e301, 1.7e308):
        lam = MixUp(alpha=alpha, mode="elem", num_classes=2, generator=gen(1))(
            torch.zeros(64, 1), torch.zeros(64, dtype=torch.int64)
        ).lam
        assert torch.equal(lam, torch.full((64,), 0.5)), alpha


def test_soft_and_multilabel_and_regression_targets() -> None:
    x = torch.randn(6, 4)
    soft = torch.softmax(torch.randn(6, 3), dim=1)
    out = MixUp(generator=gen())(x, soft)
    torch.testing.assert_close(out.targets, F.mix_targets(soft, out.index, out.lam))

    multi = torch.tensor([[1, 0, 1], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 0, 0], [1, 0, 0]])
    out = MixUp(task="multilabel", union=True, generator=gen())(x, multi)
    mixed = out.lam < 1
    expected = torch.maximum(multi, multi[out.index]).float()
    assert torch.equal(out.targets[mixed], expected[mixed])

    values = torch.randn(6, 2, dtype=torch.float64)
    out = MixUp(task="regression", generator=gen())(x, values)
    assert out.targets.dtype == torch.float64
    torch.testing.assert_close(out.targets, F.mix_targets(values, out.index, out.lam))


def test_label_smoothing_is_applied_once() -> None:
    x, y = batch()
    mixer = MixUp(num_classes=10, label_smoothing=0.1, generator=gen())
    out = mixer(x, y)
    dense = F.one_hot(y, 10, label_smoothing=0.1)
    torch.testing.assert_close(out.targets, F.mix_targets(dense, out.index, out.lam))
    logits = torch.randn(8, 10)
    # the pair form applies the same smoothing, once: it equals the soft form
    torch.testing.assert_close(out.loss(logits, form="pair"), out.loss(logits, form="soft"))
    # in eval mode, targets are plain one-hot: no smoothing of the evaluation loss
    assert torch.equal(mixer.eval()(x, y).targets, F.one_hot(y, 10))


def test_same_seed_same_draw_on_every_device(device: torch.device) -> None:
    x, y = batch()
    cpu = MixUp(mode="elem", num_classes=10, generator=gen(5))(x, y)
    other = MixUp(mode="elem", num_classes=10, generator=gen(5))(x.to(device), y.to(device))
    assert torch.equal(cpu.index, other.index.cpu())
    assert torch.equal(cpu.lam, other.lam.cpu())
    torch.testing.assert_close(cpu.inputs, other.inputs.cpu())


def test_global_seed_makes_default_generators_reproducible() -> None:
    x, y = batch()
    torch.manual_seed(11)
    a = MixUp(num_classes=10)(x, y)
    torch.manual_seed(11)
    b = MixUp(num_classes=10)(x, y)
    assert torch.equal(a.inputs, b.inputs)


def test_draw_then_mix_is_the_call() -> None:
    x, y = batch()
    a = MixUp(num_classes=10, generator=gen(2))
    b = MixUp(num_classes=10, generator=gen(2))
    params = a.draw(x)
    assert torch.equal(a.mix(x, y, params).inputs, b(x, y).inputs)
    # the same draw mixes a second aligned tensor (e.g. a mask) identically
    mask = torch.randn(8, 1, 8, 8)
    out = a.mix(mask, y, params)
    torch.testing.assert_close(out.inputs, F.mix(mask, params.index, params.lam))


def test_half_precision_inputs() -> None:
    x, y = batch()
    for dtype in (torch.float16, torch.bfloat16):
        out = MixUp(num_classes=10, generator=gen())(x.to(dtype), y)
        assert out.inputs.dtype == dtype
        assert out.targets.dtype == torch.float32


def test_mixing_features_keeps_the_graph() -> None:
    feats = torch.randn(6, 5, requires_grad=True)
    out = MixUp(num_classes=3, generator=gen())(feats, torch.tensor([0, 1, 2, 0, 1, 2]))
    out.loss(out.inputs[:, :3]).backward()
    assert feats.grad is not None and bool(feats.grad.abs().sum() > 0)


def test_repr() -> None:
    assert repr(MixUp(num_classes=10)) == "MixUp(alpha=1.0, mode='batch', p=1.0, num_classes=10)"
    assert (
        repr(CutMix(alpha=0.5, mode="elem", correct_lam=False, label_smoothing=0.1))
        == "CutMix(alpha=0.5, mode='elem', p=1.0, num_classes=None, label_smoothing=0.1, "
        "correct_lam=False)"
    )
    assert (
        repr(MixUp(schedule=mixkit.OffAfter(epoch=3)))
        == "MixUp(alpha=1.0, mode='batch', p=1.0, num_classes=None, schedule=OffAfter(epoch=3))"
    )
    assert repr(MixUp(enabled=False, task="regression")).endswith(
        "task='regression', enabled=False)"
    )


def test_modules_follow_train_and_eval_of_a_parent_model() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    model.mixer = MixUp(num_classes=2)
    model.eval()
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 0, 1])
    assert model.mixer(x, y).inputs is x
    model.apply(lambda m: None)  # Module.apply must still work with a mixer inside
    model.to(torch.float64)  # and so must Module.to (its _apply)


# -- CutMix -------------------------------------------------------------------------------


def test_cutmix_lam_is_the_kept_area(device: torch.device) -> None:
    x, y = (t.to(device) for t in batch(16))
    for mode in ("batch", "elem", "pair"):
        out = CutMix(mode=mode, num_classes=10, generator=gen(1))(x, y)
        changed = (out.inputs != x).flatten(1).float().mean(1).cpu()
        frac = F.box_fraction(out.params.box, (8, 8)).float()
        if frac.shape[0] == 1:
            frac = frac.expand(16)
        moved = out.index.cpu() != torch.arange(16)
        torch.testing.assert_close(out.lam.cpu()[moved], 1 - frac[moved])
        assert bool((changed <= frac + 1e-6).all())  # equal pixels may coincide


def test_cutmix_without_lam_correction_keeps_the_draw() -> None:
    x, y = batch()
    out = CutMix(correct_lam=False, num_classes=10, generator=gen(4))(x, y)
    ref = MixUp(num_classes=10, generator=gen(4))(x, y)
    assert torch.equal(out.lam, ref.lam)


def test_cutmix_on_sequences_and_volumes() -> None:
    g = gen()
    for shape in [(4, 2, 50), (4, 1, 6, 6, 6)]:
        x = torch.randn(*shape, generator=g)
        out = CutMix(num_classes=3, mode="elem", generator=gen())(x, torch.tensor([0, 1, 2, 0]))
        assert out.inputs.shape == x.shape
        assert out.params.box is not None and out.params.box.shape == (4, len(shape) - 2, 2)


def test_cutmix_matches_timm_for_the_same_box_and_pairing() -> None:
    timm_mixup = pytest.importorskip("timm.data.mixup")
    x, y = batch(8, 10, seed=3)
    np.random.seed(0)
    mixer = timm_mixup.Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=10, label_smoothing=0.1)
    out_x, out_t = mixer(x.clone(), y)
    np.random.seed(0)  # replay timm's draws: apply?, lam, then the box centre
    np.random.rand()
    lam = float(np.random.beta(1.0, 1.0))
    ratio = np.sqrt(1 - lam)
    cut_h, cut_w = int(8 * ratio), int(8 * ratio)
    cy, cx = np.random.randint(0, 8), np.random.randint(0, 8)
    box = torch.tensor(
        [
            [
                [max(cy - cut_h // 2, 0), min(cy - cut_h // 2 + cut_h, 8)],
                [max(cx - cut_w // 2, 0), min(cx - cut_w // 2 + cut_w, 8)],
            ]
        ]
    )
    flip = torch.arange(7, -1, -1)
    assert torch.equal(F.cutmix(x, flip, box), out_x)
    lam_c = 1 - float(F.box_fraction(box, (8, 8))[0])
    dense = F.one_hot(y, 10, label_smoothing=0.1)
    torch.testing.assert_close(F.mix_targets(dense, flip, lam_c), out_t)


def test_mixup_matches_timm_and_torchvision() -> None:
    timm_mixup = pytest.importorskip("timm.data.mixup")
    v2 = pytest.importorskip("torchvision.transforms.v2")
    x, y = batch(8, 10, seed=4)
    np.random.seed(1)
    out_x, out_t = timm_mixup.Mixup(mixup_alpha=0.4, num_classes=10)(x.clone(), y)
    np.random.seed(1)  # replay timm's draws: apply?, then lam
    np.random.rand()
    lam = float(np.random.beta(0.4, 0.4))
    flip = torch.arange(7, -1, -1)  # timm pairs sample i with B - 1 - i
    torch.testing.assert_close(F.mix(x, flip, lam), out_x)
    dense = F.one_hot(y, 10, label_smoothing=0.1)  # timm smooths by 0.1 by default
    torch.testing.assert_close(F.mix_targets(dense, flip, lam), out_t)

    y = torch.arange(8)  # distinct labels: lam can be read off torchvision's targets
    tv_x, tv_t = v2.MixUp(alpha=0.4, num_classes=8)(x, y)
    roll = torch.roll(torch.arange(8), 1)  # torchvision pairs sample i with i - 1
    lam_tv = float(tv_t[0, 0])
    torch.testing.assert_close(F.mix(x, roll, lam_tv), tv_x)
    torch.testing.assert_close(F.mix_targets(F.one_hot(y, 8), roll, lam_tv), tv_t)


# -- RandomChoice -------------------------------------------------------------------------


def test_random_choice_uses_both_and_respects_p() -> None:
    x, y = batch()
    mixer = RandomChoice(
        [MixUp(num_classes=10, generator=gen(1)), CutMix(num_classes=10, generator=gen(2))],
        p=[0.25, 0.75],
        generator=gen(3),
    )
    outs = [mixer(x, y) for _ in range(400)]
    kinds = [out.params.box is not None for out in outs]
    assert 0.68 < sum(kinds) / 400 < 0.82
    assert [out.params.choice == 1 for out in outs] == kinds, "the choice is recorded"
    params = mixer.draw(x)
    assert params.choice in (0, 1)
    out = mixer.mix(x, y, params)
    assert out.inputs.shape == x.shape


def test_random_choice_shares_one_clock() -> None:
    x, y = batch()
    a, b = MixUp(num_classes=10), CutMix(num_classes=10)
    mixer = RandomChoice([a, b], generator=gen())
    for _ in range(5):
        mixer(x, y)
    assert a.step == b.step == 5
    mixer.set_epoch(3)
    assert a.epoch == b.epoch == 3


# -- progress, state and workers ----------------------------------------------------------


def test_step_counts_training_calls_only() -> None:
    x, y = batch()
    mixer = MixUp(num_classes=10)
    mixer(x, y)
    mixer(x, y)
    mixer.eval()
    mixer(x, y)
    assert mixer.step == 2
    mixer.set_step(100)
    assert mixer.step == 100


class _Toy(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    def __len__(self) -> int:
        return 64

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.full((2,), float(i)), torch.tensor(i % 4)


def test_dataloader_workers_draw_differently() -> None:
    mixer = MixUp(mode="elem", num_classes=4, generator=gen(0))

    def collate(items: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        x = torch.stack([a for a, _ in items])
        y = torch.stack([b for _, b in items])
        return mixer(x, y).lam

    loader = DataLoader(_Toy(), batch_size=8, num_workers=2, collate_fn=collate)
    torch.manual_seed(0)
    lams = list(loader)
    # batches 0 and 1 come from different workers, each worker's first draw
    assert not torch.equal(lams[0], lams[1])
    torch.manual_seed(0)
    again = list(loader)
    assert all(torch.equal(a, b) for a, b in zip(lams, again, strict=True))


class _WithLengths(MixUp):
    """A mixer taking an extra per-batch argument, as integration mixers (audio) do."""

    seen: ClassVar[list[object]] = []

    def forward(self, x, y, *, features=None, lengths=None):  # type: ignore[no-untyped-def,override]
        self.seen.append(lengths)
        return super().forward(x, y, features=features)


def test_random_choice_passes_extra_arguments_and_disables_every_mixer() -> None:
    x, y = batch()
    a, b = _WithLengths(num_classes=10), _WithLengths(num_classes=10)
    mixer = RandomChoice([a, b], generator=gen())
    lengths = torch.arange(8)
    mixer(x, y, lengths=lengths)
    assert _WithLengths.seen[-1] is lengths
    mixer.enabled = False
    assert not a.enabled and not b.enabled
    out = mixer(x, y, lengths=lengths)
    assert out.inputs is x and not out.applied
    mixer.enabled = True
    assert a.enabled and b.enabled
