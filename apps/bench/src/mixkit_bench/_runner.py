"""The evaluation loop: tasks (setting x domain x method x seed), a resumable cache."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Profile", "Task", "register_domain", "run_tasks"]


@dataclass(frozen=True)
class Profile:
    """Settings of one domain in one setting of a profile (``quick``, ``standard``, ``full``).

    ``setting`` names the experimental setting (``clean``, ``noise``: a share of the training
    labels flipped, ``options["label_noise"]``; ``overtrain``: a small training set trained
    long); ``options`` are the domain's own (data sizes, network) plus ``label_noise``.
    """

    name: str
    seeds: int
    epochs: int
    options: Mapping[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    data: str | None = None
    setting: str = "clean"

    def key(self) -> str:
        """A short hash of the settings: results under other settings are not reused."""
        payload = json.dumps(asdict(self) | {"options": dict(self.options)}, sort_keys=True)
        return hashlib.sha1(payload.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Task:
    domain: str
    method: str
    seed: int
    setting: str = "clean"


DomainRunner = Callable[[str, int, Profile], dict[str, Any]]
_DOMAINS: dict[str, tuple[DomainRunner, tuple[str, ...], int | None]] = {}


def register_domain(
    name: str, runner: DomainRunner, methods: Sequence[str], *, threads: int | None = None
) -> None:
    """Make a domain available: ``runner(method, seed, profile) -> result dict``.

    ``threads``: the torch intra-op threads of the domain's runs (None: torch's setting). Tiny
    models (an MLP on a few hundred rows, a GIN on MUTAG) gain little from per-op threads, and
    when other processes share the cores those threads wait for each other (a tabular run: 7 s
    on one thread, 142 s on two, on a busy 2-core machine).
    """
    if threads is not None and (isinstance(threads, bool) or threads < 1):
        raise ValueError(f"expected threads >= 1 or None for domain {name!r}, got {threads!r}")
    _DOMAINS[name] = (runner, tuple(methods), threads)


def domains() -> dict[str, tuple[str, ...]]:
    """Registered domains and the methods each supports."""
    return {name: methods for name, (_, methods, _) in _DOMAINS.items()}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def cache_path(out: Path, task: Task, profile: Profile) -> Path:
    return (
        out / "cache" / f"{profile.name}-{task.setting}-{profile.key()}" / task.domain
        / f"{_slug(task.method)}-seed{task.seed}.json"
    )  # fmt: skip


def run_tasks(
    tasks: Sequence[Task],
    profiles: Mapping[tuple[str, str], Profile],
    out: Path,
    *,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run (or load from the cache) every task; an interrupted run resumes where it stopped.

    ``profiles`` maps ``(setting, domain)`` to the settings of that domain in that setting.
    """
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    results = []
    bar = tqdm(tasks, disable=not progress, unit="run", dynamic_ncols=True)
    for task in bar:
        profile = profiles[(task.setting, task.domain)]
        path = cache_path(out, task, profile)
        bar.set_description(f"{task.setting}/{task.domain}/{task.method}/seed{task.seed}")
        if path.exists():
            results.append(json.loads(path.read_text()))
            continue
        runner, _, threads = _DOMAINS[task.domain]
        start = time.perf_counter()
        result = _run_one(runner, task, profile, threads)
        key = {"setting": task.setting, "domain": task.domain, "method": task.method}
        result = key | {"seed": task.seed} | result | {"seconds": time.perf_counter() - start}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result))
        os.replace(tmp, path)  # atomic: a killed run never leaves half a result
        results.append(result)
    return results


def _run_one(
    runner: DomainRunner, task: Task, profile: Profile, threads: int | None
) -> dict[str, Any]:
    """One run, on the domain's number of torch threads (restored afterwards)."""
    import torch

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return runner(task.method, task.seed, profile)
    finally:
        torch.set_num_threads(before)
