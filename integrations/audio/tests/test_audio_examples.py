"""The speech example runs end to end in a tiny setting."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


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
