"""Trainer step time with MixUpCallback vs without, same run: a tiny ViT and a tiny BERT on CPU.

    python benchmarks/bench_hf_trainer.py            # a table, the overheads last
    python benchmarks/bench_hf_trainer.py --json     # one {"case", "impl", "median_ms"} per line
    python benchmarks/bench_hf_trainer.py --only text   # the text rows only (or --only vit)

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

The text rows do the same for a tiny BERT (vocabulary 4000, hidden 64, 2 layers, batch 32 of
right-padded sequences of 32 to 128 tokens, random ids): ERM vs the callback mixing the word
embeddings vs TMix (a layer drawn from 1, 2 per step), whole Trainer steps; then paired steps
(one Trainer run whose steps alternate with and without the callback's hooks: the median ratio
of consecutive steps, the figure least exposed to a shared machine); then one micro-batch's
forward and backward with the callback's hooks on the model vs a twin without (the mixing
inside the model, the union masks and ids, the mixed loss vs the model's own).
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
    BertConfig,
    BertForSequenceClassification,
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


def tiny_bert() -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=4000,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=256,
        max_position_embeddings=128,
        num_labels=2,
    )
    return BertForSequenceClassification(config)


def token_batch(n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random ids 5-3999, right-padded (id 0) sequences of 32 to 128 tokens, binary labels."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(32, 129, (n,), generator=g)
    mask = (torch.arange(128).unsqueeze(0) < lengths.unsqueeze(1)).long()
    ids = torch.randint(5, 4000, (n, 128), generator=g) * mask
    return {"input_ids": ids, "attention_mask": mask, "labels": torch.randint(0, 2, (n,))}


def text_dataset(n: int) -> datasets.Dataset:
    ds = datasets.Dataset.from_dict({k: v.numpy() for k, v in token_batch(n).items()})
    ds.set_format("torch")
    return ds


def median_step_ms(
    make_callbacks: Callable[[], list[TrainerCallback]],
    data: datasets.Dataset,
    steps: int,
    warmup: int,
    out: str,
    *,
    make_model: Callable[[], torch.nn.Module] = tiny_vit,
    batch_size: int = 64,
) -> float:
    timer = StepTimes()
    args = TrainingArguments(
        output_dir=out,
        per_device_train_batch_size=batch_size,
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
        model=make_model(),
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


class Alternate(TrainerCallback):
    """The callback's hooks on the model for every other step of one Trainer run, each step
    timed from ``on_step_begin`` to ``on_step_end`` (forward, loss, backward, optimizer; the
    hooks go on or off in between, untimed). Consecutive steps pair a step with the hooks and
    one without under the same machine load: the ratio of a pair is immune to slow periods
    longer than a step, which whole runs on a shared machine are not."""

    def __init__(self, callback: MixUpCallback) -> None:
        self.callback, self.on = callback, True
        self.times: dict[bool, list[float]] = {True: [], False: []}
        self.start = 0.0
        self.args: Any = None
        self.model: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.args, self.model = args, kwargs["model"]

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.start = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.times[self.on].append((time.perf_counter() - self.start) * 1e3)
        if self.on:
            self.callback.remove_hooks()
        else:
            self.callback.on_train_begin(self.args, state, control, model=self.model)
        self.on = not self.on

    def ratios(self, warmup: int) -> list[float]:
        """Per pair (a step with the hooks, the next without), with / without."""
        pairs = zip(self.times[True][warmup:], self.times[False][warmup:], strict=False)
        return [on / off for on, off in pairs]


def paired_overhead(
    make_callback: Callable[[], MixUpCallback], opts: argparse.Namespace, out: str
) -> float:
    """Median over ``--repeats`` runs of ``2 * --steps`` alternating steps of the pair ratios."""
    ratios: list[float] = []
    for _ in range(opts.repeats):
        callback = make_callback()
        alternate = Alternate(callback)
        args = TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=32,
            max_steps=2 * opts.steps,
            learning_rate=1e-3,
            save_strategy="no",
            logging_strategy="no",
            report_to=[],
            use_cpu=True,
            disable_tqdm=True,
            seed=0,
        )
        gc.collect()
        trainer = Trainer(
            model=tiny_bert(),
            args=args,
            train_dataset=text_dataset(64 * opts.steps),
            callbacks=[alternate, callback],  # alternate first: its clock starts first
        )
        trainer.remove_callback(PrinterCallback)
        trainer.train()
        ratios += alternate.ratios(opts.warmup // 2)
    return statistics.median(ratios) - 1.0


def text_hook_costs(
    out: str, rounds: int, repeats: int
) -> tuple[dict[str, float], list[dict[str, float]]]:
    """One micro-batch of 32 through the tiny BERT, forward and backward: with the callback's
    hooks on the model vs a twin without them (its own loss)."""
    batch = token_batch(32, seed=1)
    plain = tiny_bert().train()
    impls: dict[str, Callable[[], object]] = {}
    for name, layers in (("hooks: word embeddings", 0), ("hooks: TMix (1, 2)", (1, 2))):
        hooked = tiny_bert().train()  # a twin of plain, with the callback's hooks
        cb = MixUpCallback(mixkit.MixUp(alpha=0.4, num_classes=2), layers=layers)
        cb.on_train_begin(
            TrainingArguments(output_dir=out, use_cpu=True, report_to=[]),
            TrainerState(),
            TrainerControl(),
            model=hooked,
        )

        def call(model: torch.nn.Module = hooked) -> object:
            model(**batch).loss.backward()
            model.zero_grad(set_to_none=True)
            return None

        impls[name] = call

    def own() -> object:
        plain(**batch).loss.backward()
        plain.zero_grad(set_to_none=True)
        return None

    impls["model's own loss"] = own
    return repeated_medians(impls, rounds=rounds, repeats=repeats)


def run_trainer_case(
    case: str,
    impls: dict[str, Callable[[], list[TrainerCallback]]],
    opts: argparse.Namespace,
    **settings: Any,
) -> dict[str, float]:
    """Interleaved whole runs of each implementation; prints the table and the overheads."""
    data = settings.pop("data")
    runs: list[dict[str, float]] = []
    names = list(impls)
    with tempfile.TemporaryDirectory() as out:
        for repeat in range(opts.repeats):
            run: dict[str, float] = {}
            # the order rotates from repeat to repeat: no implementation always runs last
            for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
                gc.collect()  # the previous Trainer's garbage is not this run's cost
                run[name] = median_step_ms(
                    impls[name], data, opts.steps, opts.warmup, out, **settings
                )
            runs.append(run)
    medians = {name: statistics.median(r[name] for r in runs) for name in impls}
    report(case, medians, as_json=opts.json)
    baseline = names[0]
    for name in names[1:]:
        overhead = ratio(runs, name, baseline) - 1.0
        if opts.json:
            print(json.dumps({"case": case, "overhead": name, "value": round(overhead, 4)}))
        else:
            print(f"{name} overhead vs ERM: {overhead * 100:+.1f}% (target: at most +3%)")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="steps per run")
    parser.add_argument("--warmup", type=int, default=10, help="first steps of a run dropped")
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--only", choices=("vit", "text"), default=None, help="one model only")
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    datasets.disable_progress_bars()

    if opts.only in (None, "vit"):
        vit: dict[str, Callable[[], list[TrainerCallback]]] = {
            "ERM (no callback)": lambda: [],
            "MixUpCallback(MixUp)": lambda: [
                MixUpCallback(mixkit.MixUp(alpha=0.4, num_classes=10))
            ],
            "MixUpCallback(CutMix)": lambda: [MixUpCallback(mixkit.CutMix(num_classes=10))],
        }
        case = f"trainer step, tiny ViT, 64x1x28x28, {opts.threads} thread(s)"
        medians = run_trainer_case(case, vit, opts, data=dataset(64 * opts.steps))
        with tempfile.TemporaryDirectory() as out:
            costs, _ = hook_costs(out, rounds=200, repeats=opts.repeats)
        report("one micro-batch, 64x1x28x28", costs, as_json=opts.json)
        if not opts.json:
            step = medians["ERM (no callback)"]
            for name in ("hooks: MixUp", "hooks: CutMix"):
                added = costs[name] - costs["model's own loss"]
                print(
                    f"{name} adds {added:.3f} ms a micro-batch: {added / step * 100:.2f}% of a step"
                )
    if opts.only in (None, "text"):
        text: dict[str, Callable[[], list[TrainerCallback]]] = {
            "ERM text (no callback)": lambda: [],
            "MixUpCallback text (word embeddings)": lambda: [
                MixUpCallback(mixkit.MixUp(alpha=0.4, num_classes=2))
            ],
            "MixUpCallback text (TMix 1, 2)": lambda: [
                MixUpCallback(mixkit.MixUp(alpha=0.4, num_classes=2), layers=(1, 2))
            ],
        }
        case = f"trainer step, tiny BERT, 32x128 tokens, {opts.threads} thread(s)"
        medians = run_trainer_case(
            case,
            text,
            opts,
            data=text_dataset(32 * opts.steps),
            make_model=tiny_bert,
            batch_size=32,
        )
        with tempfile.TemporaryDirectory() as out:
            for name, make in (
                ("word embeddings", lambda: MixUpCallback(mixkit.MixUp(alpha=0.4, num_classes=2))),
                (
                    "TMix 1, 2",
                    lambda: MixUpCallback(mixkit.MixUp(alpha=0.4, num_classes=2), layers=(1, 2)),
                ),
            ):
                overhead = paired_overhead(make, opts, out)
                label = f"MixUpCallback text ({name}), paired steps"
                if opts.json:
                    print(
                        json.dumps({"case": case, "overhead": label, "value": round(overhead, 4)})
                    )
                else:
                    print(f"{label} overhead: {overhead * 100:+.1f}% (target: at most +3%)")
            costs, _ = text_hook_costs(out, rounds=40, repeats=opts.repeats)
        report("one micro-batch fwd+bwd, BERT", costs, as_json=opts.json)
        if not opts.json:
            step = medians["ERM text (no callback)"]
            for name in ("hooks: word embeddings", "hooks: TMix (1, 2)"):
                added = costs[name] - costs["model's own loss"]
                print(
                    f"{name} adds {added:.3f} ms a micro-batch: {added / step * 100:.2f}% of a step"
                )


if __name__ == "__main__":
    main()
