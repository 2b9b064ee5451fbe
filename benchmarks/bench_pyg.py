"""Graph mixing cost: pooled mixup, FGW input mixup and G-Mixup, next to a GIN training step.

    python benchmarks/bench_pyg.py            # a table, then ratios
    python benchmarks/bench_pyg.py --json     # one {"case", "impl", "median_ms"} per line

PyG has no merged mixup to compare with, so each graph method is timed next to what it costs
to do without it, in the same run: pooled mixup against the naive two-line lerp on the same
embeddings, FGW mixup of a batch against one GIN forward + backward on that batch (how much a
training step grows) and against POT's default tolerance, G-Mixup's fit + sampling of an
epoch's synthetic graphs against one training epoch. Data: MUTAG when the TU files are found
(grakel / ``$MIXKIT_TU_DATA``), PyG motif graphs otherwise (the case names say which). One
intra-op thread (tiny graphs: threading only adds synchronisation).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch
from _timing import ratio, repeated_medians, report
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GINConv, global_add_pool

import mixkit
from mixkit_bench.datasets import load_tu_dataset
from mixkit_pyg import FGWMixUp, GMixUp, PooledMix, motif_graphs


def graphs() -> tuple[list[Data], str]:
    try:
        ds = load_tu_dataset("MUTAG", Path(tempfile.gettempdir()) / "mixkit-tu")
        return [Data(x=d.x, edge_index=d.edge_index, y=d.y) for d in ds], "mutag"
    except FileNotFoundError:
        print("MUTAG not found: timing on motif graphs", file=sys.stderr)
        return motif_graphs(188, generator=torch.Generator().manual_seed(0)), "motif"


class GIN(nn.Module):
    def __init__(self, d_in: int, hidden: int = 32) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            GINConv(nn.Sequential(nn.Linear(a, hidden), nn.ReLU(), nn.Linear(hidden, hidden)))
            for a in (d_in, hidden, hidden)
        )
        self.head = nn.Linear(3 * hidden, 2)

    def forward(self, g: Batch) -> torch.Tensor:
        x, outs = g.x, []
        for conv in self.convs:
            x = conv(x, g.edge_index).relu()
            outs.append(global_add_pool(x, g.batch))
        return self.head(torch.cat(outs, dim=1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data, name = graphs()
    batch = Batch.from_data_list(data[:32])
    y = batch.y

    # pooled embeddings (32 graphs x 96): what PooledMix sees after a 3-layer GIN readout
    h = torch.randn(32, 96, generator=torch.Generator().manual_seed(0))
    pooled = PooledMix(mixkit.MixUp(alpha=1.0, num_classes=2))
    perm = torch.randperm(32)
    medians, runs = repeated_medians(
        {
            "naive lerp": lambda: 0.3 * h + 0.7 * h[perm],
            "PooledMix(MixUp)": lambda: pooled(h, y),
        },
        rounds=args.rounds * 20,
        repeats=args.repeats,
    )
    report("pooled 32x96", medians, as_json=args.json)
    ratios = {"pooled: PooledMix / naive lerp": ratio(runs, "PooledMix(MixUp)", "naive lerp")}

    model = GIN(batch.x.shape[1])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step() -> None:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(batch), y).backward()
        opt.step()

    gen = torch.Generator().manual_seed(0)
    fgw = FGWMixUp(alpha=1.0, num_classes=2, generator=gen)
    fgw_pot_tol = FGWMixUp(alpha=1.0, num_classes=2, tol=1e-9, generator=gen)
    medians, runs = repeated_medians(
        {
            "GIN forward+backward": step,
            "FGWMixUp (tol 1e-6)": lambda: fgw(batch),
            "FGWMixUp (POT tol 1e-9)": lambda: fgw_pot_tol(batch),
        },
        rounds=args.rounds,
        repeats=args.repeats,
        warmup=2,
    )
    report(f"fgw {name} batch of 32", medians, as_json=args.json)
    ratios["fgw: FGWMixUp / GIN step"] = ratio(runs, "FGWMixUp (tol 1e-6)", "GIN forward+backward")
    ratios["fgw: POT tol / tol 1e-6"] = ratio(
        runs, "FGWMixUp (POT tol 1e-9)", "FGWMixUp (tol 1e-6)"
    )

    train = data[:170]
    batches = [Batch.from_data_list(train[i : i + 32]) for i in range(0, len(train), 32)]

    def epoch() -> None:
        for b in batches:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(b), b.y).backward()
            opt.step()

    def gmixup() -> None:
        gm = GMixUp(generator=torch.Generator().manual_seed(0)).fit(train)
        gm.augment(round(0.15 * len(train)))

    medians, runs = repeated_medians(
        {"GIN epoch": epoch, "GMixUp fit + augment": gmixup},
        rounds=max(3, args.rounds // 4),
        repeats=args.repeats,
        warmup=1,
    )
    report(f"gmixup {name} 170 graphs", medians, as_json=args.json)
    ratios["gmixup: fit+augment / epoch"] = ratio(runs, "GMixUp fit + augment", "GIN epoch")
    if not args.json:
        print()
        for key, value in ratios.items():
            print(f"{key:34s} {value:6.2f}x")


if __name__ == "__main__":
    main()
