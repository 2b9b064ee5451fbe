"""mixkit's conformance suite on the mixers these tests drive through the Trainer pieces.

mixkit-transformers defines no mixer of its own: it carries any mixkit mixer into Trainer. What
it adds around a mixer (per-micro-batch seeding, the callback's stand-in compositions of a
feature-driven pairing, per-sample weights and a fitted relabelling) is checked here against
the core's invariants, so that the Trainer tests built on them test the integration, not
broken stand-ins. No deviation is declared.
"""

from __future__ import annotations

import torch
from hf_support import CLASSES, HalfWeights, NearestMean, NearestPairing
from torch import Tensor

import mixkit
from mixkit.testing import MixerCase, parametrize_with_checks, run_check


def images(g: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.rand(6, 1, 8, 8, generator=g), torch.randint(0, CLASSES, (6,), generator=g)


def fitted() -> NearestMean:
    g = torch.Generator().manual_seed(3)
    x, y = torch.rand(40, 1, 8, 8, generator=g), torch.arange(40) % CLASSES
    return NearestMean().fit(x, y, CLASSES)


CASES = [
    MixerCase(
        "stand-in-composition",
        lambda g: mixkit.MixUp(
            num_classes=CLASSES,
            pairing=NearestPairing(),
            weighting=HalfWeights(),
            relabel=fitted(),
            generator=g,
        ),
        images,
    ),
    MixerCase(
        "cutmix-half-weights",
        lambda g: mixkit.CutMix(
            mode="elem", num_classes=CLASSES, weighting=HalfWeights(), generator=g
        ),
        images,
    ),
]


@parametrize_with_checks(CASES)
def test_conformance(case: MixerCase, check: str, device: torch.device) -> None:
    run_check(case, check, device)


def test_the_stand_ins_do_what_the_trainer_tests_rely_on() -> None:
    """Nearest-neighbour partners, weight 1/2 on mixed rows, one-hot nearest-mean targets."""
    g = torch.Generator().manual_seed(0)
    x, y = images(g)
    mixer = mixkit.MixUp(
        num_classes=CLASSES,
        pairing=NearestPairing(),
        weighting=HalfWeights(),
        relabel=fitted(),
        generator=g,
    )
    mixed = mixer(x, y)
    flat = x.flatten(1)
    d = torch.cdist(flat, flat).fill_diagonal_(float("inf"))
    assert torch.equal(mixed.index, d.argmin(dim=1))
    assert torch.equal(mixed.weights, torch.full((6,), 0.5))
    moved = mixed.lam < 1
    assert moved.all()
    assert torch.equal(mixed.targets.sum(dim=1), torch.ones(6))
    assert set(mixed.targets.unique().tolist()) == {0.0, 1.0}  # one-hot: relabelled
