"""The public names, the repr, and the wrapped mixer's own behaviour (the conformance suite)."""

from __future__ import annotations

import copy
import functools

import torch
from lightning_support import CLASSES, Classifier, loader, mlp, record, trainer
from torch import Tensor

import mixkit
import mixkit_lightning
from mixkit.testing import MixerCase, parametrize_with_checks, run_check
from mixkit_lightning import MixUpCallback


def test_public_names() -> None:
    assert mixkit_lightning.__all__ == ["MixUpCallback", "__version__"]
    assert mixkit_lightning.__version__ == "0.2.0"


def test_reprs() -> None:
    mixer = mixkit.MixUp(alpha=0.2, num_classes=10)
    assert repr(MixUpCallback(mixer)) == (
        "MixUpCallback(MixUp(alpha=0.2, mode='batch', p=1.0, num_classes=10))"
    )
    assert repr(
        MixUpCallback(
            mixer,
            input_key="image",
            target_key="label",
            reduction="weighted_mean",
            share_across_ranks=True,
            check=False,
            log_stats=False,
        )
    ) == (
        "MixUpCallback(MixUp(alpha=0.2, mode='batch', p=1.0, num_classes=10), "
        "input_key='image', target_key='label', reduction='weighted_mean', "
        "share_across_ranks=True, check=False, log_stats=False)"
    )
    choice = mixkit.RandomChoice([mixer, mixkit.CutMix(num_classes=10)])
    assert repr(MixUpCallback(choice, mix_batch=False, metric="val_loss")) == (
        "MixUpCallback(RandomChoice([MixUp(alpha=0.2, mode='batch', p=1.0, num_classes=10), "
        "CutMix(alpha=1.0, mode='batch', p=1.0, num_classes=10)], p=[0.5, 0.5]), "
        "mix_batch=False, metric='val_loss')"
    )


# mixkit-lightning ships no mixer: it carries the user's. That mixer, after a training run
# through the callback (re-seeded, clocked, hooked and unhooked), must still behave as a mixer
# of the core: the conformance suite runs on it.


def _through_a_trainer(mixer: mixkit.Mixer) -> mixkit.Mixer:
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(32, 1, 8, 8, generator=g), torch.arange(32) % CLASSES
    trainer(callbacks=[MixUpCallback(mixer)]).fit(Classifier(mlp(features=64)), loader(x, y))
    return mixer


def _images(g: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.rand(6, 1, 8, 8, generator=g), torch.randint(0, CLASSES, (6,), generator=g)


@functools.cache
def _trained(name: str) -> mixkit.Mixer:
    if name == "mixup":
        return _through_a_trainer(mixkit.MixUp(alpha=1.0, mode="elem", num_classes=CLASSES))
    return _through_a_trainer(mixkit.CutMix(num_classes=CLASSES))


def _used(name: str, g: torch.Generator) -> mixkit.Mixer:
    mixer = copy.deepcopy(_trained(name))  # hooks, clock and generator state included
    # the suite hands each case its own generator; the trained mixer takes its stream
    mixer.manual_seed(int(torch.randint(0, 2**62, (1,), generator=g)))
    mixer.set_epoch(0)
    mixer.set_step(0)
    return mixer.train()


CASES = [
    MixerCase("mixup-after-a-trainer", lambda g: _used("mixup", g), _images),
    MixerCase("cutmix-after-a-trainer", lambda g: _used("cutmix", g), _images),
]


@parametrize_with_checks(CASES)
def test_conformance_of_the_mixer_after_training(
    case: MixerCase, check: str, device: torch.device
) -> None:
    run_check(case, check, device)


def test_the_callback_leaves_the_mixers_draws_to_the_core() -> None:
    # after the run, the same mixer and a fresh one draw alike from the same seed
    x, y = _images(torch.Generator().manual_seed(1))
    used = _through_a_trainer(mixkit.MixUp(alpha=1.0, mode="elem", num_classes=CLASSES))
    fresh = mixkit.MixUp(alpha=1.0, mode="elem", num_classes=CLASSES)
    for m in (used, fresh):
        m.manual_seed(5)
        m.set_epoch(0)
        m.set_step(0)
    a, b = used(x, y), fresh(x, y)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    results = record(used)  # and its forward hooks are gone: only this test's hook records
    used(x, y)
    assert len(results) == 1
