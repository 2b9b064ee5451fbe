"""Every example runs (a tiny setting of it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

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
