"""MixUpCallback in a Lightning Trainer: the batches it mixes, the loss the user's own
training_step then computes, what is never mixed, batch layouts, schedules and logging."""

from __future__ import annotations

import re
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from lightning_support import (
    CLASSES,
    Classifier,
    DictDataset,
    loader,
    mlp,
    record,
    tabular,
    trainer,
)
from torch.utils.data import DataLoader

import mixkit
from mixkit_lightning import MixUpCallback


def test_batches_are_the_cores_mixes_and_the_users_loss_is_the_mixed_loss() -> None:
    x, y = tabular(64)
    x0, y0 = x.clone(), y.clone()
    mixer = mixkit.MixUp(alpha=1.0, mode="elem", num_classes=CLASSES)
    results = record(mixer)
    module = Classifier(mlp())
    callback = MixUpCallback(mixer)
    trainer(max_epochs=2, callbacks=[callback]).fit(module, loader(x, y))
    assert torch.equal(x, x0) and torch.equal(y, y0)  # the caller's tensors are never written
    assert len(results) == len(module.seen["train"]) == 8  # 4 batches x 2 epochs
    seed = callback.state_dict()["seed"]
    # the core, called directly with the draws' key (seed, rank, epoch, step, batch index)
    replay = mixkit.MixUp(alpha=1.0, mode="elem", num_classes=CLASSES)
    for k, (xb, tb) in enumerate(module.seen["train"]):
        epoch, i = divmod(k, 4)
        mixkit.reseed(replay, seed, 0, epoch, k, i)
        replay.set_epoch(epoch)
        replay.set_step(k)
        ref = replay(x[16 * i : 16 * (i + 1)], y[16 * i : 16 * (i + 1)])
        assert ref.applied and (ref.lam < 1).any()
        assert torch.equal(xb, ref.inputs)
        assert tb.dtype == torch.float32 and torch.equal(tb, ref.targets)  # soft (B, C)
        # F.cross_entropy(logits, y) in the user's step is the core's mixed loss
        torch.testing.assert_close(module.losses[k], ref.loss(module.logits[k]))
        assert torch.equal(results[k].lam, ref.lam)
    assert mixer.training and mixer.enabled  # the mixer is left as it was given


def test_validation_test_and_predict_are_never_mixed() -> None:
    x, y = tabular(48)
    mixer = mixkit.MixUp(alpha=1.0, num_classes=CLASSES)
    results = record(mixer)
    module = Classifier(mlp())
    fit = trainer(
        max_epochs=2, num_sanity_val_steps=2, callbacks=[MixUpCallback(mixer)]
    )  # the sanity check's validation too
    fit.fit(module, loader(x, y), loader(x, y))
    fit.test(module, loader(x, y), verbose=False)
    fit.predict(module, loader(x, y))
    assert len(results) == 6  # 3 training batches x 2 epochs, nothing else
    for stage in ("val", "test", "predict"):
        seen = module.seen[stage]
        assert seen, stage
        assert torch.equal(torch.cat([b[0] for b in seen[-3:]]), x), stage
        assert torch.equal(torch.cat([b[1] for b in seen[-3:]]), y), stage


def test_dict_batches_by_default_names_or_given_keys() -> None:
    x, y = tabular(32)
    named = {"input_key": "feat", "target_key": "cls"}
    for keys, given in ((("image", "label"), {}), (("feat", "cls"), named)):
        mixer = mixkit.MixUp(alpha=1.0, num_classes=CLASSES)
        results = record(mixer)
        module = Classifier(mlp(), layout="dict", input_key=keys[0], target_key=keys[1])
        data = DataLoader(DictDataset(x, y, *keys), batch_size=16)
        trainer(callbacks=[MixUpCallback(mixer, **given)]).fit(module, data)
        assert len(results) == 2
        for (xb, tb), mixed in zip(module.seen["train"], results, strict=True):
            assert torch.equal(xb, mixed.inputs) and torch.equal(tb, mixed.targets)


def test_list_batch_positions_can_be_given() -> None:
    x, y = tabular(32)
    mixer = mixkit.MixUp(alpha=1.0, num_classes=CLASSES)
    results = record(mixer)

    class TargetFirst(Classifier):
        def unpack(self, batch: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
            return batch[2], batch[0]

    module = TargetFirst(mlp())
    data = DataLoader(torch.utils.data.TensorDataset(y, x[:, :1], x), batch_size=16)
    callback = MixUpCallback(mixer, input_key=2, target_key=0)
    trainer(callbacks=[callback]).fit(module, data)
    assert len(results) == 2 and torch.equal(module.seen["train"][0][0], results[0].inputs)


def _fit(mixer: torch.nn.Module, data: Any, module: Classifier | None = None, **kw: Any) -> None:
    """One epoch of ``module`` (default: an MLP classifier) with ``MixUpCallback(mixer, **kw)``."""
    trainer(callbacks=[MixUpCallback(mixer, **kw)]).fit(module or Classifier(mlp()), data)


def test_batches_the_callback_cannot_change_are_refused() -> None:
    x, y = tabular(32)
    mixer = mixkit.MixUp(num_classes=CLASSES)
    as_tuple = DataLoader(
        torch.utils.data.TensorDataset(x, y),
        batch_size=16,
        collate_fn=lambda rows: (
            torch.stack([r[0] for r in rows]),
            torch.stack([r[1] for r in rows]),
        ),
    )
    with pytest.raises(
        ValueError,
        match=re.escape("MixUpCallback: expected a training batch Lightning hands over as a list")
        + ".*a tuple cannot be changed: return a list from your collate_fn.*"
        + re.escape("mix_batch=False)), got a tuple of 2"),
    ):
        _fit(mixer, as_tuple)
    with pytest.raises(
        ValueError, match=re.escape("got a torch.float32 tensor of shape (16, 8) on cpu")
    ):
        _fit(mixer, DataLoader(x, batch_size=16), Classifier(mlp()))
    odd = DataLoader(DictDataset(x, y, "a", "b"), batch_size=16)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected input_key= and target_key= naming the input and the target "
            "of a dict batch (tried ['x', 'input', 'inputs', 'image', 'images', "
            "'pixel_values', 'features'] and ['y', 'target', 'targets', 'label', 'labels']), "
            "got keys ['a', 'b']"
        ),
    ):
        _fit(mixer, odd)
    with pytest.raises(
        ValueError,
        match=re.escape("MixUpCallback: expected the training batch to hold input_key='image'"),
    ):
        _fit(mixer, odd, input_key="image", target_key="b")
    with pytest.raises(
        ValueError,
        match=re.escape("expected input_key to be a position in the training batch (a list of 2)"),
    ):
        _fit(mixer, loader(x, y), input_key=2)
    with pytest.raises(
        ValueError, match=re.escape("expected input_key and target_key at two places, got both")
    ):
        _fit(mixer, loader(x, y), input_key=1)
    ids = loader(torch.randint(0, 9, (32, 8)), y)
    with pytest.raises(
        ValueError,
        match=re.escape("expected a float input tensor at batch[0] (token ids and other integer")
        + ".*mixkit.ModuleMix",
    ):
        _fit(mixer, ids)


def test_schedules_read_the_trainers_epoch_and_global_step() -> None:
    x, y = tabular(64)
    by_epoch = mixkit.MixUp(num_classes=CLASSES, schedule=mixkit.OffAfter(epoch=1))
    results = record(by_epoch)
    _fit(by_epoch, loader(x, y))  # one epoch of 4 batches: on
    assert [r.applied for r in results] == [True] * 4
    results.clear()
    trainer(max_epochs=2, callbacks=[MixUpCallback(by_epoch)]).fit(Classifier(mlp()), loader(x, y))
    assert [r.applied for r in results] == [True] * 4 + [False] * 4
    by_step = mixkit.MixUp(num_classes=CLASSES, schedule=mixkit.OffAfter(step=3))
    results = record(by_step)
    # two micro-batches per optimizer step: global steps 0, 0, 1, 1, 2, 2, 3, 3
    trainer(max_epochs=2, accumulate_grad_batches=2, callbacks=[MixUpCallback(by_step)]).fit(
        Classifier(mlp()), loader(x, y)
    )
    assert [r.applied for r in results] == [True] * 6 + [False] * 2


def test_autoswitch_reads_the_reported_validation_metric() -> None:
    x, y = tabular(32)
    mixer = mixkit.MixUp(num_classes=CLASSES, schedule=mixkit.AutoSwitch(patience=1))
    results = record(mixer)
    module = Classifier(mlp(), lr=0.0)  # a validation loss that never improves
    callback = MixUpCallback(mixer, metric="val_loss")
    trainer(max_epochs=4, num_sanity_val_steps=1, callbacks=[callback]).fit(
        module, loader(x, y), loader(x, y)
    )
    # reports after epochs 0 and 1 (not the sanity check): switched off from epoch 2 on
    assert [r.applied for r in results] == [True] * 4 + [False] * 4
    assert mixer.schedule is not None and mixer.schedule.switched
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected metric= naming the validation metric the mixer's schedule "
            "reads (e.g. metric='val_loss', what the module logs in validation_step), got "
            "metric=None"
        ),
    ):
        MixUpCallback(mixkit.MixUp(num_classes=3, schedule=mixkit.AutoSwitch()))
    callback = MixUpCallback(
        mixkit.MixUp(num_classes=3, schedule=mixkit.AutoSwitch()), metric="val_f1"
    )
    with pytest.warns(
        UserWarning,
        match=re.escape("MixUpCallback: expected trainer.callback_metrics to hold 'val_f1'"),
    ):
        trainer(callbacks=[callback]).fit(Classifier(mlp()), loader(x, y), loader(x, y))


@pytest.mark.parametrize("reduction", ["mean", "weighted_mean"])
def test_local_mixup_weights_reach_the_users_cross_entropy(reduction: str) -> None:
    x, y = tabular(64)
    mixer = mixkit.LocalMixUp(sigma=0.1, mode="elem", num_classes=CLASSES)
    results = record(mixer)
    module = Classifier(mlp())
    trainer(callbacks=[MixUpCallback(mixer, reduction=reduction)]).fit(module, loader(x, y))  # type: ignore[arg-type]
    weights = torch.cat([r.weights for r in results])
    assert float(weights.min()) > 0.05 and bool((weights < 0.9).any())  # really weighted
    for mixed, logits, loss in zip(results, module.logits, module.losses, strict=True):
        torch.testing.assert_close(loss, mixed.loss(logits, reduction=reduction))  # type: ignore[arg-type]
        assert not torch.allclose(loss, mixed.loss(logits, reduction="sum") / 16 / 2)


def test_label_smoothing_once_the_mixers() -> None:
    x, y = tabular(32)
    mixer = mixkit.MixUp(alpha=1.0, num_classes=CLASSES, label_smoothing=0.1)
    results = record(mixer)
    module = Classifier(mlp())
    _fit(mixer, loader(x, y), module)
    for mixed, logits, loss in zip(results, module.logits, module.losses, strict=True):
        torch.testing.assert_close(loss, mixed.loss(logits))  # smoothed once
    twice = Classifier(
        mlp(), loss=lambda logits, t: F.cross_entropy(logits, t, label_smoothing=0.1)
    )
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected training_step's loss to be linear in the target, as "
            "F.cross_entropy(logits, y) without label_smoothing and with nothing added is (the "
            "mixer smooths its targets already; give label smoothing to the mixer only), or mix "
            "explicitly in training_step"
        )
        + r".*got a loss of [0-9.]+ of which [0-9.]+ does not scale with the target "
        + re.escape("(label smoothing in the criterion, or terms added to the loss)"),
    ):
        _fit(mixer, loader(x, y), twice)
    # the criterion's smoothing alone is smoothing once: mixup's targets stay convex
    plain = mixkit.MixUp(alpha=1.0, num_classes=CLASSES)
    results = record(plain)
    criterion = Classifier(
        mlp(), loss=lambda logits, t: F.cross_entropy(logits, t, label_smoothing=0.1)
    )
    _fit(plain, loader(x, y), criterion)
    smoothed = mixkit.MixUp(alpha=1.0, num_classes=CLASSES, label_smoothing=0.1)
    for mixed, logits, loss in zip(results, criterion.logits, criterion.losses, strict=True):
        ref = smoothed.mix(mixed.source, mixed.y_a, mixed.params)
        torch.testing.assert_close(loss, ref.loss(logits))


def test_a_training_step_that_does_not_use_the_mixed_batch_is_caught() -> None:
    x, y = tabular(32)
    mixer = mixkit.MixUp(num_classes=CLASSES)
    hard = Classifier(mlp(), loss=lambda logits, t: F.cross_entropy(logits, t.argmax(1)))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected training_step's loss to read the mixed target it finds at "
            "batch[1] (float (B, C) soft targets during training: F.cross_entropy(logits, y) "
            "takes them); pass target_key= if the target is elsewhere, or mix explicitly"
        )
        + ".*"
        + re.escape("got a loss that does not depend on batch[1]"),
    ):
        _fit(mixer, loader(x, y), hard)

    class CleanCopy(Classifier):  # reads the input from another key than the mixed one
        def unpack(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
            return batch["image"], batch["y"]

    rows = [{"x": x[i], "image": x[i].clone(), "y": y[i]} for i in range(16)]
    data = DataLoader(rows, batch_size=16)  # type: ignore[arg-type]
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected training_step's loss to come from the mixed input it finds "
            "at batch['x']; pass input_key= if the input is elsewhere, or mix explicitly"
        )
        + ".*"
        + re.escape("got a loss that does not depend on batch['x']"),
    ):
        _fit(mixer, data, CleanCopy(mlp()))
    # check=False trusts the module (here wrongly: hard labels, no mixed loss)
    _fit(mixer, loader(x, y), hard, check=False)


def test_terms_added_to_the_loss_are_refused_only_where_they_are_wrong() -> None:
    x, y = tabular(32)

    def with_penalty(logits: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, t) + 0.1 * logits.pow(2).mean()

    plain = mixkit.MixUp(num_classes=CLASSES)
    _fit(plain, loader(x, y), Classifier(mlp(), loss=with_penalty))  # mixup stays right
    weighted = mixkit.LocalMixUp(sigma=0.1, num_classes=CLASSES)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "(the mixer's per-sample weights reach the loss by scaling the targets, and miss "
            "any part of the loss that does not scale with them)"
        ),
    ):
        _fit(weighted, loader(x, y), Classifier(mlp(), loss=with_penalty))


def test_a_loss_that_cannot_take_soft_targets_gets_a_note() -> None:
    x, y = tabular(32)
    nll = Classifier(mlp(), loss=lambda logits, t: F.nll_loss(F.log_softmax(logits, 1), t))
    with pytest.raises(RuntimeError, match="multi-target not supported") as error:
        _fit(mixkit.MixUp(num_classes=CLASSES), loader(x, y), nll)
    notes = getattr(error.value, "__notes__", [])
    assert len(notes) == 1 and notes[0].startswith(
        "MixUpCallback: during training the batch's target holds the mixed soft targets "
        "(float (B, C) for classification)"
    )
    assert "MixUpCallback(mixer, mix_batch=False)" in notes[0]


def test_mixers_the_implicit_form_cannot_serve_are_refused() -> None:
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected a mixer without a loss term with mix_batch=True (the term, "
            "e.g. MixupE's, needs the model's clean pass, which a batch cannot carry: mix "
            "explicitly, mixed.loss(logits, model=self), with mix_batch=False), got MixUpE("
        ),
    ):
        MixUpCallback(mixkit.MixUpE(num_classes=3))
    inside = mixkit.RandomChoice([mixkit.MixUp(num_classes=3), mixkit.MixUpE(num_classes=3)])
    with pytest.raises(ValueError, match=re.escape("with MixupETerm(")):
        MixUpCallback(inside)
    MixUpCallback(mixkit.MixUpE(num_classes=3), mix_batch=False)  # the explicit form takes it
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected per-sample weights with mix_batch=True only for "
            "task='multiclass'"
        )
        + ".*"
        + re.escape("got a weighting with task='multilabel'"),
    ):
        MixUpCallback(mixkit.LocalMixUp(sigma=1.0, task="multilabel", num_classes=3))


def test_mixing_twice_is_refused() -> None:
    x, y = tabular(32)
    mixer = mixkit.MixUp(num_classes=CLASSES)

    class MixesToo(Classifier):
        def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
            mixed = mixer(batch[0], batch[1].argmax(1))
            return mixed.loss(self(mixed.inputs))

    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected mix_batch=False when training_step calls the mixer itself "
            "(with mix_batch=True the callback has mixed the batch already: it would be mixed "
            "twice), got a call of the mixer inside training_step"
        ),
    ):
        _fit(mixer, loader(x, y), MixesToo(mlp()))


@pytest.mark.parametrize("task", ["multilabel", "regression"])
def test_other_tasks_get_their_mixed_targets(task: str) -> None:
    x, labels = tabular(32)
    if task == "multilabel":
        y = F.one_hot(labels, CLASSES).float()
        y[::3, 0] = 1.0  # some rows with two labels
        criterion = F.binary_cross_entropy_with_logits
        mixer = mixkit.MixUp(alpha=1.0, task="multilabel", num_classes=CLASSES)
    else:
        y = x[:, :2].sum(1, keepdim=True) + 0.1 * labels.unsqueeze(1)
        criterion = F.mse_loss
        mixer = mixkit.MixUp(alpha=1.0, task="regression")
    results = record(mixer)
    module = Classifier(mlp(classes=y.shape[1]), loss=criterion)
    _fit(mixer, loader(x, y), module)
    for (xb, tb), mixed, logits, loss in zip(
        module.seen["train"], results, module.logits, module.losses, strict=True
    ):
        assert torch.equal(tb, mixed.targets) and torch.equal(xb, mixed.inputs)
        torch.testing.assert_close(loss, mixed.loss(logits))


def test_stats_are_logged_through_the_module() -> None:
    x, y = tabular(64)
    mixer = mixkit.MixUp(alpha=1.0, mode="elem", p=0.5, num_classes=CLASSES)
    results = record(mixer)
    fit = trainer(callbacks=[MixUpCallback(mixer)])
    fit.fit(Classifier(mlp()), loader(x, y))
    logged = fit.callback_metrics  # the last step's values
    lam = results[-1].params.lam
    assert float(logged["mixkit/lam_mean"]) == pytest.approx(float(lam.mean()))
    assert float(logged["mixkit/lam_min"]) == pytest.approx(float(lam.min()))
    assert float(logged["mixkit/mixed_fraction"]) == pytest.approx(float((lam < 1).float().mean()))
    assert 0 < float(logged["mixkit/mixed_fraction"]) < 1  # p=0.5 skips rows
    assert float(logged["mixkit/active"]) == 1.0
    assert float(logged["mixkit/weight_mean"]) == 1.0
    local = mixkit.LocalMixUp(sigma=0.1, num_classes=CLASSES)
    results = record(local)
    fit = trainer(callbacks=[MixUpCallback(local)])
    fit.fit(Classifier(mlp()), loader(x, y))
    assert float(fit.callback_metrics["mixkit/weight_mean"]) == pytest.approx(
        float(results[-1].weights.mean())
    )
    # logged when Lightning writes its loggers, over the batches since the last time
    results = record(mixer)
    every = trainer(log_every_n_steps=2, callbacks=[MixUpCallback(mixer)])
    every.fit(Classifier(mlp()), loader(x, y))
    window = torch.cat([r.params.lam for r in results[2:]])
    assert float(every.callback_metrics["mixkit/lam_mean"]) == pytest.approx(float(window.mean()))
    assert float(every.callback_metrics["mixkit/lam_min"]) == pytest.approx(float(window.min()))
    quiet = trainer(callbacks=[MixUpCallback(mixkit.MixUp(num_classes=3), log_stats=False)])
    quiet.fit(Classifier(mlp()), loader(x, y))
    assert not any(k.startswith("mixkit/") for k in quiet.callback_metrics)


def test_gradient_accumulation_mixes_each_micro_batch_and_sums_their_losses() -> None:
    x, y = tabular(32)
    torch.manual_seed(0)
    net = mlp()
    start = [p.detach().clone() for p in net.parameters()]
    mixer = mixkit.MixUp(alpha=1.0, mode="elem", num_classes=CLASSES)
    results = record(mixer)
    module = Classifier(net, lr=0.5)
    fit = trainer(max_steps=1, accumulate_grad_batches=2, callbacks=[MixUpCallback(mixer)])
    fit.fit(module, loader(x, y))
    assert fit.global_step == 1 and len(results) == 2
    assert not torch.equal(results[0].lam, results[1].lam)  # each micro-batch its own draw
    # one SGD step on the mean of the two micro-batches' mixed losses
    torch.manual_seed(0)
    ref = mlp()
    for p, s in zip(ref.parameters(), start, strict=True):
        p.data.copy_(s)
    loss = sum(m.loss(ref(m.inputs)) for m in results) / 2
    loss.backward()  # type: ignore[union-attr]
    for p, q in zip(ref.parameters(), net.parameters(), strict=True):
        assert p.grad is not None
        torch.testing.assert_close(q.detach(), p.detach() - 0.5 * p.grad)


@pytest.mark.parametrize("precision", ["bf16-mixed", "bf16-true", "64-true"])
def test_precision(precision: str) -> None:
    x, y = tabular(32)
    mixer = mixkit.MixUp(alpha=1.0, num_classes=CLASSES)
    results = record(mixer)
    module = Classifier(mlp())
    trainer(precision=precision, callbacks=[MixUpCallback(mixer)]).fit(module, loader(x, y))
    dtype = {"bf16-mixed": torch.float32, "bf16-true": torch.bfloat16, "64-true": torch.float64}
    for (xb, tb), mixed, logits, loss in zip(
        module.seen["train"], results, module.logits, module.losses, strict=True
    ):
        # mixed on the device batch Lightning hands over: bf16-mixed keeps float32 inputs
        # (autocast runs inside training_step), bf16-true / 64-true converted them first
        assert xb.dtype == tb.dtype == dtype[precision]
        assert torch.equal(xb, mixed.inputs)
        if precision == "bf16-mixed":
            assert logits.dtype == torch.bfloat16  # autocast
        tol = {"rtol": 2e-2, "atol": 2e-2} if precision == "bf16-true" else {}
        torch.testing.assert_close(loss.double(), mixed.loss(logits).double(), **tol)


def test_manual_optimization() -> None:
    x, y = tabular(32)
    mixer = mixkit.MixUp(alpha=1.0, num_classes=CLASSES)
    results = record(mixer)

    class Manual(Classifier):
        def __init__(self) -> None:
            super().__init__(mlp())
            self.automatic_optimization = False

        def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
            opt = self.optimizers()
            opt.zero_grad()  # type: ignore[union-attr]
            loss = super().training_step(batch, batch_idx)
            self.manual_backward(loss)
            opt.step()  # type: ignore[union-attr]
            return loss

    module = Manual()
    _fit(mixer, loader(x, y), module)
    assert len(results) == 2
    for mixed, logits, loss in zip(results, module.logits, module.losses, strict=True):
        torch.testing.assert_close(loss, mixed.loss(logits))


@pytest.mark.filterwarnings("ignore:You are using the `dataloader_iter` step flavor")
def test_trainers_and_modules_the_callback_cannot_serve() -> None:
    x, y = tabular(32)

    class Iterating(Classifier):
        def training_step(self, dataloader_iter: object) -> torch.Tensor:  # type: ignore[override]
            raise AssertionError("never reached")

    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected a training_step(batch, batch_idx) with mix_batch=True (one "
            "that takes dataloader_iter fetches its own batches, which no hook sees)"
        ),
    ):
        _fit(mixkit.MixUp(num_classes=3), loader(x, y), Iterating(mlp()))
    # Lightning itself refuses two stateful callbacks of one type (two would mix twice)
    two = [MixUpCallback(mixkit.MixUp(num_classes=3)), MixUpCallback(mixkit.CutMix(num_classes=3))]
    with pytest.raises(
        RuntimeError,
        match=re.escape("Found more than one stateful callback of type `MixUpCallback`"),
    ):
        trainer(callbacks=two)


def test_construction_errors() -> None:
    with pytest.raises(
        TypeError,
        match=re.escape(
            "MixUpCallback: expected mixer to be a module of mixkit mixers (a Mixer such as "
            "MixUp, CutMix or MixUpE, a RandomChoice, or a MixerWrapper), got Linear("
        ),
    ):
        MixUpCallback(torch.nn.Linear(2, 2))
    mixer = mixkit.MixUp(num_classes=3)
    with pytest.raises(
        TypeError,
        match=re.escape(
            "MixUpCallback: expected input_key to be an int position, a str key or None, got "
            "1.5 (float)"
        ),
    ):
        MixUpCallback(mixer, input_key=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=re.escape("expected target_key to be an int position")):
        MixUpCallback(mixer, target_key="")
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected reduction to be one of 'mean' | 'weighted_mean', got 'sum'"
        ),
    ):
        MixUpCallback(mixer, reduction="sum")  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match=re.escape("MixUpCallback: expected metric to be a non-empty str or None")
    ):
        MixUpCallback(mixer, metric=3)  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match=re.escape("MixUpCallback: expected mix_batch to be a bool")
    ):
        MixUpCallback(mixer, mix_batch="no")  # type: ignore[arg-type]
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected input_key and target_key only with mix_batch=True (with "
            "mix_batch=False training_step reads the batch and calls the mixer itself), got "
            "input_key='x', target_key=None"
        ),
    ):
        MixUpCallback(mixer, mix_batch=False, input_key="x")
    with pytest.raises(ValueError, match=re.escape("MixUpCallback: expected mixers of one task")):
        MixUpCallback(mixkit.RandomChoice([mixer, mixkit.MixUp(task="regression")]))
