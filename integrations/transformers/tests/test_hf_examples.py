"""The example runs (its --quick setting) and prints an accuracy for every method."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


def test_hf_image_classification_example() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "hf_image_classification.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-4000:]
    out = result.stdout
    assert "256 training / 256 test images, tiny ViT, 1 epoch(s)" in out
    for method in ("ERM", "MixUp", "CutMix", "k-mixup", "MixupE"):
        found = re.search(rf"^{re.escape(method)} +test accuracy (\d\.\d{{4}})", out, re.M)
        assert found is not None, (method, out)
        assert 0.0 <= float(found.group(1)) <= 1.0
        assert f"| {method} | " in out
