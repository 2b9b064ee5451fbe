"""The cross-domain evaluation: profiles, task list, report."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mixkit_bench._report import summarize, write_csv, write_markdown, write_plots
from mixkit_bench._runner import Profile, Task, run_tasks

__all__ = ["DOMAIN_MODULES", "PROFILES", "available", "run"]

DOMAIN_MODULES = {
    "image": "mixkit_bench.domains.image",
    "tabular": "mixkit_bench.domains.tabular",
    "speech": "mixkit_bench.domains.speech",
    "graph": "mixkit_bench.domains.graph",
}

# Per profile and domain: seeds, epochs and the domain's own options. ``quick`` is what
# ``make demo`` runs (all four domains in under 10 minutes on 2 CPU cores); ``tiny`` is the
# smoke test's; ``full`` is paper-sized (PreActResNet-18, long schedules; use a GPU).
PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "tiny": {
        "image": {"seeds": 1, "epochs": 1,
                  "options": {"train_size": 256, "test_size": 256, "channels": 8}},
        "tabular": {"seeds": 1, "epochs": 3, "options": {"datasets": ["iris"]}},
        "speech": {"seeds": 1, "epochs": 1, "options": {"clips": 120, "channels": 8}},
        "graph": {"seeds": 1, "epochs": 2, "options": {"graphs": 60}},
    },
    "quick": {
        "image": {"seeds": 3, "epochs": 5,
                  "options": {"train_size": 1500, "test_size": 3000, "channels": 16}},
        "tabular": {"seeds": 3, "epochs": 60, "options": {"datasets": ["wine", "breast_cancer"]}},
        "speech": {"seeds": 3, "epochs": 6, "options": {"clips": 600, "channels": 16}},
        "graph": {"seeds": 5, "epochs": 30, "options": {"graphs": None}},
    },
    "full": {
        "image": {"seeds": 5, "epochs": 200,
                  "options": {"train_size": None, "test_size": None, "model": "preact_resnet18",
                              "recipe": "paper"}},
        "tabular": {"seeds": 5, "epochs": 300,
                    "options": {"datasets": ["iris", "wine", "breast_cancer", "digits"]}},
        "speech": {"seeds": 5, "epochs": 40, "options": {"clips": 4000, "channels": 32}},
        "graph": {"seeds": 10, "epochs": 200, "options": {"graphs": None}},
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
) -> str:
    """Run the evaluation and write ``results.md``, ``results.csv`` and the plots under ``out``.

    Returns the Markdown table.
    """
    if profile not in PROFILES:
        raise ValueError(f"expected profile in {sorted(PROFILES)}, got {profile!r}")
    chosen = list(domains or DOMAIN_MODULES)
    for d in chosen:
        _load(d)
    supported = _registered()
    tasks: list[Task] = []
    profiles: dict[str, Profile] = {}
    data = dict(data or {})
    for d in chosen:
        spec = PROFILES[profile][d]
        profiles[d] = Profile(
            name=profile,
            seeds=seeds or int(spec["seeds"]),
            epochs=int(spec["epochs"]),
            options=dict(spec["options"]),
            device=device,
            data=data.get(d),
        )
        wanted = list(methods) if methods else list(supported[d])
        unknown = [m for m in wanted if m not in supported[d]]
        if methods and len(unknown) == len(wanted):
            raise ValueError(f"expected methods of {d} among {list(supported[d])}, got {unknown}")
        for m in wanted:
            if m in supported[d]:
                tasks += [Task(d, m, s) for s in range(profiles[d].seeds)]
    results = run_tasks(tasks, profiles, out, progress=progress)
    order = _method_order(chosen, supported)
    summary = summarize(results)
    seeds_text = ", ".join(f"{d}: {profiles[d].seeds}" for d in chosen)
    header = (
        f"Test accuracy (%), mean ± 95% CI over seeds ({seeds_text}); best per domain in bold. "
        f"Profile `{profile}`{', ' + today if today else ''}; "
        f"command: `mixkit-bench run --profile {profile}`.\n"
    )
    table = write_markdown(summary, out / "results.md", methods=order, header=header)
    write_csv(results, out / "results.csv")
    write_plots(results, summary, out, methods=order)
    return table


def _registered() -> dict[str, tuple[str, ...]]:
    from mixkit_bench._runner import domains as registered

    return registered()


def _method_order(chosen: Sequence[str], supported: Mapping[str, Sequence[str]]) -> list[str]:
    order: list[str] = []
    for d in chosen:
        order += [m for m in supported[d] if m not in order]
    return order
