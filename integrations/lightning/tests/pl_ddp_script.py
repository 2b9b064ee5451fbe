"""Run by ``torchrun --nproc_per_node 2`` from test_pl_ddp.py: a Lightning Trainer with
``strategy="ddp"`` on CPU (gloo) and MixUpCallback, a few steps with per-rank draws, then a few
with draws shared across ranks. Each rank writes what it mixed to ``<out>/rank<r>.json``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
from lightning_support import CLASSES, Classifier, loader, mlp, record, tabular, trainer

import mixkit
from mixkit_lightning import MixUpCallback


def main(out: Path) -> None:
    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    report: dict[str, object] = {"world_size": int(os.environ["WORLD_SIZE"])}
    x, y = tabular(64)
    for name, share in (("distinct", False), ("shared", True)):
        torch.manual_seed(100 + rank)  # each rank's mixer gets another default seed
        mixer = mixkit.MixUp(alpha=1.0, mode="elem", num_classes=CLASSES)
        results = record(mixer)
        torch.manual_seed(0)
        module = Classifier(mlp())
        fit = trainer(
            strategy="ddp",
            devices=2,
            max_steps=3,
            callbacks=[MixUpCallback(mixer, share_across_ranks=share)],
        )
        fit.fit(module, loader(x, y, batch_size=8))
        report[name] = {
            "lam": [r.lam.tolist() for r in results],
            "steps": fit.global_step,
            "strategy": type(fit.strategy).__name__,
            "backend": torch.distributed.get_backend(),  # CPU processes: gloo
            "rank": fit.global_rank,
            # the user's F.cross_entropy is the mixed loss on every rank
            "loss_is_mixed_loss": all(
                torch.allclose(loss, mixed.loss(logits))
                for mixed, logits, loss in zip(results, module.logits, module.losses, strict=True)
            ),
            # DDP's reduced gradients keep the replicas equal (the first batch's check included)
            "weights": float(sum(p.detach().double().sum() for p in module.parameters())),
            "lam_logged": float(fit.callback_metrics["mixkit/lam_mean"]),
        }
    (out / f"rank{rank}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
