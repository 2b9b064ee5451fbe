"""The evaluation loop: tasks (domain x method x seed), a resumable cache, the report."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Profile", "Task", "register_domain", "run_tasks"]


@dataclass(frozen=True)
class Profile:
    """Settings of one domain under one profile (``quick`` or ``full``)."""

    name: str
    seeds: int
    epochs: int
    options: Mapping[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    data: str | None = None

    def key(self) -> str:
        """A short hash of the settings: results under other settings are not reused."""
        payload = json.dumps(asdict(self) | {"options": dict(self.options)}, sort_keys=True)
        return hashlib.sha1(payload.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Task:
    domain: str
    method: str
    seed: int


DomainRunner = Callable[[str, int, Profile], dict[str, Any]]
_DOMAINS: dict[str, tuple[DomainRunner, tuple[str, ...]]] = {}


def register_domain(name: str, runner: DomainRunner, methods: Sequence[str]) -> None:
    """Make a domain available: ``runner(method, seed, profile) -> result dict``."""
    _DOMAINS[name] = (runner, tuple(methods))


def domains() -> dict[str, tuple[str, ...]]:
    """Registered domains and the methods each supports."""
    return {name: methods for name, (_, methods) in _DOMAINS.items()}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def cache_path(out: Path, task: Task, profile: Profile) -> Path:
    return (
        out / "cache" / f"{profile.name}-{profile.key()}" / task.domain
        / f"{_slug(task.method)}-seed{task.seed}.json"
    )  # fmt: skip


def run_tasks(
    tasks: Sequence[Task],
    profiles: Mapping[str, Profile],
    out: Path,
    *,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run (or load from the cache) every task; an interrupted run resumes where it stopped."""
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    results = []
    bar = tqdm(tasks, disable=not progress, unit="run", dynamic_ncols=True)
    for task in bar:
        profile = profiles[task.domain]
        path = cache_path(out, task, profile)
        bar.set_description(f"{task.domain}/{task.method}/seed{task.seed}")
        if path.exists():
            results.append(json.loads(path.read_text()))
            continue
        runner, _ = _DOMAINS[task.domain]
        result = runner(task.method, task.seed, profile)
        result = {"domain": task.domain, "method": task.method, "seed": task.seed} | result
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result))
        os.replace(tmp, path)  # atomic: a killed run never leaves half a result
        results.append(result)
    return results
