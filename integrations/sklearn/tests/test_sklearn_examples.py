"""The tabular example and the evaluation script run (tiny settings) and print what they claim."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


def _run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_tabular_pipeline_example() -> None:
    out = _run(str(ROOT / "examples" / "tabular_pipeline.py"), "--quick")
    assert "6 numeric + 2 categorical columns" in out
    assert "GridSearchCV over alpha [0.2, 1.0]" in out and "best " in out
    for model in ("LogisticRegression", "MixUpClassifier(LR) tuned", "MLPMixUpClassifier"):
        line = next(row for row in out.splitlines() if model in row)
        accuracy = float(line.rsplit("test accuracy", 1)[1])
        assert 0.0 <= accuracy <= 1.0


def test_evaluation_script_writes_its_tables(tmp_path: Path) -> None:
    table = tmp_path / "evaluation.md"
    out = _run(str(ROOT / "benchmarks" / "sklearn_evaluation.py"), "--quick", "--out", str(table))
    text = table.read_text()
    assert f"wrote {table}" in out
    assert "| iris (150, 4, 3) | LogisticRegression | " in text
    assert "| iris (150, 4, 3) | MLP (128) | " in text
    assert "| 2-D cube (2 classes, 20 per class) | " in text
    header = next(row for row in text.splitlines() if row.startswith("| dataset"))
    assert header.startswith("| dataset (n, d, classes) | model | ERM | MixUp |")
    rows = [row for row in text.splitlines() if row.startswith("| iris")]
    for row in rows:  # every cell a mean ± std in [0, 1] (or n/a: MixupE needs a gradient)
        for cell in row.strip("|").split("|")[2:]:
            cell = cell.strip()
            assert cell == "n/a" or 0.0 <= float(cell.split(" ± ")[0]) <= 1.0
