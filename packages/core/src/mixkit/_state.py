"""Randomness and progress of a mixer: its generator, per-worker seeding, the clock.

Shared by :class:`mixkit.Mixer`, :class:`mixkit.RandomChoice` and the integrations' stateful
objects, so that every seed in mixkit is derived one way.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar, cast

import torch
from torch import nn

from mixkit.validation import check_generator, check_int, fail

__all__ = [
    "Clock",
    "Clocked",
    "Seeded",
    "Seeding",
    "default_generator",
    "derive_seed",
    "eager",
    "generators",
    "reseed",
]

SEED_MASK = (1 << 63) - 1
_P = ParamSpec("_P")
_R = TypeVar("_R")


def eager(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``method`` eagerly when ``torch.compile``'d code calls it (one graph break).

    Mixing is a handful of small draws and Python decisions, not something to trace: traced,
    an inductor graph draws other numbers than eager mode. Eager, a compiled training step gets
    exactly the batches an eager one gets. ``torch.compiler.disable`` is applied only while
    compiling, so ``import mixkit`` does not import the compiler stack.
    """

    @functools.wraps(method)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        if torch.compiler.is_compiling():
            disable: Any = torch.compiler.disable  # untyped in torch
            return cast(Callable[_P, _R], disable(method))(*args, **kwargs)
        return method(*args, **kwargs)

    return run


@eager
def derive_seed(*parts: int) -> int:
    """A 63-bit seed from integers: the same on every Python, process and platform (BLAKE2b).

    Example:
        >>> derive_seed(0, 1) == derive_seed(0, 1) != derive_seed(1, 0)
        True
    """
    data = struct.pack(f"<{len(parts)}q", *(int(p) & SEED_MASK for p in parts))
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") & SEED_MASK


def default_generator() -> torch.Generator:
    """A private CPU generator seeded from torch's global RNG (``torch.manual_seed`` fixes it)."""
    seed = int(torch.empty((), dtype=torch.int64).random_().item()) & SEED_MASK
    return torch.Generator().manual_seed(seed)


@dataclass
class Clock:
    """The progress schedules read (a plain object: ``nn.Module.__setattr__`` is slow)."""

    epoch: int = 0
    step: int = 0


class Clocked:
    """The epoch and global step a mixer's schedule reads (a mixin of :class:`mixkit.Mixer`,
    whose ``__init__`` sets ``self._clock = Clock()``)."""

    _clock: Clock

    @property
    def epoch(self) -> int:
        """The epoch the schedule sees (set with :meth:`set_epoch`)."""
        return self._clock.epoch

    @property
    def step(self) -> int:
        """The global step the schedule sees: training calls so far, or :meth:`set_step`."""
        return self._clock.step

    def set_epoch(self, epoch: int) -> None:
        """Tell the mixer the current epoch (for schedules), like ``DistributedSampler``."""
        self._clock.epoch = check_int(f"{type(self).__name__}.set_epoch", "epoch", epoch, low=0)

    def set_step(self, step: int) -> None:
        """Set the global step (otherwise each training call counts one step)."""
        self._clock.step = check_int(f"{type(self).__name__}.set_step", "step", step, low=0)


class Seeding:
    """A mixer's generator, re-seeded once per DataLoader worker.

    A worker holds a copy of the mixer; without re-seeding every worker would replay the same
    draws. The worker's stream is ``derive_seed(base, worker seed)``, so it changes with the
    epoch (the worker seed does) and stays reproducible.
    """

    def __init__(self, owner: str, generator: torch.Generator | None) -> None:
        gen = check_generator(owner, generator)
        self.generator = gen if gen is not None else default_generator()
        self.base = self.generator.initial_seed()
        self._worker: tuple[int, int] | None = None

    def manual_seed(self, seed: int) -> None:
        self.generator.manual_seed(seed)
        self.base = self.generator.initial_seed()
        self._worker = None

    def current(self) -> torch.Generator:
        """The generator to draw from now (re-seeded when first used in a new worker)."""
        info = torch.utils.data.get_worker_info()
        if info is not None and self._worker != (info.id, info.seed):
            self._worker = (info.id, info.seed)
            self.generator.manual_seed(derive_seed(self.base, info.seed))
        return self.generator

    def state(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state(), "seed": self.base}

    def load(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        self.base = int(state["seed"])


class Seeded(nn.Module):
    """A module drawing from its own generator (mixers, :class:`mixkit.RandomChoice`): the
    generator, :meth:`manual_seed`, and generator state in ``state_dict`` (``get_extra_state``;
    subclasses add theirs with :meth:`_extra_state` / :meth:`_load_extra_state`)."""

    def __init__(self, generator: torch.Generator | None) -> None:
        super().__init__()
        self._seeding = Seeding(type(self).__name__, generator)

    @property
    def generator(self) -> torch.Generator:
        """The CPU generator every draw comes from."""
        return self._seeding.generator

    def manual_seed(self, seed: int) -> None:
        """Seed the generator (and the streams DataLoader workers derive from it)."""
        self._seeding.manual_seed(check_int(f"{type(self).__name__}.manual_seed", "seed", seed))

    def get_extra_state(self) -> dict[str, Any]:
        return {**self._seeding.state(), **self._extra_state()}

    def set_extra_state(self, state: Any) -> None:
        expected = set(self.get_extra_state())
        if not isinstance(state, Mapping) or set(state) != expected:
            got = f"keys {sorted(state)}" if isinstance(state, Mapping) else type(state).__name__
            fail(
                f"{type(self).__name__}.load_state_dict",
                f"the state of a {type(self).__name__} like this one (keys {sorted(expected)})",
                got,
            )
        self._load_extra_state(state)
        self._seeding.load(dict(state))

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: Any) -> None:
        """Restore what :meth:`_extra_state` saved (check first, then change anything)."""


def _with_generators(module: nn.Module) -> Iterator[nn.Module]:
    for m in module.modules():
        if isinstance(getattr(m, "generator", None), torch.Generator):
            yield m


def generators(module: nn.Module) -> list[torch.Generator]:
    """Every distinct ``torch.Generator`` of ``module`` and its submodules, in module order.

    Mixers, :class:`mixkit.RandomChoice` and any module with a ``generator`` attribute count.
    """
    found: list[torch.Generator] = []
    for m in _with_generators(module):
        gen = cast(torch.Generator, m.generator)
        if all(gen is not g for g in found):
            found.append(gen)
    return found


@eager
def reseed(module: nn.Module, *parts: int) -> None:
    """Seed every generator of ``module``: the i-th gets ``derive_seed(*parts, i)``.

    Afterwards the draws are a pure function of ``parts`` (say ``(seed, rank, step)``): the
    same after a resume, in every process, on every device. Objects with a ``manual_seed``
    method (mixers) are seeded through it, so their DataLoader-worker streams follow.
    """
    for i, part in enumerate(parts):
        check_int("reseed", f"parts[{i}]", part)
    seeds: dict[int, int] = {}
    for m in _with_generators(module):
        gen = cast(torch.Generator, m.generator)
        if id(gen) in seeds:
            continue
        seed = seeds[id(gen)] = derive_seed(*parts, len(seeds))
        setter = getattr(m, "manual_seed", None)
        if callable(setter):
            setter(seed)
        else:
            gen.manual_seed(seed)
