"""Run by ``torchrun --nproc_per_node 2`` from test_hf_ddp.py: Trainer + MixUpCallback on CPU
(gloo), a few steps with per-rank draws, then a few with draws shared across ranks. Each rank
writes what it mixed to ``<out>/rank<r>.json``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
from hf_support import CLASSES, Recording, args, image_dataset, tiny_vit, trainer

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
