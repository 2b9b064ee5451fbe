"""WaveformMixUp: padded batches of clips of different lengths, the three policies, targets."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as TF
from audio_testutils import (
    DistanceWeights,
    NearestMean,
    RecordingPairing,
    padded_batch,
    params,
    silenced,
)

import mixkit
from mixkit import functional as core
from mixkit_audio import AudioMixed, AudioParams, LoudnessMixUp, WaveformMixUp, WaveformOp
from mixkit_audio import functional as AF

LENGTHS = [10, 6, 3, 8]
INDEX = [1, 2, 3, 0]
Y = torch.tensor([0, 1, 2, 3])


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def reference(x: torch.Tensor, lengths: torch.Tensor, lam: float, out: list[int]) -> torch.Tensor:
    """The definition: silence the padding, lerp with the partner, cut to the mixed length."""
    clean = silenced(x, lengths)
    mixed = core.mix(clean, torch.tensor(INDEX), lam)
    return silenced(mixed, torch.tensor(out))


@pytest.mark.parametrize(
    ("policy", "out"),
    [("pad", [10, 6, 3, 8]), ("min", [6, 3, 3, 8]), ("max", [10, 6, 8, 10])],
)
def test_each_policy_matches_its_definition(policy: str, out: list[int]) -> None:
    x, lengths = padded_batch(LENGTHS)
    mixer = WaveformMixUp(num_classes=4, policy=policy)
    mixed = mixer.mix(x, Y, params(INDEX, 0.25), lengths=lengths)
    assert isinstance(mixed, AudioMixed)
    assert mixed.lengths.tolist() == out and mixed.lengths.dtype == torch.int64
    assert torch.equal(mixed.mask, AF.lengths_to_mask(torch.tensor(out), 10))
    assert torch.equal(mixed.inputs, reference(x, lengths, 0.25, out))
    assert torch.equal(mixed.padding_mask, ~mixed.mask)
    assert isinstance(mixed.params, AudioParams)
    assert mixed.params.out_lengths.tolist() == out
    # labels keep the classic weight
    torch.testing.assert_close(mixed.targets, core.mix_one_hot(Y, torch.tensor(INDEX), 0.25, 4))


def test_max_policy_hears_the_longer_clip_alone_past_the_shorter() -> None:
    x, lengths = padded_batch(LENGTHS)
    mixed = WaveformMixUp(num_classes=4, policy="max").mix(
        x, Y, params(INDEX, 0.25), lengths=lengths
    )
    # row 2 (3 samples) with row 3 (8 samples): steps 3..7 hold 0.75 * x[3]
    torch.testing.assert_close(mixed.inputs[2, :, 3:8], 0.75 * x[3, :, 3:8])
    assert bool(mixed.inputs[2, :, 8:].eq(0).all())


def test_the_padding_content_never_matters() -> None:
    dirty, lengths = padded_batch(LENGTHS, garbage=1e6)
    clean, _ = padded_batch(LENGTHS, garbage=0.0)
    for policy in ("pad", "min", "max"):
        mixer = WaveformMixUp(num_classes=4, policy=policy)
        a = mixer.mix(dirty, Y, params(INDEX, 0.4), lengths=lengths)
        b = mixer.mix(clean, Y, params(INDEX, 0.4), lengths=lengths)
        assert torch.equal(a.inputs, b.inputs)
        assert torch.equal(a.source, b.source)  # the clean batch, padding silenced


def test_relative_lengths_come_back_relative() -> None:
    x, _ = padded_batch(LENGTHS)
    relative = torch.tensor([1.0, 0.6, 0.3, 0.8], dtype=torch.float64)
    mixer = WaveformMixUp(num_classes=4, policy="min")
    mixed = mixer.mix(x, Y, params(INDEX, 0.5), lengths=relative)
    assert mixed.lengths.dtype == torch.float64
    torch.testing.assert_close(
        mixed.lengths, torch.tensor([0.6, 0.3, 0.3, 0.8], dtype=torch.float64)
    )
    absolute = mixer.mix(x, Y, params(INDEX, 0.5), lengths=torch.tensor(LENGTHS))
    assert torch.equal(mixed.inputs, absolute.inputs)


def test_mono_is_one_channel() -> None:
    x, lengths = padded_batch(LENGTHS, channels=1)
    mixer = WaveformMixUp(num_classes=4, policy="min")
    mono = mixer.mix(x[:, 0], Y, params(INDEX, 0.3), lengths=lengths)
    multi = mixer.mix(x, Y, params(INDEX, 0.3), lengths=lengths)
    assert mono.inputs.shape == (4, 10)
    assert torch.equal(mono.inputs, multi.inputs[:, 0])
    assert torch.equal(mono.mask, multi.mask)


def test_rows_not_mixed_come_back_as_they_were() -> None:
    x, lengths = padded_batch(LENGTHS)
    mixer = WaveformMixUp(num_classes=4, policy="min")
    # row 0 keeps lam = 1, row 1 is its own partner: both untouched (padding silenced)
    mixed = mixer.mix(x, Y, params([2, 1, 3, 0], [1.0, 0.5, 0.5, 0.5]), lengths=lengths)
    clean = silenced(x, lengths)
    assert torch.equal(mixed.inputs[:2], clean[:2])
    assert mixed.lengths.tolist()[:2] == [10, 6]
    assert mixed.params.moved.tolist() == [False, False, True, True]
    identity = mixer.mix(x, Y, mixer.draw(x, lam=1.0, lengths=lengths), lengths=lengths)
    assert torch.equal(identity.inputs, clean)
    assert identity.lengths.tolist() == LENGTHS


def test_call_equals_draw_then_mix() -> None:
    x, lengths = padded_batch(LENGTHS)
    a = WaveformMixUp(num_classes=4, mode="elem", policy="min", generator=gen(3))
    b = WaveformMixUp(num_classes=4, mode="elem", policy="min", generator=gen(3))
    called = a(x, Y, lengths=lengths)
    split = b.mix(x, Y, b.draw(x, lengths=lengths), lengths=lengths)
    for name in ("inputs", "targets", "lam", "index", "lengths", "mask"):
        assert torch.equal(getattr(called, name), getattr(split, name)), name


def test_eval_and_disabled_are_the_identity() -> None:
    x, lengths = padded_batch(LENGTHS)
    frames = torch.rand(4, 5, 4)
    for mixer in (WaveformMixUp(num_classes=4).eval(), WaveformMixUp(num_classes=4, enabled=False)):
        out = mixer(x, Y, lengths=lengths, frame_targets=frames)
        assert out.inputs is x and out.lengths is lengths and not out.applied
        assert torch.equal(out.mask, AF.lengths_to_mask(lengths, 10))
        assert out.frame_targets is frames
        assert out.frame_mask is not None
        assert out.frame_mask.sum(dim=1).tolist() == [5, 3, 2, 4]
        assert torch.equal(out.targets, torch.eye(4))


def test_the_callers_tensors_are_never_modified() -> None:
    x, lengths = padded_batch(LENGTHS)
    frames = torch.rand(4, 5, 4)
    copies = x.clone(), lengths.clone(), frames.clone()
    for policy in ("pad", "min", "max"):
        WaveformMixUp(num_classes=4, policy=policy, p=0.5, mode="elem")(
            x, Y, lengths=lengths, frame_targets=frames
        )
    for before, after in zip(copies, (x, lengths, frames), strict=True):
        assert torch.equal(before, after)


def test_same_result_on_every_device(device: torch.device) -> None:
    x, lengths = padded_batch(LENGTHS)
    mixer = WaveformMixUp(num_classes=4, policy="max", mode="pair", generator=gen(4))
    reference_run = WaveformMixUp(num_classes=4, policy="max", mode="pair", generator=gen(4))
    out = mixer(x.to(device), Y.to(device), lengths=lengths.to(device))
    ref = reference_run(x, Y, lengths=lengths)
    assert out.inputs.device == x.to(device).device and out.mask.device == out.inputs.device
    assert out.lengths.device == out.inputs.device
    torch.testing.assert_close(out.inputs.cpu(), ref.inputs)
    assert torch.equal(out.lengths.cpu(), ref.lengths)


def test_union_targets_for_multilabel_tagging() -> None:
    x, lengths = padded_batch(LENGTHS)
    tags = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 1, 1], [0, 0, 0]], dtype=torch.float32)
    mixer = WaveformMixUp(task="multilabel", union=True)
    mixed = mixer.mix(x, tags, params(INDEX, 0.3), lengths=lengths)
    assert torch.equal(mixed.targets, torch.maximum(tags, tags[torch.tensor(INDEX)]))
    loss = mixed.loss(torch.zeros(4, 3))
    torch.testing.assert_close(loss, torch.tensor(math_log2()))


def math_log2() -> float:
    return float(torch.log(torch.tensor(2.0)))


@pytest.mark.parametrize("policy", ["pad", "min", "max"])
def test_frame_targets_follow_the_length_policy(policy: str) -> None:
    x, lengths = padded_batch(LENGTHS)  # T = 10 samples onto F = 5 frames (2 samples each)
    frames = torch.zeros(4, 5, 4)
    for i, length in enumerate(LENGTHS):
        frames[i, : (length + 1) // 2, i] = 1.0  # each clip's class where it sounds
    mixer = WaveformMixUp(num_classes=4, policy=policy)
    mixed = mixer.mix(x, Y, params(INDEX, 0.75), lengths=lengths, frame_targets=frames)
    assert mixed.frame_targets is not None and mixed.frame_mask is not None
    out_frames = (mixed.lengths + 1) // 2
    assert mixed.frame_mask.sum(dim=1).tolist() == out_frames.tolist()
    for i, j in enumerate(INDEX):
        own_f, partner_f = (LENGTHS[i] + 1) // 2, (LENGTHS[j] + 1) // 2
        for f in range(5):
            row = mixed.frame_targets[i, f]
            if f >= out_frames[i]:
                assert row.sum() == 0
            elif f < own_f and f < partner_f:
                assert row[i] == 0.75 and row[j] == 0.25
            elif f < own_f:
                assert row[i] == 1.0 and row.sum() == 1.0
            else:
                assert row[j] == 1.0 and row.sum() == 1.0


def test_frame_loss_is_a_masked_mean_over_valid_frames() -> None:
    x, lengths = padded_batch(LENGTHS)
    g = gen(5)
    frames = (torch.rand(4, 5, 3, generator=g) > 0.5).float()
    tags = (torch.rand(4, 3, generator=g) > 0.5).float()
    mixer = WaveformMixUp(task="multilabel", policy="min", weighting=DistanceWeights())
    mixed = mixer.mix(x, tags, params(INDEX, 0.6), lengths=lengths, frame_targets=frames)
    logits = torch.randn(4, 5, 3, generator=g)
    assert mixed.frame_targets is not None and mixed.frame_mask is not None
    per = TF.binary_cross_entropy_with_logits(logits, mixed.frame_targets, reduction="none")
    per = per.mean(dim=2)
    valid = mixed.frame_mask.float()
    rows = (per * valid).sum(dim=1) / valid.sum(dim=1) * mixed.weights
    torch.testing.assert_close(mixed.frame_loss(logits, reduction="none"), rows)
    torch.testing.assert_close(mixed.frame_loss(logits), rows.mean())
    torch.testing.assert_close(mixed.frame_loss(logits, reduction="sum"), rows.sum())
    torch.testing.assert_close(
        mixed.frame_loss(logits, reduction="weighted_mean"), rows.sum() / mixed.weights.sum()
    )
    # multiclass frames: soft cross-entropy per frame
    onehot = TF.one_hot(torch.randint(0, 4, (4, 5), generator=g), 4).float()
    mc = WaveformMixUp(num_classes=4).mix(x, Y, params(INDEX, 0.6), lengths=lengths,
                                          frame_targets=onehot)  # fmt: skip
    assert mc.frame_targets is not None
    logits4 = torch.randn(4, 5, 4, generator=g)
    ce = -(mc.frame_targets * logits4.log_softmax(dim=2)).sum(dim=2)
    assert mc.frame_mask is not None
    torch.testing.assert_close(
        mc.frame_loss(logits4, reduction="none"),
        (ce * mc.frame_mask).sum(dim=1) / mc.frame_mask.sum(dim=1),
    )


def test_pairing_measures_clips_with_silent_padding_or_the_callers_features() -> None:
    x, lengths = padded_batch(LENGTHS)
    pairing = RecordingPairing()
    mixer = WaveformMixUp(num_classes=4, pairing=pairing, generator=gen(0))
    out = mixer(x, Y, lengths=lengths)
    clean = silenced(x, lengths).flatten(1)
    assert pairing.seen is not None and torch.equal(pairing.seen, clean)
    assert torch.equal(out.index, torch.cdist(clean, clean).argmax(dim=1))
    mixer.draw(x, lengths=lengths)
    assert torch.equal(pairing.seen, clean)
    feats = torch.randn(4, 7)
    mixer(x, Y, lengths=lengths, features=feats)
    assert torch.equal(pairing.seen, feats)


def test_weighting_and_relabel_see_silent_padding_or_features() -> None:
    x, lengths = padded_batch(LENGTHS)
    weighting = DistanceWeights()
    relabel = NearestMean(torch.eye(4, 7))
    mixer = WaveformMixUp(num_classes=4, weighting=weighting, relabel=relabel)
    mixed = mixer.mix(x, Y, params(INDEX, 0.5), lengths=lengths)
    clean = silenced(x, lengths).flatten(1)
    assert weighting.seen is not None and torch.equal(weighting.seen, clean)
    torch.testing.assert_close(
        mixed.weights, torch.exp(-(clean - clean[torch.tensor(INDEX)]).norm(dim=1))
    )
    assert relabel.seen is not None and torch.equal(relabel.seen[0], mixed.inputs)
    assert mixed.relabelled and mixed.targets.sum(dim=1).tolist() == [1.0] * 4
    feats = torch.randn(4, 7)
    mixed = mixer.mix(x, Y, params(INDEX, 0.5), lengths=lengths, features=feats)
    assert torch.equal(weighting.seen, feats)
    assert relabel.seen[1] is not None
    torch.testing.assert_close(relabel.seen[1], core.mix(feats, torch.tensor(INDEX), 0.5))
    expected = TF.one_hot(torch.cdist(relabel.seen[1], torch.eye(4, 7)).argmin(1), 4).float()
    assert torch.equal(mixed.targets, expected)


def test_random_choice_of_audio_mixers() -> None:
    x, _ = padded_batch(LENGTHS)
    choice = mixkit.RandomChoice(
        [WaveformMixUp(num_classes=4, generator=gen(1)), WaveformMixUp(num_classes=4, alpha=0.0)],
        generator=gen(2),
    )
    out = choice(x, Y)
    assert isinstance(out, AudioMixed) and out.lengths.tolist() == [10] * 4
    drawn = choice.draw(x)
    assert drawn.choice in (0, 1)
    assert isinstance(choice.mix(x, Y, drawn), AudioMixed)


def test_hugging_face_style_input_values_and_attention_mask() -> None:
    x, lengths = padded_batch(LENGTHS, channels=1)
    input_values = x[:, 0]  # (B, T)
    attention_mask = AF.lengths_to_mask(lengths, 10).long()
    mixer = WaveformMixUp(num_classes=4, policy="max", generator=gen(6))
    mixed = mixer(input_values, Y, lengths=AF.lengths_from_mask(attention_mask))
    new_mask = mixed.mask.long()  # the attention_mask of the mixed batch
    assert new_mask.shape == attention_mask.shape
    assert bool((new_mask >= attention_mask).all())  # "max" only lengthens
    assert bool(mixed.inputs.masked_select(new_mask == 0).eq(0).all())


def test_loss_pair_form_equals_soft_form() -> None:
    x, lengths = padded_batch(LENGTHS)
    mixed = WaveformMixUp(num_classes=4, mode="elem", generator=gen(7))(x, Y, lengths=lengths)
    logits = torch.randn(4, 4, generator=gen(8))
    torch.testing.assert_close(mixed.loss(logits, form="pair"), mixed.loss(logits, form="soft"))


def test_integer_lengths_of_other_dtypes_and_zero_length_clips() -> None:
    x, _ = padded_batch(LENGTHS)
    lengths = torch.tensor([10, 0, 3, 8], dtype=torch.int32)
    mixed = WaveformMixUp(num_classes=4, policy="min").mix(
        x, Y, params(INDEX, 0.5), lengths=lengths
    )
    assert mixed.lengths.tolist() == [0, 0, 3, 8]
    assert bool(mixed.inputs[:2].eq(0).all())


def test_zero_padded_batches_are_not_copied() -> None:
    x, lengths = padded_batch(LENGTHS, garbage=0.0)
    mixed = WaveformMixUp(num_classes=4).mix(x, Y, params(INDEX, 0.5), lengths=lengths)
    assert mixed.source is x  # the padding was silent already
    dirty, _ = padded_batch(LENGTHS)
    mixed = WaveformMixUp(num_classes=4).mix(dirty, Y, params(INDEX, 0.5), lengths=lengths)
    assert mixed.source is not dirty and torch.equal(mixed.source, x)


@pytest.mark.parametrize("policy", ["pad", "min", "max"])
def test_the_large_row_path_equals_the_batched_path(policy: str) -> None:
    # rows of >= 2**15 samples take a per-row path on the CPU; a batch that needs gradients
    # takes the batched one: both must give the same mix
    lengths_list = [40000, 25000, 33000, 12000, 40000]
    x, lengths = padded_batch(lengths_list, channels=1, seed=9)
    y = torch.tensor([0, 1, 2, 3, 0])
    drawn = params([1, 2, 3, 0, 4], [0.3, 0.6, 1.0, 0.45, 0.2])
    for mixer in (
        WaveformMixUp(num_classes=4, policy=policy),
        LoudnessMixUp(num_classes=4, policy=policy),
    ):
        rows = mixer.mix(x, y, drawn, lengths=lengths)
        batched = mixer.mix(x.clone().requires_grad_(), y, drawn, lengths=lengths)
        torch.testing.assert_close(rows.inputs, batched.inputs.detach(), rtol=1e-5, atol=1e-6)
        assert torch.equal(rows.lengths, batched.lengths)
        assert torch.equal(rows.inputs[2], silenced(x, lengths)[2])  # lam = 1: untouched
        assert torch.equal(rows.inputs[4], silenced(x, lengths)[4])  # its own partner
        batched.inputs.sum().backward()  # the batched path is differentiable


def test_frame_loss_reduces_through_the_core_with_num_samples() -> None:
    x, lengths = padded_batch(LENGTHS)
    frames = TF.one_hot(torch.randint(0, 4, (4, 5), generator=gen(9)), 4).float()
    mixed = WaveformMixUp(num_classes=4, policy="min", generator=gen(10))(
        x, Y, lengths=lengths, frame_targets=frames
    )
    logits = torch.randn(4, 5, 4, generator=gen(11))
    rows = mixed.frame_loss(logits, reduction="none")
    torch.testing.assert_close(mixed.frame_loss(logits, num_samples=16), rows.sum() / 16)
    expected = core.reduce_loss(rows, None, "weighted_mean", num_samples=torch.tensor(8.0))
    torch.testing.assert_close(
        mixed.frame_loss(logits, reduction="weighted_mean", num_samples=torch.tensor(8.0)),
        expected,
    )


def test_check_finite_looks_at_the_valid_samples_only() -> None:
    x, lengths = padded_batch(LENGTHS, garbage=float("nan"))  # NaN padding: it is silenced
    mixer = WaveformMixUp(num_classes=4, check_finite=True, generator=gen(12))
    mixed = mixer(x, Y, lengths=lengths)
    assert bool(torch.isfinite(mixed.inputs).all())
    x[1, 0, 2] = float("inf")  # inside clip 1 (6 samples)
    with pytest.raises(ValueError, match="WaveformMixUp: expected finite inputs"):
        mixer(x, Y, lengths=lengths)


@pytest.mark.parametrize("policy", ["pad", "min", "max"])
def test_the_preset_is_the_template_with_the_waveform_op(policy: str) -> None:
    x, lengths = padded_batch(LENGTHS)
    preset = WaveformMixUp(mode="elem", p=0.7, policy=policy, num_classes=4, generator=gen(13))
    plain = mixkit.Mixer(
        mode="elem", p=0.7, num_classes=4, op=WaveformOp(policy=policy), generator=gen(13)
    )
    for _ in range(3):
        a, b = preset(x, Y, lengths=lengths), plain(x, Y, lengths=lengths)
        for name in ("inputs", "targets", "lam", "index", "lengths", "mask", "source"):
            assert torch.equal(getattr(a, name), getattr(b, name)), name
