"""More than one process: torchrun --nproc_per_node 2 on CPU (gloo), Trainer + the callback
(images, then text mixed inside the model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hf-torchrun")]


def test_torchrun_two_processes_distinct_then_shared_draws(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE)}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(HERE / "hf_ddp_script.py"),
        str(tmp_path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    for r, report in enumerate(ranks):
        assert report["world_size"] == 2
        for name in ("distinct", "shared"):
            assert report[name]["steps"] == 2
            assert report[name]["wrapped"] == "DistributedDataParallel"
            assert report[name]["process_index"] == r
            assert len(report[name]["lam"]) == 2
    # by default each rank draws its own lam (and partners) ...
    assert ranks[0]["distinct"]["lam"] != ranks[1]["distinct"]["lam"]
    # ... and with share_across_ranks=True every rank draws the same, although each rank's
    # mixer was seeded differently: the seed is broadcast from rank 0
    assert ranks[0]["shared"]["lam"] == ranks[1]["shared"]["lam"]
    # text mixed inside the model under DDP: shared draws (each rank its own sentences), and
    # DDP's reduced gradients keep the replicas equal
    text = [report["text"] for report in ranks]
    for report in text:
        assert report["steps"] == 3 and report["wrapped"] == "DistributedDataParallel"
        assert len(report["lam"]) == 3
    assert text[0]["lam"] == text[1]["lam"] and text[0]["index"] == text[1]["index"]
    assert text[0]["weights"] == pytest.approx(text[1]["weights"], rel=1e-9)
