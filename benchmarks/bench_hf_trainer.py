"""Trainer step time with MixUpCallback vs without, same run: a tiny ViT on CPU.

    python benchmarks/bench_hf_trainer.py            # a table, the overheads last
    python benchmarks/bench_hf_trainer.py --json     # one {"case", "impl", "median_ms"} per line

Each implementation trains the same tiny ViT (28x28 single-channel images, patch 7, hidden 64,
2 layers, batch 64, random data) from the same initialisation through ``Trainer.train()``. A
step's time is the wall time between two ``on_step_end`` events: data loading, the mixing
hooks, forward, loss, backward and the optimizer step, everything a user's step costs. Runs are
interleaved (ERM, MixUp, CutMix, then the order rotated) and repeated (``--repeats``); the first
``--warmup`` steps of every run are dropped. Timings are medians over repeats of per-run
medians; overheads are medians of within-repeat ratios (``_timing.ratio``).

A second case times what the callback adds to one micro-batch, round-robin
(``_timing.repeated_medians``): its two hooks (mix the batch, compute the mixed loss) against
the model's own loss, which the hooks replace, and a ``clone()`` of the batch (the memory
floor). Less exposed to a busy machine than whole runs, it bounds the overhead from below.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import datasets
import torch
from _timing import ratio, repeated_medians, report
from transformers import (
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
    ViTConfig,
    ViTForImageClassification,
)
from transformers.modeling_outputs import ImageClassifierOutput

import mixkit
from mixkit_transformers import MixUpCallback


class StepTimes(TrainerCallback):
    """Wall time between consecutive ``on_step_end`` events (ms)."""

    def __init__(self) -> None:
        self.ends: list[float] = []

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.ends.append(time.perf_counter())

    def durations(self, warmup: int) -> list[float]:
        ends = self.ends[warmup:]
        return [(b - a) * 1e3 for a, b in itertools.pairwise(ends)]


def tiny_vit() -> ViTForImageClassification:
    torch.manual_seed(0)
    config = ViTConfig(
        image_size=28,
        patch_size=7,
        num_channels=1,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        num_labels=10,
    )
    return ViTForImageClassification(config)


def dataset(n: int) -> datasets.Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    ds = datasets.Dataset.from_dict({"pixel_values": x.numpy(), "labels": y.numpy()})
    ds.set_format("torch")
    return ds


def median_step_ms(
    make_callbacks: Callable[[], list[TrainerCallback]],
    data: datasets.Dataset,
    steps: int,
    warmup: int,
    out: str,
) -> float:
    timer = StepTimes()
    args = TrainingArguments(
        output_dir=out,
        per_device_train_batch_size=64,
        max_steps=steps,
        learning_rate=1e-3,
        save_strategy="no",
        logging_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
    )
    trainer = Trainer(
        model=tiny_vit(),
        args=args,
        train_dataset=data,
        callbacks=[*make_callbacks(), timer],
    )
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    return statistics.median(timer.durations(warmup))


def hook_costs(
    out: str, rounds: int, repeats: int
) -> tuple[dict[str, float], list[dict[str, float]]]:
    """One micro-batch of 64: the hooks' work vs the model's own loss and a clone."""
    model = tiny_vit().train()
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(64, 1, 28, 28, generator=g), torch.randint(0, 10, (64,), generator=g)
    logits = torch.randn(64, 10, generator=g, requires_grad=True)
    count = torch.tensor(64)
    impls: dict[str, Callable[[], object]] = {}
    for name, mixer in (
        ("hooks: MixUp", mixkit.MixUp(alpha=0.4, num_classes=10)),
        ("hooks: CutMix", mixkit.CutMix(num_classes=10)),
    ):
        cb = MixUpCallback(mixer)
        cb.on_train_begin(
            TrainingArguments(output_dir=out, use_cpu=True, report_to=[]),
            TrainerState(),
            TrainerControl(),
            model=model,
        )
        hooks = cb._hooks  # the callback's mechanism, called without a forward in between
        cb.remove_hooks()
        assert hooks is not None

        def call(h: Any = hooks) -> object:
            batch = {"pixel_values": x, "labels": y, "num_items_in_batch": count}
            args, kwargs = h._before_forward(model, (), batch)
            return h._after_forward(model, args, kwargs, ImageClassifierOutput(logits=logits))

        impls[name] = call
    impls["model's own loss"] = lambda: model.loss_function(
        y, logits, model.config, num_items_in_batch=count
    )
    impls["clone (floor)"] = lambda: x.clone()
    return repeated_medians(impls, rounds=rounds, repeats=repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="steps per run")
    parser.add_argument("--warmup", type=int, default=10, help="first steps of a run dropped")
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    datasets.disable_progress_bars()

    impls: dict[str, Callable[[], list[TrainerCallback]]] = {
        "ERM (no callback)": lambda: [],
        "MixUpCallback(MixUp)": lambda: [MixUpCallback(mixkit.MixUp(alpha=0.4, num_classes=10))],
        "MixUpCallback(CutMix)": lambda: [MixUpCallback(mixkit.CutMix(num_classes=10))],
    }
    data = dataset(64 * opts.steps)
    runs: list[dict[str, float]] = []
    names = list(impls)
    with tempfile.TemporaryDirectory() as out:
        for repeat in range(opts.repeats):
            run: dict[str, float] = {}
            # the order rotates from repeat to repeat: no implementation always runs last
            for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
                gc.collect()  # the previous Trainer's garbage is not this run's cost
                run[name] = median_step_ms(impls[name], data, opts.steps, opts.warmup, out)
            runs.append(run)
    medians = {name: statistics.median(r[name] for r in runs) for name in impls}
    case = f"trainer step, tiny ViT, 64x1x28x28, {opts.threads} thread(s)"
    report(case, medians, as_json=opts.json)
    for name in list(impls)[1:]:
        overhead = ratio(runs, name, "ERM (no callback)") - 1.0
        if opts.json:
            print(json.dumps({"case": case, "overhead": name, "value": round(overhead, 4)}))
        else:
            print(f"{name} overhead vs ERM: {overhead * 100:+.1f}% (target: at most +3%)")
    with tempfile.TemporaryDirectory() as out:
        costs, _ = hook_costs(out, rounds=200, repeats=opts.repeats)
    report("one micro-batch, 64x1x28x28", costs, as_json=opts.json)
    if not opts.json:
        step = medians["ERM (no callback)"]
        for name in ("hooks: MixUp", "hooks: CutMix"):
            added = costs[name] - costs["model's own loss"]
            print(f"{name} adds {added:.3f} ms a micro-batch: {added / step * 100:.2f}% of a step")


if __name__ == "__main__":
    main()
