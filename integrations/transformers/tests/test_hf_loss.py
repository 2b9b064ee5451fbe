"""MixUpLoss, the ready compute_loss_func: dense and pair encodings, weights, num_items_in_batch."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as TF
from hf_support import HalfWeights
from transformers.modeling_outputs import ImageClassifierOutput

import mixkit
from mixkit_transformers import MixUpCollator, MixUpLoss
from mixkit_transformers._loss import num_samples


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


def encoded(mixer: mixkit.MixUp, mixed: mixkit.Mixed, encoding: str) -> torch.Tensor:
    return MixUpCollator(mixer, encoding=encoding)._encode("test", mixed)  # type: ignore[arg-type]


@pytest.mark.parametrize(("encoding", "form"), [("dense", "soft"), ("pair", "pair")])
def test_equals_the_core_loss_in_its_form_with_weights_and_smoothing(
    encoding: str, form: str
) -> None:
    mixer, mixed, logits = mixed_batch(HalfWeights(), smoothing=0.1)
    labels = encoded(mixer, mixed, encoding)
    assert not torch.equal(mixed.weights, torch.ones(6))
    for reduction in ("mean", "weighted_mean"):
        expected = mixed.loss(logits, form=form, reduction=reduction)  # type: ignore[arg-type]
        got = MixUpLoss(encoding=encoding, reduction=reduction)(logits, labels)  # type: ignore[arg-type]
        torch.testing.assert_close(got, expected)
        assert got.dtype == torch.float32


def test_dense_and_pair_agree_and_integer_labels_are_plain_cross_entropy() -> None:
    mixer, mixed, logits = mixed_batch()
    dense = MixUpLoss()(logits, encoded(mixer, mixed, "dense"))
    pair = MixUpLoss(encoding="pair")(logits, encoded(mixer, mixed, "pair"))
    torch.testing.assert_close(dense, pair)
    y = mixed.y_a
    for loss in (MixUpLoss(), MixUpLoss(encoding="pair"), MixUpLoss(reduction="weighted_mean")):
        torch.testing.assert_close(loss(logits, y), TF.cross_entropy(logits, y))


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean"])
def test_num_items_normalises_micro_batches_over_the_accumulated_samples(reduction: str) -> None:
    # Trainer counts label entries over all micro-batches of a step: C per dense row, 5 per pair
    mixer, mixed, logits = mixed_batch(HalfWeights())
    weighted = mixed.loss(logits, reduction="none")  # (6,) w_i l_i
    for encoding in ("dense", "pair"):
        labels = encoded(mixer, mixed, encoding)
        loss = MixUpLoss(encoding=encoding, reduction=reduction)  # type: ignore[arg-type]
        count = torch.tensor(labels.numel())  # what Trainer passes, for both halves together
        parts = []
        for s in (slice(0, 2), slice(2, 6)):  # uneven micro-batches
            part = loss(logits[s], labels[s], num_items_in_batch=count)
            expected = weighted[s].sum() / 6
            if reduction == "weighted_mean":  # over the part's weights, times its share B / N
                expected = weighted[s].sum() / mixed.weights[s].sum() * (s.stop - s.start) / 6
            torch.testing.assert_close(part, expected)
            assert part.dtype == torch.float32
            parts.append(part)
        if reduction == "mean":  # exact: the micro-batches add up to the whole batch
            torch.testing.assert_close(parts[0] + parts[1], loss(logits, labels))


def test_num_samples_from_trainers_count_of_label_entries() -> None:
    dense = torch.zeros(4, 10)
    assert num_samples(None, dense) is None
    assert num_samples(80, dense) == 8.0
    count = num_samples(torch.tensor(80), dense)
    assert isinstance(count, torch.Tensor) and count.dtype == torch.float32 and float(count) == 8
    assert num_samples(torch.tensor(12), torch.zeros(4, dtype=torch.long)) == 12


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
            "MixUpLoss: expected dense labels of the logits' shape (4, 3) (is the "
            "collator's encoding 'dense' too?), got a torch.float32 tensor of shape (4, 5) on cpu",
        ),
        (
            lambda: MixUpLoss(encoding="pair")(logits, torch.zeros(4, 3)),
            ValueError,
            "MixUpLoss: expected pair-encoded labels of shape (B, 5) ('y_a', 'y_b', 'lam', "
            "'weight', 'label_smoothing') (is the collator's encoding 'pair' too?), got a "
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
        (
            lambda: MixUpLoss(task="multilabel")(logits, torch.zeros(4, 5)),
            ValueError,
            "MixUpLoss: expected dense labels of the logits' shape (4, 3), got a torch.float32 "
            "tensor of shape (4, 5) on cpu",
        ),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=re.escape(message)):
            call()
