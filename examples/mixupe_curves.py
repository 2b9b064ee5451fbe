"""MixupE vs MixUp: clean train and test loss curves of a small MLP on 8x8 digits.

scikit-learn's handwritten digits (1797 8x8 images, shipped with scikit-learn: no download),
split 2/3 train, 1/3 test, scaled to [0, 1]. The same MLP from the same initialisation is trained
with MixUp and with the same MixUp plus ``mixkit.MixupETerm``: version 3 (the authors' default) at
the authors' strength eta = 1e-3 and at a stronger 0.1, and version 1 (the exact directional
derivative toward the mean input from ``mixkit.mean_input``) at 0.1, over a few seeds. After each
epoch the clean (unmixed) cross-entropy on the training and the test set is recorded; the script
prints the final values and the test accuracy, and saves the curves (mean over seeds).

    python examples/mixupe_curves.py             # the full run (~45 s, 2 cores)
    python examples/mixupe_curves.py --quick     # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as TF
from torch import Tensor, nn

import mixkit


def load_digits_split(seed: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.from_numpy(digits.data.astype(np.float32) / 16.0)  # (1797, 64) in [0, 1]
    y = torch.from_numpy(digits.target.astype(np.int64))
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    cut = 2 * len(x) // 3
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


def mlp(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10))  # fmt: skip


@torch.no_grad()
def evaluate(model: nn.Module, x: Tensor, y: Tensor) -> tuple[float, float]:
    """Clean cross-entropy and accuracy."""
    model.eval()
    logits = model(x)
    model.train()
    return float(TF.cross_entropy(logits, y)), float((logits.argmax(1) == y).float().mean())


Method = tuple[str, int | None, float]  # (label, MixupE version or None for MixUp, eta)


def train(
    method: Method,
    data: tuple[Tensor, Tensor, Tensor, Tensor],
    *,
    epochs: int,
    seed: int,
    alpha: float,
    batch_size: int = 64,
) -> dict[str, list[float]]:
    xtr, ytr, xte, yte = data
    _, version, eta = method
    model = mlp(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    g = torch.Generator().manual_seed(seed)
    term: mixkit.MixupETerm | None = None
    if version == 3:
        term = mixkit.MixupETerm(eta=eta)
    elif version == 1:
        loader = [(xtr[i : i + 256], ytr[i : i + 256]) for i in range(0, len(xtr), 256)]
        term = mixkit.MixupETerm(eta=eta, version=1, x_bar=mixkit.mean_input(loader))
    mixer = mixkit.MixUp(alpha=alpha, num_classes=10, term=term, generator=g)
    curves: dict[str, list[float]] = {"train": [], "test": [], "acc": []}
    for _ in range(epochs):
        order = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(xtr), batch_size):
            idx = order[i : i + batch_size]
            x, y = xtr[idx], ytr[idx]
            mixed = mixer(x, y)
            # with MixupE: the value is the mixup loss, the gradient carries the term
            loss = mixed.loss(model(mixed.inputs), model=model)
            opt.zero_grad()
            loss.backward()
            opt.step()
        train_loss, _ = evaluate(model, xtr, ytr)
        test_loss, acc = evaluate(model, xte, yte)
        curves["train"].append(train_loss)
        curves["test"].append(test_loss)
        curves["acc"].append(acc)
    return curves


def mean_curve(runs: list[dict[str, list[float]]], key: str) -> list[float]:
    return [statistics.fmean(v) for v in zip(*(r[key] for r in runs), strict=True)]


def main(argv: list[str] | None = None) -> dict[str, list[dict[str, list[float]]]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--eta", type=float, default=1e-3, help="MixupE strength (authors' 1e-3)")
    parser.add_argument("--eta-strong", type=float, default=0.1, help="a stronger MixupE term")
    parser.add_argument("--out", type=Path, default=Path("outputs/mixupe_curves.png"))
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.seeds = 2, 1
    torch.set_num_threads(1)  # a small MLP: one thread is fastest
    methods: list[Method] = [
        ("MixUp", None, 0.0),
        (f"MixUpE v3 eta={args.eta:g}", 3, args.eta),
        (f"MixUpE v3 eta={args.eta_strong:g}", 3, args.eta_strong),
        (f"MixUpE v1 eta={args.eta_strong:g}", 1, args.eta_strong),
    ]

    print(
        f"digits 8x8, MLP 64-256-256-10, SGD, {args.epochs} epochs, alpha={args.alpha}, "
        f"{args.seeds} seed(s)"
    )
    runs: dict[str, list[dict[str, list[float]]]] = {m[0]: [] for m in methods}
    for seed in range(args.seeds):
        data = load_digits_split(seed)
        for method in methods:
            start = time.perf_counter()
            curves = train(method, data, epochs=args.epochs, seed=seed, alpha=args.alpha)
            runs[method[0]].append(curves)
            print(
                f"  seed {seed} {method[0]:22s} test loss {curves['test'][-1]:.4f} "
                f"accuracy {curves['acc'][-1]:.4f} in {time.perf_counter() - start:.1f} s"
            )
    for name, method_runs in runs.items():
        train_loss, test_loss = mean_curve(method_runs, "train"), mean_curve(method_runs, "test")
        acc = mean_curve(method_runs, "acc")
        print(
            f"{name:22s} final train loss {train_loss[-1]:.4f} test loss {test_loss[-1]:.4f} "
            f"(best {min(test_loss):.4f}) test accuracy {acc[-1]:.4f} "
            f"(mean of {len(method_runs)} seed(s))"
        )
    save_plot(runs, args)
    print(f"plot: {args.out}")
    return runs


def save_plot(runs: dict[str, list[dict[str, list[float]]]], args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    styles = [("tab:red", "-"), ("tab:blue", "--"), ("tab:purple", "-"), ("tab:green", "-")]
    reference = mean_curve(next(iter(runs.values())), "test")  # the first method: MixUp
    for (method, method_runs), (color, ls) in zip(runs.items(), styles, strict=False):
        epochs = range(1, len(method_runs[0]["train"]) + 1)
        for ax, key in zip(axes[:2], ("train", "test"), strict=True):
            curve = mean_curve(method_runs, key)
            ax.plot(epochs, curve, color=color, ls=ls, lw=1.5, label=method)
        relative = [t / r for t, r in zip(mean_curve(method_runs, "test"), reference, strict=True)]
        axes[2].plot(epochs, relative, color=color, ls=ls, lw=1.5, label=method)
    for ax, key in zip(axes[:2], ("train", "test"), strict=True):
        ax.set_ylabel(f"clean {key} cross-entropy")
        ax.set_yscale("log")
    axes[2].set_ylabel("test cross-entropy / MixUp's")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle(
        f"MixupE vs MixUp on 8x8 digits (MLP, alpha={args.alpha}, mean of {args.seeds} seed(s))"
    )
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
