"""MixUp / CutMix against timm, torchvision v2 and the clone() memory floor, same run.

    python benchmarks/bench_mixing.py            # a table
    python benchmarks/bench_mixing.py --json     # one {"case", "impl", "median_ms"} per line

Every implementation gets the same tensors in the same process, measured round-robin with
2 intra-op threads, repeated (``--repeats``); timings are medians over repeats of per-repeat
medians and ratios are medians of within-repeat ratios. mixkit and torchvision leave the
caller's batch untouched and return a freshly allocated one; timm mixes in place (it overwrites
the caller's batch), so it is timed on its own tensor as users call it. The "out=" rows pass
mixkit a caller-owned output buffer, reused every call (the caller promises nothing still reads
it): no allocation, no page faults. Each call includes building the targets. Ratios are printed
after the timings.
"""

from __future__ import annotations

import argparse
import json

import torch
import torchvision.transforms.v2 as v2
from _timing import ratio, repeated_medians, report
from timm.data import Mixup as TimmMixup

import mixkit

SHAPES = {"128x3x32x32": (128, 3, 32, 32), "64x3x224x224": (64, 3, 224, 224)}


def run(shape_name: str, rounds: int, repeats: int, as_json: bool) -> dict[str, float]:
    shape = SHAPES[shape_name]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(*shape, generator=g)
    x_timm = x.clone()  # timm overwrites its input
    y = torch.randint(0, 1000, (shape[0],), generator=g)
    perm = torch.randperm(shape[0], generator=g)

    mk_mixup = mixkit.MixUp(alpha=1.0, num_classes=1000, generator=g)
    mk_cutmix = mixkit.CutMix(alpha=1.0, num_classes=1000, generator=g)
    buffer = torch.empty_like(x)  # caller-owned output memory for the out= rows
    timm_mixup = TimmMixup(mixup_alpha=1.0, cutmix_alpha=0.0, num_classes=1000, label_smoothing=0.0)
    timm_cutmix = TimmMixup(
        mixup_alpha=0.0, cutmix_alpha=1.0, num_classes=1000, label_smoothing=0.0
    )
    tv_mixup = v2.MixUp(alpha=1.0, num_classes=1000)
    tv_cutmix = v2.CutMix(alpha=1.0, num_classes=1000)

    # Groups, each interleaved on its own: a large temporary (the naive lerp allocates three
    # batches) changes the allocator and cache state that the next implementation sees.
    groups = {
        "mixup": {
            "clone (floor)": lambda: x.clone(),
            "mixkit MixUp": lambda: mk_mixup(x, y),
            "mixkit MixUp (out=)": lambda: mk_mixup(x, y, out=buffer),
            "timm Mixup (in place)": lambda: timm_mixup(x_timm, y),
            "torchvision MixUp": lambda: tv_mixup(x, y),
        },
        "cutmix": {
            "clone (floor)": lambda: x.clone(),
            "mixkit CutMix": lambda: mk_cutmix(x, y),
            "mixkit CutMix (out=)": lambda: mk_cutmix(x, y, out=buffer),
            "timm CutMix (in place)": lambda: timm_cutmix(x_timm, y),
            "torchvision CutMix": lambda: tv_cutmix(x, y),
        },
        "reference": {
            "clone (floor)": lambda: x.clone(),
            "naive lerp": lambda: 0.3 * x + 0.7 * x[perm],
        },
    }
    medians: dict[str, float] = {}
    ratios: dict[str, float] = {}
    for group, impls in groups.items():
        group_medians, runs = repeated_medians(impls, rounds=rounds, repeats=repeats)
        report(f"{shape_name} {group}", group_medians, as_json=as_json)
        medians.update({f"{group}/{k}": v for k, v in group_medians.items()})
        ours = [name for name in impls if name.startswith("mixkit")]
        for mine in ours:
            for peer in impls:
                if not peer.startswith("mixkit"):
                    ratios[f"{mine} / {peer}"] = ratio(runs, mine, peer)
    for name, value in ratios.items():
        if as_json:
            print(json.dumps({"case": shape_name, "ratio": name, "value": round(value, 3)}))
        else:
            print(f"{shape_name:14s} {name:66s} {value:6.2f}x")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--rounds-small", type=int, default=2000)
    parser.add_argument("--rounds-large", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved runs; medians of")
    args = parser.parse_args()
    torch.set_num_threads(2)
    run("128x3x32x32", args.rounds_small, args.repeats, args.json)
    run("64x3x224x224", args.rounds_large, args.repeats, args.json)


if __name__ == "__main__":
    main()
