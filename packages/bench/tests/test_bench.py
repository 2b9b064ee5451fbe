"""mixkit-bench: the CLI end to end on the tiny profile, the cache, the statistics."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from mixkit_bench import METHODS, PROFILES, available
from mixkit_bench._report import mean_ci, summarize, write_markdown
from mixkit_bench.cli import main

pytestmark = pytest.mark.slow


def test_every_domain_runs_every_method_it_lists() -> None:
    domains = available()
    assert set(domains) == {"image", "tabular", "speech", "graph"}
    assert set(domains["image"]) == set(METHODS)
    assert "CutMix" not in domains["tabular"] and "CutMix" not in domains["graph"]
    assert set(PROFILES) == {"tiny", "quick", "full"}


def test_mean_and_confidence_interval() -> None:
    values = [0.8, 0.9, 0.85, 0.88]
    mean, half = mean_ci(values)
    n = len(values)
    sd = math.sqrt(sum((v - sum(values) / n) ** 2 for v in values) / (n - 1))
    assert math.isclose(mean, 0.8575)
    assert math.isclose(half, stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n))
    assert mean_ci([0.5]) == (0.5, 0.0)


def test_markdown_marks_the_best_per_domain(tmp_path: Path) -> None:
    results = [
        {"domain": "a", "method": "ERM", "seed": 0, "accuracy": 0.5},
        {"domain": "a", "method": "MixUp", "seed": 0, "accuracy": 0.7},
        {"domain": "b", "method": "ERM", "seed": 0, "accuracy": 0.9},
    ]
    text = write_markdown(summarize(results), tmp_path / "t.md", methods=["ERM", "MixUp"])
    assert "| MixUp | **70.00 ± 0.00** | – |" in text
    assert "| ERM | 50.00 ± 0.00 | **90.00 ± 0.00** |" in text


def test_cli_tiny_profile_end_to_end_and_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIXKIT_DATA", str(tmp_path / "data"))
    out = tmp_path / "bench"
    argv = [
        "run",
        "--profile",
        "tiny",
        "--methods",
        "ERM",
        "MixUp",
        "MixupE",
        "k-mixup + Local + off",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(argv) == 0
    table = (out / "results.md").read_text()
    for domain in ("image", "tabular", "speech", "graph"):
        assert domain in table.splitlines()[2]
    for method in ("ERM", "MixUp", "MixupE", "k-mixup + Local + off"):
        assert f"| {method} |" in table
    rows = (out / "results.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 * 4  # header + domains x methods x 1 seed
    for png in ("accuracy.png", "test_loss.png"):
        assert (out / png).stat().st_size > 1000
    cached = sorted(out.glob("cache/*/*/*.json"))
    assert len(cached) == 16
    first = json.loads(cached[0].read_text())
    assert 0.0 <= first["accuracy"] <= 1.0
    # an interrupted run resumes: cached results are read back, not recomputed
    marker = cached[0].read_text().replace(str(first["accuracy"]), "0.123456")
    cached[0].write_text(marker)
    assert main(argv) == 0
    assert "0.123456" in cached[0].read_text()


def test_cli_reports_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--domains", "video", "--no-progress"]) == 2
    assert "expected domains among" in capsys.readouterr().err
    assert main(["run", "--domains", "tabular", "--methods", "Nope", "--no-progress"]) == 2
    assert "expected methods of tabular among" in capsys.readouterr().err


def test_console_script_lists_domains() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mixkit_bench.cli", "list"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("image: ERM, MixUp, CutMix")


def test_papers_quick(tmp_path: Path) -> None:
    from mixkit_bench.papers import run_all

    text = run_all(tmp_path, quick=True)
    assert text.count("| yes |") >= 8, text
    assert (tmp_path / "papers.md").exists()
    assert (tmp_path / "kmixup_blobs.png").stat().st_size > 1000


def _image_folder(root: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", 24), ("test", 8)):
        for label in ("cat", "dog", "fox"):
            (root / split / label).mkdir(parents=True)
            for i in range(n // 3 + 1):
                pixels = rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / label / f"{i}.png")


def _audio_folder(root: Path) -> None:
    import soundfile as sf

    rng = np.random.default_rng(0)
    for split, n in (("train", 30), ("test", 9)):
        for k, label in enumerate(("no", "yes", "zzz")):
            (root / split / label).mkdir(parents=True)
            for i in range(n // 3):
                t = np.arange(int(8000 * (0.4 + 0.1 * i % 5))) / 8000  # 8 kHz: resampled
                wave = 0.3 * np.sin(2 * np.pi * 200 * (k + 1) * t) + 0.01 * rng.normal(size=t.size)
                sf.write(root / split / label / f"{i}.wav", wave.astype(np.float32), 8000)


def test_local_datasets_of_the_full_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--data`` reads an imagefolder tree and an audiofolder tree, offline, 3 classes each."""
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    _image_folder(tmp_path / "images")
    _audio_folder(tmp_path / "audio")
    out = tmp_path / "bench"
    argv = ["run", "--profile", "tiny", "--domains", "image", "speech", "--methods", "ERM"]
    argv += ["MixUp", "--out", str(out), "--no-progress", "--data"]
    argv += [f"image={tmp_path / 'images'}", f"speech={tmp_path / 'audio'}"]
    assert main(argv) == 0
    results = {
        (r["domain"], r["method"]): r
        for r in (json.loads(p.read_text()) for p in out.glob("cache/*/*/*.json"))
    }
    assert set(results) == {(d, m) for d in ("image", "speech") for m in ("ERM", "MixUp")}
    assert results["image", "ERM"]["data"] == "images"
    assert results["speech", "MixUp"]["data"] == "audio"
    assert results["speech", "ERM"]["train_size"] == 30 - 3  # a tenth held out for validation


def test_a_missing_audio_folder_is_named(tmp_path: Path) -> None:
    from mixkit_bench.domains.speech import load_audio_folder

    with pytest.raises(FileNotFoundError, match=r"PATH/train/<label>/ and PATH/test/<label>/"):
        load_audio_folder(tmp_path)


def test_the_full_image_path_trains_preact_resnet18_on_a_local_folder(tmp_path: Path) -> None:
    """The ``full`` profile's network and data path, at toy size (one epoch, 12x12 images)."""
    from mixkit_bench._runner import Profile
    from mixkit_bench.domains import image

    _image_folder(tmp_path / "images")
    options = dict(PROFILES["full"]["image"]["options"]) | {"batch_size": 16}
    profile = Profile("full-smoke", 1, 1, options, "cpu", str(tmp_path / "images"))
    result = image.run("MixUp", 0, profile)
    assert options["model"] == "preact_resnet18"
    assert result["data"] == "images" and result["train_size"] == 27 - 2
    assert 0.0 <= result["accuracy"] <= 1.0 and len(result["test_loss"]) == 1


def test_random_crop_flip_takes_a_shifted_maybe_mirrored_window_of_each_image() -> None:
    import torch
    import torch.nn.functional as F

    from mixkit_bench.domains.image import random_crop_flip

    x = torch.rand(16, 3, 6, 5)
    before = x.clone()
    out = random_crop_flip(x, torch.Generator().manual_seed(0), pad=2)
    assert torch.equal(x, before)  # the input is untouched
    assert out.shape == x.shape
    assert torch.equal(out, random_crop_flip(x, torch.Generator().manual_seed(0), pad=2))
    padded = F.pad(x, (2, 2, 2, 2))
    mirrored = 0
    for i in range(16):
        windows = [padded[i, :, dy : dy + 6, dx : dx + 5] for dy in range(5) for dx in range(5)]
        plain = any(torch.equal(out[i], w) for w in windows)
        flipped = any(torch.equal(out[i], w.flip(-1)) for w in windows)
        assert plain or flipped, f"sample {i} is not a window of its padded image"
        mirrored += int(flipped and not plain)
    assert 0 < mirrored < 16  # about half mirrored
