"""The spoken-digit builder (espeak-ng, a handful of clips), batched by the audio collate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import soundfile
import torch

from mixkit_audio import WaveformMixUp, pad_collate
from mixkit_bench.datasets import SpokenDigits
from mixkit_bench.datasets.spoken_digits import ACCENTS, ClipSpec, synthesize

pytestmark = pytest.mark.xdist_group("espeak")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> SpokenDigits:
    return SpokenDigits(tmp_path_factory.mktemp("digits"), size=6, seed=3)


def test_clips_are_16khz_mono_labelled_and_of_various_lengths(built: SpokenDigits) -> None:
    assert len(built) == 6 and built.sample_rate == 16000
    assert built.labels.tolist() == [0, 1, 2, 3, 4, 5]
    lengths = []
    for i in range(6):
        wave, label = built[i]
        assert wave.dtype == torch.float32 and wave.ndim == 2 and wave.shape[0] == 1
        assert label == i
        assert 0.1 < wave.shape[1] / 16000 < 2.0  # a spoken word, trimmed
        assert 0.0 < float(wave.abs().max()) <= 1.0
        lengths.append(wave.shape[1])
        info = soundfile.info(str(built.files[i]))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert len(set(lengths)) > 1
    assert all(spec.accent in ACCENTS for spec in built.specs)


def test_deterministic_per_seed_and_cached(built: SpokenDigits, tmp_path: Path) -> None:
    again = SpokenDigits(tmp_path / "elsewhere", size=6, seed=3)
    assert again.specs == built.specs
    assert again.path.name == built.path.name
    for i in range(6):
        assert torch.equal(again[i][0], built[i][0])
    other = SpokenDigits(tmp_path / "elsewhere", size=6, seed=4)
    assert other.specs != built.specs
    # once built, loading needs no espeak-ng at all
    cached = SpokenDigits(built.root, size=6, seed=3, program="no-such-espeak-ng")
    assert cached.path == built.path and torch.equal(cached[5][0], built[5][0])
    manifest = json.loads((built.path / "manifest.json").read_text())
    assert len(manifest["files"]) == 6
    assert not list(built.root.glob(".building-*"))  # no leftovers


def test_synthesize_varies_with_speed_and_amplitude() -> None:
    slow = synthesize(ClipSpec(7, "en-us", "m1", speed=120, pitch=50, amplitude=100))
    fast = synthesize(ClipSpec(7, "en-us", "m1", speed=260, pitch=50, amplitude=100))
    quiet = synthesize(ClipSpec(7, "en-us", "m1", speed=120, pitch=50, amplitude=50))
    assert slow.shape[0] > fast.shape[0]
    assert float(quiet.square().mean()) < float(slow.square().mean())


def test_pad_collate_gives_the_lengths_the_mixers_take(built: SpokenDigits) -> None:
    loader = torch.utils.data.DataLoader(built, batch_size=3, collate_fn=pad_collate)
    x, lengths, y = next(iter(loader))
    assert x.shape == (3, 1, int(lengths.max())) and y.tolist() == [0, 1, 2]
    for i in range(3):
        assert torch.equal(x[i, :, : lengths[i]], built[i][0])
        assert bool(x[i, :, lengths[i] :].eq(0).all())
    mixed = WaveformMixUp(num_classes=10, policy="max")(x, y, lengths=lengths)
    assert mixed.lengths.shape == (3,) and mixed.inputs.shape == x.shape
    soft = pad_collate([(torch.ones(5), torch.tensor([0.5, 0.5])), (torch.ones(2), torch.ones(2))])
    assert soft[0].shape == (2, 1, 5) and soft[1].tolist() == [5, 2]
    assert soft[2].shape == (2, 2)


def test_repr(built: SpokenDigits) -> None:
    assert repr(built) == (
        f"SpokenDigits(root={str(built.root)!r}, size=6, seed=3, sample_rate=16000)"
    )


@pytest.mark.parametrize(
    ("error", "message", "kwargs"),
    [
        (
            FileNotFoundError,
            "SpokenDigits: expected the espeak-ng program (Debian/Ubuntu package 'espeak-ng': "
            "sudo apt-get install espeak-ng), got no 'no-such-espeak-ng' on PATH",
            {"size": 3, "program": "no-such-espeak-ng"},
        ),
        (ValueError, "SpokenDigits: expected size >= 1, got 0", {"size": 0}),
        (TypeError, "SpokenDigits: expected root to be a path, got 3 (int)", {"root": 3}),
    ],
)
def test_bad_arguments(
    tmp_path: Path, error: type[Exception], message: str, kwargs: dict[str, object]
) -> None:
    arguments: dict[str, object] = {"root": tmp_path, **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        SpokenDigits(**arguments)  # type: ignore[arg-type]
