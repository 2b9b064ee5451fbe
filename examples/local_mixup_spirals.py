"""Local Mixup on the authors' two coiling spirals: test accuracy as eps goes from ERM to mixup.

Baena, Drumetz, Gripon, *Preventing Manifold Intrusion with Locality: Local Mixup*, EUSIPCO 2022
(arXiv 2201.04368), two-spirals experiment. Mixing two points of different turns of the spirals
lands in the other class (manifold intrusion), so vanilla mixup hurts here; Local Mixup keeps
only pairs closer than ``eps`` (``mixkit.LocalMixUp(eps=...)``), and its accuracy moves between
ERM (``eps = 0``) and mixup (``eps = 10``, larger than every distance).

The setting is the authors' (their notebooks): 1000 points per class, ``n = sqrt(u) * 720``
degrees, class 0 at ``(-cos(n) n + 0.5 v1, sin(n) n + 0.5 v2)`` with ``u, v ~ U(0, 1)``, class 1
its negation, standardised, split 80/20; an MLP 2-100-100-100-2 with ReLU; Adam, lr 1e-2;
``alpha = 1``; the batch grows as ``eps`` shrinks so that about 20 pairs per batch are kept.
The script checks the pairwise-distance quantiles against the authors' 0.47 / 1.79 / 3.26.

Changes, to run in under a minute on 2 CPU cores (the authors: 200 epochs, mean of 1000 runs):

* a fixed budget of optimisation steps per run (default 1000) instead of 200 epochs, the same
  for every ``eps`` (with the authors' epochs a batch of 241 takes 12x fewer steps than one of
  20), and a few seeds (default 4) trained at once as one batched ensemble;
* the batch size for ``eps`` is ``20 / share of pairs within eps`` measured on this data
  (the authors tuned theirs by hand; both are printed);
* the loss is the paper's, ``sum_i w_i CE_i / B`` (``reduction="mean"``), on logits. The
  authors' code mean-reduced the cross-entropy before weighting (so the weights were a global
  rescale) and applied it to softmax outputs;
* ``eps = 0`` keeps only the rows drawn as their own partner (about one per batch; on those the
  loss is exactly ERM's, see ``packages/core/tests/test_local.py``), so that point trains ERM on
  the whole batch, as the authors' code did: ``LocalMixUp(eps=0, enabled=False)``.

    python examples/local_mixup_spirals.py             # the sweep (under a minute, 2 cores)
    python examples/local_mixup_spirals.py --quick     # a smoke run (a few seconds)
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

import mixkit

EPS = (0.0, 0.6, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 10.0)
AUTHORS_BATCH = {0.0: 20, 0.6: 241, 1.0: 103, 1.5: 50, 2.0: 33, 2.5: 25, 3.0: 22, 3.5: 20}
AUTHORS_QUANTILES = {0.05: 0.47, 0.5: 1.79, 0.95: 3.26}
KEPT_PER_BATCH = 20


def two_spirals(n_per_class: int = 1000, noise: float = 0.5, seed: int = 0) -> tuple[Tensor, ...]:
    """The authors' two coiling spirals, standardised and split 80/20: ``(xtr, ytr, xte, yte)``."""
    rng = np.random.default_rng(seed)
    n = np.sqrt(rng.uniform(size=(n_per_class, 1))) * np.deg2rad(720.0)  # (N, 1) angle
    v = rng.uniform(size=(n_per_class, 2)) * noise  # one-sided noise, as theirs
    arm = np.hstack([-np.cos(n) * n + v[:, :1], np.sin(n) * n + v[:, 1:]])  # (N, 2)
    x = np.vstack([arm, -arm])  # class 1 is the negation of class 0
    y = np.r_[np.zeros(n_per_class), np.ones(n_per_class)]
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    order = rng.permutation(len(x))
    cut = int(0.8 * len(x))
    xt = torch.from_numpy(x[order]).float()
    yt = torch.from_numpy(y[order]).long()
    return xt[:cut], yt[:cut], xt[cut:], yt[cut:]


class MLPs(nn.Module):
    """``S`` independent MLPs 2-100-100-100-2 (ReLU) run as one batched matmul per layer.

    Each has ``nn.Linear``'s initialisation; their parameters never mix (Adam is per element),
    so training the sum of their losses trains each one on its own batch.
    """

    def __init__(self, copies: int, sizes: tuple[int, ...] = (2, 100, 100, 100, 2)) -> None:
        super().__init__()
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in itertools.pairwise(sizes):
            bound = 1.0 / math.sqrt(fan_in)
            self.weights.append(nn.Parameter(torch.empty(copies, fan_in, fan_out)))
            self.biases.append(nn.Parameter(torch.empty(copies, 1, fan_out)))
            nn.init.uniform_(self.weights[-1], -bound, bound)
            nn.init.uniform_(self.biases[-1], -bound, bound)

    def forward(self, x: Tensor) -> Tensor:  # (S, B, 2) -> (S, B, 2)
        last = len(self.weights) - 1
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            x = torch.relu(x) if k < last else x
        return x


def train(
    eps: float,
    batch: int,
    data: tuple[Tensor, ...],
    *,
    steps: int,
    seeds: int,
) -> tuple[np.ndarray, float]:
    """Train ``seeds`` models with Local Mixup at ``eps``; test accuracies and kept share."""
    xtr, ytr, xte, yte = data
    torch.manual_seed(0)  # the same initial models for every eps: a paired comparison
    models = MLPs(seeds)
    opt = torch.optim.Adam(models.parameters(), lr=1e-2, foreach=True)
    mixers = [
        mixkit.LocalMixUp(
            eps=eps, alpha=1.0, num_classes=2, enabled=eps > 0,
            generator=torch.Generator().manual_seed(1000 + s),
        )
        for s in range(seeds)
    ]  # fmt: skip
    g = torch.Generator().manual_seed(17)
    n = len(xtr)
    order = torch.stack([torch.randperm(n, generator=g) for _ in range(seeds)])  # (S, n)
    pos, kept, total = 0, 0.0, 0
    for _ in range(steps):
        if pos + batch > n:  # a new epoch for every copy
            order = torch.stack([torch.randperm(n, generator=g) for _ in range(seeds)])
            pos = 0
        idx = order[:, pos : pos + batch]  # (S, B)
        pos += batch
        mixed = [m(xtr[i], ytr[i]) for m, i in zip(mixers, idx, strict=True)]
        logits = models(torch.stack([m.inputs for m in mixed]))  # (S, B, 2)
        # the paper's loss, sum_i w_i CE_i / B, for each copy
        loss = torch.stack([m.loss(out) for m, out in zip(mixed, logits, strict=True)]).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        kept += float(torch.stack([m.weights.sum() for m in mixed]).sum())
        total += batch * seeds
    with torch.no_grad():
        pred = models(xte.expand(seeds, -1, -1)).argmax(dim=2)  # (S, n_test)
    accuracy = (pred == yte).double().mean(dim=1).numpy()
    return accuracy, kept / total


def save_plot(
    path: Path,
    data: tuple[Tensor, ...],
    eps_values: list[float],
    accuracies: list[np.ndarray],
    share: np.ndarray,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xtr, ytr = data[0], data[1]
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.4), width_ratios=(1, 1.5))
    ax0.scatter(xtr[:, 0], xtr[:, 1], c=ytr, cmap="coolwarm", s=4)
    ax0.set_title("two coiling spirals (train, standardised)")
    ax0.set_aspect("equal")
    mean = np.array([a.mean() for a in accuracies])
    std = np.array([a.std() for a in accuracies])
    ax1.errorbar(eps_values, mean, yerr=std, marker="o", capsize=3, label="Local Mixup")
    ax1.axhline(mean[0], ls=":", c="green", label=f"ERM (eps = 0): {mean[0]:.3f}")
    ax1.axhline(
        mean[-1], ls=":", c="red", label=f"mixup (eps = {eps_values[-1]:g}): {mean[-1]:.3f}"
    )
    ax1.set_xlabel("eps (keep a pair when ||x_i - x_j|| <= eps)")
    ax1.set_ylabel(f"test accuracy (mean ± sd, {len(accuracies[0])} seeds)")
    ax1.set_title("Local Mixup: accuracy between ERM and mixup")
    ax1.legend(loc="lower left", fontsize=8)
    twin = ax1.twinx()
    twin.plot(eps_values, share, c="grey", ls="--", lw=1)
    twin.set_ylabel("share of random pairs kept (dashed)", color="grey")
    twin.set_ylim(0, 1.05)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 eps, few steps")
    parser.add_argument("--steps", type=int, default=1000, help="optimisation steps per run")
    parser.add_argument("--seeds", type=int, default=4, help="models per eps")
    parser.add_argument("--out", type=Path, default=Path("outputs/local_mixup_spirals.png"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # tiny models: threads only add overhead
    start = time.perf_counter()
    eps_values = [0.0, 1.5, 10.0] if args.quick else list(EPS)
    steps, seeds = (60, 2) if args.quick else (args.steps, args.seeds)

    data = two_spirals()
    dist = torch.pdist(data[0]).double()  # (n (n-1) / 2,) every training pair
    qs = torch.quantile(dist, torch.tensor(list(AUTHORS_QUANTILES), dtype=torch.float64))
    print(
        "pairwise distances (train): "
        + " | ".join(
            f"{int(q * 100)}% {v:.2f}" for q, v in zip(AUTHORS_QUANTILES, qs.tolist(), strict=True)
        )
        + "   (authors: "
        + " / ".join(f"{v:.2f}" for v in AUTHORS_QUANTILES.values())
        + ")"
    )

    accuracies, shares = [], []
    for eps in eps_values:
        within = float((dist <= eps).double().mean())
        batch = KEPT_PER_BATCH if eps == 0 else min(len(data[0]), round(KEPT_PER_BATCH / within))
        acc, kept = train(eps, batch, data, steps=steps, seeds=seeds)
        accuracies.append(acc)
        shares.append(within)
        authors = AUTHORS_BATCH.get(eps, KEPT_PER_BATCH)
        what = "ERM (no mixing)    " if eps == 0 else f"loss weight {kept:6.1%} kept"
        print(
            f"eps={eps:5.2f}  batch {batch:4d} (authors {authors:3d})  pairs within eps "
            f"{within:6.1%}  {what}  test accuracy {acc.mean():.3f} ± {acc.std():.3f}",
            flush=True,
        )
    print(
        f"ERM (eps=0): {accuracies[0].mean():.3f}   mixup (eps={eps_values[-1]:g}): "
        f"{accuracies[-1].mean():.3f}   best Local Mixup: "
        f"{max(a.mean() for a in accuracies[1:-1]):.3f}"
    )
    save_plot(args.out, data, eps_values, accuracies, np.array(shares))
    print(f"saved {args.out}  ({time.perf_counter() - start:.1f} s)")
    return {
        "quantiles": [float(v) for v in qs.tolist()],
        "eps": [float(e) for e in eps_values],
        "accuracy": [float(a.mean()) for a in accuracies],
    }


if __name__ == "__main__":
    main()
