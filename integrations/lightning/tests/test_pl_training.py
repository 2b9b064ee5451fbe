"""Real training through the callback: a small CNN on Fashion-MNIST and an MLP on a table.

Fashion-MNIST is read offline by the evaluation's loader (``mixkit_bench.datasets.load_images``:
the Debian package ``dataset-fashion-mnist``; without it, scikit-learn's 8x8 digits, and the
loader says so). The modules are plain LightningModules; only the callback changes.
"""

from __future__ import annotations

import pytest
import torch
from lightning_support import Classifier, loader, mlp, small_cnn, trainer
from sklearn.datasets import load_breast_cancer
from torch import Tensor

import mixkit
from mixkit_bench.datasets import load_images
from mixkit_lightning import MixUpCallback

pytestmark = pytest.mark.slow


class Adam(Classifier):
    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=5e-4)


def _accuracy(module: Classifier, x: Tensor, y: Tensor) -> float:
    module.eval()
    with torch.no_grad():
        return float((module(x).argmax(1) == y).float().mean())


def test_small_cnn_on_fashion_mnist() -> None:
    xtr, ytr, xte, yte, name = load_images(3000, 1000, seed=0)
    side = xtr.shape[-1]
    accuracy: dict[str, float] = {}
    for method in ("ERM", "MixUp", "CutMix"):
        torch.manual_seed(0)
        module = Adam(small_cnn(10, side), lr=2e-3)
        g = torch.Generator().manual_seed(0)
        mixer = {
            "ERM": None,
            "MixUp": mixkit.MixUp(alpha=0.4, num_classes=10, generator=g),
            "CutMix": mixkit.CutMix(alpha=1.0, num_classes=10, generator=g),
        }[method]
        callbacks = [] if mixer is None else [MixUpCallback(mixer)]
        fit = trainer(max_epochs=3, callbacks=callbacks)
        fit.fit(module, loader(xtr, ytr, batch_size=64, shuffle=True))
        if mixer is not None:
            assert float(fit.callback_metrics["mixkit/active"]) == 1.0
            assert module.seen["train"][-1][1].shape[1:] == (10,)  # soft targets reached it
        accuracy[method] = _accuracy(module, xte, yte)
    floor = 0.75 if name == "Fashion-MNIST" else 0.85  # digits-8x8 is easier
    assert min(accuracy.values()) > floor, (name, accuracy)
    assert accuracy["MixUp"] > accuracy["ERM"] - 0.03, (name, accuracy)


def test_mlp_on_a_table_with_local_mixup_weights() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    x = torch.tensor(X, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    labels = torch.tensor(y)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    train, test = order[:400], order[400:]
    accuracy: dict[str, float] = {}
    for method in ("ERM", "MixUp", "LocalMixUp"):
        torch.manual_seed(0)
        module = Adam(mlp(features=30, classes=2), lr=1e-2)
        mixer = {
            "ERM": None,
            "MixUp": mixkit.MixUp(alpha=0.4, mode="elem", num_classes=2),
            "LocalMixUp": mixkit.LocalMixUp(sigma=0.2, mode="elem", num_classes=2),
        }[method]
        callbacks = [] if mixer is None else [MixUpCallback(mixer, reduction="weighted_mean")]
        trainer(max_epochs=15, callbacks=callbacks).fit(
            module, loader(x[train], labels[train], batch_size=32, shuffle=True)
        )
        accuracy[method] = _accuracy(module, x[test], labels[test])
    assert min(accuracy.values()) > 0.93, accuracy
