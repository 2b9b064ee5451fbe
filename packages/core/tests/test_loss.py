"""mixed_loss: forms, tasks, weights and reductions."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as TF

from mixkit import MixUp, mixed_loss


def mixed_batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(8, 5, generator=g), torch.randint(0, 3, (8,), generator=g)


def test_pair_and_soft_forms_agree_and_match_the_definition() -> None:
    x, y = mixed_batch()
    out = MixUp(num_classes=3, mode="elem", generator=torch.Generator().manual_seed(1))(x, y)
    logits = torch.randn(8, 3)
    pair, soft = mixed_loss(logits, out, form="pair"), mixed_loss(logits, out, form="soft")
    torch.testing.assert_close(pair, soft)
    ce_a = TF.cross_entropy(logits, out.y_a, reduction="none")
    ce_b = TF.cross_entropy(logits, out.y_b, reduction="none")
    torch.testing.assert_close(pair, (out.lam * ce_a + (1 - out.lam) * ce_b).mean())
    assert torch.equal(mixed_loss(logits, out), pair), "auto takes the pair form"


def test_weights_and_reductions() -> None:
    x, y = mixed_batch()
    out = MixUp(num_classes=3, generator=torch.Generator().manual_seed(1))(x, y)
    w = torch.tensor([1.0, 0.0, 0.5, 1.0, 0.0, 0.0, 1.0, 0.5])
    out = dataclasses.replace(out, weights=w)
    logits = torch.randn(8, 3)
    per = mixed_loss(logits, out, reduction="none")
    plain = mixed_loss(logits, dataclasses.replace(out, weights=torch.ones(8)), reduction="none")
    torch.testing.assert_close(per, plain * w)
    torch.testing.assert_close(mixed_loss(logits, out, reduction="sum"), per.sum())
    torch.testing.assert_close(mixed_loss(logits, out), per.sum() / 8)
    torch.testing.assert_close(mixed_loss(logits, out, reduction="weighted_mean"), per.sum() / 4)
    zero = dataclasses.replace(out, weights=torch.zeros(8))
    assert float(mixed_loss(logits, zero, reduction="weighted_mean")) == 0.0


def test_multilabel_uses_bce() -> None:
    x = torch.randn(4, 3)
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    out = MixUp(task="multilabel", generator=torch.Generator().manual_seed(0))(x, y)
    logits = torch.randn(4, 2)
    ref = TF.binary_cross_entropy_with_logits(logits, out.targets)
    torch.testing.assert_close(mixed_loss(logits, out), ref)


def test_regression_uses_squared_error() -> None:
    x, t = torch.randn(6, 3), torch.randn(6)
    out = MixUp(task="regression", generator=torch.Generator().manual_seed(0))(x, t)
    pred = torch.randn(6)
    torch.testing.assert_close(mixed_loss(pred, out), ((pred - out.targets) ** 2).mean())


def test_pair_form_is_refused_where_it_does_not_apply() -> None:
    x = torch.randn(4, 3)
    out = MixUp(task="multilabel", generator=torch.Generator().manual_seed(0))(x, torch.ones(4, 2))
    with pytest.raises(ValueError, match="form='pair' only for multiclass integer labels"):
        mixed_loss(torch.randn(4, 2), out, form="pair")


def test_logits_must_be_a_tensor() -> None:
    x, y = mixed_batch()
    out = MixUp(num_classes=3)(x, y)
    with pytest.raises(
        TypeError, match=r"^mixed_loss: expected logits to be a torch\.Tensor, got list$"
    ):
        mixed_loss([0.0], out)  # type: ignore[arg-type]
