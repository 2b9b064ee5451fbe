"""Hugging Face Trainer + mixkit: a tiny ViT on Fashion-MNIST, ERM vs MixUp vs CutMix vs more.

The whole integration is one callback::

    Trainer(model=model, args=args, train_dataset=train, eval_dataset=test,
            callbacks=[MixUpCallback(mixkit.MixUp(alpha=0.4, num_classes=10))])

The ViT is built from a config (no download); the data is the Debian package
``dataset-fashion-mnist`` (without it: scikit-learn's 8x8 digits, said on stderr), read by the
loader of ``examples/image_classification.py`` and fed as a ``datasets.Dataset`` of float
``pixel_values`` (``set_format("torch")``). Each method trains the same model from the same
initialisation and prints its test accuracy. Two seed methods of the core run too: k-mixup
(optimal-transport partners) and MixupE (``MixUp`` plus its loss term, whose clean pass goes
through the model inside the callback).

    python examples/hf_image_classification.py            # 6000 images, 15 epochs, 5 methods
    python examples/hf_image_classification.py --quick    # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
from transformers import (
    PrinterCallback,
    Trainer,
    TrainingArguments,
    ViTConfig,
    ViTForImageClassification,
)

import mixkit
from mixkit_transformers import MixUpCallback

sys.path.insert(0, str(Path(__file__).resolve().parent))
from image_classification import load_images  # the repo's Fashion-MNIST loader

NUM_CLASSES = 10


def load_fashion(
    train_size: int, test_size: int, seed: int
) -> tuple[datasets.Dataset, datasets.Dataset, int, str]:
    """``(train, test, side, name)``: float ``pixel_values`` (1, H, W) in [0, 1], int labels."""
    xtr, ytr, xte, yte, name = load_images(train_size, seed)

    def as_dataset(x: torch.Tensor, y: torch.Tensor) -> datasets.Dataset:
        ds = datasets.Dataset.from_dict({"pixel_values": x.numpy(), "labels": y.numpy()})
        ds.set_format("torch")
        return ds

    side = int(xtr.shape[-1])
    return as_dataset(xtr, ytr), as_dataset(xte[:test_size], yte[:test_size]), side, name


def tiny_vit(side: int, seed: int) -> ViTForImageClassification:
    torch.manual_seed(seed)
    config = ViTConfig(
        image_size=side,
        patch_size=side // 4,
        num_channels=1,
        hidden_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        intermediate_size=128,
        num_labels=NUM_CLASSES,
    )
    return ViTForImageClassification(config)


def accuracy(prediction: Any) -> dict[str, float]:
    return {
        "accuracy": float((np.argmax(prediction.predictions, -1) == prediction.label_ids).mean())
    }


def methods() -> dict[str, Callable[[], mixkit.Mixer | None]]:
    """Name -> mixer factory (None: plain training)."""
    return {
        "ERM": lambda: None,
        "MixUp": lambda: mixkit.MixUp(alpha=0.4, num_classes=NUM_CLASSES),
        "CutMix": lambda: mixkit.CutMix(alpha=1.0, num_classes=NUM_CLASSES),
        # optimal-transport partners within chunks of k
        "k-mixup": lambda: mixkit.KMixUp(k=16, alpha=1.0, num_classes=NUM_CLASSES),
        # MixUp(term=MixupETerm(eta=1e-3)): an extra clean pass through the model, in the callback
        "MixupE": lambda: mixkit.MixUpE(alpha=0.4, num_classes=NUM_CLASSES, eta=1e-3),
    }


def run(
    name: str,
    make_mixer: Callable[[], mixkit.Mixer | None],
    data: tuple[datasets.Dataset, datasets.Dataset, int],
    epochs: int,
    seed: int,
    out_dir: Path,
) -> tuple[float, float, float]:
    """Train one method; returns ``(last accuracy, best accuracy, seconds)``."""
    train, test, side = data
    args = TrainingArguments(
        output_dir=str(out_dir / name.replace(" ", "_")),
        per_device_train_batch_size=64,
        per_device_eval_batch_size=512,
        num_train_epochs=epochs,
        learning_rate=2e-3,
        weight_decay=0.05,
        warmup_steps=0.1,
        eval_strategy="epoch",
        save_strategy="no",
        logging_strategy="epoch",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        seed=seed,
    )
    torch.manual_seed(seed)
    mixer = make_mixer()
    callbacks = [] if mixer is None else [MixUpCallback(mixer)]
    trainer = Trainer(
        model=tiny_vit(side, seed),
        args=args,
        train_dataset=train,
        eval_dataset=test,
        compute_metrics=accuracy,
        callbacks=callbacks,
    )
    trainer.remove_callback(PrinterCallback)  # the per-epoch log dicts: only the summary here
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    scores = [h["eval_accuracy"] for h in trainer.state.log_history if "eval_accuracy" in h]
    return scores[-1], max(scores), seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny data, 1 epoch")
    parser.add_argument("--train-size", type=int, default=6000)
    parser.add_argument("--test-size", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.train_size, opts.test_size, opts.epochs = 256, 256, 1
    if opts.threads:
        torch.set_num_threads(opts.threads)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    datasets.disable_progress_bars()

    train, test, side, name = load_fashion(opts.train_size, opts.test_size, opts.seed)
    data = (train, test, side)
    print(
        f"{name}: {len(train)} training / {len(test)} test images, tiny ViT, "
        f"{opts.epochs} epoch(s), seed {opts.seed}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for method, make_mixer in methods().items():
            last, best, seconds = run(method, make_mixer, data, opts.epochs, opts.seed, Path(tmp))
            rows.append((method, last, best))
            print(f"{method:12s} test accuracy {last:.4f} (best epoch {best:.4f}, {seconds:.0f} s)")
    print("\n| method | test accuracy (last epoch) | best epoch |\n|---|---|---|")
    for method, last, best in rows:
        print(f"| {method} | {last:.4f} | {best:.4f} |")


if __name__ == "__main__":
    main()
