"""Turning per-seed results into the table (Markdown + CSV) and the plots (PNG)."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["Summary", "summarize", "write_csv", "write_markdown", "write_plots"]

Summary = dict[tuple[str, str], dict[str, float]]


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Mean and the half-width of its Student-t confidence interval (0 for a single value)."""
    arr = np.asarray(values, dtype=np.float64)
    mean = float(arr.mean())
    if arr.size < 2:
        return mean, 0.0
    sem = float(arr.std(ddof=1) / math.sqrt(arr.size))
    return mean, float(stats.t.ppf(0.5 + level / 2, arr.size - 1) * sem)


def summarize(results: Iterable[Mapping[str, Any]], metric: str = "accuracy") -> Summary:
    """``{(domain, method): {"mean", "ci", "n"}}`` over seeds."""
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in results:
        groups[(str(r["domain"]), str(r["method"]))].append(float(r[metric]))
    out: Summary = {}
    for key, values in groups.items():
        mean, ci = mean_ci(values)
        out[key] = {"mean": mean, "ci": ci, "n": float(len(values))}
    return out


DOMAIN_ORDER = ("image", "tabular", "speech", "graph")


def _order(summary: Summary, methods: Sequence[str] | None) -> tuple[list[str], list[str]]:
    present = {d for d, _ in summary}
    domains = [d for d in DOMAIN_ORDER if d in present] + sorted(present - set(DOMAIN_ORDER))
    seen = [m for _, m in summary]
    order = list(methods) if methods else []
    order += [m for m in dict.fromkeys(seen) if m not in order]
    return domains, [m for m in order if m in seen]


def write_markdown(
    summary: Summary, path: Path, *, methods: Sequence[str] | None = None, header: str = ""
) -> str:
    """Methods as rows, domains as columns, ``mean ± 95% CI`` in %, best per column in bold."""
    domains, rows = _order(summary, methods)
    best = {
        d: max((v["mean"] for (dd, _), v in summary.items() if dd == d), default=math.nan)
        for d in domains
    }
    lines = [header] if header else []
    lines.append("| method | " + " | ".join(domains) + " |")
    lines.append("|---|" + "---|" * len(domains))
    for m in rows:
        cells = []
        for d in domains:
            v = summary.get((d, m))
            if v is None:
                cells.append("–")
                continue
            text = f"{100 * v['mean']:.2f} ± {100 * v['ci']:.2f}"
            cells.append(f"**{text}**" if v["mean"] == best[d] else text)
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text


def write_csv(results: Iterable[Mapping[str, Any]], path: Path) -> None:
    """One row per (domain, method, seed) with the scalar metrics."""
    rows = [{k: v for k, v in r.items() if not isinstance(v, list | dict)} for r in results]
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = sorted({k for r in rows for k in r})
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def write_plots(
    results: Sequence[Mapping[str, Any]],
    summary: Summary,
    out: Path,
    *,
    methods: Sequence[str] | None = None,
) -> list[Path]:
    """Accuracy by method per domain, and mean test-loss curves (the over-training view)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    domains, rows = _order(summary, methods)
    palette = plt.get_cmap("tab10")(np.arange(10))
    color = {m: palette[i % len(palette)] for i, m in enumerate(rows)}  # one colour per method
    paths = []

    fig, axes = plt.subplots(1, len(domains), figsize=(4.2 * len(domains), 4), squeeze=False)
    for ax, d in zip(axes[0], domains, strict=True):
        names = [m for m in rows if (d, m) in summary]
        means = [100 * summary[(d, m)]["mean"] for m in names]
        cis = [100 * summary[(d, m)]["ci"] for m in names]
        colors = [color[m] for m in names]
        ax.barh(range(len(names)), means, xerr=cis, color=colors, alpha=0.85, capsize=3)
        if (d, "ERM") in summary:  # the baseline every method is read against
            ax.axvline(100 * summary[(d, "ERM")]["mean"], color="0.3", ls="--", lw=1)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.invert_yaxis()
        low = min(m - c for m, c in zip(means, cis, strict=True))
        high = max(m + c for m, c in zip(means, cis, strict=True))
        ax.set_xlim(
            max(0.0, low - 0.15 * (high - low + 1)), min(100.0, high + 0.1 * (high - low + 1))
        )
        ax.set_xlabel("test accuracy (%)")
        ax.set_title(d)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path = out / "accuracy.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)

    curved = [d for d in domains if any(r["domain"] == d and r.get("test_loss") for r in results)]
    if not curved:
        return paths
    fig, axes = plt.subplots(1, len(curved), figsize=(4.2 * len(curved), 3.6), squeeze=False)
    for ax, d in zip(axes[0], curved, strict=True):
        for m in rows:
            curves = [
                r["test_loss"]
                for r in results
                if r["domain"] == d and r["method"] == m and r.get("test_loss")
            ]
            if not curves:
                continue
            length = min(len(c) for c in curves)
            mean = np.mean([c[:length] for c in curves], axis=0)
            (line,) = ax.plot(range(1, length + 1), mean, label=m, lw=1.2, color=color[m])
            switches = [
                r["switched_at"]
                for r in results
                if r["domain"] == d and r["method"] == m and r.get("switched_at") is not None
            ]
            for s in switches[:1]:  # epochs are plotted from 1; mixing is off from this one
                ax.axvline(int(s) + 1, color=line.get_color(), ls=":", lw=1)
        ax.set_xlabel("epoch")
        ax.set_ylabel("clean test loss")
        ax.set_title(d)
        ax.grid(alpha=0.3)
    # One legend for the figure, from whichever panels drew a curve for the method.
    handles: dict[str, Any] = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if handles:
        axes[0][-1].legend(list(handles.values()), list(handles), fontsize=7, loc="upper right")
    fig.tight_layout()
    path = out / "test_loss.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)
    return paths
