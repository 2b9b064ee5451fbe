"""k-mixup on two blobs: optimal-transport pairing keeps mixing inside the clusters.

Draws batches of B = 64 points from two well-separated 2-D Gaussian blobs and pairs them with
``mixkit.OTPairing`` (the k-mixup pairing) for several chunk sizes k. Random pairing (k = 1,
vanilla mixup) sends about half of the pairs across the gap between the blobs, where mixed
points land off the data; larger k matches each chunk to its partner chunk by optimal
transport, and the cross-cluster pairs fall towards 0. Prints, for each k, the fraction of
cross-cluster pairs, of self-pairs (a sample matched with itself, i.e. not mixed) and the mean
pair distance, averaged over many batches; saves a figure of the pairs drawn for k = 1, 4, 16
and 64 (and k = 64 with ``avoid_self=True``) and of the fractions against k.

    python examples/kmixup_blobs.py                 # the full demo (a few seconds)
    python examples/kmixup_blobs.py --quick         # a smoke run
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import mixkit

KS = (1, 2, 4, 8, 16, 32, 64)
SHOWN = ((1, False), (4, False), (16, False), (64, False), (64, True))


def blobs(batch: int, gap: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, 2)`` points and their blob (0 or 1); half the batch in each blob, shuffled."""
    labels = (torch.arange(batch) % 2)[torch.randperm(batch, generator=generator)]
    centres = torch.tensor([[-gap / 2, 0.0], [gap / 2, 0.0]])
    return centres[labels] + torch.randn(batch, 2, generator=generator), labels


def pair_stats(
    k: int, avoid_self: bool, draws: int, batch: int, gap: float, seed: int
) -> dict[str, float]:
    """Mean cross-cluster fraction, self-pair fraction and pair distance over ``draws``."""
    g = torch.Generator().manual_seed(seed)
    pairing = mixkit.OTPairing(k, avoid_self=avoid_self)
    cross = selfp = dist = 0.0
    for _ in range(draws):
        x, blob = blobs(batch, gap, g)
        index = pairing.pair(batch, x, g)
        cross += float((blob != blob[index]).float().mean())
        selfp += float((index == torch.arange(batch)).float().mean())
        dist += float((x - x[index]).norm(dim=1).mean())
    return {"cross": cross / draws, "self": selfp / draws, "distance": dist / draws}


def main(argv: list[str] | None = None) -> dict[tuple[int, bool], dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--gap", type=float, default=8.0, help="distance between blob centres")
    parser.add_argument("--draws", type=int, default=200, help="batches averaged per k")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("outputs/kmixup_blobs.png"))
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    args = parser.parse_args(argv)
    if args.quick:
        args.draws = 10
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))

    print(
        f"two blobs {args.gap:g} apart (unit variance), B = {args.batch}, "
        f"{args.draws} batches per k"
    )
    print(f"{'k':>4s} {'avoid_self':>10s} {'cross-cluster':>14s} {'self-pairs':>11s} "
          f"{'mean distance':>14s}")  # fmt: skip
    stats: dict[tuple[int, bool], dict[str, float]] = {}
    for avoid_self in (False, True):
        for k in KS:
            if k > args.batch:
                continue
            s = pair_stats(k, avoid_self, args.draws, args.batch, args.gap, args.seed)
            stats[(k, avoid_self)] = s
            print(
                f"{k:4d} {avoid_self!s:>10s} {s['cross']:14.3f} {s['self']:11.3f} "
                f"{s['distance']:14.3f}"
            )
    save_plot(stats, args)
    print(f"plot: {args.out}")
    return stats


def save_plot(stats: dict[tuple[int, bool], dict[str, float]], args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5))
    g = torch.Generator().manual_seed(args.seed + 1)
    x, blob = blobs(args.batch, args.gap, g)  # one batch, paired for every panel
    state = g.get_state()
    for ax, (k, avoid_self) in zip(axes.flat, SHOWN, strict=False):
        g.set_state(state)  # the same partner draw for every k
        index = mixkit.OTPairing(min(k, args.batch), avoid_self=avoid_self).pair(args.batch, x, g)
        for i, j in enumerate(index.tolist()):
            if i == j:
                continue
            same = bool(blob[i] == blob[j])
            ax.plot(
                [x[i, 0], x[j, 0]],
                [x[i, 1], x[j, 1]],
                color="tab:green" if same else "tab:red",
                alpha=0.5 if same else 0.35,
                lw=0.8,
            )
        ax.scatter(x[:, 0], x[:, 1], c=blob, cmap="coolwarm", s=14, zorder=3)
        selfs = index == torch.arange(args.batch)
        ax.scatter(x[selfs, 0], x[selfs, 1], facecolors="none", edgecolors="k", s=60,
                   zorder=4, label="self-pair (not mixed)")  # fmt: skip
        cross = float((blob != blob[index]).float().mean())
        extra = ", avoid_self" if avoid_self else ""
        ax.set_title(
            f"k = {k}{extra}: {cross:.0%} cross-cluster, {float(selfs.float().mean()):.0%} self"
        )
        ax.set_xticks([])
        ax.set_yticks([])
        if k == 1:
            ax.legend(loc="lower left", fontsize=8)
    ax = axes.flat[-1]
    for avoid_self, style in ((False, "-"), (True, "--")):
        ks = [k for k in KS if (k, avoid_self) in stats]
        tag = "avoid_self" if avoid_self else "default"
        ax.plot(ks, [stats[(k, avoid_self)]["cross"] for k in ks], style, marker="o",
                color="tab:red", label=f"cross-cluster ({tag})")  # fmt: skip
        ax.plot(ks, [stats[(k, avoid_self)]["self"] for k in ks], style, marker="s",
                color="tab:gray", label=f"self-pairs ({tag})")  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xlabel("k (chunk size)")
    ax.set_ylabel(f"fraction of pairs, mean of {args.draws} batches")
    ax.set_title(f"B = {args.batch}: pairs by chunk size")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle("k-mixup pairing (mixkit.OTPairing) on two blobs: green within, red across")
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
