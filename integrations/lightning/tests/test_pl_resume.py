"""The mixer's state travels in Lightning checkpoints: a resumed run mixes the same batches."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from lightning_support import CLASSES, Classifier, loader, mlp, record, tabular, trainer
from pytorch_lightning.callbacks import ModelCheckpoint

import mixkit
from mixkit_lightning import MixUpCallback


def _run(
    tmp: Path, mixer: mixkit.Mixer, *, epochs: int, ckpt: Path | None = None, **kw: object
) -> tuple[list[mixkit.Mixed], Classifier]:
    x, y = tabular(64)
    results = record(mixer)
    torch.manual_seed(1)
    module = Classifier(mlp(), lr=kw.pop("lr", 0.1))  # type: ignore[arg-type]
    saver = ModelCheckpoint(dirpath=tmp, filename="{epoch}", save_top_k=-1)
    callback = MixUpCallback(mixer, **kw)  # type: ignore[arg-type]
    fit = trainer(max_epochs=epochs, enable_checkpointing=True, callbacks=[callback, saver])
    fit.fit(module, loader(x, y), loader(x, y), ckpt_path=ckpt)
    return results, module


def test_resume_mixes_the_batches_of_an_uninterrupted_run(tmp_path: Path) -> None:
    mixer = mixkit.MixUp(alpha=1.0, mode="elem", num_classes=CLASSES,
                         generator=torch.Generator().manual_seed(7))  # fmt: skip
    full, _ = _run(tmp_path / "full", mixer, epochs=3)
    assert len(full) == 12
    state = torch.load(tmp_path / "full" / "epoch=0.ckpt", weights_only=True)["callbacks"]
    assert set(state["MixUpCallback"]) == {"mixer", "seed"}
    assert state["MixUpCallback"]["seed"] == 7
    # another seed, another initialisation: the checkpoint decides
    other = mixkit.MixUp(alpha=1.0, mode="elem", num_classes=CLASSES,
                         generator=torch.Generator().manual_seed(99))  # fmt: skip
    resumed, _ = _run(
        tmp_path / "resumed", other, epochs=3, ckpt=tmp_path / "full" / "epoch=0.ckpt"
    )
    assert len(resumed) == 8  # epochs 1 and 2
    for a, b in zip(full[4:], resumed, strict=True):
        assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    # the clock followed the Trainer: global step 11 was set before the last call, which counts one
    assert other.epoch == 2 and other.step == 12


def test_resume_restores_the_schedules_state(tmp_path: Path) -> None:
    def make() -> mixkit.Mixer:
        return mixkit.MixUp(num_classes=CLASSES, schedule=mixkit.AutoSwitch(patience=1))

    full, _ = _run(tmp_path / "full", make(), epochs=3, metric="val_loss", lr=0.0)
    assert [r.applied for r in full] == [True] * 8 + [False] * 4  # switched after epoch 1
    again = make()
    resumed, _ = _run(
        tmp_path / "resumed",
        again,
        epochs=3,
        ckpt=tmp_path / "full" / "epoch=1.ckpt",
        metric="val_loss",
        lr=0.0,
    )
    assert [r.applied for r in resumed] == [False] * 4  # the switch came with the checkpoint
    assert again.schedule is not None and again.schedule.switched
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MixUpCallback: expected a checkpoint saved with a mixer like this one (MixUp("
            "alpha=1.0, mode='batch', p=1.0, num_classes=3)), got a mixer state that does not "
            "load (ValueError: MixUp.load_state_dict: expected a mixer with a schedule to load "
            "its saved state into, got schedule=None)"
        ),
    ):
        _run(
            tmp_path / "wrong",
            mixkit.MixUp(num_classes=CLASSES),
            epochs=3,
            ckpt=tmp_path / "full" / "epoch=1.ckpt",
        )
