"""More than one process: torchrun --nproc_per_node 2 on CPU (gloo), Trainer(strategy="ddp")
with the callback, per-rank then shared draws."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pl-torchrun")]


def test_ddp_two_processes_distinct_then_shared_draws(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE)}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(HERE / "pl_ddp_script.py"),
        str(tmp_path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    for r, report in enumerate(ranks):
        assert report["world_size"] == 2
        for name in ("distinct", "shared"):
            assert report[name]["steps"] == 3
            assert report[name]["strategy"] == "DDPStrategy"
            assert report[name]["backend"] == "gloo"
            assert report[name]["rank"] == r
            assert len(report[name]["lam"]) == 3
            assert report[name]["loss_is_mixed_loss"]
            lam = report[name]["lam"][-1]
            assert report[name]["lam_logged"] == pytest.approx(sum(lam) / len(lam))
    for name in ("distinct", "shared"):
        assert ranks[0][name]["weights"] == pytest.approx(ranks[1][name]["weights"], rel=1e-12)
    # by default each rank draws its own lam (and partners) ...
    assert ranks[0]["distinct"]["lam"] != ranks[1]["distinct"]["lam"]
    # ... and with share_across_ranks=True every rank draws the same, although each rank's
    # mixer was seeded differently: the seed is broadcast from rank 0
    assert ranks[0]["shared"]["lam"] == ranks[1]["shared"]["lam"]
