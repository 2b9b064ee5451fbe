"""mixkit's conformance suite on the mixers as the estimators configure them.

mixkit-sklearn defines no mixer of its own: it deep-copies the user's, sets alpha, the task and
the number of classes, re-seeds it from ``random_state`` and fits its relabellings
(:func:`mixkit_sklearn._mixers.prepare_mixer`). These cases run every check of
``mixkit.testing`` on such prepared copies, on tabular batches ``(B, D)``. No deviation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from _sklearn_helpers import ConstantWeights, ReversePairing, UniformRelabel
from torch import nn

import mixkit
from mixkit.testing import MixerCase, parametrize_with_checks, run_check
from mixkit_sklearn._mixers import fit_relabels, prepare_mixer


def tabular(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(7, 5, generator=g), torch.randint(0, 3, (7,), generator=g)


def regression(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(7, 5, generator=g), torch.randn(7, 2, generator=g)


def prepared(
    template: Callable[[], nn.Module | None], task: str, alpha: float | None = None
) -> Callable[[torch.Generator], nn.Module]:
    def make(g: torch.Generator) -> nn.Module:
        mixer = prepare_mixer(
            template(),
            owner="test",
            alpha=alpha,
            task=task,
            num_classes=3 if task == "multiclass" else None,
            rng=np.random.RandomState(g.initial_seed() % 2**32),
            allow_extra_loss=False,
        )
        if task == "multiclass":
            fit_relabels(mixer, *tabular(torch.Generator().manual_seed(5)))
        return mixer

    return make


CASES = [
    MixerCase("classifier-default", prepared(lambda: None, "multiclass"), tabular),
    MixerCase(
        "classifier-random-choice-alpha",
        prepared(
            lambda: mixkit.RandomChoice([mixkit.MixUp(), mixkit.MixUp(mode="pair", p=0.5)]),
            "multiclass",
            alpha=0.5,
        ),
        tabular,
    ),
    MixerCase(
        "classifier-composed-axes",
        prepared(
            lambda: mixkit.MixUp(
                mode="elem",
                pairing=ReversePairing(),
                weighting=ConstantWeights(0.5),
                relabel=UniformRelabel(),
                label_smoothing=0.1,
            ),
            "multiclass",
        ),
        tabular,
    ),
    MixerCase("regressor-default", prepared(lambda: None, "regression"), regression),
    MixerCase(
        "regressor-from-a-default-task-mixer",
        prepared(lambda: mixkit.MixUp(alpha=0.4, mode="elem"), "regression", alpha=2.0),
        regression,
    ),
]


@parametrize_with_checks(CASES)
def test_prepared_mixers_conform(case: MixerCase, check: str, device: torch.device) -> None:
    run_check(case, check, device)


def test_prepared_copies_are_configured_and_seeded_from_the_case_generator() -> None:
    make = CASES[1].make_mixer
    a, b = make(torch.Generator().manual_seed(3)), make(torch.Generator().manual_seed(3))
    c = make(torch.Generator().manual_seed(4))
    states = [[m.generator.get_state() for m in mixer.mixers] for mixer in (a, b, c)]
    assert all(torch.equal(x, y) for x, y in zip(states[0], states[1], strict=True))
    assert not any(torch.equal(x, y) for x, y in zip(states[0], states[2], strict=True))
    assert [(m.alpha, m.num_classes) for m in a.mixers] == [(0.5, 3), (0.5, 3)]
    assert CASES[4].make_mixer(torch.Generator()).task == "regression"
