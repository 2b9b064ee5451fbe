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


def test_image_classification_example(tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "image_classification.py"),
            "--quick",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for method in ("ERM", "MixUp", "CutMix"):
        assert f"{method}" in result.stdout and "test accuracy" in result.stdout
    assert out.stat().st_size > 1000


def test_text_classification_example(tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "text_classification.py"),
            "--quick",
            "--threads",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "256 training / 250 test" in result.stdout
    for method in ("ERM", "word-embedding mixup", "TMix (layers 2, 3, 4)"):
        assert f"{method} test accuracy" in result.stdout and f"| {method} | " in result.stdout
    assert out.stat().st_size > 1000


def test_speech_digits_example(tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "speech_digits.py"),
            "--quick",
            "--threads",
            "1",
            "--root",
            str(tmp_path / "data"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "40 training clips, 20 test clips" in result.stdout
    for method in ("ERM", "waveform MixUp", "loudness MixUp", "k-mixup"):
        line = re.search(rf"{re.escape(method)}\s+test accuracy (\d\.\d+)", result.stdout)
        assert line is not None, result.stdout
        assert 0.0 <= float(line.group(1)) <= 1.0
    assert out.stat().st_size > 1000
    assert len(list((tmp_path / "data").glob("n*-seed*-16000hz-*/manifest.json"))) == 2


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
    for method in METHODS_GRAPH:
        row = re.search(rf"^\| {re.escape(method)} \| ([0-9.]+) \| ([0-9.]+) \|$", out, re.M)
        assert row is not None, (method, out)
        assert 0.0 <= float(row.group(1)) <= 1.0 and float(row.group(2)) >= 0.0
    assert result.stderr.count("test accuracy") == 2 * len(METHODS_GRAPH)
