"""The evaluation loop: tasks (setting x domain x method x seed), a resumable cache."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import pickle
import re
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Profile", "Task", "default_jobs", "register_domain", "run_tasks"]


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


def default_jobs() -> int:
    """The CPU cores this process may use (its affinity where the platform says)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def run_tasks(
    tasks: Sequence[Task],
    profiles: Mapping[tuple[str, str], Profile],
    out: Path,
    *,
    progress: bool = True,
    jobs: int | None = None,
) -> list[dict[str, Any]]:
    """Run (or load from the cache) every task; an interrupted run resumes where it stopped.

    ``profiles`` maps ``(setting, domain)`` to the settings of that domain in that setting.
    ``jobs`` (default: the usable CPU cores): runs of one-thread domains (``threads=1`` in
    :func:`register_domain`) go to that many worker processes once every other run is done;
    each domain's first run stays in this process, so the data it prepares on disk exists
    before the workers read it. The results are those of a serial run (each run is seeded
    by itself), in task order.
    """
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    jobs = default_jobs() if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"expected jobs >= 1, got {jobs!r}")
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    bar = tqdm(total=len(tasks), disable=not progress, unit="run", dynamic_ncols=True)
    parallel: list[int] = []
    started: set[str] = set()
    poolable: dict[str, bool] = {}  # per domain: one thread and a runner a worker can import
    for i, task in enumerate(tasks):
        profile = profiles[(task.setting, task.domain)]
        path = cache_path(out, task, profile)
        if path.exists():
            results[i] = json.loads(path.read_text())
            bar.update()
            continue
        runner, _, threads = _DOMAINS[task.domain]
        if task.domain not in poolable:
            poolable[task.domain] = jobs > 1 and threads == 1 and _picklable(runner)
        if poolable[task.domain] and task.domain in started:
            parallel.append(i)
            continue
        started.add(task.domain)
        bar.set_description(f"{task.setting}/{task.domain}/{task.method}/seed{task.seed}")
        result, seconds = _run_one(runner, task, profile, threads)
        results[i] = _store(path, task, result, seconds)
        bar.update()
    if parallel:
        bar.set_description(f"{len(parallel)} one-thread runs on {jobs} processes")
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        with ProcessPoolExecutor(max_workers=min(jobs, len(parallel)), mp_context=context) as pool:
            futures = {}
            for i in parallel:
                task = tasks[i]
                runner, _, threads = _DOMAINS[task.domain]
                profile = profiles[(task.setting, task.domain)]
                futures[pool.submit(_run_one, runner, task, profile, threads)] = i
            for future in as_completed(futures):
                i = futures[future]
                task = tasks[i]
                path = cache_path(out, task, profiles[(task.setting, task.domain)])
                results[i] = _store(path, task, *future.result())
                bar.update()
    bar.close()
    return [r for r in results if r is not None]


def _picklable(runner: DomainRunner) -> bool:
    try:
        pickle.dumps(runner)
    except (pickle.PicklingError, AttributeError, TypeError):
        return False
    return True


def _store(path: Path, task: Task, result: dict[str, Any], seconds: float) -> dict[str, Any]:
    key = {"setting": task.setting, "domain": task.domain, "method": task.method}
    result = key | {"seed": task.seed} | result | {"seconds": seconds}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, path)  # atomic: a killed run never leaves half a result
    return result


def _run_one(
    runner: DomainRunner, task: Task, profile: Profile, threads: int | None
) -> tuple[dict[str, Any], float]:
    """One run and its wall time, on the domain's torch threads (restored afterwards)."""
    import torch

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    start = time.perf_counter()
    try:
        return runner(task.method, task.seed, profile), time.perf_counter() - start
    finally:
        torch.set_num_threads(before)
