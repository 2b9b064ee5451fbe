"""Shared timing helpers for the benchmark scripts (same-run comparisons, medians, ratios)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Mapping


def interleaved_medians(
    impls: Mapping[str, Callable[[], object]], *, rounds: int, warmup: int = 5
) -> dict[str, float]:
    """Median wall time (ms) of each callable, measured round-robin in the same run.

    Interleaving the implementations spreads machine noise (other processes, frequency changes)
    evenly over them, which matters more for ratios than absolute numbers.
    """
    for fn in impls.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in impls}
    for _ in range(rounds):
        for name, fn in impls.items():
            start = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(v) for name, v in samples.items()}


def repeated_medians(
    impls: Mapping[str, Callable[[], object]], *, rounds: int, repeats: int, warmup: int = 5
) -> tuple[dict[str, float], list[dict[str, float]]]:
    """:func:`interleaved_medians` repeated; returns the median over repeats and every repeat.

    On a shared virtual machine a slow period can hit one repeat; the median of repeats (and
    ratios taken within each repeat) is what stays stable.
    """
    runs = [interleaved_medians(impls, rounds=rounds, warmup=warmup) for _ in range(repeats)]
    return {name: statistics.median(r[name] for r in runs) for name in impls}, runs


def ratio(runs: list[dict[str, float]], num: str, den: str) -> float:
    """Median over repeats of the within-repeat ratio ``num / den``."""
    return statistics.median(r[num] / r[den] for r in runs)


def report(case: str, medians: Mapping[str, float], *, as_json: bool) -> None:
    """One JSON object per line with ``--json``, else a small table."""
    for impl, ms in medians.items():
        if as_json:
            print(json.dumps({"case": case, "impl": impl, "median_ms": round(ms, 4)}))
        else:
            print(f"{case:28s} {impl:28s} {ms:10.3f} ms")
