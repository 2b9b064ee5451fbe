"""Every example runs (a tiny setting of it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

METHODS_GRAPH = ("ERM", "MixUp (pooled)", "FGW mixup", "G-Mixup", "k-mixup (pooled)")

pytestmark = pytest.mark.slow


def run_example(
    script: str, *args: str | Path, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    """``python examples/SCRIPT ARGS...``, its output captured; it must exit with 0."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_image_classification_example(tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    result = run_example("image_classification.py", "--quick", "--out", out)
    for method in ("ERM", "MixUp", "CutMix"):
        assert f"{method}" in result.stdout and "test accuracy" in result.stdout
    assert out.stat().st_size > 1000


def test_text_classification_example(tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    result = run_example("text_classification.py", "--quick", "--threads", "1", "--out", out)
    assert "256 training / 250 test" in result.stdout
    for method in ("ERM", "word-embedding mixup", "TMix (layers 2, 3, 4)"):
        assert f"{method} test accuracy" in result.stdout and f"| {method} | " in result.stdout
    assert out.stat().st_size > 1000


def test_speech_digits_example(tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    result = run_example(
        "speech_digits.py", "--quick", "--threads", "1", "--root", tmp_path / "data", "--out", out
    )
    assert "40 training clips, 20 test clips" in result.stdout
    for method in ("ERM", "waveform MixUp", "loudness MixUp", "k-mixup"):
        line = re.search(rf"{re.escape(method)}\s+test accuracy (\d\.\d+)", result.stdout)
        assert line is not None, result.stdout
        assert 0.0 <= float(line.group(1)) <= 1.0
    assert out.stat().st_size > 1000
    assert len(list((tmp_path / "data").glob("n*-seed*-16000hz-*/manifest.json"))) == 2


def test_graph_classification_quick(tmp_path: Path) -> None:
    result = run_example("graph_classification.py", "--quick", "--root", tmp_path, timeout=600)
    out = result.stdout
    assert "2-fold CV, 3 epochs" in out
    assert "| method | test accuracy (mean) | std |" in out
    for method in METHODS_GRAPH:
        row = re.search(rf"^\| {re.escape(method)} \| ([0-9.]+) \| ([0-9.]+) \|$", out, re.M)
        assert row is not None, (method, out)
        assert 0.0 <= float(row.group(1)) <= 1.0 and float(row.group(2)) >= 0.0
    assert result.stderr.count("test accuracy") == 2 * len(METHODS_GRAPH)
