"""Lightning training step time with MixUpCallback vs without, same run: a small CNN on CPU.

    python benchmarks/bench_lightning.py            # a table, the overheads last
    python benchmarks/bench_lightning.py --json     # one {"case", "impl", "median_ms"} per line

Each implementation trains the same small CNN (the one of ``examples/image_classification.py``:
two conv + batch-norm blocks of 32 and 64 channels, a 128-unit head; 28x28 single-channel
images, batch 64, random data) from the same initialisation through ``Trainer.fit()``, with a
``training_step`` computing ``F.cross_entropy(self(x), y)``. A step's time is the time
between two ``on_train_batch_end`` events: fetching the batch, the callback's hooks (mix the
batch, log the statistics), forward, the user's loss on soft targets, backward and the
optimizer step, everything a user's step costs. Runs are interleaved (ERM, MixUp, CutMix, the
order rotated) and repeated (``--repeats``); the first ``--warmup`` steps of every run are
dropped (they hold the first batch's one-time check of the training_step). Timings are medians
over repeats of per-run medians; overheads are medians of within-repeat ratios
(``_timing.ratio``).

Two clocks, read at the same events: wall time (``time.perf_counter``) and the process's CPU
time (``time.process_time``; with one intra-op thread and ``num_workers=0`` every step runs on
the main thread). On a machine shared with other jobs, wall time also counts the time the
process waits for a core, which differs from run to run by far more than 3%; CPU time does not,
so its ratio is the overhead the callback adds, and the wall-time ratio shows how busy the
machine was.

A third measure is immune to the machine's load changing between runs: one Trainer in which
the callback acts on every other step (``EveryOther``: its per-batch hooks run on odd batches
only), so mixed and plain steps alternate in the same process, model and minute; the overhead is
the median of the odd steps over the median of the even ones, per run, then the median over
repeats.

The callback's own hooks are also timed inside the same runs (a subclass that times its
``on_train_batch_start`` and ``on_train_batch_end``): less exposed to a busy machine than whole
steps, they bound the overhead from below.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import logging
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from _timing import ratio, report
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

import mixkit
from mixkit_lightning import MixUpCallback

#: the clocks read at every step's end
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )  # fmt: skip


class Module(pl.LightningModule):
    """A user's module, unaware of mixkit."""

    def __init__(self) -> None:
        super().__init__()
        self.net = small_cnn()

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.net(x)
        return out

    def training_step(self, batch: list[Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=1e-3)


class StepTimes(pl.Callback):
    """Wall and CPU time between consecutive ``on_train_batch_end`` events (ms)."""

    def __init__(self) -> None:
        self.ends: dict[str, list[float]] = {clock: [] for clock in CLOCKS}

    def on_train_batch_end(self, *args: Any, **kwargs: Any) -> None:
        for clock, read in CLOCKS.items():
            self.ends[clock].append(read())

    def durations(self, clock: str, warmup: int) -> list[float]:
        ends = self.ends[clock][warmup:]
        return [(b - a) * 1e3 for a, b in itertools.pairwise(ends)]


class TimedMixUpCallback(MixUpCallback):
    """MixUpCallback that adds up the time spent in its per-batch hooks (ms per step)."""

    def __init__(self, mixer: nn.Module) -> None:
        super().__init__(mixer)
        self.spent: list[float] = []
        self.start = 0.0

    def on_train_batch_start(self, *args: Any) -> None:
        start = time.perf_counter()
        super().on_train_batch_start(*args)
        self.start = time.perf_counter() - start

    def on_train_batch_end(self, *args: Any) -> None:
        start = time.perf_counter()
        super().on_train_batch_end(*args)
        self.spent.append((self.start + time.perf_counter() - start) * 1e3)


class EveryOther(pl.Callback):
    """A MixUpCallback whose per-batch hooks run on odd batches only: mixed and plain steps
    alternate in one Trainer."""

    def __init__(self, inner: MixUpCallback) -> None:
        self.inner = inner
        self.on = False

    def setup(self, trainer: pl.Trainer, module: pl.LightningModule, stage: str) -> None:
        self.inner.setup(trainer, module, stage)

    def on_fit_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.inner.on_fit_start(trainer, module)

    def on_fit_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.inner.on_fit_end(trainer, module)

    def on_train_batch_start(
        self, trainer: pl.Trainer, module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self.on = batch_idx % 2 == 1
        if self.on:
            self.inner.on_train_batch_start(trainer, module, batch, batch_idx)

    def on_before_backward(
        self, trainer: pl.Trainer, module: pl.LightningModule, loss: Tensor
    ) -> None:
        if self.on:
            self.inner.on_before_backward(trainer, module, loss)

    def on_train_batch_end(
        self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, batch: Any, i: int
    ) -> None:
        if self.on:
            self.inner.on_train_batch_end(trainer, module, outputs, batch, i)


def data(n: int) -> DataLoader[Any]:
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)
    return DataLoader(TensorDataset(x, y), batch_size=64)


def run(
    make: Callable[[], list[pl.Callback]], steps: int, warmup: int
) -> tuple[dict[str, float], float | None]:
    """``({clock: median step ms}, median ms the callback's hooks took a step, or None)``."""
    timer = StepTimes()
    callbacks = make()
    fit = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[*callbacks, timer],
    )
    fit.fit(Module(), data(64 * steps))
    hooks = [c for c in callbacks if isinstance(c, TimedMixUpCallback)]
    spent = statistics.median(hooks[0].spent[warmup:]) if hooks else None
    steps_ms = {clock: statistics.median(timer.durations(clock, warmup)) for clock in CLOCKS}
    return steps_ms, spent


def alternating(mixer: nn.Module, steps: int, warmup: int) -> dict[str, float]:
    """``{clock: median mixed step / median plain step}`` in one Trainer (``EveryOther``)."""
    timer = StepTimes()
    fit = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[EveryOther(MixUpCallback(mixer)), timer],
    )
    fit.fit(Module(), data(64 * steps))
    ratios = {}
    for clock in CLOCKS:
        ends = timer.ends[clock]  # ends[k]: the end of batch k; step k: ends[k] - ends[k - 1]
        mixed = [ends[k] - ends[k - 1] for k in range(warmup + 1, len(ends)) if k % 2 == 1]
        plain = [ends[k] - ends[k - 1] for k in range(warmup + 1, len(ends)) if k % 2 == 0]
        ratios[clock] = statistics.median(mixed) / statistics.median(plain)
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="steps per run")
    parser.add_argument("--warmup", type=int, default=10, help="first steps of a run dropped")
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="pytorch_lightning")

    impls: dict[str, Callable[[], list[pl.Callback]]] = {
        "ERM (no callback)": lambda: [],
        "MixUpCallback(MixUp)": lambda: [
            TimedMixUpCallback(mixkit.MixUp(alpha=0.4, num_classes=10))
        ],
        "MixUpCallback(CutMix)": lambda: [TimedMixUpCallback(mixkit.CutMix(num_classes=10))],
    }
    case = f"Lightning step, small CNN, 64x1x28x28, {opts.threads} thread(s)"
    names = list(impls)
    runs: dict[str, list[dict[str, float]]] = {clock: [] for clock in CLOCKS}
    hooks: dict[str, list[float]] = {name: [] for name in names[1:]}
    mixers: dict[str, Callable[[], nn.Module]] = {
        names[1]: lambda: mixkit.MixUp(alpha=0.4, num_classes=10),
        names[2]: lambda: mixkit.CutMix(num_classes=10),
    }
    alternated: dict[str, dict[str, list[float]]] = {
        name: {clock: [] for clock in CLOCKS} for name in mixers
    }
    for repeat in range(opts.repeats):
        for name, make in mixers.items():
            gc.collect()
            for clock, value in alternating(make(), opts.steps, opts.warmup).items():
                alternated[name][clock].append(value)
        times: dict[str, dict[str, float]] = {clock: {} for clock in CLOCKS}
        # the order rotates from repeat to repeat: no implementation always runs last
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            gc.collect()  # the previous Trainer's garbage is not this run's cost
            step_ms, spent = run(impls[name], opts.steps, opts.warmup)
            for clock, ms in step_ms.items():
                times[clock][name] = ms
            if spent is not None:
                hooks[name].append(spent)
        for clock in CLOCKS:
            runs[clock].append(times[clock])
    step = 0.0
    for clock in CLOCKS:
        medians = {name: statistics.median(r[name] for r in runs[clock]) for name in names}
        report(f"{case}, {clock} time", medians, as_json=opts.json)
        step = medians[names[0]] if clock == "wall" else step
    for name in names[1:]:
        spent = statistics.median(hooks[name])
        for clock in CLOCKS:
            overhead = ratio(runs[clock], name, names[0]) - 1.0
            every_other = statistics.median(alternated[name][clock]) - 1.0
            if opts.json:
                line = {"case": case, "clock": clock, "overhead": name, "value": round(overhead, 4)}
                print(json.dumps(line))
                line = {**line, "alternating": True, "value": round(every_other, 4)}
                print(json.dumps(line))
            else:
                print(
                    f"{name} overhead vs ERM, {clock} time: {overhead * 100:+.1f}% separate "
                    f"runs, {every_other * 100:+.1f}% alternating steps (target: at most +3%)"
                )
        if opts.json:
            print(json.dumps({"case": case, "hooks_ms": name, "value": round(spent, 4)}))
        else:
            print(
                f"{name}: its hooks take {spent:.3f} ms a step (wall), "
                f"{spent / step * 100:.2f}% of an ERM step"
            )


if __name__ == "__main__":
    main()
