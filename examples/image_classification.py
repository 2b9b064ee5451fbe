"""Images: a small CNN on Fashion-MNIST trained with ERM, MixUp and CutMix.

Reads Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` (no download); without it,
falls back to scikit-learn's 8x8 digits and says so. Prints the test accuracy of each method and
saves a plot of test accuracy by epoch.

    python examples/image_classification.py               # the full demo (~2 minutes, 2 cores)
    python examples/image_classification.py --quick       # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn

import mixkit
from mixkit_bench.datasets import load_images as load_image_data


def load_images(
    train_size: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, str]:
    """``(x_train, y_train, x_test, y_test, name)``: float images in [0, 1], (N, 1, H, W).

    A random ``train_size`` subset of Fashion-MNIST's training set (drawn with ``seed``) and its
    whole test set, read by the evaluation's loader (``mixkit_bench.datasets``; scikit-learn's 8x8
    digits when the Debian package ``dataset-fashion-mnist`` is absent).
    """
    return load_image_data(train_size, None, seed)


def small_cnn(num_classes: int, side: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * (side // 4) ** 2, 128), nn.ReLU(),
        nn.Linear(128, num_classes),
    )  # fmt: skip


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    correct = sum(
        int((model(x[i : i + 1000]).argmax(1) == y[i : i + 1000]).sum())
        for i in range(0, len(x), 1000)
    )
    return correct / len(x)


def train(
    method: str,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    *,
    epochs: int,
    seed: int,
    batch_size: int = 128,
) -> list[float]:
    """Train one model; returns the test accuracy after each epoch."""
    xtr, ytr, xte, yte = data
    torch.manual_seed(seed)
    model = small_cnn(10, xtr.shape[-1])
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    g = torch.Generator().manual_seed(seed)
    mixer: mixkit.Mixer | None = {
        "ERM": None,
        "MixUp": mixkit.MixUp(alpha=0.4, num_classes=10, generator=g),
        "CutMix": mixkit.CutMix(alpha=1.0, num_classes=10, generator=g),
    }[method]
    curve = []
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(xtr), batch_size):
            idx = order[i : i + batch_size]
            x, y = xtr[idx], ytr[idx]
            if mixer is None:
                loss = nn.functional.cross_entropy(model(x), y)
            else:
                mixer.set_epoch(epoch)
                mixed = mixer(x, y)
                loss = mixed.loss(model(mixed.inputs))
            opt.zero_grad()
            loss.backward()
            opt.step()
        curve.append(accuracy(model, xte, yte))
    return curve


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("outputs/image_classification.png"))
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    args = parser.parse_args(argv)
    if args.quick:
        args.train_size, args.epochs = 256, 1
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))

    xtr, ytr, xte, yte, name = load_images(args.train_size, args.seed)
    if args.quick:
        xte, yte = xte[:500], yte[:500]
    print(f"{name}: {len(xtr)} training images, {len(xte)} test images, {args.epochs} epochs")
    curves: dict[str, list[float]] = {}
    for method in ("ERM", "MixUp", "CutMix"):
        start = time.perf_counter()
        curves[method] = train(method, (xtr, ytr, xte, yte), epochs=args.epochs, seed=args.seed)
        print(
            f"  {method:7s} test accuracy {curves[method][-1]:.4f} "
            f"(best {max(curves[method]):.4f}) in {time.perf_counter() - start:.0f} s"
        )
    save_plot(curves, name, args.out)
    print(f"plot: {args.out}")
    return curves


def save_plot(curves: dict[str, list[float]], name: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, curve in curves.items():
        ax.plot(range(1, len(curve) + 1), curve, marker="o", label=method)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"{name}: small CNN, ERM vs MixUp vs CutMix")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
