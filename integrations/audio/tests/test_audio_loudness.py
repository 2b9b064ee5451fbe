"""LoudnessMixUp: the SNR is realised over valid samples, labels follow the energy share."""

from __future__ import annotations

import math
import re

import pytest
import torch
from audio_testutils import padded_batch, params, silenced

import mixkit
from mixkit_audio import AudioParams, LoudnessMixUp, LoudnessOp, WaveformOp
from mixkit_audio import functional as AF

LENGTHS = [12, 7, 4, 10]
INDEX = [1, 2, 3, 0]
Y = torch.tensor([0, 1, 2, 3])


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def level_batch() -> tuple[torch.Tensor, torch.Tensor]:
    x, lengths = padded_batch(LENGTHS, channels=2)
    levels = torch.tensor([0.5, 0.02, 0.3, 1.5])  # very different loudness
    return x * levels.view(-1, 1, 1), lengths


def rms(v: torch.Tensor) -> float:
    return float(v.double().square().mean().sqrt())


@pytest.mark.parametrize("policy", ["pad", "min", "max"])
def test_the_snr_is_realised_over_the_samples_in_the_mix(policy: str) -> None:
    x, lengths = level_batch()
    clean = silenced(x, lengths)
    mixer = LoudnessMixUp(snr=(-8.0, 8.0), mode="elem", num_classes=4, policy=policy)
    drawn = AF.snr_to_share(torch.tensor([-6.0, 2.5, 7.0, -1.0])).tolist()
    mixed = mixer.mix(x, Y, params(INDEX, drawn), lengths=lengths)
    bound = mixed.params
    assert isinstance(bound, AudioParams) and bound.gains is not None and bound.snr_db is not None
    assert bool(bound.moved.all())
    out = bound.out_lengths
    for i, j in enumerate(bound.index.tolist()):
        n_own, n_partner = min(LENGTHS[i], int(out[i])), min(LENGTHS[j], int(out[i]))
        own = float(bound.gains[i, 0]) * clean[i, :, :n_own]
        partner = float(bound.gains[i, 1]) * clean[j, :, :n_partner]
        # the components differ by the drawn SNR, measured over their own samples
        measured = 20 * math.log10(rms(own) / rms(partner))
        assert measured == pytest.approx(float(bound.snr_db[i]), abs=1e-4)
        assert float(bound.snr_db[i]) == pytest.approx([-6.0, 2.5, 7.0, -1.0][i], abs=1e-4)
        # the louder one plays at the original clip's level (over its samples in the mix)
        assert max(rms(own), rms(partner)) == pytest.approx(rms(clean[i, :, :n_own]), rel=1e-5)
        # the mix is the sum of the two, cut to the mixed length
        expected = torch.zeros(2, 12)
        expected[:, :n_own] += own
        expected[:, :n_partner] += partner
        expected[:, int(out[i]) :] = 0.0
        torch.testing.assert_close(mixed.inputs[i], expected, rtol=1e-5, atol=1e-6)
        # the label weight is the original's share of the energy of the mix
        e_own, e_partner = own.double().square().sum(), partner.double().square().sum()
        assert float(mixed.lam[i]) == pytest.approx(float(e_own / (e_own + e_partner)), rel=1e-5)


def test_equal_coverage_gives_the_nominal_share() -> None:
    x, _ = level_batch()
    mixer = LoudnessMixUp(snr=(-10.0, 10.0), mode="elem", num_classes=4, generator=gen(1))
    mixed = mixer(x, Y)  # no lengths: every clip full
    assert isinstance(mixed.params, AudioParams) and mixed.params.snr_db is not None
    moved = mixed.params.moved
    share = AF.snr_to_share(mixed.params.snr_db).float()
    assert torch.equal(mixed.lam[moved], share[moved])
    torch.testing.assert_close(mixed.targets.sum(dim=1), torch.ones(4))


def test_one_snr_per_batch_row_or_pair() -> None:
    x, _ = level_batch()
    x = torch.cat([x, x.flip(0)])  # 8 rows
    y = torch.arange(8) % 4
    batch = LoudnessMixUp(num_classes=4, generator=gen(2))(x, y)
    elem = LoudnessMixUp(num_classes=4, mode="elem", generator=gen(2))(x, y)
    pair = LoudnessMixUp(num_classes=4, mode="pair", generator=gen(2))(x, y)
    for out in (batch, elem, pair):
        assert isinstance(out.params, AudioParams) and out.params.snr_db is not None
    snr = batch.params.snr_db[batch.params.moved]  # type: ignore[union-attr]
    assert bool((snr == snr[0]).all())
    snr_e = elem.params.snr_db[elem.params.moved]  # type: ignore[union-attr]
    assert len(set(snr_e.tolist())) > 1
    assert pair.params.snr_db is not None
    for i, j in enumerate(pair.index.tolist()):
        assert pair.index[j] == i  # pairs
        assert pair.params.snr_db[i] == pair.params.snr_db[j]


def test_a_silent_source_leaves_its_rows_unmixed() -> None:
    x, lengths = level_batch()
    x[2] = 0.0  # a silent clip
    mixer = LoudnessMixUp(num_classes=4, policy="max")
    mixed = mixer.mix(x, Y, params(INDEX, 0.5), lengths=lengths)
    # row 1 has the silent clip as partner, row 2 is the silent clip
    assert mixed.lam.tolist()[1:3] == [1.0, 1.0]
    assert mixed.index.tolist() == [1, 1, 2, 0]
    assert mixed.lengths.tolist()[1:3] == [7, 4]
    clean = silenced(x, lengths)
    assert torch.equal(mixed.inputs[1:3], clean[1:3])
    assert torch.equal(mixed.targets[1:3], torch.eye(4)[1:3])


def test_fixed_lam_is_the_nominal_share() -> None:
    x, lengths = level_batch()
    mixer = LoudnessMixUp(num_classes=4)
    half = mixer.mix(x, Y, mixer.draw(x, lam=0.5), lengths=lengths)
    assert isinstance(half.params, AudioParams) and half.params.snr_db is not None
    moved = half.params.moved
    assert half.params.snr_db[moved].abs().max() < 1e-6  # 0 dB
    one = mixer.mix(x, Y, mixer.draw(x, lam=1.0), lengths=lengths)
    assert torch.equal(one.inputs, silenced(x, lengths)) and not bool(one.params.moved.any())
    # lam = 0: the partner alone, at the original's level, cut to the original's length
    zero = mixer.mix(x, Y, params(INDEX, 0.0), lengths=lengths)
    clean = silenced(x, lengths)
    scale = rms(clean[0, :, :12]) / rms(clean[1, :, :7])
    expected = torch.zeros(2, 12)
    expected[:, :7] = clean[1, :, :7] * scale
    torch.testing.assert_close(zero.inputs[0], expected)
    assert zero.lam[0] == 0.0


def test_rebinding_the_bound_parameters_gives_the_same_mix() -> None:
    x, lengths = level_batch()
    mixer = LoudnessMixUp(num_classes=4, mode="elem", policy="min", generator=gen(3))
    first = mixer(x, Y, lengths=lengths)
    again = mixer.mix(x, Y, first.params, lengths=lengths)
    assert torch.equal(first.inputs, again.inputs)
    assert torch.equal(first.lam, again.lam)


def test_padding_garbage_does_not_change_levels() -> None:
    x, lengths = level_batch()
    dirty = x.clone()
    dirty[silenced(torch.ones_like(x), lengths) == 0] = 1e4
    mixer = LoudnessMixUp(num_classes=4)
    a = mixer.mix(x, Y, params(INDEX, 0.4), lengths=lengths)
    b = mixer.mix(dirty, Y, params(INDEX, 0.4), lengths=lengths)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.lam, b.lam)


def test_multilabel_union_and_schedules_on_p() -> None:
    x, lengths = level_batch()
    tags = torch.tensor([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=torch.float32)
    mixer = LoudnessMixUp(
        task="multilabel",
        union=True,
        schedule=mixkit.OffAfter(step=1),
        generator=gen(4),
    )
    first = mixer(x, tags, lengths=lengths)
    assert first.applied and torch.equal(first.targets, torch.maximum(tags, tags[first.index]))
    assert not mixer(x, tags, lengths=lengths).applied  # switched off after step 1


def test_repr() -> None:
    assert repr(LoudnessMixUp(num_classes=10)) == (
        "LoudnessMixUp(snr=(-10.0, 10.0), mode='batch', p=1.0, num_classes=10, policy='pad')"
    )
    assert repr(LoudnessMixUp(snr=3, policy="min", min_rms=0.0, mode="elem")) == (
        "LoudnessMixUp(snr=(3.0, 3.0), mode='elem', p=1.0, num_classes=None, policy='min', "
        "min_rms=0.0)"
    )


def test_the_preset_is_the_template_with_the_loudness_op() -> None:
    x, lengths = level_batch()
    preset = LoudnessMixUp(
        snr=(-3.0, 9.0), mode="pair", policy="max", num_classes=4, generator=gen(5)
    )
    op = LoudnessOp(snr=(-3.0, 9.0), policy="max")
    plain = mixkit.Mixer(alpha=0.0, mode="pair", num_classes=4, op=op, generator=gen(5))
    for _ in range(3):
        a, b = preset(x, Y, lengths=lengths), plain(x, Y, lengths=lengths)
        for name in ("inputs", "targets", "lam", "index", "lengths", "mask"):
            assert torch.equal(getattr(a, name), getattr(b, name)), name
        assert torch.equal(a.params.snr_db, b.params.snr_db)  # type: ignore[attr-defined]


def test_the_loudness_rule_needs_its_own_binding() -> None:
    # the template always binds with the mixer's own operation; calling the hooks by hand
    # with parameters another operation bound is refused instead of mixing without gains
    x, lengths = level_batch()
    op = LoudnessOp()
    batch = op.prepare("test", x, Y, task="multiclass", union=False, lengths=lengths)
    foreign = WaveformOp().bind(batch, params(INDEX, 0.5))
    message = "LoudnessOp: expected parameters bound by LoudnessOp.bind, got AudioParams("
    with pytest.raises(ValueError, match=re.escape(message)):
        op.apply(batch, foreign)
    assert torch.equal(
        op.apply(batch, op.bind(batch, params(INDEX, 0.5))),
        LoudnessMixUp(num_classes=4).mix(x, Y, params(INDEX, 0.5), lengths=lengths).inputs,
    )
