"""MixUpLoss, the ready compute_loss_func: soft and pair forms, weights, num_items_in_batch."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as TF
from hf_support import HalfWeights
from transformers.modeling_outputs import ImageClassifierOutput

import mixkit
from mixkit_transformers import MixUpCollator, MixUpLoss
from mixkit_transformers._loss import reduce_loss


def mixed_batch(weighting: mixkit.Weighting | None = None, smoothing: float = 0.0):  # type: ignore[no-untyped-def]
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(6, 1, 4, 4, generator=g), torch.randint(0, 5, (6,), generator=g)
    mixer = mixkit.MixUp(
        mode="elem",
        num_classes=5,
        label_smoothing=smoothing,
        weighting=weighting,
        generator=torch.Generator().manual_seed(1),
    )
    return mixer, mixer(x, y), torch.randn(6, 5, generator=g)


def encoded(mixer: mixkit.MixUp, mixed: mixkit.Mixed, form: str) -> torch.Tensor:
    return MixUpCollator(mixer, form=form)._encode("test", mixed)  # type: ignore[arg-type]


@pytest.mark.parametrize("form", ["soft", "pair"])
def test_equals_the_core_loss_with_weights_and_smoothing(form: str) -> None:
    mixer, mixed, logits = mixed_batch(HalfWeights(), smoothing=0.1)
    labels = encoded(mixer, mixed, form)
    expected = mixed.loss(logits)  # sum_i w_i l_i / B
    assert not torch.equal(mixed.weights, torch.ones(6))
    torch.testing.assert_close(MixUpLoss(form=form)(logits, labels), expected)
    weighted = mixed.loss(logits, reduction="weighted_mean")
    torch.testing.assert_close(
        MixUpLoss(form=form, reduction="weighted_mean")(logits, labels), weighted
    )


def test_soft_and_pair_agree_and_integer_labels_are_plain_cross_entropy() -> None:
    mixer, mixed, logits = mixed_batch()
    soft = MixUpLoss()(logits, encoded(mixer, mixed, "soft"))
    pair = MixUpLoss(form="pair")(logits, encoded(mixer, mixed, "pair"))
    torch.testing.assert_close(soft, pair)
    y = mixed.y_a
    for loss in (MixUpLoss(), MixUpLoss(form="pair")):
        torch.testing.assert_close(loss(logits, y), TF.cross_entropy(logits, y))


def test_num_items_makes_micro_batches_add_up_to_the_whole_batch() -> None:
    # Trainer counts label entries over all micro-batches of a step: soft labels have C each
    mixer, mixed, logits = mixed_batch(HalfWeights())
    for form in ("soft", "pair"):
        labels = encoded(mixer, mixed, form)
        whole = MixUpLoss(form=form)(logits, labels)
        count = torch.tensor(labels.numel())  # what Trainer passes, for both halves together
        parts = [
            MixUpLoss(form=form)(logits[s], labels[s], num_items_in_batch=count)
            for s in (slice(0, 2), slice(2, 6))  # uneven micro-batches
        ]
        torch.testing.assert_close(parts[0] + parts[1], whole)
        assert parts[0].dtype == torch.float32


def test_reduce_loss_formulas() -> None:
    per = torch.tensor([1.0, 2.0, 3.0, 4.0])
    w = torch.tensor([1.0, 0.5, 0.0, 0.5])
    assert float(reduce_loss(per, w, "mean", None, 1)) == 2.5
    assert float(reduce_loss(per, w, "weighted_mean", None, 1)) == 5.0
    assert float(reduce_loss(per, w, "mean", 8, 1)) == 1.25
    assert float(reduce_loss(per, w, "mean", torch.tensor(40), 5)) == 1.25
    assert float(reduce_loss(per, w, "weighted_mean", 8, 1)) == 2.5  # 10/2 * 4/8


def test_multilabel_regression_and_output_kinds() -> None:
    logits = torch.randn(4, 3)
    multi = (torch.rand(4, 3) > 0.5).float()
    expected = TF.binary_cross_entropy_with_logits(logits, multi)
    torch.testing.assert_close(MixUpLoss(task="multilabel")(logits, multi), expected)
    head = torch.randn(4, 1)  # a regression head with num_labels=1 against (B,) targets
    values = torch.randn(4)
    torch.testing.assert_close(
        MixUpLoss(task="regression")(head, values), TF.mse_loss(head.squeeze(1), values)
    )
    y = torch.tensor([0, 1, 2, 0])
    plain = TF.cross_entropy(logits, y)
    for outputs in (
        ImageClassifierOutput(logits=logits),
        {"logits": logits},
        (logits,),
        logits,
    ):
        torch.testing.assert_close(MixUpLoss()(outputs, y), plain)


def test_loss_errors() -> None:
    logits = torch.randn(4, 3)
    cases = [
        (
            lambda: MixUpLoss()(logits, None),
            TypeError,
            "MixUpLoss: expected labels as a tensor (Trainer passes the batch's 'labels'; does "
            "the collator put them there?), got None (NoneType)",
        ),
        (
            lambda: MixUpLoss()(logits, torch.zeros(3, dtype=torch.long)),
            ValueError,
            "MixUpLoss: expected labels with batch size 4 (the logits'), got labels of shape (3,)",
        ),
        (
            lambda: MixUpLoss()(logits, torch.zeros(4, 5)),
            ValueError,
            "MixUpLoss: expected soft-form labels of the logits' shape (4, 3) (is the "
            "collator's form 'soft' too?), got a torch.float32 tensor of shape (4, 5) on cpu",
        ),
        (
            lambda: MixUpLoss(form="pair")(logits, torch.zeros(4, 3)),
            ValueError,
            "MixUpLoss: expected pair-form labels of shape (B, 5) ('y_a', 'y_b', 'lam', "
            "'weight', 'label_smoothing') (is the collator's form 'pair' too?), got a "
            "torch.float32 tensor of shape (4, 3) on cpu",
        ),
        (
            lambda: MixUpLoss()(logits, torch.zeros(4, 3, dtype=torch.long)),
            ValueError,
            "MixUpLoss: expected integer class labels of shape (B,), got a torch.int64 tensor "
            "of shape (4, 3) on cpu",
        ),
        (
            lambda: MixUpLoss()({"loss": logits.sum()}, torch.zeros(4, dtype=torch.long)),
            ValueError,
            "MixUpLoss: expected a model output holding 'logits', got keys ['loss']",
        ),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=re.escape(message)):
            call()
