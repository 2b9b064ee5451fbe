"""One MixupE training step of a small CNN against one MixUp step, same run.

    python benchmarks/bench_mixupe.py            # a table
    python benchmarks/bench_mixupe.py --json     # one {"case", "impl", "median_ms"} per line

A step is what a training loop does per batch: mix, forward, loss, backward, optimizer step. The
MixUp step forwards the mixed batch once; the MixupE version 3 step also forwards the clean batch
and backpropagates through both (the authors' cost: one extra forward/backward), so the target is
at most 2.1x the MixUp step (issue #3). Version 1 (double backprop) and plain ERM are timed too,
for reference. Implementations are interleaved round-robin and the comparison repeated; ratios
are medians of within-repeat ratios. Batch 128x3x32x32, 10 classes, 2 intra-op threads.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as TF
from _timing import ratio, repeated_medians, report
from torch import nn

import mixkit


def small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 8 * 8, 128), nn.ReLU(), nn.Linear(128, 10),
    )  # fmt: skip


def make_step(
    method: str, x: torch.Tensor, y: torch.Tensor, seed: int
) -> Callable[[], torch.Tensor]:
    """A closure running one training step of a fresh model with ``method``.

    Every mixing method gets a mixer with the same seed (the same draws); MixupE is the preset
    ``MixUpE`` (MixUp with ``MixupETerm``), whose loss ``mixed.loss(logits, model=model)`` adds
    the term, the one loss path of every mixer.
    """
    torch.manual_seed(seed)
    model = small_cnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    common: dict[str, Any] = {
        "alpha": 1.0,
        "num_classes": 10,
        "generator": torch.Generator().manual_seed(seed),
    }
    mixer = {
        "ERM": lambda: None,
        "MixUp": lambda: mixkit.MixUp(**common),
        "MixUpE v3": lambda: mixkit.MixUpE(**common),
        "MixUpE v1": lambda: mixkit.MixUpE(version=1, x_bar=x.mean(dim=0), **common),
    }[method]()

    def step() -> torch.Tensor:
        if mixer is None:
            loss = TF.cross_entropy(model(x), y)
        else:
            mixed = mixer(x, y)
            loss = mixed.loss(model(mixed.inputs), model=model)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()

    return step


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (args.batch,), generator=g)
    impls = {m: make_step(m, x, y, seed=1) for m in ("ERM", "MixUp", "MixUpE v3", "MixUpE v1")}
    medians, runs = repeated_medians(impls, rounds=args.rounds, repeats=args.repeats, warmup=3)
    case = f"train step {args.batch}x3x32x32"
    report(case, medians, as_json=args.json)
    ratios = {
        "MixUpE v3 / MixUp": ratio(runs, "MixUpE v3", "MixUp"),
        "MixUpE v1 / MixUp": ratio(runs, "MixUpE v1", "MixUp"),
        "MixUp / ERM": ratio(runs, "MixUp", "ERM"),
    }
    for name, value in ratios.items():
        if args.json:
            print(json.dumps({"case": case, "ratio": name, "value": round(value, 3)}))
        else:
            print(f"{case:28s} {name:48s} {value:6.2f}x")
    return ratios


if __name__ == "__main__":
    main()
