"""Run by ``torchrun --nproc_per_node 2`` from test_hf_ddp.py: Trainer + MixUpCallback on CPU
(gloo), a few steps with per-rank draws, then a few with draws shared across ranks. Each rank
writes what it mixed to ``<out>/rank<r>.json``. Last, a tiny BERT mixed inside (word embeddings
or a layer drawn per micro-batch) with draws shared across ranks."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import torch
from hf_support import (
    CLASSES,
    Recording,
    args,
    image_dataset,
    text_dataset,
    tiny_text_model,
    tiny_vit,
    trainer,
)

import mixkit
from mixkit_transformers import MixUpCallback


def main(out: Path) -> None:
    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    report: dict[str, object] = {"world_size": int(os.environ["WORLD_SIZE"])}
    for name, share in (("distinct", False), ("shared", True)):
        torch.manual_seed(100 + rank)  # each rank's mixer gets another default seed
        mixer = Recording(alpha=1.0, mode="elem", num_classes=CLASSES)
        t = trainer(
            tiny_vit(),
            args(out / name, max_steps=2, per_device_train_batch_size=4, ddp_backend="gloo"),
            train_dataset=image_dataset(32),
            callbacks=[MixUpCallback(mixer, share_across_ranks=share)],
        )
        t.train()
        report[name] = {
            "lam": [m.lam.tolist() for m in mixer.results],
            "steps": t.state.global_step,
            "wrapped": type(t.model_wrapped).__name__,
            "process_index": t.args.process_index,
        }
    # text, mixed inside the model at a site drawn per micro-batch, draws shared across ranks
    torch.manual_seed(100 + rank)
    results: list[mixkit.Mixed] = []

    class TextRecording(mixkit.MixUp):
        def mix(self, x: Any, y: Any, params: Any, **kwargs: Any) -> mixkit.Mixed:
            out: mixkit.Mixed = super().mix(x, y, params, **kwargs)
            results.append(out)
            return out

    model = tiny_text_model("bert")
    t = trainer(
        model,
        args(out / "text", max_steps=3, per_device_train_batch_size=4, ddp_backend="gloo"),
        train_dataset=text_dataset(32),
        callbacks=[
            MixUpCallback(
                TextRecording(alpha=1.0, mode="elem", num_classes=CLASSES),
                layers=(0, 1, 2),
                share_across_ranks=True,
            )
        ],
    )
    t.train()
    report["text"] = {
        "lam": [m.lam.tolist() for m in results],
        "index": [m.index.tolist() for m in results],
        "steps": t.state.global_step,
        "wrapped": type(t.model_wrapped).__name__,
        "weights": float(sum(p.detach().double().sum() for p in model.parameters())),
    }
    (out / f"rank{rank}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    try:
        main(Path(sys.argv[1]))
    finally:
        # Shut the gloo group down before the interpreter does: left to exit, its threads are
        # torn down racily ("terminate called without an active exception", SIGABRT).
        if torch.distributed.is_initialized():
            torch.distributed.barrier()
            torch.distributed.destroy_process_group()
