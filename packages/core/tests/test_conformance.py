"""The public conformance suite over every core mixer, in every mode."""

from __future__ import annotations

import pytest
import torch

import mixkit
from mixkit import CutMix, LerpOp, MixUp, RandomChoice
from mixkit.testing import CHECKS, MixerCase, check_mixer, parametrize_with_checks, run_check


def images(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(6, 3, 8, 8, generator=g), torch.randint(0, 5, (6,), generator=g)


def soft(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(5, 7, generator=g), torch.softmax(torch.randn(5, 4, generator=g), dim=1)


def multilabel(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(5, 2, 16, generator=g), (torch.rand(5, 6, generator=g) > 0.5).float()


def regression(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(5, 3, generator=g), torch.randn(5, 2, generator=g)


CASES = [
    *(
        MixerCase(
            f"mixup-{mode}", lambda g, m=mode: MixUp(mode=m, num_classes=5, generator=g), images
        )
        for mode in ("batch", "elem", "pair")
    ),
    *(
        MixerCase(
            f"cutmix-{mode}", lambda g, m=mode: CutMix(mode=m, num_classes=5, generator=g), images
        )
        for mode in ("batch", "elem", "pair")
    ),
    MixerCase(
        "mixup-p-smoothing",
        lambda g: MixUp(p=0.5, label_smoothing=0.1, num_classes=5, generator=g),
        images,
    ),
    MixerCase(
        "cutmix-p-uncorrected",
        lambda g: CutMix(p=0.5, correct_lam=False, num_classes=5, generator=g),
        images,
    ),
    MixerCase("mixup-soft-targets", lambda g: MixUp(alpha=0.4, generator=g), soft),
    MixerCase(
        "mixup-multilabel-union",
        lambda g: MixUp(task="multilabel", union=True, generator=g),
        multilabel,
    ),
    MixerCase(
        "cutmix-multilabel-1d",
        lambda g: CutMix(task="multilabel", mode="elem", generator=g),
        multilabel,
    ),
    MixerCase("mixup-regression", lambda g: MixUp(task="regression", generator=g), regression),
    MixerCase(
        "mixup-scheduled",
        lambda g: MixUp(
            num_classes=5, generator=g, schedule=mixkit.LinearDecay(start=0, end=10, unit="step")
        ),
        images,
    ),
    MixerCase(
        "random-choice",
        lambda g: RandomChoice(
            [
                MixUp(num_classes=5, generator=torch.Generator().manual_seed(g.initial_seed() + 1)),
                CutMix(
                    num_classes=5, generator=torch.Generator().manual_seed(g.initial_seed() + 2)
                ),
            ],
            generator=g,
        ),
        images,
    ),
]


@parametrize_with_checks(CASES)
def test_conformance(case: MixerCase, check: str, device: torch.device) -> None:
    run_check(case, check, device)


def test_check_mixer_runs_everything_and_catches_a_broken_mixer() -> None:
    check_mixer(CASES[0])

    class MutatingOp(LerpOp):
        def apply(self, batch, params, *, out=None):  # type: ignore[no-untyped-def]
            batch.data.add_(1.0)  # an in-place write on the caller's batch
            return super().apply(batch, params, out=out)

    broken = MixerCase(
        "mutating", lambda g: MixUp(num_classes=5, op=MutatingOp(), generator=g), images
    )
    with pytest.raises(AssertionError, match="modified its input"):
        run_check(broken, "inputs_untouched")


def test_the_suite_catches_a_mixer_that_overwrites_results_still_held() -> None:
    class OneBuffer(LerpOp):
        # reuses its output memory without asking whether anybody still reads it
        def apply(self, batch, params, *, out=None):  # type: ignore[no-untyped-def]
            if getattr(self, "_buffer", None) is None:
                self._buffer = torch.empty_like(batch.data)
            return super().apply(batch, params, out=self._buffer)

    broken = MixerCase(
        "one-buffer", lambda g: MixUp(num_classes=5, op=OneBuffer(), generator=g), images
    )
    with pytest.raises(AssertionError, match=r"call 0: Mixed.inputs changed by a later call"):
        run_check(broken, "results_stay_valid")


def test_declared_deviation_must_really_fail() -> None:
    case = MixerCase(
        "mixup",
        lambda g: MixUp(num_classes=5, generator=g),
        images,
        expected_failures={"repr": "pretend"},
    )
    with pytest.raises(AssertionError, match="remove it from expected_failures"):
        check_mixer(case)
    with pytest.raises(ValueError, match="unknown expected failure"):
        check_mixer(MixerCase("x", CASES[0].make_mixer, images, expected_failures={"nope": "?"}))


def test_every_check_is_listed() -> None:
    assert len(CHECKS) >= 15
