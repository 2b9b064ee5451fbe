"""The cross-domain evaluation: profiles, settings, task list, report."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mixkit_bench._methods import METHODS
from mixkit_bench._report import (
    write_csv,
    write_markdown,
    write_plots,
    write_summary_csv,
)
from mixkit_bench._runner import Profile, Task, run_tasks

__all__ = ["DOMAIN_MODULES", "PROFILES", "SETTINGS", "available", "run"]

DOMAIN_MODULES = {
    "image": "mixkit_bench.domains.image",
    "tabular": "mixkit_bench.domains.tabular",
    "speech": "mixkit_bench.domains.speech",
    "graph": "mixkit_bench.domains.graph",
    "text": "mixkit_bench.domains.text",
}

#: the experimental settings, in which the mixup papers make their claims
SETTINGS = {
    "clean": "the training labels as given",
    "noise": "a share of the training (and validation) labels replaced by another class drawn "
    "uniformly (`label_noise`); the test set stays clean",
    "overtrain": "a small training set trained long enough that ERM and always-on mixup "
    "over-fit; the clean test loss per epoch shows it (Liu et al., ICLR 2023)",
}

# the methods of each setting (a domain runs those it supports)
CLEAN = tuple(m for m in METHODS if m != "MixUp, AutoSwitch")  # 5-10 epochs: nothing to stop
NOISY = ("ERM", "MixUp", "CutMix", "RegMixup", "MixUp, off at 75%")
LONG = ("ERM", "MixUp", "RegMixup", "MixUp, off at 75%", "MixUp, AutoSwitch")
# text adds its own: TMix (encoder layers) and senMixup (MixUp of the sentence embeddings, where
# k-mixup, Local Mixup and MixupE mix there); see mixkit_bench.domains.text
TEXT_CLEAN = (*CLEAN, "TMix", "senMixup")
# (quick: the 2.5 minutes of its budget hold 7 methods x 3 seeds; senMixup, the baseline of the
# sentence-embedding methods, runs from the standard profile on)
TEXT_QUICK = ("ERM", "MixUp", "TMix", "k-mixup", "Local Mixup", "MixupE", "MixUp, off at 75%")
TEXT_NOISY = (*NOISY, "TMix")
TEXT_LONG = (*LONG, "TMix")
# the tiny BERT's sizes: the bundled reviews are 4,000 / 1,000 (train_size / test_size: subsets)
TEXT_SMALL = {"max_length": 64, "vocab_size": 2000, "hidden": 32, "layers": 2, "heads": 2}
TEXT_TINY = {"max_length": 24, "vocab_size": 300, "hidden": 16, "layers": 2, "heads": 2}
TEXT_FULL = {"max_length": 128, "vocab_size": 8000, "hidden": 128, "layers": 4, "heads": 4}


def _spec(seeds: int, epochs: int, methods: Sequence[str], **options: Any) -> dict[str, Any]:
    return {"seeds": seeds, "epochs": epochs, "methods": tuple(methods), "options": options}


# Per profile, setting and domain: seeds, epochs, methods and the domain's own options.
# ``quick`` is what ``make demo`` runs (the clean setting in all five domains, 251 runs: about
# 5.3 minutes on 2 idle CPU cores for the first four, and 2.2 minutes, measured, for the text
# column's 21); ``standard`` (``make evaluate``) adds label noise and over-training with more
# seeds (540 runs, about 40 minutes on 2 idle CPU cores, estimated from one seed of every run;
# text adds 83 runs, about 13 minutes estimated the same way on 2 busy cores); ``full`` is
# paper-sized (use a GPU); ``tiny`` is the smoke test's.
PROFILES: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
    "tiny": {
        "clean": {
            "image": _spec(2, 1, CLEAN, train_size=256, test_size=256, channels=8),
            "tabular": _spec(2, 3, CLEAN, datasets=["iris"]),
            "speech": _spec(1, 1, CLEAN, clips=120, channels=8),
            "graph": _spec(2, 2, CLEAN, graphs=60),
            "text": _spec(2, 2, TEXT_CLEAN, train_size=120, test_size=60, **TEXT_TINY),
        },
        "noise": {
            "image": _spec(1, 1, NOISY, train_size=256, test_size=256, channels=8,
                           label_noise=0.4),
            "tabular": _spec(1, 3, NOISY, datasets=["iris"], label_noise=0.4),
            "speech": _spec(1, 1, NOISY, clips=120, channels=8, label_noise=0.4),
            "graph": _spec(1, 2, NOISY, graphs=60, label_noise=0.4),
            "text": _spec(1, 2, TEXT_NOISY, train_size=120, test_size=60, **TEXT_TINY,
                          label_noise=0.4),
        },
        "overtrain": {
            "image": _spec(1, 3, LONG, train_size=128, test_size=256, channels=8),
            "tabular": _spec(1, 6, LONG, datasets=["iris"], train_fraction=0.5),
            "speech": _spec(1, 3, LONG, clips=120, channels=8),
            "graph": _spec(1, 4, LONG, graphs=60),
            "text": _spec(1, 5, TEXT_LONG, train_size=60, test_size=60, **TEXT_TINY),
        },
    },
    "quick": {
        "clean": {
            "image": _spec(3, 5, CLEAN, train_size=1500, test_size=3000, channels=16),
            "tabular": _spec(10, 60, CLEAN, datasets=["wine", "breast_cancer"]),
            "speech": _spec(3, 6, CLEAN, clips=600, channels=16),
            "graph": _spec(10, 30, CLEAN, graphs=None),
            "text": _spec(3, 4, TEXT_QUICK, train_size=1500, test_size=500, **TEXT_SMALL),
        },
    },
    "standard": {
        "clean": {
            "image": _spec(5, 10, CLEAN, train_size=2000, test_size=3000, channels=16),
            "tabular": _spec(10, 60, CLEAN, datasets=["wine", "breast_cancer"]),
            "speech": _spec(5, 8, CLEAN, clips=600, channels=16),
            "graph": _spec(10, 30, CLEAN, graphs=None),
            "text": _spec(5, 6, TEXT_CLEAN, train_size=1500, test_size=1000, **TEXT_SMALL),
        },
        "noise": {
            "image": _spec(5, 15, NOISY, train_size=2000, test_size=3000, channels=16,
                           label_noise=0.4),
            "tabular": _spec(10, 100, NOISY, datasets=["wine", "breast_cancer"],
                             label_noise=0.4),
            "speech": _spec(5, 12, NOISY, clips=600, channels=16, label_noise=0.4),
            "graph": _spec(10, 60, NOISY, graphs=None, label_noise=0.4),
            "text": _spec(3, 6, TEXT_NOISY, train_size=1500, test_size=1000, **TEXT_SMALL,
                          label_noise=0.4),
        },
        "overtrain": {
            "image": _spec(5, 60, LONG, train_size=1000, test_size=3000, channels=16),
            "tabular": _spec(10, 300, LONG, datasets=["wine", "breast_cancer"],
                             train_fraction=0.3),
            "speech": _spec(5, 40, LONG, clips=300, channels=16),
            "graph": _spec(10, 200, LONG, graphs=None),
            "text": _spec(3, 24, TEXT_LONG, train_size=300, test_size=500, **TEXT_SMALL),
        },
    },
    "full": {
        "clean": {
            "image": _spec(5, 200, CLEAN, train_size=None, test_size=None,
                           model="preact_resnet18", recipe="paper"),
            "tabular": _spec(5, 300, CLEAN, datasets=["iris", "wine", "breast_cancer", "digits"]),
            "speech": _spec(5, 40, CLEAN, clips=4000, channels=32),
            "graph": _spec(10, 200, CLEAN, graphs=None),
            "text": _spec(5, 20, TEXT_CLEAN, train_size=None, test_size=None, **TEXT_FULL),
        },
        "noise": {
            "image": _spec(5, 200, NOISY, train_size=None, test_size=None,
                           model="preact_resnet18", recipe="paper", label_noise=0.4),
            "tabular": _spec(5, 300, NOISY, datasets=["iris", "wine", "breast_cancer", "digits"],
                             label_noise=0.4),
            "speech": _spec(5, 40, NOISY, clips=4000, channels=32, label_noise=0.4),
            "graph": _spec(10, 200, NOISY, graphs=None, label_noise=0.4),
            "text": _spec(5, 20, TEXT_NOISY, train_size=None, test_size=None, **TEXT_FULL,
                          label_noise=0.4),
        },
        "overtrain": {
            # the over-training regime of Liu et al.: a fraction of the data, many epochs
            "image": _spec(5, 400, LONG, train_size=5000, test_size=None,
                           model="preact_resnet18", recipe="paper"),
            "tabular": _spec(5, 1000, LONG, datasets=["iris", "wine", "breast_cancer", "digits"],
                             train_fraction=0.3),
            "speech": _spec(5, 200, LONG, clips=1000, channels=32),
            "graph": _spec(10, 600, LONG, graphs=None),
            "text": _spec(5, 100, TEXT_LONG, train_size=1000, test_size=None, **TEXT_FULL),
        },
    },
}  # fmt: skip


def _load(domain: str) -> None:
    if domain not in DOMAIN_MODULES:
        raise ValueError(f"expected domains among {sorted(DOMAIN_MODULES)}, got {domain!r}")
    importlib.import_module(DOMAIN_MODULES[domain])


def available() -> dict[str, tuple[str, ...]]:
    """Every domain and its methods (importing each domain's module)."""
    for domain in DOMAIN_MODULES:
        _load(domain)
    return _registered()


def run(
    *,
    profile: str = "quick",
    domains: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    seeds: int | None = None,
    out: Path = Path("outputs/bench"),
    device: str = "cpu",
    data: Mapping[str, str] | None = None,
    progress: bool = True,
    today: str = "",
    settings: Sequence[str] | None = None,
    label_noise: float | None = None,
    command: str = "",
    jobs: int | None = None,
) -> str:
    """Run the evaluation and write ``results.md``, ``results.csv``, ``summary.csv`` and the
    plots under ``out``.

    Args:
        settings: the profile's settings to run (default: all of them).
        label_noise: when given, the share of training labels flipped in every setting that
            runs (its name then says so, e.g. ``clean-noise0.4``).
        command: the command line shown in the report.
        jobs: processes for the runs of one-thread domains (tabular, graph, text); default:
            the usable CPU cores. The results do not depend on it.

    Returns the Markdown report.
    """
    if profile not in PROFILES:
        raise ValueError(f"expected profile in {sorted(PROFILES)}, got {profile!r}")
    known = list(PROFILES[profile])
    chosen_settings = list(settings or known)
    unknown_settings = [s for s in chosen_settings if s not in known]
    if unknown_settings:
        raise ValueError(
            f"expected settings of profile {profile!r} among {known}, got {unknown_settings}"
        )
    if label_noise is not None and not 0.0 <= label_noise < 1.0:
        raise ValueError(f"expected --label-noise in [0, 1), got {label_noise}")
    chosen = list(domains or DOMAIN_MODULES)
    for d in chosen:
        _load(d)
    supported = _registered()
    tasks: list[Task] = []
    profiles: dict[tuple[str, str], Profile] = {}
    described: dict[str, str] = {}
    data = dict(data or {})
    for setting in chosen_settings:
        name = setting if label_noise is None else f"{setting}-noise{label_noise:g}"
        described[name] = SETTINGS[setting]
        if label_noise is not None:
            described[name] += f"; {100 * label_noise:g}% of the training labels flipped"
        for d in chosen:
            spec = PROFILES[profile][setting][d]
            options = dict(spec["options"])
            if label_noise is not None:
                options["label_noise"] = label_noise
            profiles[(name, d)] = Profile(
                name=profile,
                seeds=seeds or int(spec["seeds"]),
                epochs=int(spec["epochs"]),
                options=options,
                device=device,
                data=data.get(d),
                setting=name,
            )
            here = [m for m in supported[d] if m in spec["methods"]]
            wanted = list(methods) if methods else here
            unknown = [m for m in wanted if m not in supported[d]]
            if methods and len(unknown) == len(wanted):
                raise ValueError(
                    f"expected methods of {d} among {list(supported[d])}, got {unknown}"
                )
            for m in wanted:
                if m in here:
                    tasks += [Task(d, m, s, name) for s in range(profiles[(name, d)].seeds)]
    results = run_tasks(tasks, profiles, out, progress=progress, jobs=jobs)
    order = _method_order(chosen, supported)
    lines = [f"# mixkit-bench, profile `{profile}`" + (f", {today}" if today else "") + "\n"]
    lines.append(f"Command: `{command or f'mixkit-bench run --profile {profile}'}`.\n")
    for name in described:
        setup = "; ".join(_describe(profiles[(name, d)], d) for d in chosen)
        lines.append(f"- `{name}`: {setup}.")
    header = "\n".join(lines) + "\n"
    report = write_markdown(
        results, out / "results.md", methods=order, header=header, settings=described
    )
    write_csv(results, out / "results.csv")
    write_summary_csv(results, out / "summary.csv")
    write_plots(results, out, methods=order)
    return report


def _describe(profile: Profile, domain: str) -> str:
    shown = {k: v for k, v in profile.options.items() if v is not None and k != "channels"}
    extra = ", ".join(f"{k}={v}" for k, v in shown.items())
    return f"{domain} {profile.seeds} seeds × {profile.epochs} epochs" + (
        f" ({extra})" if extra else ""
    )


def _registered() -> dict[str, tuple[str, ...]]:
    from mixkit_bench._runner import domains as registered

    return registered()


def _method_order(chosen: Sequence[str], supported: Mapping[str, Sequence[str]]) -> list[str]:
    order: list[str] = []
    for d in chosen:
        order += [m for m in supported[d] if m not in order]
    return order
