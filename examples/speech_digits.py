"""Speech: a small CNN on log-mel spectrograms of spoken digits, with and without mixing.

Spoken digits are synthesised offline with espeak-ng (``mixkit_bench.datasets.SpokenDigits``:
8 English accents, ~80 voice variants, random speed / pitch / amplitude, cached under
``--root``); the clips have different lengths, so every batch is padded and carries its
lengths. Four ways to train the same model, each for the same number of epochs:

* ERM: no mixing;
* waveform MixUp: ``mixkit_audio.WaveformMixUp`` (amplitude lerp, lengths-aware);
* loudness-aware MixUp: ``mixkit_audio.LoudnessMixUp`` (partner at a sampled SNR, labels by
  energy share);
* k-mixup: waveform MixUp whose partners are matched by optimal transport
  (``mixkit.OTPairing``) on the clips' mean log-mel (``features=``), a seed method.

Mixing happens on the waveforms, then ``mixkit_audio.AudioPipeline`` computes the log-mels of
the mix and the frame mask the model pools with. Prints the test accuracy of each method and
saves a plot of test accuracy by epoch.

    python examples/speech_digits.py            # the full run (a few minutes on 2 cores)
    python examples/speech_digits.py --quick    # a smoke run (seconds, a few dozen clips)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torchaudio
from torch import Tensor, nn

import mixkit
import mixkit_audio as ma
from mixkit_bench.datasets import SpokenDigits

METHODS = ("ERM", "waveform MixUp", "loudness MixUp", "k-mixup")


def log_mel() -> nn.Module:
    return nn.Sequential(
        torchaudio.transforms.MelSpectrogram(16000, n_fft=400, hop_length=160, n_mels=32),
        torchaudio.transforms.AmplitudeToDB(top_db=80.0),
    )


class SmallCNN(nn.Module):
    """Three conv blocks over (mel, time), then a mean over the VALID frames only."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(1)
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Linear(64, num_classes)

    def forward(self, feats: Tensor, mask: Tensor) -> Tensor:
        h = self.body(self.norm(feats)).mean(dim=2)  # (B, 64, frames / 4)
        keep = mask.float().unsqueeze(1)  # (B, 1, frames): pool the mask like the time axis
        keep = nn.functional.max_pool1d(nn.functional.max_pool1d(keep, 2), 2)[..., : h.shape[-1]]
        pooled = (h * keep).sum(dim=-1) / keep.sum(dim=-1).clamp_min(1.0)
        return self.head(pooled)  # (B, 10)


def mean_log_mel(feats: Tensor, mask: Tensor) -> Tensor:
    """``(B, n_mels)`` mean log-mel over valid frames: what k-mixup matches clips on."""
    keep = mask.float().unsqueeze(1)  # (B, 1, frames)
    return (feats[:, 0] * keep).sum(dim=-1) / keep.sum(dim=-1).clamp_min(1.0)


def make_mixer(
    method: str, args: argparse.Namespace, generator: torch.Generator
) -> mixkit.Mixer | None:
    common = {"num_classes": 10, "policy": args.policy, "generator": generator}
    if method == "ERM":
        return None
    if method == "waveform MixUp":
        return ma.WaveformMixUp(alpha=args.alpha, **common)
    if method == "loudness MixUp":
        return ma.LoudnessMixUp(snr=(args.snr_low, args.snr_high), **common)
    return ma.WaveformMixUp(alpha=args.alpha, pairing=mixkit.OTPairing(k=args.k), **common)


@torch.no_grad()
def accuracy(model: nn.Module, features: nn.Module, loader: torch.utils.data.DataLoader) -> float:
    model.eval()
    correct = total = 0
    for x, lengths, y in loader:
        feats = features(x)
        mask = ma.functional.lengths_to_mask(
            ma.transform_lengths(features, lengths), feats.shape[-1]
        )
        correct += int((model(feats, mask).argmax(dim=1) == y).sum())
        total += len(y)
    return correct / total


def train(
    method: str,
    train_set: SpokenDigits,
    test_loader: torch.utils.data.DataLoader,
    args: argparse.Namespace,
) -> list[float]:
    """Train one model; returns the test accuracy after each epoch."""
    epochs = args.epochs
    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    features = log_mel()
    model = SmallCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-3)
    mixer = make_mixer(method, args, g)
    pipe = None if mixer is None else ma.AudioPipeline(mixer, features)
    loader = torch.utils.data.DataLoader(
        train_set, batch_size=args.batch_size, shuffle=True, collate_fn=ma.pad_collate, generator=g
    )
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=3e-3, total_steps=epochs * len(loader), pct_start=0.2
    )
    curve = []
    for epoch in range(epochs):
        model.train()
        for x, lengths, y in loader:
            if pipe is None:
                feats = features(x)
                frames = ma.transform_lengths(features, lengths)
                mask = ma.functional.lengths_to_mask(frames, feats.shape[-1])
                loss = nn.functional.cross_entropy(model(feats, mask), y)
            else:
                pipe.mixer.set_epoch(epoch)
                extra = None
                if method == "k-mixup":  # match clips on their mean log-mel, not raw samples
                    clean = features(x)
                    frames = ma.transform_lengths(features, lengths)
                    extra = mean_log_mel(
                        clean, ma.functional.lengths_to_mask(frames, clean.shape[-1])
                    )
                mixed = pipe(x, y, lengths=lengths, features=extra)
                loss = mixed.loss(model(mixed.inputs, mixed.mask))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        curve.append(accuracy(model, features, test_loader))
    return curve


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("data/spoken_digits"))
    parser.add_argument("--train-size", type=int, default=500)
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--policy", choices=ma.functional.POLICIES, default="max")
    parser.add_argument("--alpha", type=float, default=0.4, help="waveform MixUp and k-mixup")
    parser.add_argument("--snr-low", type=float, default=5.0, help="loudness MixUp, dB")
    parser.add_argument("--snr-high", type=float, default=25.0, help="loudness MixUp, dB")
    parser.add_argument("--k", type=int, default=8, help="k-mixup chunk size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("outputs/speech_digits.png"))
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    args = parser.parse_args(argv)
    if args.quick:
        args.train_size, args.test_size, args.epochs = 40, 20, 1
    torch.set_num_threads(max(1, args.threads))

    start = time.perf_counter()
    train_set = SpokenDigits(args.root, size=args.train_size, seed=0)
    test_set = SpokenDigits(args.root, size=args.test_size, seed=1)  # other clips, same recipe
    print(
        f"spoken digits (espeak-ng, 16 kHz): {len(train_set)} training clips, {len(test_set)} "
        f"test clips, {args.epochs} epochs (data ready in {time.perf_counter() - start:.0f} s)"
    )
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=200, collate_fn=ma.pad_collate)
    curves: dict[str, list[float]] = {}
    for method in args.methods:
        start = time.perf_counter()
        curves[method] = train(method, train_set, test_loader, args)
        print(
            f"  {method:15s} test accuracy {curves[method][-1]:.4f} "
            f"(best {max(curves[method]):.4f}) in {time.perf_counter() - start:.0f} s"
        )
    save_plot(curves, args.out)
    print(f"plot: {args.out}")
    return curves


def save_plot(curves: dict[str, list[float]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, curve in curves.items():
        ax.plot(range(1, len(curve) + 1), curve, marker="o", label=method)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_title("spoken digits: small CNN on log-mel")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
