"""mixkit-bench: the CLI end to end on the tiny profile, the cache, the statistics."""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from mixkit_bench import METHODS, PROFILES, available
from mixkit_bench._metrics import N_BINS, classification_metrics, flip_labels
from mixkit_bench._report import (
    mean_ci,
    paired_difference,
    seeds_for,
    statistics,
    write_markdown,
)
from mixkit_bench.cli import main
from mixkit_bench.evaluation import SETTINGS

pytestmark = pytest.mark.slow


def test_every_domain_runs_every_method_it_lists() -> None:
    domains = available()
    assert set(domains) == {"image", "tabular", "speech", "graph", "text"}
    assert set(domains["image"]) == set(METHODS) == set(domains["speech"])
    assert "CutMix" not in domains["tabular"] and "CutMix" not in domains["graph"]
    # text: its own TMix and senMixup; no CutMix (no spatial dimensions) nor GenLabel
    assert set(domains["text"]) == set(METHODS) - {"CutMix", "GenLabel"} | {"TMix", "senMixup"}
    assert "MixUp, AutoSwitch" not in domains["tabular"]  # see the tabular domain
    assert {"RegMixup", "MixUp, AutoSwitch"} <= set(domains["graph"])
    assert set(PROFILES) == {"tiny", "quick", "standard", "full"}
    assert list(PROFILES["quick"]) == ["clean"]
    for profile in ("tiny", "standard", "full"):
        assert list(PROFILES[profile]) == list(SETTINGS) == ["clean", "noise", "overtrain"]
    for profile in PROFILES.values():
        for setting, specs in profile.items():
            assert set(specs) == set(domains), setting
            for spec in specs.values():
                assert "ERM" in spec["methods"]
                assert set(spec["methods"]) <= set(METHODS) | {"TMix", "senMixup"}
                assert (spec["options"].get("label_noise", 0.0) > 0) == (setting == "noise")
    standard, quick = PROFILES["standard"], PROFILES["quick"]
    for d in domains:  # more seeds than the quick profile's, in every setting
        assert all(standard[s][d]["seeds"] >= quick["clean"][d]["seeds"] for s in standard)
        assert standard["overtrain"][d]["epochs"] > 2 * standard["clean"][d]["epochs"]


def test_mean_and_confidence_interval() -> None:
    values = [0.8, 0.9, 0.85, 0.88]
    mean, half = mean_ci(values)
    n = len(values)
    sd = math.sqrt(sum((v - sum(values) / n) ** 2 for v in values) / (n - 1))
    assert math.isclose(mean, 0.8575)
    assert math.isclose(half, stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n))
    assert mean_ci([0.5]) == (0.5, 0.0)


def test_paired_difference_is_the_paired_t_test() -> None:
    method = {0: 0.80, 1: 0.90, 2: 0.85, 3: 0.84, 7: 0.5}  # seed 7: no ERM run, left out
    erm = {0: 0.78, 1: 0.85, 2: 0.86, 3: 0.80, 4: 0.9}  # seed 4: no method run
    diff, half, n = paired_difference(method, erm)
    diffs = [0.02, 0.05, -0.01, 0.04]
    assert n == 4 and math.isclose(diff, sum(diffs) / 4)
    low, high = stats.t.interval(0.95, 3, loc=np.mean(diffs), scale=stats.sem(diffs))
    assert math.isclose(diff - half, low) and math.isclose(diff + half, high)
    # the interval excludes 0 exactly when the paired t-test rejects at 5%
    p = stats.ttest_rel([method[s] for s in range(4)], [erm[s] for s in range(4)]).pvalue
    assert (abs(diff) > half) == (p < 0.05)
    one = paired_difference({0: 0.9}, {0: 0.8})
    assert math.isclose(one[0], 0.1) and math.isnan(one[1]) and one[2] == 1
    assert math.isnan(paired_difference({1: 0.9}, {0: 0.8})[0])


def _runs(method: str, accuracy: list[float], ece: list[float]) -> list[dict[str, Any]]:
    return [
        {"setting": "clean", "domain": "a", "method": method, "seed": s, "accuracy": a,
         "nll": 1.0 - a, "ece": e, "brier": 0.5}
        for s, (a, e) in enumerate(zip(accuracy, ece, strict=True))
    ]  # fmt: skip


def test_markdown_marks_the_differences_whose_interval_excludes_zero(tmp_path: Path) -> None:
    results = (
        _runs("ERM", [0.50, 0.60, 0.55, 0.52], [0.10, 0.12, 0.11, 0.10])
        + _runs("MixUp", [0.55, 0.66, 0.59, 0.58], [0.10, 0.14, 0.09, 0.11])  # +5.25 steadily
        + _runs("CutMix", [0.60, 0.50, 0.65, 0.45], [0.10, 0.12, 0.11, 0.10])  # noise
        + [{"setting": "clean", "domain": "b", "method": "ERM", "seed": 0, "accuracy": 0.9,
            "nll": 0.1, "ece": 0.05, "brier": 0.2}]
    )  # fmt: skip
    text = write_markdown(results, tmp_path / "t.md", methods=["ERM", "MixUp", "CutMix"])
    by = statistics(results, "accuracy")
    mix, cut = by[("clean", "a", "MixUp")], by[("clean", "a", "CutMix")]
    assert math.isclose(mix["diff"], 0.0525) and mix["diff_ci"] < 0.0525
    assert math.isclose(cut["diff"], 0.0075) and cut["diff_ci"] > 0.0075
    assert f"| ERM | 54.25 ± {100 * by[('clean', 'a', 'ERM')]['ci']:.2f} | 90.00 ± 0.00 |" in text
    assert f"| MixUp | 59.50 (**+5.25 ± {100 * mix['diff_ci']:.2f}**) | – |" in text
    assert f"| CutMix | 55.00 (+0.75 ± {100 * cut['diff_ci']:.2f}) | – |" in text
    # the summary: accuracy and ECE side by side, the Δ without its interval
    assert "| method | a acc | a ECE | b acc | b ECE |" in text
    assert "| MixUp | 59.50 (**+5.25**) | 11.00 (+0.25) | – | – |" in text
    for title in ("accuracy (%)", "NLL", "ECE (%", "Brier score"):
        assert f"### {title}" in text
    # how many seeds a 1-point interval needs, at domain a's median spread (b has no pairs)
    need = seeds_for(float(np.median([mix["diff_ci"], cut["diff_ci"]])), 4, 0.01)
    assert need > 4
    assert (
        "Seeds a ±1-point accuracy interval would need, at the median spread of the paired "
        f"differences: a {need} (ran 4).\n"
    ) in text


def test_seeds_for_a_target_interval() -> None:
    # the same spread at the same seeds gives the same interval: exactly n seeds
    for n in (2, 3, 5, 10, 40):
        assert seeds_for(1.3, n, 1.3) == n
        assert seeds_for(1.3, n, 1.31) <= n and seeds_for(1.3, n, 1.29) == n + 1
    # halving the interval takes about four times the seeds (more at few seeds: t shrinks)
    assert 4 * 10 - 8 <= seeds_for(1.0, 10, 0.5) <= 4 * 10
    # the smallest k meets the target; k - 1 does not
    k = seeds_for(2.0, 5, 0.7)
    sd = 2.0 * math.sqrt(5) / stats.t.ppf(0.975, 4)
    assert stats.t.ppf(0.975, k - 1) * sd / math.sqrt(k) <= 0.7
    assert stats.t.ppf(0.975, k - 2) * sd / math.sqrt(k - 1) > 0.7
    assert seeds_for(0.0, 5, 0.01) == 2
    assert seeds_for(math.nan, 5, 0.01) == 0 and seeds_for(1.0, 1, 0.5) == 0


def test_classification_metrics_by_hand_and_against_torchmetrics() -> None:
    import torch
    from torchmetrics.functional.classification import multiclass_calibration_error

    probs = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.45, 0.55]], dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 1])  # right, wrong, right, right
    m = classification_metrics(probs.log(), labels)
    assert m["accuracy"] == 0.75
    assert math.isclose(m["nll"], -(math.log(0.9) + math.log(0.2) + math.log(0.6)
                                    + math.log(0.55)) / 4)  # fmt: skip
    # one prediction per bin: ECE = mean |accuracy - confidence|
    assert math.isclose(m["ece"], (0.1 + 0.8 + 0.4 + 0.45) / 4, rel_tol=1e-6)
    brier = (2 * 0.1**2 + 2 * 0.8**2 + 2 * 0.4**2 + 2 * 0.45**2) / 4
    assert math.isclose(m["brier"], brier)
    assert sum(m["bins"]["count"]) == 4 and m["bins"]["count"][13] == 1  # 0.9 in [13/15, 14/15)
    # random predictions: the reported ECE is torchmetrics', and the bins give it back
    g = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(500, 7, generator=g, dtype=torch.float64)
    logits[:50, 0] = 80.0  # confidences of exactly 1: torchmetrics' 16th slot
    y = torch.randint(0, 7, (500,), generator=g)
    m = classification_metrics(torch.log_softmax(logits, 1), y)
    p = torch.softmax(logits, 1)
    reference = float(multiclass_calibration_error(p, y, num_classes=7, n_bins=15, norm="l1"))
    assert math.isclose(m["ece"], reference, rel_tol=1e-9)
    count, conf, correct = (np.array(m["bins"][k]) for k in ("count", "confidence", "correct"))
    assert count.shape == (N_BINS + 1,) and count[N_BINS] == 50
    filled = count > 0
    from_bins = np.sum(np.abs(correct[filled] - conf[filled])) / count.sum()
    assert math.isclose(from_bins, reference, rel_tol=1e-6)


def test_label_noise_flips_the_share_asked_to_other_classes_uniformly() -> None:
    import torch

    y = torch.arange(10_000) % 10
    noisy = flip_labels(y, 0.4, 10, seed=3)
    changed = noisy != y
    assert int(changed.sum()) == 4000 and noisy.dtype == y.dtype
    offsets = ((noisy - y) % 10)[changed]
    counts = torch.bincount(offsets, minlength=10)
    assert counts[0] == 0 and int(counts[1:].min()) > 350  # about 4000 / 9 each
    assert torch.equal(flip_labels(y, 0.4, 10, seed=3), noisy)  # a seed: the same noise
    assert not torch.equal(flip_labels(y, 0.4, 10, seed=4), noisy)
    assert torch.equal(flip_labels(y, 0.0, 10, seed=3), y)
    with pytest.raises(ValueError, match=r"^expected a label-noise share in \[0, 1\], got 1.5$"):
        flip_labels(y, 1.5, 10, seed=0)
    with pytest.raises(ValueError, match=r"^expected at least 2 classes to flip labels between"):
        flip_labels(torch.zeros(4, dtype=torch.long), 0.5, 1, seed=0)


def test_the_noisy_setting_flips_training_labels_and_keeps_the_test_set_clean(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the image domain hands the training loop: 40% of the training and validation
    labels flipped, the test labels those of the data."""
    import torch

    from mixkit_bench._runner import Profile
    from mixkit_bench.domains import image

    seen: dict[str, Any] = {}

    def spy(model: Any, batches: Any, evaluate: Any, recipe: Any, **kwargs: Any) -> Any:
        seen["train"] = torch.cat([labels for _, labels in batches(0)])
        seen["test"] = evaluate(model)[1]
        return {"accuracy": 0.0}

    monkeypatch.setattr(image, "fit", spy)
    options = {"train_size": 500, "test_size": 100, "channels": 4}
    clean = image.run("ERM", 1, Profile("t", 1, 1, options))
    train_clean = seen["train"]
    noisy = image.run("ERM", 1, Profile("t", 1, 1, options | {"label_noise": 0.4}))
    _, ytr, _, yte, _ = image._data(500, 100, None)
    assert clean["label_noise"] == 0.0 and noisy["label_noise"] == 0.4
    assert torch.equal(seen["test"], yte)  # clean test labels
    # the training set is the same images in the same order; 40% of all 500 labels flipped,
    # the 450 training ones among them
    changed = int((seen["train"] != train_clean).sum())
    assert 0.3 * 450 < changed < 0.5 * 450
    assert int((flip_labels(ytr, 0.4, 10, 1) != ytr).sum()) == 200


def test_cli_tiny_profile_end_to_end_and_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIXKIT_DATA", str(tmp_path / "data"))
    out = tmp_path / "bench"
    argv = ["run", "--profile", "tiny", "--settings", "clean", "--methods", "ERM", "MixUp",
            "RegMixup", "k-mixup + Local + off", "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    report = (out / "results.md").read_text()
    assert report.startswith("# mixkit-bench, profile `tiny`, ")
    assert "Command: `mixkit-bench run --profile tiny --settings clean --methods" in report
    assert "| method | image acc | image ECE | tabular acc | tabular ECE | speech acc |" in report
    for method in ("ERM", "MixUp", "RegMixup", "k-mixup + Local + off"):
        assert report.count(f"| {method} |") == 5  # the summary and the four metric tables
    rows = list(csv.DictReader((out / "results.csv").open()))
    seeds = {d: PROFILES["tiny"]["clean"][d]["seeds"] for d in ("image", "tabular", "speech")}
    seeds["graph"] = PROFILES["tiny"]["clean"]["graph"]["seeds"]
    seeds["text"] = PROFILES["tiny"]["clean"]["text"]["seeds"]
    assert len(rows) == 4 * sum(seeds.values())  # methods x (domain, seed)
    for row in rows:
        for metric in ("accuracy", "nll", "ece", "brier"):
            assert math.isfinite(float(row[metric])), (row, metric)
        assert row["setting"] == "clean" and float(row["label_noise"]) == 0.0
    summary = list(csv.DictReader((out / "summary.csv").open()))
    assert len(summary) == 5 * 4 * 4  # domains x methods x metrics
    assert {r["metric"] for r in summary} == {"accuracy", "nll", "ece", "brier"}
    pngs = ["differences-clean.png", "test_loss-clean.png"]
    pngs += [f"reliability-clean-{d}.png" for d in ("image", "tabular", "speech", "graph", "text")]
    for png in pngs:
        assert (out / png).stat().st_size > 1000, png
    cached = sorted(out.glob("cache/*/*/*.json"))
    assert len(cached) == len(rows)
    first = json.loads(cached[0].read_text())
    assert 0.0 <= first["accuracy"] <= 1.0 and len(first["bins"]["count"]) == 16
    # an interrupted run resumes: cached results are read back, not recomputed
    marker = cached[0].read_text().replace(str(first["accuracy"]), "0.123456")
    cached[0].write_text(marker)
    assert main(argv) == 0
    assert "0.123456" in cached[0].read_text()


def test_cli_noise_and_overtraining_settings(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    argv = ["run", "--profile", "tiny", "--domains", "image", "graph", "--settings", "noise",
            "overtrain", "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    report = (out / "results.md").read_text()
    assert "## Setting `noise`: a share of the training" in report
    assert "## Setting `overtrain`: a small training set" in report
    rows = list(csv.DictReader((out / "results.csv").open()))
    methods = {(r["setting"], r["method"]) for r in rows}
    assert ("noise", "CutMix") in methods and ("overtrain", "MixUp, AutoSwitch") in methods
    assert ("noise", "GenLabel") not in methods
    assert {float(r["label_noise"]) for r in rows if r["setting"] == "noise"} == {0.4}
    assert {float(r["label_noise"]) for r in rows if r["setting"] == "overtrain"} == {0.0}
    for png in ("test_loss-overtrain.png", "differences-noise.png", "reliability-noise-image.png"):
        assert (out / png).stat().st_size > 1000, png
    # --label-noise makes any setting noisy, and says so in its name
    argv = ["run", "--profile", "tiny", "--domains", "graph", "--methods", "ERM", "--settings",
            "clean", "--label-noise", "0.2", "--out", str(out / "f"), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    rows = list(csv.DictReader((out / "f" / "results.csv").open()))
    assert {(r["setting"], float(r["label_noise"])) for r in rows} == {("clean-noise0.2", 0.2)}
    assert "## Setting `clean-noise0.2`: the training labels as given; 20% of the training " in (
        (out / "f" / "results.md").read_text()
    )


def test_worker_processes_give_the_serial_results(tmp_path: Path) -> None:
    """--jobs 2 runs the one-thread domains' runs in two processes (after each domain's first
    run, here); every number is the serial run's."""

    def rows(jobs: str) -> list[dict[str, str]]:
        out = tmp_path / f"jobs{jobs}"
        argv = ["run", "--profile", "tiny", "--settings", "clean", "--domains", "tabular",
                "graph", "--methods", "ERM", "MixUp", "--jobs", jobs, "--out", str(out),
                "--no-progress"]  # fmt: skip
        assert main(argv) == 0
        table = list(csv.DictReader((out / "results.csv").open()))
        return [
            {k: v for k, v in r.items() if k not in ("seconds", "train_seconds")} for r in table
        ]

    serial, parallel = rows("1"), rows("2")
    assert len(serial) > 4 and serial == parallel


def test_a_domain_runs_on_its_own_number_of_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``register_domain(..., threads=1)``: the domain's runs see one torch thread, the caller's
    setting is restored afterwards (also when a run fails), and the small-model domains ask
    for one."""
    import torch

    from mixkit_bench import _runner
    from mixkit_bench._runner import Profile, Task, register_domain, run_tasks

    available()
    assert {name: spec[2] for name, spec in _runner._DOMAINS.items()} == {
        "image": None, "speech": None, "tabular": 1, "graph": 1, "text": 1,
    }  # fmt: skip
    monkeypatch.setattr(_runner, "_DOMAINS", {})
    seen: list[int] = []

    def runner(method: str, seed: int, profile: Profile) -> dict[str, Any]:
        seen.append(torch.get_num_threads())
        if method == "boom":
            raise RuntimeError("boom")
        return {"accuracy": 0.5}

    register_domain("one", runner, ["ERM", "boom"], threads=1)
    register_domain("free", runner, ["ERM"])
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        profiles = {("clean", d): Profile("t", 1, 1) for d in ("one", "free")}
        tasks = [Task("one", "ERM", 0), Task("free", "ERM", 0)]
        results = run_tasks(tasks, profiles, tmp_path, progress=False)
        assert seen == [1, 2] and torch.get_num_threads() == 2
        assert [r["accuracy"] for r in results] == [0.5, 0.5]
        with pytest.raises(RuntimeError, match=r"^boom$"):
            run_tasks([Task("one", "boom", 0)], profiles, tmp_path, progress=False)
        assert seen[-1] == 1 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    for bad in (0, True):
        message = f"expected threads >= 1 or None for domain 'bad', got {bad!r}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            register_domain("bad", runner, ["ERM"], threads=bad)


def test_cli_reports_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--domains", "video", "--no-progress"]) == 2
    assert "mixkit-bench: expected domains among ['graph', 'image', 'speech', 'tabular', " \
        "'text'], got 'video'" in capsys.readouterr().err  # fmt: skip
    assert main(["run", "--domains", "tabular", "--methods", "Nope", "--no-progress"]) == 2
    assert "mixkit-bench: expected methods of tabular among ['ERM'," in capsys.readouterr().err
    assert main(["run", "--settings", "noise", "--no-progress"]) == 2
    assert (
        "mixkit-bench: expected settings of profile 'quick' among ['clean'], got ['noise']"
        in capsys.readouterr().err
    )
    assert main(["run", "--label-noise", "1.5", "--no-progress"]) == 2
    assert "mixkit-bench: expected --label-noise in [0, 1), got 1.5" in capsys.readouterr().err
    assert main(["run", "--domains", "tabular", "--jobs", "0", "--no-progress"]) == 2
    assert "mixkit-bench: expected jobs >= 1, got 0" in capsys.readouterr().err


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
    argv = ["run", "--profile", "tiny", "--settings", "clean", "--domains", "image", "speech"]
    argv += ["--methods", "ERM", "MixUp", "--out", str(out), "--no-progress", "--data"]
    argv += [f"image={tmp_path / 'images'}", f"speech={tmp_path / 'audio'}"]
    assert main(argv) == 0
    results = {
        (r["domain"], r["method"]): r
        for r in (json.loads(p.read_text()) for p in out.glob("cache/*/*/*.json"))
    }
    assert set(results) == {(d, m) for d in ("image", "speech") for m in ("ERM", "MixUp")}
    assert all(0.0 <= r["ece"] <= 1.0 for r in results.values())
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
    options = dict(PROFILES["full"]["clean"]["image"]["options"]) | {"batch_size": 16}
    profile = Profile("full-smoke", 1, 1, options, "cpu", str(tmp_path / "images"))
    result = image.run("MixUp", 0, profile)
    assert options["model"] == "preact_resnet18"
    assert result["data"] == "images" and result["train_size"] == 27 - 2
    assert 0.0 <= result["accuracy"] <= 1.0 and len(result["test_loss"]) == 1
    assert math.isclose(result["test_loss"][0], result["nll"]) and result["brier"] >= 0.0


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
