"""Rows that are not mixed come back exactly: lam = 1 and self-pairs, infinities included."""

from __future__ import annotations

import pytest
import torch

import mixkit
from mixkit import functional as F


def with_infinities(shape: tuple[int, ...] = (6, 3, 8, 8)) -> torch.Tensor:
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    x[0].view(-1)[0] = float("-inf")  # log-features use -inf for silence
    x[1].view(-1)[:5] = float("inf")
    return x


@pytest.mark.parametrize("shape", [(6, 3, 8, 8), (6, 3, 128, 128)])  # batched and row paths
def test_alpha_zero_returns_x_exactly_with_infinite_values(shape: tuple[int, ...]) -> None:
    x, y = with_infinities(shape), torch.arange(6) % 3
    for mixer in (
        mixkit.MixUp(alpha=0.0, num_classes=3),
        mixkit.MixUp(alpha=0.0, mode="elem", num_classes=3),
    ):
        out = mixer(x, y)
        assert out.applied and bool((out.lam == 1).all())
        assert torch.equal(out.inputs, x), "lam = 1 changed a row (NaN from inf - inf?)"
        assert out.inputs is not x


@pytest.mark.parametrize("mode", ["batch", "elem", "pair"])
@pytest.mark.parametrize("shape", [(6, 3, 8, 8), (6, 3, 128, 128)])
def test_rows_skipped_by_p_are_exact_and_do_not_poison_their_partner(
    mode: str, shape: tuple[int, ...]
) -> None:
    x, y = with_infinities(shape), torch.arange(6) % 3
    g = torch.Generator().manual_seed(1)
    for _ in range(20):
        out = mixkit.MixUp(p=0.5, mode=mode, num_classes=3, generator=g)(x, y)
        kept = (out.lam == 1) | (out.index == torch.arange(6))
        assert torch.equal(out.inputs[kept], x[kept])
        moved = ~kept
        # a moved row mixes finite values with infinities: never NaN unless inf meets -inf
        expected = F.mix(x, out.index, out.lam)
        torch.testing.assert_close(
            out.inputs[moved], expected[moved], rtol=0, atol=0, equal_nan=True
        )
        partner_of_finite = moved & torch.isfinite(x[out.index]).flatten(1).all(1)
        partner_of_finite &= torch.isfinite(x).flatten(1).all(1)
        assert not bool(out.inputs[partner_of_finite].isnan().any())


def test_self_pairs_with_lam_below_one_are_exact() -> None:
    x = with_infinities()
    index = torch.tensor([0, 1, 3, 2, 5, 4])  # rows 0 and 1 (the infinite ones) are self-paired
    for lam in (0.3, torch.tensor([0.3, 0.7, 0.5, 0.5, 0.2, 0.9])):
        out = F.mix(x, index, lam)
        assert torch.equal(out[:2], x[:2])
    # the same on device-side parameters (mask path)
    out = F.mix(x, index.to(x.device), torch.full((6,), 0.3).to(x.device))
    assert torch.equal(out[:2], x[:2])


def test_mix_on_device_parameters_matches_the_host_path(device: torch.device) -> None:
    x = torch.randn(8, 5, generator=torch.Generator().manual_seed(0)).to(device)
    index = torch.tensor([1, 0, 2, 4, 3, 6, 5, 7])
    lam = torch.tensor([0.2, 1.0, 0.5, 0.5, 0.9, 0.1, 0.3, 0.4])
    host = F.mix(x, index, lam)
    on_device = F.mix(x, index.to(device), lam.to(device))
    torch.testing.assert_close(host, on_device, rtol=0, atol=1e-6)
    kept = torch.tensor([False, True, True, False, False, False, False, True])
    assert torch.equal(host[kept.to(device)], x[kept.to(device)])


def test_cutmix_per_sample_boxes_keep_infinities() -> None:
    x = with_infinities()
    x[2] = float("inf")
    mixer = mixkit.CutMix(mode="elem", num_classes=3, generator=torch.Generator().manual_seed(0))
    out = mixer(x, torch.arange(6) % 3)
    assert not bool(out.inputs.isnan().any()), "a box paste is a copy: no NaN from 0 * inf"
    assert torch.equal(out.inputs, F.cutmix(x, out.params.index, out.params.box))
