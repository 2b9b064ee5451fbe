"""Images: a small CNN on Fashion-MNIST (quick) or PreActResNet-18 on a local dataset (full)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mixkit_bench._methods import METHODS, Context, build, distance_quantile
from mixkit_bench._metrics import flip_labels
from mixkit_bench._models import PreActResNet18, SmallCNN
from mixkit_bench._runner import Profile, register_domain
from mixkit_bench._train import fit
from mixkit_bench.datasets import ImageData, load_image_folder, load_images

__all__ = ["run"]

METHODS_HERE = tuple(METHODS)  # every method, CutMix included


@lru_cache(maxsize=4)
def _data(train_size: int | None, test_size: int | None, path: str | None) -> ImageData:
    if path is not None:
        return load_image_folder(Path(path))
    return load_images(train_size, test_size, seed=0)


def evaluate_fn(x: Tensor, y: Tensor, batch: int = 1000) -> Any:
    """``model -> (log-probabilities (N, C), labels (N,))`` on ``x``, by chunks, without
    gradients (what :func:`mixkit_bench._train.fit` scores)."""

    @torch.no_grad()
    def evaluate(model: nn.Module) -> tuple[Tensor, Tensor]:
        chunks = [model(x[i : i + batch]).float() for i in range(0, len(x), batch)]
        return F.log_softmax(torch.cat(chunks), dim=1), y

    return evaluate


def loss_fn(x: Tensor, y: Tensor) -> Any:
    """``model -> mean clean cross-entropy on (x, y)``: the validation loss AutoSwitch reads."""
    evaluate = evaluate_fn(x, y)

    def loss(model: nn.Module) -> float:
        log_probs, labels = evaluate(model)
        return float(F.nll_loss(log_probs, labels))

    return loss


def random_crop_flip(x: Tensor, generator: torch.Generator, pad: int = 4) -> Tensor:
    """The standard CIFAR augmentation, per sample and in one gather: a random ``H x W`` crop of
    the zero-padded image (shifts of up to ``pad`` pixels) and a horizontal flip with p = 1/2.

    The draws come from the CPU ``generator``; the work runs on ``x``'s device.
    """
    b, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (b, 1), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (b, 1), generator=generator).to(x.device)
    flip = (torch.rand(b, generator=generator) < 0.5).to(x.device)
    rows = dy + torch.arange(h, device=x.device)  # (B, H)
    cols = torch.arange(w, device=x.device).expand(b, w)
    cols = torch.where(flip.unsqueeze(1), cols.flip(1), cols) + dx  # (B, W)
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def thumbnail(x: Tensor) -> Tensor:
    """GenLabel's view of an image: 4x4 average pooling, flattened (49-d for 28x28)."""
    return F.avg_pool2d(x, 4).flatten(1)


def run(method: str, seed: int, profile: Profile) -> dict[str, Any]:
    opts = profile.options
    xtr, ytr, xte, yte, name = _data(opts.get("train_size"), opts.get("test_size"), profile.data)
    device = torch.device(profile.device)
    torch.manual_seed(seed)
    num_classes = int(max(ytr.max(), yte.max())) + 1
    noise = float(opts.get("label_noise", 0.0))
    ytr = flip_labels(ytr, noise, num_classes, seed)  # training and validation; test stays clean
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(xtr), generator=g)
    n_val = max(1, len(xtr) // 10)
    val, train = order[:n_val], order[n_val:]
    xv, yv = xtr[val].to(device), ytr[val].to(device)
    xt, yt = xtr[train].to(device), ytr[train].to(device)
    xte_d, yte_d = xte.to(device), yte.to(device)
    if opts.get("model") == "preact_resnet18":
        model: nn.Module = PreActResNet18(xt.shape[1], num_classes)
    else:
        channels = int(opts.get("channels", 32))
        model = SmallCNN(xt.shape[1], num_classes, xt.shape[2], xt.shape[3], channels=channels)
    model = model.to(device)
    ctx = Context(
        num_classes=num_classes,
        epochs=profile.epochs,
        seed=seed,
        alpha=1.0,
        local={"eps": distance_quantile(xt, 0.5)},
        fit_x=xt.cpu(),
        fit_y=yt.cpu(),
        genlabel_features=thumbnail,
    )
    recipe = build(method, ctx)
    batch_size = int(opts.get("batch_size", 128))
    paper = opts.get("recipe") == "paper"  # the mixup paper's CIFAR training
    augment = torch.Generator().manual_seed(20_000 + seed)

    def batches(epoch: int) -> Any:
        perm = torch.randperm(len(xt), generator=g).to(device)
        for i in range(0, len(xt), batch_size):
            idx = perm[i : i + batch_size]
            yield (random_crop_flip(xt[idx], augment) if paper else xt[idx]), yt[idx]

    training: dict[str, Any] = (
        {"optimizer": "sgd", "lr": 0.1, "weight_decay": 1e-4, "milestones": (0.5, 0.75)}
        if paper
        else {}
    )
    result = fit(
        model, batches, evaluate_fn(xte_d, yte_d), recipe, epochs=profile.epochs,
        validate=loss_fn(xv, yv), **training,
    )  # fmt: skip
    return result | {"data": name, "train_size": len(xt), "label_noise": noise}


register_domain("image", run, METHODS_HERE)
