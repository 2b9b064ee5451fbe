"""Audio mixing with lengths: mixkit-audio against the clone() floor and the obvious code.

    python benchmarks/bench_audio.py            # a table
    python benchmarks/bench_audio.py --json     # one {"case", "impl", "median_ms"} per line

Batch (default): 32 mono clips of 0.5-2 s at 16 kHz, zero-padded to 2 s (32 x 1 x 32000 fp32,
4 MB), int lengths; ``--batch`` / ``--seconds`` change it. Every implementation gets the same
tensors in the same process, interleaved and repeated (``--repeats``); timings are medians
over repeats of per-repeat medians, ratios are medians of within-repeat ratios. Each mixkit
call includes validating the batch and the lengths, drawing, the lengths policy, the mask and
the (10-class) targets.

* "core MixUp (ignores lengths)": what people run today, and the bug this package fixes;
* "naive lengths-aware lerp": the obvious correct code (mask the padding, lerp, mask the
  result, ``lengths.max``-style policy), without targets: a floor for the lengths path;
* mixkit-audio: ``WaveformMixUp`` under each policy, ``LoudnessMixUp`` (plus a level pass) and
  ``SpectrogramMixUp(domain="db")`` on log-mels (B x 1 x 64 x frames, hop 160).
"""

from __future__ import annotations

import argparse
import json

import torch
from _timing import ratio, repeated_medians, report

import mixkit
import mixkit_audio as ma


def naive(x: torch.Tensor, lengths: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    steps = torch.arange(x.shape[-1])
    clean = x * (steps < lengths.unsqueeze(1)).unsqueeze(1)
    out = 0.3 * clean + 0.7 * clean[perm]
    keep = steps < torch.maximum(lengths, lengths[perm]).unsqueeze(1)
    return out * keep.unsqueeze(1)


def run(batch: int, seconds: float, rounds: int, repeats: int, as_json: bool) -> None:
    g = torch.Generator().manual_seed(0)
    size = int(16000 * seconds)
    lengths = torch.randint(size // 4, size + 1, (batch,), generator=g)
    x = torch.randn(batch, 1, size, generator=g) * (
        torch.arange(size) < lengths.unsqueeze(1)
    ).unsqueeze(1)
    y = torch.randint(0, 10, (batch,), generator=g)
    perm = torch.randperm(batch, generator=g)
    feats = torch.randn(batch, 1, 64, size // 160 + 1, generator=g) * 20 - 40
    frames = lengths // 160 + 1

    core = mixkit.MixUp(num_classes=10, generator=g)
    wave = {
        p: ma.WaveformMixUp(num_classes=10, policy=p, generator=g) for p in ma.functional.POLICIES
    }
    loud = ma.LoudnessMixUp(num_classes=10, generator=g)
    spec = ma.SpectrogramMixUp(domain="db", pad_value=-100.0, num_classes=10, generator=g)

    groups = {
        "waveform": {
            "clone (floor)": lambda: x.clone(),
            "core MixUp (ignores lengths)": lambda: core(x, y),
            "naive lengths-aware lerp": lambda: naive(x, lengths, perm),
            **{
                f"WaveformMixUp {p}": (lambda m=m: m(x, y, lengths=lengths))
                for p, m in wave.items()
            },
            "LoudnessMixUp pad": lambda: loud(x, y, lengths=lengths),
        },
        "log-mel": {
            "clone (floor)": lambda: feats.clone(),
            "core MixUp (ignores lengths)": lambda: core(feats, y),
            "SpectrogramMixUp db": lambda: spec(feats, y, lengths=frames),
        },
    }
    for group, impls in groups.items():
        medians, runs = repeated_medians(impls, rounds=rounds, repeats=repeats)
        case = f"{batch}x{seconds:g}s {group}"
        report(case, medians, as_json=as_json)
        for impl in impls:
            if impl.startswith(("WaveformMixUp", "LoudnessMixUp", "SpectrogramMixUp")):
                for base in (
                    "clone (floor)",
                    "core MixUp (ignores lengths)",
                    "naive lengths-aware lerp",
                ):
                    if base in impls:
                        value = ratio(runs, impl, base)
                        if as_json:
                            print(
                                json.dumps(
                                    {
                                        "case": case,
                                        "ratio": f"{impl} / {base}",
                                        "value": round(value, 3),
                                    }
                                )
                            )
                        else:
                            print(f"{case:28s} {impl + ' / ' + base:60s} {value:6.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=2.0, help="padded clip length")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs; medians of")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run(args.batch, args.seconds, args.rounds, args.repeats, args.json)


if __name__ == "__main__":
    main()
