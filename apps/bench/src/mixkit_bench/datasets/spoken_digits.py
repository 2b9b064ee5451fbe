"""Spoken digits synthesised offline with espeak-ng: a small real speech task, no download.

Each clip is one English digit word ("zero" ... "nine") spoken by espeak-ng with a random
accent (8 English voices), voice variant (the ~80 human-like variants espeak-ng ships), speed,
pitch and amplitude, resampled to 16 kHz mono, trimmed of leading and trailing silence, and
cached on disk as 16-bit WAV files read back with ``soundfile`` (no torchcodec / ffmpeg).
Everything is a function of the seed: the same seed gives the same clips (with the same
espeak-ng build).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile  # type: ignore[import-untyped]
import torch
import torchaudio  # type: ignore[import-untyped]
from torch import Tensor
from torch.utils.data import Dataset

from mixkit.validation import check_int, describe, fail

__all__ = ["ACCENTS", "ClipSpec", "SpokenDigits", "synthesize"]

DIGITS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
)  # fmt: skip
ACCENTS: tuple[str, ...] = (
    "en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
    "en-029", "en-us-nyc",
)  # fmt: skip
# espeak-ng's human-sounding variants (robotic, whispered and demonic ones left out)
VARIANTS: tuple[str, ...] = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "klatt5", "klatt6", "Alex", "Alicia", "Andrea",
    "Andy", "Annie", "AnxiousAndy", "Denis", "Diogo", "Gene", "Gene2", "Henrique", "Hugo",
    "Jacky", "Lee", "Marco", "Mario", "Michael", "Mike", "Nguyen", "adam", "anika",
    "announcer", "antonio", "aunty", "belinda", "benjamin", "boris", "caleb", "david", "ed",
    "edward", "edward2", "grandma", "grandpa", "gustave", "iven", "iven2", "iven3", "iven4",
    "john", "kaukovalta", "linda", "marcelo", "max", "michel", "miguel", "norbert", "pablo",
    "paul", "pedro", "quincy", "rob", "robert", "sandro", "shelby", "steph", "steph2",
    "steph3", "travis", "victor", "zac",
)  # fmt: skip
SPEED = (120, 260)  # words per minute (espeak-ng -s; its default is 175)
PITCH = (15, 85)  # espeak-ng -p, 0..99 (default 50)
AMPLITUDE = (40, 180)  # espeak-ng -a, 0..200 (default 100)
_FORMAT = 1  # bump when the synthesis recipe changes: it is part of the cache key
_MISSING = (
    "{owner}: expected the espeak-ng program (Debian/Ubuntu package 'espeak-ng': "
    "sudo apt-get install espeak-ng), got no {program!r} on PATH"
)


@dataclass(frozen=True)
class ClipSpec:
    """How one clip is synthesised (espeak-ng settings)."""

    digit: int
    accent: str
    variant: str
    speed: int
    pitch: int
    amplitude: int

    @property
    def voice(self) -> str:
        return f"{self.accent}+{self.variant}"


def _draw_specs(size: int, seed: int, variants: Sequence[str]) -> list[ClipSpec]:
    rng = np.random.default_rng(seed)  # a local generator: the data set is a function of seed
    specs = []
    for i in range(size):
        specs.append(
            ClipSpec(
                digit=i % 10,
                accent=ACCENTS[int(rng.integers(len(ACCENTS)))],
                variant=variants[int(rng.integers(len(variants)))],
                speed=int(rng.integers(SPEED[0], SPEED[1] + 1)),
                pitch=int(rng.integers(PITCH[0], PITCH[1] + 1)),
                amplitude=int(rng.integers(AMPLITUDE[0], AMPLITUDE[1] + 1)),
            )
        )
    return specs


def _available_variants(program: str) -> list[str]:
    listing = subprocess.run(
        [program, "--voices=variant"], capture_output=True, text=True, check=True
    ).stdout
    have = set(re.findall(r"!v/(\S+)", listing))
    return [v for v in VARIANTS if v in have]


def _trim(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """Cut leading / trailing near-silence (below 1% of the peak), keeping short margins."""
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    if peak == 0.0:
        return wave
    loud = np.flatnonzero(np.abs(wave) >= 0.01 * peak)
    start = max(int(loud[0]) - sample_rate // 100, 0)  # 10 ms before
    stop = min(int(loud[-1]) + sample_rate // 20, wave.size)  # 50 ms after
    return wave[start:stop]


def synthesize(spec: ClipSpec, *, sample_rate: int = 16000, program: str = "espeak-ng") -> Tensor:
    """One clip as a ``(T,)`` float32 tensor at ``sample_rate`` (trimmed, mono)."""
    result = subprocess.run(
        [
            program,
            "-v", spec.voice,
            "-s", str(spec.speed),
            "-p", str(spec.pitch),
            "-a", str(spec.amplitude),
            "--stdout",
            DIGITS[spec.digit],
        ],
        capture_output=True,
        check=False,
    )  # fmt: skip
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(
            f"espeak-ng failed for {spec} (exit {result.returncode}): "
            f"{result.stderr.decode(errors='replace').strip()}"
        )
    data, rate = soundfile.read(io.BytesIO(result.stdout), dtype="float32")
    wave = torch.from_numpy(np.ascontiguousarray(data.reshape(data.shape[0], -1).mean(axis=1)))
    if rate != sample_rate:
        wave = torchaudio.functional.resample(wave, rate, sample_rate)
    return torch.from_numpy(_trim(wave.numpy(), sample_rate).copy())


class SpokenDigits(Dataset[tuple[Tensor, int]]):
    """Spoken digits synthesised with espeak-ng, built once and cached under ``root``.

    ``dataset[i]`` is ``(waveform, label)``: a ``(1, T)`` float32 clip and its digit, labels
    balanced; batch them with :func:`mixkit_audio.pad_collate`, which also returns the lengths
    the audio mixers take. Speech data without a download: the clips are a function of the
    settings and the seed (another seed makes a test set). See the speech guide of the documentation
    (docs/guides/speech.md).

    Args:
        root: cache folder (default ``data/spoken_digits``, git-ignored in this repository).
        size: number of clips (default 2000).
        seed: what the clips are a function of.
        sample_rate: output rate in Hz (default 16000).
        program: the espeak-ng executable.
        workers: synthesis processes run at once (default: up to 4).

    Raises:
        FileNotFoundError: the clips are not cached and espeak-ng is not installed (the message
            names the Debian package).
        ValueError / TypeError: bad arguments.

    Example::

        from mixkit_audio import pad_collate

        train = SpokenDigits("data/spoken_digits", size=2000, seed=0)
        loader = torch.utils.data.DataLoader(
            train, batch_size=32, shuffle=True, collate_fn=pad_collate
        )
        for x, lengths, y in loader:  # (32, 1, T_max), (32,), (32,)
            mixed = mixer(x, y, lengths=lengths)
    """

    def __init__(
        self,
        root: str | os.PathLike[str] = "data/spoken_digits",
        *,
        size: int = 2000,
        seed: int = 0,
        sample_rate: int = 16000,
        program: str = "espeak-ng",
        workers: int | None = None,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(root, str | os.PathLike):
            fail(owner, "root to be a path", describe(root), type_error=True)
        self.size = check_int(owner, "size", size, low=1)
        self.seed = check_int(owner, "seed", seed, low=0)
        self.sample_rate = check_int(owner, "sample_rate", sample_rate, low=1000)
        self.root = Path(root)
        threads = min(4, os.cpu_count() or 1) if workers is None else workers
        threads = check_int(owner, "workers", threads, low=1)
        self.path = self._find_or_build(program, threads)
        manifest = json.loads((self.path / "manifest.json").read_text())
        self.specs = [ClipSpec(**s) for s in manifest["clips"]]
        self.files = [self.path / f for f in manifest["files"]]
        self.labels = torch.tensor([s.digit for s in self.specs], dtype=torch.int64)

    def _key(self, variants: Sequence[str]) -> str:
        settings = {
            "format": _FORMAT,
            "size": self.size,
            "seed": self.seed,
            "sample_rate": self.sample_rate,
            "accents": ACCENTS,
            "variants": list(variants),
            "ranges": [SPEED, PITCH, AMPLITUDE],
        }
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
        return f"n{self.size}-seed{self.seed}-{self.sample_rate}hz-{digest[:10]}"

    def _find_or_build(self, program: str, workers: int) -> Path:
        pattern = f"n{self.size}-seed{self.seed}-{self.sample_rate}hz-*"
        cached = sorted(p for p in self.root.glob(pattern) if (p / "manifest.json").exists())
        if shutil.which(program) is None:
            if cached:  # built earlier (maybe elsewhere): espeak-ng is only needed to build
                return cached[0]
            raise FileNotFoundError(_MISSING.format(owner=type(self).__name__, program=program))
        variants = _available_variants(program)
        target = self.root / self._key(variants)
        if (target / "manifest.json").exists():
            return target
        specs = _draw_specs(self.size, self.seed, variants)
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".building-", dir=self.root))
        try:
            files = [f"{i:05d}_{s.digit}.wav" for i, s in enumerate(specs)]

            def build(i: int) -> None:
                wave = synthesize(specs[i], sample_rate=self.sample_rate, program=program)
                soundfile.write(staging / files[i], wave.numpy(), self.sample_rate, "PCM_16")

            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(build, range(len(specs))))
            manifest = {"clips": [asdict(s) for s in specs], "files": files}
            (staging / "manifest.json").write_text(json.dumps(manifest))
            try:
                staging.rename(target)
            except OSError:  # built concurrently by another process: theirs is the same
                if not (target / "manifest.json").exists():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        data, _ = soundfile.read(self.files[i], dtype="float32")
        return torch.from_numpy(data).unsqueeze(0), int(self.labels[i])

    def __repr__(self) -> str:
        return (
            f"SpokenDigits(root={str(self.root)!r}, size={self.size}, seed={self.seed}, "
            f"sample_rate={self.sample_rate})"
        )
