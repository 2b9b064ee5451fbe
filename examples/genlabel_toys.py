"""GenLabel on the authors' toys: decision boundaries of ERM, MixUp and GenLabel.

Two 2-D problems, a small MLP trained three ways on each:

* ``moons``: two interleaved half-moons; GenLabel with a Gaussian KDE per class (as in the
  authors' moons / circles toys).
* ``collinear``: three classes A, B, C on a line, B in the middle and rarer. Mixing an A with a
  C lands on B ("manifold intrusion"): mixup labels that point A/C, GenLabel (a Gaussian per
  class) labels it B, so mixup erodes B's region and GenLabel keeps it.

Prints the test accuracy of every method (and B's own accuracy on the collinear toy), the share
of A-C mixes each method labels B, and saves a 2 x 3 figure of the decision regions.

    python examples/genlabel_toys.py                 # the full run (~20 s on 2 cores)
    python examples/genlabel_toys.py --quick         # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch
from torch import Tensor, nn

import mixkit

METHODS = ("ERM", "MixUp", "GenLabel")
COLOURS = ("#1f77b4", "#d62728", "#2ca02c")


def two_moons(n: int, noise: float, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """``n`` points per class on two interleaved half circles, Gaussian noise, standardised-ish."""
    t = torch.rand(2 * n, generator=g) * math.pi
    y = torch.arange(2).repeat_interleave(n)
    upper = torch.stack([torch.cos(t), torch.sin(t)], dim=1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], dim=1)
    x = torch.where(y[:, None] == 0, upper, lower) + noise * torch.randn(2 * n, 2, generator=g)
    return x - torch.tensor([0.5, 0.25]), y


def collinear(n: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """A at (-3, 0), B at (0, 0), C at (3, 0); ``n`` points for A and C, ``n // 4`` for B."""
    sizes = torch.tensor([n, max(n // 4, 2), n])
    y = torch.arange(3).repeat_interleave(sizes)
    centres = torch.tensor([[-3.0, 0.0], [0.0, 0.0], [3.0, 0.0]])
    spread = torch.tensor([0.45, 0.9])
    return centres[y] + spread * torch.randn(len(y), 2, generator=g), y


def mlp(classes: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, classes)
    )


def make_mixer(method: str, dataset: str, x: Tensor, y: Tensor, seed: int) -> mixkit.Mixer | None:
    classes = int(y.max()) + 1
    g = torch.Generator().manual_seed(seed)
    if method == "ERM":
        return None
    if method == "MixUp":
        return mixkit.MixUp(alpha=1.0, num_classes=classes, generator=g)
    return mixkit.GenLabelMixUp(
        density="kde" if dataset == "moons" else "gaussian",
        bandwidth=0.3,
        gamma=1.0,
        alpha=1.0,
        num_classes=classes,
        generator=g,
    ).fit(x, y)


def train(method: str, dataset: str, x: Tensor, y: Tensor, *, epochs: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    model = mlp(int(y.max()) + 1)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    mixer = make_mixer(method, dataset, x, y, seed)
    order_gen = torch.Generator().manual_seed(seed + 1)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=order_gen)
        for i in range(0, len(x), 64):
            xb, yb = x[order[i : i + 64]], y[order[i : i + 64]]
            if mixer is None:
                loss = nn.functional.cross_entropy(model(xb), yb)
            else:
                mixed = mixer(xb, yb)
                loss = mixed.loss(model(mixed.inputs))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def a_c_mixes_labelled_b(x: Tensor, y: Tensor, seed: int, count: int = 2000) -> dict[str, float]:
    """Share of random A-C mixes (lam ~ Beta(1, 1)) whose training target says B."""
    g = torch.Generator().manual_seed(seed)
    a, c = x[y == 0], x[y == 2]
    pick_a = torch.randint(0, len(a), (count,), generator=g)
    pick_c = torch.randint(0, len(c), (count,), generator=g)
    batch = torch.cat([a[pick_a], c[pick_c]])
    labels = torch.cat([torch.zeros(count), torch.full((count,), 2)]).long()
    partner = torch.cat([torch.arange(count) + count, torch.arange(count)])
    shares = {}
    for method in ("MixUp", "GenLabel"):
        mixer = make_mixer(method, "collinear", x, y, seed)
        assert mixer is not None
        params = mixer.draw(batch).replace(index=partner)
        params = params.replace(lam=torch.rand(2 * count, generator=g))  # lam ~ U(0, 1)
        targets = mixer.mix(batch, labels, params).targets
        shares[method] = float((targets.argmax(1) == 1).float().mean())
    return shares


@torch.no_grad()
def accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    return float((model(x).argmax(1) == y).float().mean())


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=200, help="points per (main) class")
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("outputs/genlabel_toys.png"))
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    args = parser.parse_args(argv)
    if args.quick:
        args.train_size, args.epochs = 60, 5
    # tiny models: one thread is as fast, and far steadier on a busy machine than two
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(args.seed)
    data = {
        "moons": (two_moons(args.train_size, 0.15, g), two_moons(1000, 0.15, g)),
        "collinear": (collinear(args.train_size, g), collinear(2000, g)),
    }
    results: dict[str, dict[str, float]] = {}
    models: dict[tuple[str, str], nn.Module] = {}
    for dataset, ((xtr, ytr), (xte, yte)) in data.items():
        print(
            f"{dataset}: {len(xtr)} training points, {len(xte)} test points, {args.epochs} epochs"
        )
        for method in METHODS:
            start = time.perf_counter()
            model = train(method, dataset, xtr, ytr, epochs=args.epochs, seed=args.seed)
            models[dataset, method] = model
            acc = accuracy(model, xte, yte)
            line = f"  {dataset:9s} {method:8s} test accuracy {acc:.4f}"
            results.setdefault(dataset, {})[method] = acc
            if dataset == "collinear":
                b = yte == 1
                acc_b = accuracy(model, xte[b], yte[b])
                results[dataset][f"{method} B"] = acc_b
                line += f", class B {acc_b:.4f}"
            print(f"{line} ({time.perf_counter() - start:.1f} s)")
    shares = a_c_mixes_labelled_b(*data["collinear"][0], seed=args.seed)
    print(
        f"collinear: A-C mixes labelled B: MixUp {shares['MixUp']:.2f}, "
        f"GenLabel {shares['GenLabel']:.2f}"
    )
    results["A-C mixes labelled B"] = shares
    save_plot(models, data, results, args.out)
    print(f"plot: {args.out}")
    return results


def save_plot(
    models: dict[tuple[str, str], nn.Module],
    data: dict[str, tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]],
    results: dict[str, dict[str, float]],
    out: Path,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    out.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 3, figsize=(12, 7.5))
    for row, (dataset, ((xtr, ytr), _)) in enumerate(data.items()):
        lo, hi = xtr.min(0).values - 0.7, xtr.max(0).values + 0.7
        gx, gy = torch.meshgrid(
            torch.linspace(float(lo[0]), float(hi[0]), 300),
            torch.linspace(float(lo[1]), float(hi[1]), 300),
            indexing="xy",
        )
        grid = torch.stack([gx.flatten(), gy.flatten()], dim=1)
        classes = int(ytr.max()) + 1
        cmap = ListedColormap(COLOURS[:classes])
        for col, method in enumerate(METHODS):
            ax = axes[row, col]
            with torch.no_grad():
                region = models[dataset, method](grid).argmax(1).reshape(gx.shape)
            ax.contourf(gx, gy, region, levels=classes, alpha=0.25, cmap=cmap)
            ax.scatter(xtr[:, 0], xtr[:, 1], c=ytr, cmap=cmap, s=8, edgecolors="none")
            title = f"{dataset} - {method}: test acc {results[dataset][method]:.3f}"
            if dataset == "collinear":
                title += f"\n(class B {results[dataset][method + ' B']:.3f})"
            ax.set_title(title, fontsize=10)
            if dataset == "collinear":
                for name, cx in zip("ABC", (-3.0, 0.0, 3.0), strict=True):
                    ax.text(cx, float(hi[1]) - 0.4, name, ha="center", va="top", weight="bold")
            ax.set_xticks([])
            ax.set_yticks([])
    shares = results["A-C mixes labelled B"]
    fig.suptitle(
        "GenLabel relabels mixed points by class densities. Collinear A-B-C: A-C mixes labelled B"
        f" - MixUp {shares['MixUp']:.2f}, GenLabel {shares['GenLabel']:.2f}",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
