"""The public names, the reprs and the construction errors are pinned."""

from __future__ import annotations

import re

import pytest
import torch
from torch import Tensor

import mixkit
import mixkit_transformers
from mixkit_transformers import MixUpCallback, MixUpCollator, MixUpLoss


def test_public_names() -> None:
    assert mixkit_transformers.__all__ == [
        "MixUpCallback",
        "MixUpCollator",
        "MixUpLoss",
        "__version__",
    ]
    for name in mixkit_transformers.__all__:
        assert hasattr(mixkit_transformers, name), name
    assert mixkit_transformers.__version__ == "0.2.0"


def test_reprs() -> None:
    mixer = mixkit.MixUp(alpha=0.2, num_classes=10)
    assert repr(MixUpCallback(mixer)) == (
        "MixUpCallback(MixUp(alpha=0.2, mode='batch', p=1.0, num_classes=10))"
    )
    assert repr(
        MixUpCallback(mixer, key="input_values", reduction="weighted_mean", share_across_ranks=True)
    ) == (
        "MixUpCallback(MixUp(alpha=0.2, mode='batch', p=1.0, num_classes=10), "
        "key='input_values', reduction='weighted_mean', share_across_ranks=True)"
    )
    assert repr(MixUpCollator(mixer)) == (
        "MixUpCollator(MixUp(alpha=0.2, mode='batch', p=1.0, num_classes=10))"
    )
    assert repr(MixUpCollator(mixer, key="input_values", encoding="pair")) == (
        "MixUpCollator(MixUp(alpha=0.2, mode='batch', p=1.0, num_classes=10), "
        "key='input_values', encoding='pair')"
    )
    assert repr(MixUpLoss()) == "MixUpLoss(task='multiclass', encoding='dense', reduction='mean')"
    assert repr(MixUpCallback(mixkit.MixUpE(alpha=0.2, num_classes=10), form="soft")) == (
        "MixUpCallback(MixUpE(eta=0.001, tau=1.0, version=3, alpha=0.2, mode='batch', p=1.0, "
        "num_classes=10), form='soft')"
    )
    choice = mixkit.RandomChoice([mixkit.MixUp(num_classes=3), mixkit.CutMix(num_classes=3)])
    assert repr(MixUpCallback(choice)) == (
        "MixUpCallback(RandomChoice([MixUp(alpha=1.0, mode='batch', p=1.0, num_classes=3), "
        "CutMix(alpha=1.0, mode='batch', p=1.0, num_classes=3)], p=[0.5, 0.5]))"
    )


def test_callback_argument_errors() -> None:
    mixer = mixkit.MixUp(num_classes=3)
    cases = [
        (
            lambda: MixUpCallback(torch.nn.Linear(2, 2)),
            TypeError,
            "MixUpCallback: expected mixer to be a module of mixkit mixers (a Mixer such as MixUp, "
            "CutMix or MixUpE, a RandomChoice, or a MixerWrapper), got Linear(in_features=2, "
            "out_features=2, bias=True) (Linear)",
        ),
        (
            lambda: MixUpCallback(mixkit.MixerWrapper(torch.nn.Identity())),
            TypeError,
            "MixUpCallback: expected mixer to be a module of mixkit mixers (a Mixer such as MixUp, "
            "CutMix or MixUpE, a RandomChoice, or a MixerWrapper), got MixerWrapper(",
        ),
        (
            lambda: MixUpCallback(mixer, key=3),
            TypeError,
            "MixUpCallback: expected key to be a non-empty str or None, got 3 (int)",
        ),
        (
            lambda: MixUpCallback(mixer, label_key=None),
            TypeError,
            "MixUpCallback: expected label_key to be a non-empty str, got None (NoneType)",
        ),
        (
            lambda: MixUpCallback(mixer, form="dense"),
            ValueError,
            "MixUpCallback: expected form to be one of 'auto' | 'soft' | 'pair', got 'dense'",
        ),
        (
            lambda: MixUpCallback(mixer, reduction="sum"),
            ValueError,
            "MixUpCallback: expected reduction to be one of 'mean' | 'weighted_mean' (the "
            "reductions of mixkit.functional that give Trainer one loss normalised over the "
            "accumulated batch; 'sum' and 'none' do not), got 'sum'",
        ),
        (
            lambda: MixUpCallback(mixer, features="flat"),
            TypeError,
            "MixUpCallback: expected features to be a callable features(model, batch) -> "
            "Tensor, or None, got 'flat' (str)",
        ),
        (
            lambda: MixUpCallback(mixer, share_across_ranks=1),
            TypeError,
            "MixUpCallback: expected share_across_ranks to be a bool, got 1 (int)",
        ),
        (
            lambda: MixUpCallback(
                mixkit.RandomChoice([mixkit.MixUp(num_classes=3), mixkit.MixUp(task="regression")])
            ),
            ValueError,
            "RandomChoice: expected mixers of one task, got tasks ['multiclass', 'regression']",
        ),
    ]
    for build, error, message in cases:
        with pytest.raises(error, match=re.escape(message)):
            build()


def test_collator_and_loss_argument_errors() -> None:
    mixer = mixkit.MixUp(num_classes=3)
    cases = [
        (
            lambda: MixUpCollator(mixkit.MixUpE(num_classes=3)),
            ValueError,
            "MixUpCollator: expected a mixer without a loss term (MixUpLoss sees only the "
            "labels; a term such as MixupE's runs the model on the clean batch: use "
            "MixUpCallback), got term=MixupETerm(eta=0.001, tau=1.0, version=3)",
        ),
        (
            lambda: MixUpCollator(
                mixkit.RandomChoice(
                    [mixkit.MixUp(num_classes=3), mixkit.CutMix(term=mixkit.MixupETerm())]
                )
            ),
            ValueError,
            "MixUpCollator: expected a mixer without a loss term",
        ),
        (
            lambda: MixUpCollator(mixer, collator=5),
            TypeError,
            "MixUpCollator: expected collator to be callable or None, got 5 (int)",
        ),
        (
            lambda: MixUpCollator(mixer, key=""),
            TypeError,
            "MixUpCollator: expected key to be a non-empty str, got '' (str)",
        ),
        (
            lambda: MixUpCollator(mixer, encoding="soft"),
            ValueError,
            "MixUpCollator: expected encoding to be one of 'dense' | 'pair', got 'soft'",
        ),
        (
            lambda: MixUpCollator(mixkit.MixUp(task="multilabel"), encoding="pair"),
            ValueError,
            "MixUpCollator: expected encoding='pair' only with a multi-class mixer, "
            "got task='multilabel'",
        ),
        (
            lambda: MixUpCollator(mixkit.MixUp(task="regression", weighting=_Ones())),
            ValueError,
            "MixUpCollator: expected a mixer without a weighting for multi-label or regression "
            "targets (per-sample weights ride on soft multi-class targets only; use "
            "MixUpCallback), got task='regression' with a weighting",
        ),
        (
            lambda: MixUpLoss(task="binary"),
            ValueError,
            "MixUpLoss: expected task to be one of 'multiclass' | 'multilabel' | 'regression', "
            "got 'binary'",
        ),
        (
            lambda: MixUpLoss(encoding="pair", task="regression"),
            ValueError,
            "MixUpLoss: expected encoding='pair' only with task='multiclass', "
            "got task='regression'",
        ),
        (
            lambda: MixUpLoss(reduction="none"),
            ValueError,
            "MixUpLoss: expected reduction to be one of 'mean' | 'weighted_mean' (the "
            "reductions of mixkit.functional that give Trainer one loss normalised over the "
            "accumulated batch; 'sum' and 'none' do not), got 'none'",
        ),
    ]
    for build, error, message in cases:
        with pytest.raises(error, match=re.escape(message)):
            build()


class _Ones(mixkit.Weighting):
    def weights(self, features: torch.Tensor, index: torch.Tensor, lam: torch.Tensor) -> Tensor:
        return torch.ones(index.shape[0])
