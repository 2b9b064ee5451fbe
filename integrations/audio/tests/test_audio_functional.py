"""The audio kernels: lengths, masks, levels, the mixing rules, frame targets."""

from __future__ import annotations

import math
import re

import pytest
import torch

from mixkit import functional as core
from mixkit_audio import functional as AF


@pytest.mark.parametrize("size", [5, 10000])  # short rows: one comparison; long: per-row fills
def test_lengths_to_mask_paths_agree(size: int) -> None:
    lengths = torch.tensor([size, 0, size // 3, size - 1])
    mask = AF.lengths_to_mask(lengths, size)
    assert mask.dtype == torch.bool and mask.shape == (4, size)
    assert torch.equal(mask, torch.arange(size) < lengths.unsqueeze(1))


def test_lengths_to_mask_and_back() -> None:
    lengths = torch.tensor([3, 0, 5])
    mask = AF.lengths_to_mask(lengths, 5)
    assert mask.dtype == torch.bool and mask.shape == (3, 5)
    assert mask.sum(dim=1).tolist() == [3, 0, 5]
    assert mask[0].tolist() == [True, True, True, False, False]
    assert torch.equal(AF.lengths_from_mask(mask.long()), lengths)


def test_lengths_from_mask_refuses_left_padding_and_bad_shapes() -> None:
    message = (
        "lengths_from_mask: expected a right-padded mask (valid steps first, then padding), "
        "got a row with a valid step after a padded one"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        AF.lengths_from_mask(torch.tensor([[0, 1, 1]]))
    with pytest.raises(ValueError, match=re.escape("expected a (B, T) mask, got shape (3,)")):
        AF.lengths_from_mask(torch.tensor([1, 1, 0]))


def test_absolute_lengths_round_like_speechbrain() -> None:
    rel = torch.tensor([1.0, 0.5, 0.333, 0.0])
    assert AF.absolute_lengths(rel, 10).tolist() == [10, 5, 3, 0]


def test_mixed_lengths_under_each_policy() -> None:
    lengths, index = torch.tensor([10, 4, 7]), torch.tensor([1, 2, 0])
    assert AF.mixed_lengths(lengths, index, "min").tolist() == [4, 4, 7]
    assert AF.mixed_lengths(lengths, index, "max").tolist() == [10, 7, 10]
    assert AF.mixed_lengths(lengths, index, "pad").tolist() == [10, 4, 7]
    moved = torch.tensor([True, False, True])
    assert AF.mixed_lengths(lengths, index, "min", moved=moved).tolist() == [4, 4, 7]
    assert AF.mixed_lengths(lengths, index, "max", moved=moved).tolist() == [10, 4, 10]
    with pytest.raises(ValueError, match=re.escape("mixed_lengths: expected policy to be one")):
        AF.mixed_lengths(lengths, index, "longest")


def test_fill_padding_returns_a_filled_copy() -> None:
    x = torch.ones(2, 1, 4)
    out = AF.fill_padding(x, torch.tensor([4, 1]), -5.0)
    assert out.tolist() == [[[1, 1, 1, 1]], [[1, -5, -5, -5]]]
    assert torch.equal(x, torch.ones(2, 1, 4))


@pytest.mark.parametrize(
    "holds", [AF.padding_holds, AF._padding_holds_rows, AF._padding_holds_masked]
)
def test_padding_holds_checks_the_padding_only(holds: object) -> None:
    check = holds  # type: ignore[assignment]
    x = torch.ones(3, 2, 6)
    x[0, :, 4:] = 0.0
    x[2, :, 5:] = 0.0
    lengths = torch.tensor([4, 6, 5])
    assert check(x, lengths, 0.0)
    assert not check(x, torch.tensor([3, 6, 5]), 0.0)
    assert not check(x, lengths, -100.0)
    assert check(x, torch.tensor([6, 6, 6]), 123.0)  # nothing padded


def test_frame_lengths_count_partly_covered_frames() -> None:
    # 100 samples onto 10 frames: 1..10 samples cover 1 frame, 11 cover 2, 100 cover 10
    assert AF.frame_lengths(torch.tensor([0, 1, 10, 11, 100]), 100, 10).tolist() == [
        0,
        1,
        1,
        2,
        10,
    ]


def test_segment_rms_counts_only_the_samples_asked_for(device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 2, 50, generator=g)
    x[1, :, 20:] = 1000.0  # padding must not count
    rows, stop = torch.tensor([1, 0, 2, 2]), torch.tensor([20, 50, 0, 7])
    rms = AF.segment_rms(x.to(device), rows.to(device), stop.to(device))
    assert rms.dtype == torch.float64 and rms.device == x.to(device).device
    expected = torch.stack(
        [
            x[1, :, :20].double().square().mean().sqrt(),
            x[0].double().square().mean().sqrt(),
            torch.tensor(0.0, dtype=torch.float64),
            x[2, :, :7].double().square().mean().sqrt(),
        ]
    )
    torch.testing.assert_close(rms.cpu(), expected)
    # both code paths (row by row on the CPU, a prefix sum elsewhere) agree
    flat = x.reshape(3, 2, 50)
    torch.testing.assert_close(
        AF._segment_energy_rows(flat, rows, stop), AF._segment_energy_prefix(flat, rows, stop)
    )


def test_snr_and_energy_share_are_inverse() -> None:
    snr = torch.tensor([-20.0, -3.0, 0.0, 6.0, 30.0], dtype=torch.float64)
    share = AF.snr_to_share(snr)
    torch.testing.assert_close(share[2], torch.tensor(0.5, dtype=torch.float64))
    torch.testing.assert_close(share, 1.0 / (1.0 + 10.0 ** (-snr / 10.0)))
    torch.testing.assert_close(AF.share_to_snr(share), snr)
    edges = AF.share_to_snr(torch.tensor([1.0, 0.0]))
    assert edges.tolist() == [math.inf, -math.inf]


@pytest.mark.parametrize("snr", [-12.0, -3.0, 0.0, 4.5, 15.0])
def test_loudness_gains_place_the_partner_at_the_snr(snr: float) -> None:
    lam = AF.snr_to_share(torch.tensor([snr, snr]))
    rms_own, rms_partner = torch.tensor([0.2, 0.01]), torch.tensor([0.05, 0.3])
    gains = AF.loudness_gains(lam, rms_own, rms_partner)
    own_level = gains[:, 0] * rms_own
    partner_level = gains[:, 1] * rms_partner
    torch.testing.assert_close(
        20 * torch.log10(own_level / partner_level), torch.full((2,), snr, dtype=torch.float64)
    )
    # the louder component plays at the original's level
    torch.testing.assert_close(
        torch.maximum(own_level, partner_level), rms_own.double(), rtol=1e-12, atol=0
    )


def test_loudness_gains_at_the_ends() -> None:
    lam = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    rms_own = torch.tensor([0.3, 0.3, 0.3], dtype=torch.float64)
    rms_partner = torch.tensor([0.1, 0.1, 0.0], dtype=torch.float64)
    gains = AF.loudness_gains(lam, rms_own, rms_partner)
    # lam = 1: the original alone; lam = 0: the partner alone, at the original's level
    torch.testing.assert_close(
        gains, torch.tensor([[1.0, 0.0], [0.0, 3.0], [1.0, 0.0]], dtype=torch.float64)
    )
    assert gains[0].tolist() == [1.0, 0.0] and gains[2].tolist() == [1.0, 0.0]


def test_energy_share_weighs_coverage() -> None:
    lam = torch.tensor([0.5, 0.5, 0.8, 1.0, 0.0])
    n_own = torch.tensor([100, 100, 50, 10, 10])
    n_partner = torch.tensor([100, 25, 50, 10, 10])
    share = AF.energy_share(lam, n_own, n_partner)
    torch.testing.assert_close(share, torch.tensor([0.5, 0.8, 0.8, 1.0, 0.0], dtype=torch.float64))


def test_mix_loudness_is_the_gain_weighted_sum() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 1, 40, generator=g)
    index = torch.tensor([2, 0, 1])
    gains = torch.tensor([[1.0, 0.4], [0.25, 2.0], [1.0, 0.0]], dtype=torch.float64)
    out = AF.mix_loudness(x, index, gains)
    expected = gains[:, :1, None].float() * x + gains[:, 1:, None].float() * x[index]
    torch.testing.assert_close(out, expected)
    assert torch.equal(out[2], x[2])  # gains (1, 0): bit-exact
    assert torch.equal(x, torch.randn(3, 1, 40, generator=torch.Generator().manual_seed(1)))


@pytest.mark.parametrize(("scale", "to_power"), [
    (1.0, torch.exp),
    (math.log(10.0) / 10.0, lambda v: 10.0 ** (v / 10.0)),
])  # fmt: skip
def test_mix_log_power_mixes_the_powers(scale: float, to_power: object) -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(4, 3, 5, generator=g, dtype=torch.float64) * 4
    index, lam = torch.tensor([1, 2, 3, 0]), torch.tensor([0.3, 0.5, 1.0, 0.0])
    out = AF.mix_log_power(x, index, lam, scale=scale)
    power = to_power  # type: ignore[assignment]
    mixed = lam.double().view(-1, 1, 1) * power(x) + (1 - lam.double()).view(-1, 1, 1) * power(
        x[index]
    )
    torch.testing.assert_close(power(out), mixed)
    torch.testing.assert_close(out[2], x[2])
    torch.testing.assert_close(out[3], x[0])
    low, high = torch.minimum(x, x[index]), torch.maximum(x, x[index])
    assert bool(((out >= low - 1e-9) & (out <= high + 1e-9)).all())
    half = AF.mix_log_power(x.half(), index, 0.5, scale=scale)
    assert half.dtype == torch.float16
    leaf = x.clone().requires_grad_()
    differentiable = AF.mix_log_power(leaf, index, lam, scale=scale)
    torch.testing.assert_close(differentiable.detach(), out)
    differentiable.sum().backward()
    assert leaf.grad is not None and bool(torch.isfinite(leaf.grad).all())


def test_mix_frame_targets_weigh_only_sources_that_sound() -> None:
    # 2 rows, 4 frames, 2 classes; row 0 (class 0, 4 frames) mixed with row 1 (class 1, 2 frames)
    targets = torch.zeros(2, 4, 2)
    targets[0, :, 0] = 1.0
    targets[1, :2, 1] = 1.0
    index, lam = torch.tensor([1, 0]), torch.tensor([0.75, 0.75])
    lengths = torch.tensor([4, 2])
    out = AF.mix_frame_targets(targets, index, lam, lengths, torch.tensor([4, 2]))
    assert out[0].tolist() == [[0.75, 0.25], [0.75, 0.25], [1.0, 0.0], [1.0, 0.0]]
    assert out[1].tolist() == [[0.25, 0.75], [0.25, 0.75], [0.0, 0.0], [0.0, 0.0]]
    union = AF.mix_frame_targets(targets, index, lam, lengths, torch.tensor([4, 4]), union=True)
    assert union[1].tolist() == [[1.0, 1.0], [1.0, 1.0], [1.0, 0.0], [1.0, 0.0]]
    kept = AF.mix_frame_targets(
        targets, index, lam, lengths, torch.tensor([4, 2]), moved=torch.tensor([False, True])
    )
    assert torch.equal(kept[0], targets[0])
    # equal lengths: the frame mix is the clip-level mix in every frame
    both = torch.tensor([4, 4])
    full = AF.mix_frame_targets(targets, index, lam, both, both)
    torch.testing.assert_close(full, core.mix(targets, index, lam), rtol=0, atol=1e-7)
