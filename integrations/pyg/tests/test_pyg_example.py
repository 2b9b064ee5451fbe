"""The graph example runs end to end (its --quick setting) and prints its table."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
METHODS = ("ERM", "MixUp (pooled)", "FGW mixup", "G-Mixup", "k-mixup (pooled)")

pytestmark = pytest.mark.slow


def test_graph_classification_quick(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "graph_classification.py"),
            "--quick",
            "--root",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "2-fold CV, 3 epochs" in out
    assert "| method | test accuracy (mean) | std |" in out
    for method in METHODS:
        row = re.search(rf"^\| {re.escape(method)} \| ([0-9.]+) \| ([0-9.]+) \|$", out, re.M)
        assert row is not None, (method, out)
        assert 0.0 <= float(row.group(1)) <= 1.0 and float(row.group(2)) >= 0.0
    assert result.stderr.count("test accuracy") == 2 * len(METHODS)
