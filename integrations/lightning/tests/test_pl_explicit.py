"""The explicit form (mix_batch=False): the module calls the mixer, the callback drives it."""

from __future__ import annotations

import re
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from lightning_support import CLASSES, Classifier, loader, mlp, record, tabular, trainer
from torch import Tensor, nn

import mixkit
from mixkit_lightning import MixUpCallback


class Explicit(Classifier):
    """A module that mixes itself: any batch layout, MixupE's term through ``model=self``."""

    def __init__(self, net: nn.Module, mixer: nn.Module, *, call: bool = True) -> None:
        super().__init__(net)
        self.mixer = mixer  # a submodule: follows train() / eval(), in the module's state
        self.call = call
        self.val_applied: list[bool] = []
        self.forwards = 0

    def forward(self, x: Tensor) -> Tensor:
        self.forwards += int(self.training)
        return super().forward(x)

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        x, y = batch
        if not self.call:
            loss = F.cross_entropy(self(x), y)
        else:
            mixed = self.mixer(x, y)
            logits = self(mixed.inputs)
            loss = mixed.loss(logits, model=self)
            self.logits.append(logits.detach())
        self.losses.append(loss.detach())
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        mixed = self.mixer(x, y)  # identity out of training: the module's eval mode
        self.val_applied.append(mixed.applied)
        self.log("val_loss", F.cross_entropy(self(mixed.inputs), y))


def test_the_module_mixes_with_a_loss_term_and_the_callback_drives_it() -> None:
    x, y = tabular(64)
    mixer = mixkit.MixUpE(alpha=1.0, num_classes=CLASSES, eta=0.5)
    results = record(mixer)
    module = Explicit(mlp(), mixer)
    callback = MixUpCallback(mixer, mix_batch=False)
    fit = trainer(max_epochs=2, callbacks=[callback])
    fit.fit(module, loader(x, y), loader(x, y))
    train = [r for r in results if r.applied]
    assert len(train) == 8 and module.val_applied == [False] * 8
    seed = callback.state_dict()["seed"]
    replay = mixkit.MixUpE(alpha=1.0, num_classes=CLASSES, eta=0.5)
    for k, mixed in enumerate(train):
        epoch, i = divmod(k, 4)
        mixkit.reseed(replay, seed, 0, epoch, k, i)  # the same key as the implicit form
        ref = replay(x[16 * i : 16 * (i + 1)], y[16 * i : 16 * (i + 1)])
        assert torch.equal(mixed.inputs, ref.inputs) and torch.equal(mixed.lam, ref.lam)
        # MixupE's term: its value is rescaled to the mixup loss, its gradient is not
        torch.testing.assert_close(module.losses[k], mixkit.mixed_loss(module.logits[k], mixed))
    assert module.forwards == 2 * 8  # each step: the mixed pass and the term's clean pass
    assert float(fit.callback_metrics["mixkit/lam_mean"]) == pytest.approx(
        float(train[-1].params.lam.mean())
    )


def test_a_mixer_outside_the_module_is_put_in_eval_mode_out_of_training() -> None:
    x, y = tabular(32)
    mixer = mixkit.MixUp(num_classes=CLASSES)
    results = record(mixer)

    class Outside(Explicit):  # holds the mixer out of its modules (not a submodule)
        def __init__(self) -> None:
            super().__init__(mlp(), nn.Identity())
            self.__dict__["outside"] = mixer

        def training_step(self, batch: Any, batch_idx: int) -> Tensor:
            mixed = self.outside(*batch)
            return mixed.loss(self(mixed.inputs))

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            self.val_applied.append(self.outside(*batch).applied)

    module = Outside()
    trainer(max_epochs=2, callbacks=[MixUpCallback(mixer, mix_batch=False)]).fit(
        module, loader(x, y), loader(x, y)
    )
    assert [r.applied for r in results] == [True, True, False, False] * 2
    assert module.val_applied == [False] * 4


def test_a_training_step_that_never_calls_the_mixer_is_warned_about() -> None:
    x, y = tabular(32)
    mixer = mixkit.MixUp(num_classes=CLASSES)
    with pytest.warns(
        UserWarning,
        match=re.escape(
            "MixUpCallback: training_step did not call the mixer in batch 0 (mix_batch=False: "
            "the module mixes; call self.mixer(x, y) in training_step, or use mix_batch=True)"
        ),
    ):
        trainer(callbacks=[MixUpCallback(mixer, mix_batch=False)]).fit(
            Explicit(mlp(), mixer, call=False), loader(x, y)
        )
