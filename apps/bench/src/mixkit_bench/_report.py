"""Turning per-seed results into tables (Markdown + CSV) and plots (PNG).

Every method is read against ERM on the same seeds (same data split, initialisation and, in
the noisy setting, the same flipped labels): the paired difference ``method - ERM`` per seed,
its mean and its 95% Student-t interval over seeds. A difference whose interval excludes 0 is
marked (bold); one whose interval contains 0 is reported as it is, not significant.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from mixkit_bench._metrics import METRICS, N_BINS

__all__ = [
    "Stat",
    "mean_ci",
    "paired_difference",
    "seeds_for",
    "statistics",
    "summary_table",
    "write_csv",
    "write_markdown",
    "write_plots",
    "write_summary_csv",
]

BASELINE = "ERM"
DOMAIN_ORDER = ("image", "tabular", "speech", "graph")
#: how a metric is shown: scale (fractions as %), decimals
SCALE = {"accuracy": 100.0, "nll": 1.0, "ece": 100.0, "brier": 1.0}
DECIMALS = {"accuracy": 2, "nll": 3, "ece": 2, "brier": 3}

#: ``(setting, domain, method) -> {"mean", "ci", "n", "diff", "diff_ci", "diff_n"}``
Stat = dict[str, float]
Stats = dict[tuple[str, str, str], Stat]


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Mean and the half-width of its Student-t confidence interval (0 for a single value)."""
    arr = np.asarray(values, dtype=np.float64)
    mean = float(arr.mean())
    if arr.size < 2:
        return mean, 0.0
    sem = float(arr.std(ddof=1) / math.sqrt(arr.size))
    return mean, float(stats.t.ppf(0.5 + level / 2, arr.size - 1) * sem)


def paired_difference(
    method: Mapping[int, float], baseline: Mapping[int, float], level: float = 0.95
) -> tuple[float, float, int]:
    """``method - baseline`` on the seeds both have: mean, t-interval half-width, seeds.

    The half-width is NaN with fewer than two common seeds (no interval), and the mean NaN
    with none.
    """
    seeds = sorted(set(method) & set(baseline))
    if not seeds:
        return math.nan, math.nan, 0
    diffs = [method[s] - baseline[s] for s in seeds]
    mean, half = mean_ci(diffs, level)
    return mean, (half if len(seeds) > 1 else math.nan), len(seeds)


def seeds_for(half: float, n: int, target: float, level: float = 0.95) -> int:
    """Seeds a paired interval needs to be ``target`` wide (half-width), at the spread that gave
    ``half`` at ``n`` seeds: the smallest ``k >= 2`` with ``t(k - 1) * sd / sqrt(k) <= target``.

    0 when the spread is unknown (fewer than two seeds, or a NaN half-width).
    """
    if n < 2 or math.isnan(half):
        return 0

    def width(k: int) -> float:  # the half-width at k seeds, per unit of spread
        return float(stats.t.ppf(0.5 + level / 2, k - 1)) / math.sqrt(k)

    sd = half / width(n)
    k = 2
    while k < 100_000 and sd * width(k) > target * (1 + 1e-12):
        k += 1
    return k


def power_note(by_metric: Mapping[str, Stats], setting: str, target: float = 0.01) -> str:
    """One sentence: per domain, the seeds a ±``target`` accuracy interval would need at the
    median spread of that domain's paired differences (and the seeds that ran)."""
    stats_ = by_metric["accuracy"]
    domains, _ = _order(stats_, setting, None)
    parts = []
    for d in domains:
        spreads = [
            (s["diff_ci"], int(s["diff_n"]))
            for (st, dom, _), s in stats_.items()
            if st == setting and dom == d and s["diff_n"] >= 2 and not math.isnan(s["diff_ci"])
        ]
        if not spreads:
            continue
        n = int(np.median([m for _, m in spreads]))
        half = float(np.median([h for h, m in spreads if m == n] or [h for h, _ in spreads]))
        parts.append(f"{d} {seeds_for(half, n, target)} (ran {n})")
    if not parts:
        return ""
    points = f"{SCALE['accuracy'] * target:g}"
    return (
        f"Seeds a ±{points}-point accuracy interval would need, at the median spread of the "
        f"paired differences: " + ", ".join(parts) + ".\n"
    )


def significant(stat: Mapping[str, float]) -> bool:
    """The paired interval excludes 0 (and exists)."""
    half = stat.get("diff_ci", math.nan)
    return bool(stat.get("diff_n", 0) >= 2 and abs(stat["diff"]) > half)


def statistics(results: Iterable[Mapping[str, Any]], metric: str = "accuracy") -> Stats:
    """Per (setting, domain, method): mean and t-interval over seeds, and the paired difference
    against ERM on the same seeds (``diff``, ``diff_ci``, ``diff_n``; NaN without ERM)."""
    groups: dict[tuple[str, str, str], dict[int, float]] = defaultdict(dict)
    for r in results:
        key = (str(r.get("setting", "clean")), str(r["domain"]), str(r["method"]))
        groups[key][int(r["seed"])] = float(r[metric])
    out: Stats = {}
    for (setting, domain, method), by_seed in groups.items():
        mean, ci = mean_ci(list(by_seed.values()))
        base = groups.get((setting, domain, BASELINE))
        diff, diff_ci, diff_n = (
            paired_difference(by_seed, base)
            if base is not None and method != BASELINE
            else (math.nan, math.nan, 0)
        )
        out[(setting, domain, method)] = {
            "mean": mean, "ci": ci, "n": float(len(by_seed)),
            "diff": diff, "diff_ci": diff_ci, "diff_n": float(diff_n),
        }  # fmt: skip
    return out


def _order(
    keys: Iterable[tuple[str, str, str]], setting: str, methods: Sequence[str] | None
) -> tuple[list[str], list[str]]:
    present = [(d, m) for s, d, m in keys if s == setting]
    domains = {d for d, _ in present}
    ordered = [d for d in DOMAIN_ORDER if d in domains] + sorted(domains - set(DOMAIN_ORDER))
    seen = list(dict.fromkeys(m for _, m in present))
    order = list(methods) if methods else []
    order += [m for m in seen if m not in order]
    return ordered, [m for m in order if m in seen]


def _fmt(value: float, metric: str) -> str:
    return f"{SCALE[metric] * value:.{DECIMALS[metric]}f}"


def _signed(value: float, metric: str) -> str:
    text = f"{SCALE[metric] * value:+.{DECIMALS[metric]}f}"
    return text.replace("-", "−")  # a real minus sign: the column reads better


def cell(stat: Mapping[str, float], metric: str, method: str, *, interval: bool = True) -> str:
    """ERM: ``mean ± ci``; a method: ``mean (Δ ± half-width)``, the Δ bold when significant."""
    mean = _fmt(stat["mean"], metric)
    if method == BASELINE or math.isnan(stat["diff"]):
        return f"{mean} ± {_fmt(stat['ci'], metric)}" if interval else mean
    delta = _signed(stat["diff"], metric)
    if interval and not math.isnan(stat["diff_ci"]):
        delta += f" ± {_fmt(stat['diff_ci'], metric)}"
    return f"{mean} ({'**' + delta + '**' if significant(stat) else delta})"


def metric_table(
    by_metric: Mapping[str, Stats], setting: str, metric: str, methods: Sequence[str] | None
) -> str:
    """Methods as rows, domains as columns, one metric, with every interval."""
    return summary_table(by_metric, setting, methods, (metric,), interval=True)


def summary_table(
    by_metric: Mapping[str, Stats],
    setting: str,
    methods: Sequence[str] | None = None,
    metrics: Sequence[str] = ("accuracy", "ece"),
    *,
    interval: bool = False,
) -> str:
    """Methods as rows; per domain one column for each of ``metrics`` (accuracy and ECE by
    default): ``mean (Δ)``, Δ bold when its interval excludes 0 (``interval=True`` prints the
    intervals too)."""
    domains, rows = _order(by_metric[metrics[0]], setting, methods)
    short = {"accuracy": "acc", "nll": "NLL", "ece": "ECE", "brier": "Brier"}
    head = [d if len(metrics) == 1 else f"{d} {short[m]}" for d in domains for m in metrics]
    lines = ["| method | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for method in rows:
        cells = []
        for d in domains:
            for metric in metrics:
                stat = by_metric[metric].get((setting, d, method))
                cells.append("–" if stat is None else cell(stat, metric, method, interval=interval))
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_markdown(
    results: Sequence[Mapping[str, Any]],
    path: Path,
    *,
    methods: Sequence[str] | None = None,
    header: str = "",
    settings: Mapping[str, str] | None = None,
) -> str:
    """``results.md``: per setting the accuracy/ECE summary and one table per metric."""
    by_metric = {m: statistics(results, m) for m in METRICS}
    order = list(dict.fromkeys(str(r.get("setting", "clean")) for r in results))
    lines = [header] if header else []
    lines.append(
        "Cells: mean over seeds; for ERM `mean ± 95% interval`; for a method `mean (Δ ± "
        "half-width)`, Δ the paired difference to ERM on the same seeds with its 95% "
        "t-interval; **bold** Δ: the interval excludes 0 (a real difference at this many "
        "seeds), otherwise no significant difference. Accuracy and ECE in %.\n"
    )
    for setting in order:
        described = (settings or {}).get(setting, "")
        lines.append(f"## Setting `{setting}`" + (f": {described}" if described else "") + "\n")
        lines.append("Accuracy and ECE, Δ to ERM:\n")
        lines.append(summary_table(by_metric, setting, methods))
        note = power_note(by_metric, setting)
        if note:
            lines.append(note)
        for metric, (title, higher) in METRICS.items():
            better = "higher" if higher else "lower"
            lines.append(f"### {title}, {better} is better\n")
            lines.append(metric_table(by_metric, setting, metric, methods))
    text = "\n".join(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text


def write_csv(results: Iterable[Mapping[str, Any]], path: Path) -> None:
    """``results.csv``: one row per (setting, domain, method, seed) with every scalar metric
    (the per-dataset scores of the tabular domain flattened as ``<dataset>.<metric>``)."""
    rows = []
    for r in results:
        row = {k: v for k, v in r.items() if not isinstance(v, list | dict)}
        for name, scores in (r.get("per_dataset") or {}).items():
            row |= {f"{name}.{k}": v for k, v in scores.items() if not isinstance(v, list | dict)}
        rows.append(row)
    first = ["setting", "domain", "method", "seed", *METRICS]
    fields = [f for f in first if any(f in r for r in rows)]
    fields += sorted({k for r in rows for k in r} - set(fields))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def write_summary_csv(results: Sequence[Mapping[str, Any]], path: Path) -> None:
    """``summary.csv``: per (setting, domain, method, metric) the mean, its interval, the
    paired difference to ERM, its interval and whether it excludes 0."""
    fields = ["setting", "domain", "method", "metric", "seeds", "mean", "ci95",
              "diff_vs_erm", "diff_ci95", "significant"]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(fields)
        for metric in METRICS:
            for (setting, domain, method), s in statistics(results, metric).items():
                writer.writerow([
                    setting, domain, method, metric, int(s["n"]), s["mean"], s["ci"],
                    "" if math.isnan(s["diff"]) else s["diff"],
                    "" if math.isnan(s["diff_ci"]) else s["diff_ci"],
                    significant(s),
                ])  # fmt: skip


def _colors(rows: Sequence[str]) -> dict[str, Any]:
    import matplotlib.pyplot as plt

    palette = plt.get_cmap("tab20")(np.arange(20))
    return {m: palette[(2 * i) % 20 + (2 * i) // 20 % 2] for i, m in enumerate(rows)}


def write_plots(
    results: Sequence[Mapping[str, Any]],
    out: Path,
    *,
    methods: Sequence[str] | None = None,
) -> list[Path]:
    """Per setting: ``differences-<setting>.png`` (paired differences to ERM, every metric and
    domain), ``test_loss-<setting>.png`` (clean test loss and accuracy by epoch, dotted where a
    schedule switched mixing off) and ``reliability-<setting>-<domain>.png``."""
    import matplotlib

    matplotlib.use("Agg")
    out.mkdir(parents=True, exist_ok=True)
    by_metric = {m: statistics(results, m) for m in METRICS}
    paths = []
    for setting in dict.fromkeys(str(r.get("setting", "clean")) for r in results):
        runs = [r for r in results if str(r.get("setting", "clean")) == setting]
        domains, rows = _order(by_metric["accuracy"], setting, methods)
        color = _colors(rows)
        paths.append(_differences(by_metric, setting, domains, rows, color, out))
        curves = _curves(runs, setting, domains, rows, color, out)
        if curves is not None:
            paths.append(curves)
        paths += [_reliability(runs, setting, d, rows, out) for d in domains]
    return paths


def _differences(
    by_metric: Mapping[str, Stats],
    setting: str,
    domains: Sequence[str],
    rows: Sequence[str],
    color: Mapping[str, Any],
    out: Path,
) -> Path:
    import matplotlib.pyplot as plt

    metrics = list(METRICS)
    fig, axes = plt.subplots(
        len(metrics), len(domains), figsize=(3.6 * len(domains), 0.32 * len(rows) * 4 + 2),
        squeeze=False,
    )  # fmt: skip
    for i, metric in enumerate(metrics):
        title, higher = METRICS[metric]
        for j, d in enumerate(domains):
            ax = axes[i][j]
            names = [m for m in rows if m != BASELINE and (setting, d, m) in by_metric[metric]]
            for k, m in enumerate(names):
                s = by_metric[metric][(setting, d, m)]
                if math.isnan(s["diff"]):
                    continue
                half = 0.0 if math.isnan(s["diff_ci"]) else SCALE[metric] * s["diff_ci"]
                ax.errorbar(
                    SCALE[metric] * s["diff"], k, xerr=half, fmt="o", capsize=3,
                    color=color[m], mfc=color[m] if significant(s) else "white",
                )  # fmt: skip
            ax.axvline(0.0, color="0.3", lw=1, ls="--")
            ax.set_yticks(range(len(names)), names if j == 0 else [""] * len(names), fontsize=7)
            ax.set_ylim(max(1, len(names)) - 0.5, -0.5)
            ax.grid(axis="x", alpha=0.3)
            ax.tick_params(axis="x", labelsize=7)
            if i == 0:
                ax.set_title(d)
            unit = title.split(" (")[0]
            ax.set_xlabel(f"Δ {unit} vs ERM ({'higher' if higher else 'lower'} is better)",
                          fontsize=7)  # fmt: skip
    title = f"setting {setting}: method − ERM, paired over seeds, 95% interval (filled: excludes 0)"
    return _save(fig, title, out / f"differences-{setting}.png")


def _curves(
    runs: Sequence[Mapping[str, Any]],
    setting: str,
    domains: Sequence[str],
    rows: Sequence[str],
    color: Mapping[str, Any],
    out: Path,
) -> Path | None:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    curved = [d for d in domains if any(r["domain"] == d and r.get("test_loss") for r in runs)]
    if not curved:
        return None
    panels = (("test_loss", "clean test loss (NLL)"), ("test_accuracy", "test accuracy"))
    fig, axes = plt.subplots(2, len(curved), figsize=(4.2 * len(curved), 6.4), squeeze=False)
    for j, d in enumerate(curved):
        for i, (key, label) in enumerate(panels):
            ax = axes[i][j]
            for m in rows:
                mine = [r for r in runs if r["domain"] == d and r["method"] == m and r.get(key)]
                if not mine:
                    continue
                length = min(len(r[key]) for r in mine)
                mean = np.mean([r[key][:length] for r in mine], axis=0)
                epochs = np.arange(1, length + 1)
                ax.plot(epochs, mean, label=m, lw=1.2, color=color[m])
                switched = [r["switched_at"] for r in mine if r.get("switched_at") is not None]
                if switched:  # epochs are plotted from 1; mixing is off from this one
                    ax.axvline(float(np.median(switched)) + 1, color=color[m], ls=":", lw=1)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
            if i == 0:
                ax.set_title(d)
    handles: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if handles:
        axes[0][-1].legend(list(handles.values()), list(handles), fontsize=7, loc="best")
    title = (
        f"setting {setting}: mean over seeds; dotted: median epoch a schedule switched mixing off"
    )
    return _save(fig, title, out / f"test_loss-{setting}.png")


def _reliability(
    runs: Sequence[Mapping[str, Any]], setting: str, domain: str, rows: Sequence[str], out: Path
) -> Path:
    """One panel per method: accuracy per confidence bin (seeds pooled) against the diagonal,
    the gap shaded, and the method's mean ECE over seeds."""
    import matplotlib.pyplot as plt

    names = [m for m in rows if any(r["domain"] == domain and r["method"] == m for r in runs)]
    cols = min(4, len(names))
    nrows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(2.6 * cols, 2.7 * nrows), squeeze=False)
    width = 1.0 / N_BINS
    centers = (np.arange(N_BINS) + 0.5) * width
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    for ax, m in zip(axes.flat, names, strict=False):
        mine = [r for r in runs if r["domain"] == domain and r["method"] == m and r.get("bins")]
        count = np.sum([r["bins"]["count"] for r in mine], axis=0)
        conf = np.sum([r["bins"]["confidence"] for r in mine], axis=0)
        correct = np.sum([r["bins"]["correct"] for r in mine], axis=0)
        # torchmetrics' 16th slot holds confidence == 1: drawn in the last bin
        count[N_BINS - 1] += count[N_BINS]
        conf[N_BINS - 1] += conf[N_BINS]
        correct[N_BINS - 1] += correct[N_BINS]
        count, conf, correct = count[:N_BINS], conf[:N_BINS], correct[:N_BINS]
        filled = count > 0
        acc = np.divide(correct, count, out=np.zeros_like(correct), where=filled)
        mean_conf = np.divide(conf, count, out=np.zeros_like(conf), where=filled)
        share = count / max(1.0, float(count.sum()))
        ax.bar(centers, share, width=width, color="0.85", edgecolor="white")  # predictions
        ax.bar(centers[filled], acc[filled], width=width, color="#4c72b0", alpha=0.8,
               edgecolor="white")  # fmt: skip
        ax.plot(centers[filled], mean_conf[filled], "_", color="#c44e52", ms=9, mew=2)
        ax.plot([0, 1], [0, 1], color="0.3", ls="--", lw=1)
        ece = np.mean([r["ece"] for r in mine]) if mine else math.nan
        ax.set_title(f"{m}\nECE {100 * ece:.1f}%", fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("confidence", fontsize=7)
        ax.set_ylabel("accuracy", fontsize=7)
    title = (
        f"reliability, {domain}, setting {setting} (seeds pooled): accuracy per confidence bin "
        "(blue), mean confidence (red), share of predictions (grey)"
    )
    return _save(fig, title, out / f"reliability-{setting}-{domain}.png", fontsize=8)


def _save(fig: Any, title: str, path: Path, *, fontsize: int = 9) -> Path:
    """Title, lay out, write ``path`` (100 dpi) and free the figure."""
    import matplotlib.pyplot as plt

    fig.suptitle(title, fontsize=fontsize)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
