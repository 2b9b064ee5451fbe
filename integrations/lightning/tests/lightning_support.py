"""Modules, data and Trainer settings shared by the mixkit-lightning tests (and the DDP script).

``Classifier`` is a LightningModule written as a user writes one, knowing nothing of mixkit:
``training_step`` computes ``F.cross_entropy(self(x), y)`` and logs it; it records what it
saw (batches, logits, losses) so that tests can compare with the core's own results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

import mixkit

CLASSES = 3

#: Lightning's own chatter on a small CPU run; not what these tests are about (conftest.py)
QUIET = (
    ".*does not have many workers.*",
    ".*isinstance\\(treespec, LeafSpec\\).*",  # Lightning 2.6.6 under torch 2.14
    ".*You defined a `validation_step` but have no `val_dataloader`.*",
    ".*The number of training batches .* is smaller than the logging interval.*",
    ".*The dirpath has changed from.*",  # resuming into another folder, on purpose
)


def mlp(features: int = 8, classes: int = CLASSES) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(features, 16), nn.ReLU(), nn.Linear(16, classes))


def small_cnn(classes: int = 10, side: int = 28) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * (side // 4) ** 2, 64), nn.ReLU(),
        nn.Linear(64, classes),
    )  # fmt: skip


class Classifier(pl.LightningModule):
    """A user's module: cross-entropy of the logits against the batch's target.

    Args:
        net: the network.
        loss: ``loss(logits, y) -> Tensor`` (default ``F.cross_entropy``).
        layout: ``"list"`` (``x, y = batch``) or ``"dict"`` (``batch[input_key]``, ...).
        lr: SGD's learning rate.
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        loss: Callable[[Tensor, Tensor], Tensor] | None = None,
        layout: str = "list",
        input_key: str = "x",
        target_key: str = "y",
        lr: float = 0.1,
    ) -> None:
        super().__init__()
        self.net = net
        self.criterion = loss if loss is not None else F.cross_entropy
        self.layout, self.input_key, self.target_key, self.lr = layout, input_key, target_key, lr
        self.seen: dict[str, list[tuple[Tensor, Tensor]]] = {
            "train": [], "val": [], "test": [], "predict": []
        }  # fmt: skip
        self.logits: list[Tensor] = []
        self.losses: list[Tensor] = []

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.net(x)
        return out

    def unpack(self, batch: Any) -> tuple[Tensor, Tensor]:
        if self.layout == "dict":
            return batch[self.input_key], batch[self.target_key]
        return batch[0], batch[1]

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        x, y = self.unpack(batch)
        self.seen["train"].append((x.detach(), y.detach()))
        logits = self(x)
        loss = self.criterion(logits, y)
        self.logits.append(logits.detach())
        self.losses.append(loss.detach())
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = self.unpack(batch)
        self.seen["val"].append((x, y))
        logits = self(x)
        self.log("val_loss", F.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(1) == y).float().mean())

    def test_step(self, batch: Any, batch_idx: int) -> None:
        x, y = self.unpack(batch)
        self.seen["test"].append((x, y))
        self.log("test_acc", (self(x).argmax(1) == y).float().mean())

    def predict_step(self, batch: Any, batch_idx: int) -> Tensor:
        x, y = self.unpack(batch)
        self.seen["predict"].append((x, y))
        return self(x)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.lr)


class DictDataset(Dataset[dict[str, Tensor]]):
    """Rows as dicts (``{"x": ..., "y": ...}`` or other keys)."""

    def __init__(self, x: Tensor, y: Tensor, input_key: str = "x", target_key: str = "y") -> None:
        self.x, self.y, self.keys = x, y, (input_key, target_key)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {self.keys[0]: self.x[i], self.keys[1]: self.y[i]}


def tabular(n: int = 64, features: int = 8, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Three Gaussian blobs: float rows, int labels."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % CLASSES
    centers = torch.randn(CLASSES, features, generator=g) * 2
    return centers[y] + torch.randn(n, features, generator=g), y


def loader(x: Tensor, y: Tensor, batch_size: int = 16, **kwargs: Any) -> DataLoader[Any]:
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, **kwargs)


def trainer(**kwargs: Any) -> pl.Trainer:
    """A quiet CPU Trainer: no logger files, checkpoints, progress bar or summary."""
    settings: dict[str, Any] = {
        "accelerator": "cpu",
        "devices": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "max_epochs": 1,
        "num_sanity_val_steps": 0,
        "log_every_n_steps": 1,  # the mixkit/* values of every step (default: every 50)
    }
    settings.update(kwargs)
    return pl.Trainer(**settings)


def record(mixer: nn.Module) -> list[mixkit.Mixed]:
    """Every result ``mixer`` returns from now on (a forward hook; behaviour unchanged)."""
    results: list[mixkit.Mixed] = []
    mixer.register_forward_hook(lambda module, args, out: results.append(out))
    return results
