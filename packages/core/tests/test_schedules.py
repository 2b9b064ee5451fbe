"""Schedules, the automatic switch, and bit-exact resume."""

from __future__ import annotations

import io
import logging

import pytest
import torch

from mixkit import AutoSwitch, CutMix, LinearDecay, MixUp, OffAfter, RandomChoice


def test_off_after_epoch_step_and_fraction() -> None:
    assert [OffAfter(epoch=2)(e, 0) for e in range(4)] == [1.0, 1.0, 0.0, 0.0]
    assert [OffAfter(step=10)(9, s) for s in (9, 10)] == [1.0, 0.0]
    s = OffAfter(fraction=0.5, total_steps=100)
    assert (s(0, 49), s(0, 50)) == (1.0, 0.0)


def test_linear_decay() -> None:
    s = LinearDecay(start=10, end=20, target="alpha", final=0.5)
    assert [s(e, 0) for e in (0, 10, 15, 20, 30)] == [1.0, 1.0, 0.75, 0.5, 0.5]
    assert s.target == "alpha"


def test_schedule_switches_the_mixer_to_the_identity() -> None:
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 0, 1])
    mixer = MixUp(num_classes=2, schedule=OffAfter(epoch=1))
    assert mixer(x, y).applied
    mixer.set_epoch(1)
    out = mixer(x, y)
    assert out.inputs is x and not out.applied


def test_decaying_p_mixes_fewer_rows() -> None:
    x, y = torch.randn(400, 2), torch.zeros(400, dtype=torch.int64)
    mixer = MixUp(
        num_classes=2,
        mode="elem",
        schedule=LinearDecay(start=0, end=10),
        generator=torch.Generator().manual_seed(0),
    )
    mixer.set_epoch(5)  # p = 0.5
    frac = float((mixer(x, y).lam < 1).float().mean())
    assert 0.4 < frac < 0.6


def test_decaying_alpha_concentrates_lam() -> None:
    x, y = torch.randn(2000, 2), torch.zeros(2000, dtype=torch.int64)
    mixer = MixUp(
        alpha=1.0,
        num_classes=2,
        mode="elem",
        schedule=LinearDecay(start=0, end=10, target="alpha", final=0.01),
        generator=torch.Generator().manual_seed(0),
    )
    spread_early = float((mixer(x, y).lam - 0.5).abs().mean())
    mixer.set_epoch(10)  # alpha = 0.01: lam piles up near 0 and 1
    spread_late = float((mixer(x, y).lam - 0.5).abs().mean())
    assert spread_late > spread_early + 0.2


def test_auto_switch_waits_for_warmup_and_patience(caplog: pytest.LogCaptureFixture) -> None:
    s = AutoSwitch(patience=2, warmup=2)
    losses = [5.0, 4.0, 3.0, 2.5, 2.6, 2.7, 1.0]
    states = []
    with caplog.at_level(logging.INFO, logger="mixkit"):
        for epoch, value in enumerate(losses):
            s.report(value, epoch=epoch, step=10 * epoch)
            states.append(s(epoch, 0))
    assert states == [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0], "off after two reports without gain"
    assert s.switched_at == {"epoch": 5, "step": 50}
    assert "switched off at epoch 5" in caplog.text


def test_auto_switch_smoothing_and_max_mode() -> None:
    s = AutoSwitch(patience=1, smoothing=0.5, mode="max")
    for epoch, acc in enumerate([0.5, 0.6, 0.7]):
        s.report(acc, epoch=epoch, step=0)
    assert not s.switched
    s.report(0.2, epoch=3, step=0)  # the average falls: switch
    assert s.switched


def test_auto_switch_through_the_mixer_is_irreversible() -> None:
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 0, 1])
    mixer = MixUp(num_classes=2, schedule=AutoSwitch(patience=1))
    mixer.report(1.0)
    mixer.report(1.5)
    assert not mixer(x, y).applied
    mixer.report(0.1)  # better again, but the switch is final
    assert not mixer(x, y).applied


def _run(mixer: MixUp | RandomChoice, steps: int, start: int = 0) -> list[torch.Tensor]:
    outs = []
    for step in range(start, start + steps):
        g = torch.Generator().manual_seed(step)
        x, y = torch.randn(8, 3, 6, 6, generator=g), torch.randint(0, 4, (8,), generator=g)
        mixer.set_epoch(step // 3)
        outs.append(mixer(x, y).inputs)
    return outs


@pytest.mark.parametrize("kind", ["mixup", "choice", "auto"])
def test_resume_from_a_checkpoint_draws_the_same_batches(kind: str) -> None:
    def build(seed: int) -> MixUp | RandomChoice:
        g = torch.Generator().manual_seed(seed)
        if kind == "mixup":
            return MixUp(
                num_classes=4, mode="elem", p=0.7, generator=g, schedule=LinearDecay(start=0, end=6)
            )
        if kind == "auto":
            return MixUp(num_classes=4, generator=g, schedule=AutoSwitch(patience=2))
        return RandomChoice(
            [
                MixUp(num_classes=4, generator=g),
                CutMix(
                    num_classes=4, mode="elem", generator=torch.Generator().manual_seed(seed + 1)
                ),
            ],
            generator=torch.Generator().manual_seed(seed + 2),
        )

    straight = build(0)
    first = _run(straight, 5)
    if kind == "auto":
        straight.report(1.0)  # type: ignore[union-attr]
    buffer = io.BytesIO()
    torch.save(straight.state_dict(), buffer)  # the checkpoint
    rest = _run(straight, 6, start=5)
    if kind == "auto":
        straight.report(2.0)  # type: ignore[union-attr]
        straight.report(3.0)  # type: ignore[union-attr]
        after_switch = _run(straight, 1, start=11)[0]

    resumed = build(123)  # a different seed: everything must come from the checkpoint
    buffer.seek(0)
    resumed.load_state_dict(torch.load(buffer))  # weights_only: plain data
    again = _run(resumed, 6, start=5)
    assert len(first) == 5
    assert all(torch.equal(a, b) for a, b in zip(rest, again, strict=True))
    if kind == "auto":
        resumed.report(2.0)  # type: ignore[union-attr]
        resumed.report(3.0)  # type: ignore[union-attr]
        assert torch.equal(_run(resumed, 1, start=11)[0], after_switch)
