"""Speech: spoken digits synthesised offline (mixkit-audio), a CNN on their log-mels.

Clips come from ``mixkit_bench.datasets.SpokenDigits`` (espeak-ng; cached under ``$MIXKIT_DATA``),
padded with silence to one common length, turned into log-mel spectrograms once, and mixed
with ``mixkit_audio.SpectrogramMixUp(domain="db")``: the mixers add *powers*, so a mixed
spectrogram is the spectrogram of the summed sounds (lerping decibels is not; see the audio
integration's docs). Every method adds its strategy to that mixer; CutMix cuts time-frequency
boxes.

``--data speech=PATH`` reads a local dataset in the ``audiofolder`` layout instead
(``PATH/train/<label>/*.wav`` and ``PATH/test/<label>/*.wav``, any format ``soundfile`` reads;
resampled to 16 kHz, first channel, padded or cut to one second): the Free Spoken Digit
Dataset or a Speech Commands subset exported that way, say.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf  # type: ignore[import-untyped]
import torch
import torchaudio  # type: ignore[import-untyped]
from torch import Tensor, nn

import mixkit_audio as ma
from mixkit_bench._methods import METHODS, Context, build, distance_quantile
from mixkit_bench._metrics import flip_labels
from mixkit_bench._models import SmallCNN
from mixkit_bench._runner import Profile, register_domain
from mixkit_bench._train import fit
from mixkit_bench.datasets import SpokenDigits
from mixkit_bench.domains.image import evaluate_fn, loss_fn

__all__ = ["run"]

METHODS_HERE = tuple(METHODS)
SAMPLES = 16000  # one second at 16 kHz: every clip padded (or cut) to it


def _log_mel(clips: list[Tensor]) -> Tensor:
    wave = torch.zeros(len(clips), 1, SAMPLES)
    for i, c in enumerate(clips):
        n = min(SAMPLES, c.shape[-1])
        wave[i, :, :n] = c[:1, :n]
    mel = torchaudio.transforms.MelSpectrogram(16000, n_fft=400, hop_length=160, n_mels=32)
    with torch.no_grad():
        db: Tensor = torchaudio.transforms.AmplitudeToDB(top_db=80.0)(mel(wave))
    return db  # (N, 1, 32, 101)


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def load_audio_folder(path: Path) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Log-mels and labels of ``path/{train,test}/<label>/<clip>`` (labels: sorted folder names)."""
    splits = [Path(path) / "train", Path(path) / "test"]
    missing = [str(p) for p in splits if not p.is_dir()]
    if missing:
        raise FileNotFoundError(
            f"--data speech=PATH expects PATH/train/<label>/ and PATH/test/<label>/ folders of "
            f"audio clips; missing {missing}"
        )
    labels = sorted({d.name for p in splits for d in p.iterdir() if d.is_dir()})
    out: list[Tensor] = []
    for split in splits:
        clips, targets = [], []
        for i, label in enumerate(labels):
            files = sorted(f for f in (split / label).glob("*") if f.suffix in AUDIO_SUFFIXES)
            for f in files:
                wave, rate = sf.read(f, dtype="float32", always_2d=True)  # (T, channels)
                clip = torch.from_numpy(np.ascontiguousarray(wave[:, 0]))[None]
                if rate != 16000:
                    clip = torchaudio.functional.resample(clip, rate, 16000)
                clips.append(clip)
                targets.append(i)
        if not clips:
            raise FileNotFoundError(f"no audio clips ({', '.join(AUDIO_SUFFIXES)}) under {split}")
        out += [_log_mel(clips), torch.tensor(targets)]
    return out[0], out[1], out[2], out[3]


@lru_cache(maxsize=2)
def _data(clips: int, path: str | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    if path is not None:
        return load_audio_folder(Path(path))
    root = Path(os.environ.get("MIXKIT_DATA", "data")) / "spoken_digits"
    train = SpokenDigits(root, size=clips, seed=0)
    test = SpokenDigits(root, size=max(100, clips // 2), seed=1)
    out = []
    for ds in (train, test):
        items = [ds[i] for i in range(len(ds))]
        out += [_log_mel([w for w, _ in items]), torch.tensor([lab for _, lab in items])]
    return out[0], out[1], out[2], out[3]


def mean_over_time(x: Tensor) -> Tensor:
    """GenLabel's view of a log-mel: the mean over time of each mel band (32-d)."""
    return x.mean(dim=-1).flatten(1)


def run(method: str, seed: int, profile: Profile) -> dict[str, Any]:
    xtr, ytr, xte, yte = _data(int(profile.options.get("clips", 800)), profile.data)
    device = torch.device(profile.device)
    num_classes = int(max(ytr.max(), yte.max())) + 1
    noise = float(profile.options.get("label_noise", 0.0))
    ytr = flip_labels(ytr, noise, num_classes, seed)  # training and validation; test stays clean
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(xtr), generator=g)
    n_val = max(1, len(xtr) // 10)
    xv, yv = xtr[order[:n_val]].to(device), ytr[order[:n_val]].to(device)
    xt, yt = xtr[order[n_val:]].to(device), ytr[order[n_val:]].to(device)
    xte, yte = xte.to(device), yte.to(device)
    mu, sd = xt.mean(), xt.std()  # standardise with training statistics, inside the model
    torch.manual_seed(seed)
    model: nn.Module = nn.Sequential(
        _Standardise(mu, sd),
        SmallCNN(
            1,
            num_classes,
            xt.shape[2],
            xt.shape[3],
            channels=int(profile.options.get("channels", 16)),
        ),
    ).to(device)
    ctx = Context(
        num_classes=num_classes,
        epochs=profile.epochs,
        seed=seed,
        alpha=0.4,
        local={"eps": distance_quantile(xt, 0.5)},
        fit_x=xt.cpu(),
        fit_y=yt.cpu(),
        genlabel_features=mean_over_time,
        base=ma.SpectrogramMixUp,
        base_kwargs={"domain": "db"},
    )
    recipe = build(method, ctx)

    def batches(epoch: int) -> Any:
        perm = torch.randperm(len(xt), generator=g).to(device)
        for i in range(0, len(xt), 64):
            idx = perm[i : i + 64]
            yield xt[idx], yt[idx]

    result = fit(
        model, batches, evaluate_fn(xte, yte), recipe, epochs=profile.epochs, lr=1e-3,
        validate=loss_fn(xv, yv),
    )  # fmt: skip
    name = Path(profile.data).name if profile.data else "spoken digits (espeak-ng)"
    return result | {"data": name, "train_size": len(xt), "label_noise": noise}


class _Standardise(nn.Module):
    mean: Tensor
    std: Tensor

    def __init__(self, mean: Tensor, std: Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean.clone())
        self.register_buffer("std", std.clone())

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


register_domain("speech", run, METHODS_HERE)
