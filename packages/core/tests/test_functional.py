"""The pure kernels: exact math, end points, no mutation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as TF

from mixkit import functional as F


def test_mix_formula(device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 3, 4, generator=g).to(device)
    index = torch.tensor([2, 0, 1, 5, 3, 4], device=device)
    lam = torch.rand(6, generator=g).to(device)
    expected = lam.view(-1, 1, 1) * x + (1 - lam.view(-1, 1, 1)) * x[index]
    torch.testing.assert_close(F.mix(x, index, lam), expected)
    torch.testing.assert_close(F.mix(x, index, 0.3), 0.3 * x + 0.7 * x[index])


def test_mix_end_points_are_exact(device: torch.device) -> None:
    x = torch.randn(5, 7, device=device)
    index = torch.tensor([4, 3, 2, 1, 0], device=device)
    assert torch.equal(F.mix(x, index, 1.0), x)
    assert torch.equal(F.mix(x, index, 0.0), x[index])
    assert torch.equal(F.mix(x, index, torch.ones(5, device=device)), x)


def test_mix_leaves_input_and_is_differentiable() -> None:
    x = torch.randn(4, 3, requires_grad=True)
    x0 = x.detach().clone()
    out = F.mix(x, torch.tensor([1, 0, 3, 2]), 0.25)
    out.sum().backward()
    assert torch.equal(x.detach(), x0)
    # every sample is used once as itself (0.25) and once as a partner (0.75)
    torch.testing.assert_close(x.grad, torch.ones(4, 3))


def test_one_hot_with_smoothing() -> None:
    y = torch.tensor([0, 2])
    out = F.one_hot(y, 4, label_smoothing=0.2)
    expected = torch.tensor([[0.85, 0.05, 0.05, 0.05], [0.05, 0.05, 0.85, 0.05]])
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(out.sum(1), torch.ones(2))


def test_smoothed_cross_entropy_matches_torch() -> None:
    g = torch.Generator().manual_seed(1)
    logits, y = torch.randn(8, 5, generator=g), torch.randint(0, 5, (8,), generator=g)
    ours = F.soft_cross_entropy(logits, F.one_hot(y, 5, label_smoothing=0.1))
    ref = TF.cross_entropy(logits, y, label_smoothing=0.1, reduction="none")
    torch.testing.assert_close(ours, ref)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_pair_form_equals_soft_form(smoothing: float) -> None:
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(16, 10, generator=g)
    y = torch.randint(0, 10, (16,), generator=g)
    index = torch.randperm(16, generator=g)
    lam = torch.rand(16, generator=g)
    dense = F.one_hot(y, 10, label_smoothing=smoothing)
    soft = F.soft_cross_entropy(logits, F.mix_targets(dense, index, lam))
    pair = F.pair_cross_entropy(logits, y, y[index], lam, label_smoothing=smoothing)
    torch.testing.assert_close(pair, soft)


def test_half_precision_losses_are_computed_in_float32() -> None:
    logits = torch.randn(4, 3).to(torch.bfloat16)
    y = torch.tensor([0, 1, 2, 0])
    loss = F.pair_cross_entropy(logits, y, y, torch.ones(4))
    assert loss.dtype == torch.float32
    ref = TF.cross_entropy(logits.float(), y, reduction="none")
    torch.testing.assert_close(loss, ref)


def test_union_targets() -> None:
    t = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    index = torch.tensor([1, 0, 0])
    lam = torch.tensor([0.5, 1.0, 0.0])
    out = F.union_targets(t, index, lam)
    expected = torch.tensor([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    assert torch.equal(out, expected)


def test_cutmix_single_box(device: torch.device) -> None:
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32, device=device).reshape(2, 1, 4, 4)
    box = torch.tensor([[[1, 3], [0, 2]]])  # rows 1-2, columns 0-1
    out = F.cutmix(x, torch.tensor([1, 0], device=device), box)
    expected = x.clone()
    expected[0, :, 1:3, 0:2] = x[1, :, 1:3, 0:2]
    expected[1, :, 1:3, 0:2] = x[0, :, 1:3, 0:2]
    assert torch.equal(out, expected)
    assert torch.equal(x, torch.arange(32, dtype=torch.float32, device=device).reshape(2, 1, 4, 4))


def test_cutmix_box_per_sample_and_1d(device: torch.device) -> None:
    x = torch.randn(3, 2, 10, device=device)
    index = torch.tensor([2, 0, 1], device=device)
    box = torch.tensor([[[0, 4]], [[3, 3]], [[8, 10]]])  # sample 1 gets an empty box
    out = F.cutmix(x, index, box)
    expected = x.clone()
    expected[0, :, 0:4] = x[2, :, 0:4]
    expected[2, :, 8:10] = x[1, :, 8:10]
    assert torch.equal(out, expected)


def test_cutmix_differentiable() -> None:
    x = torch.randn(2, 1, 4, 4, requires_grad=True)
    out = F.cutmix(x, torch.tensor([1, 0]), torch.tensor([[[0, 2], [0, 4]]]))
    out.sum().backward()
    torch.testing.assert_close(x.grad, torch.ones(2, 1, 4, 4))


def test_box_fraction() -> None:
    box = torch.tensor([[[0, 16], [0, 8]], [[2, 2], [0, 32]]])
    torch.testing.assert_close(
        F.box_fraction(box, (32, 32)), torch.tensor([0.125, 0.0], dtype=torch.float64)
    )


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_mix_one_hot_equals_mixing_one_hots(smoothing: float) -> None:
    g = torch.Generator().manual_seed(3)
    y = torch.randint(0, 7, (9,), generator=g)
    index = torch.randperm(9, generator=g)
    for lam in (torch.rand(9, generator=g), 0.35, 1.0):
        ref = F.mix_targets(F.one_hot(y, 7, label_smoothing=smoothing), index, lam)
        torch.testing.assert_close(F.mix_one_hot(y, index, lam, 7, label_smoothing=smoothing), ref)


@pytest.mark.parametrize("shape", [(6, 3, 4, 4), (3, 2, 160, 160)])  # batch path, per-row path
def test_mix_into_out_equals_a_fresh_result(shape: tuple[int, ...]) -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(*shape, generator=g)
    index = torch.randperm(shape[0], generator=g)
    lam = torch.rand(shape[0], generator=g)
    for weight in (lam, 0.3):
        out = torch.full_like(x, float("nan"))
        result = F.mix(x, index, weight, out=out)
        assert result is out
        assert torch.equal(out, F.mix(x, index, weight))


@pytest.mark.parametrize("per_sample", [False, True])
def test_cutmix_into_out_equals_a_fresh_result(per_sample: bool) -> None:
    g = torch.Generator().manual_seed(4)
    x = torch.randn(4, 3, 8, 8, generator=g)
    index = torch.tensor([3, 2, 1, 0])
    box = torch.tensor([[[1, 5], [2, 7]]] * (4 if per_sample else 1))
    out = torch.full_like(x, float("nan"))
    assert F.cutmix(x, index, box, out=out) is out
    assert torch.equal(out, F.cutmix(x, index, box))
