"""Mixing inside the model (ModuleMix hooks) vs mixing the input before the call, same run.

    python benchmarks/bench_module_mix.py            # a table
    python benchmarks/bench_module_mix.py --json     # one JSON object per line

One training step (forward, mixed loss, backward) of a small ResNet-style CNN on 64x3x32x32:
input mixup (``mixed = mixer(x, y)`` then the model), the same mix made by ``ModuleMix``'s
forward pre-hook at the model's input, and Manifold Mixup at a hidden stage. The ratio of the
hook path to input mixup is the cost of the mechanism (hooks, one site draw per step).
"""

from __future__ import annotations

import argparse
import json

import torch
from _timing import ratio, repeated_medians, report
from torch import Tensor, nn

import mixkit


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU())
        self.layer1 = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU())
        self.layer2 = nn.Sequential(
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.BatchNorm2d(64), nn.ReLU()
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.head(self.layer2(self.layer1(self.stem(x))))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 3, 32, 32, generator=gen), torch.randint(0, 10, (64,), generator=gen)
    models = {name: Net() for name in ("input mixup", "ModuleMix at input", "ModuleMix at layer1")}
    for model in models.values():
        model.load_state_dict(models["input mixup"].state_dict())

    def mixer() -> mixkit.MixUp:
        return mixkit.MixUp(alpha=1.0, num_classes=10, generator=torch.Generator().manual_seed(1))

    plain = mixer()
    at_input = mixkit.ModuleMix(mixer(), models["ModuleMix at input"], at="input")
    at_hidden = mixkit.ModuleMix(mixer(), models["ModuleMix at layer1"], at="layer1")

    def input_mixup() -> None:
        model = models["input mixup"]
        mixed = plain(x, y)
        mixed.loss(model(mixed.inputs)).backward()
        model.zero_grad(set_to_none=True)

    def hooked(mixing: mixkit.ModuleMix, name: str) -> None:
        model = models[name]
        with mixing.step(y) as step:
            logits = model(x)
            step.result(name).loss(logits).backward()
        model.zero_grad(set_to_none=True)

    impls = {
        "input mixup": input_mixup,
        "ModuleMix at input": lambda: hooked(at_input, "ModuleMix at input"),
        "ModuleMix at layer1": lambda: hooked(at_hidden, "ModuleMix at layer1"),
    }
    medians, runs = repeated_medians(impls, rounds=args.rounds, repeats=args.repeats)
    report("64x3x32x32 train step", medians, as_json=args.json)
    for name in ("ModuleMix at input", "ModuleMix at layer1"):
        value = ratio(runs, name, "input mixup")
        if args.json:
            print(json.dumps({"ratio": f"{name} / input mixup", "value": round(value, 4)}))
        else:
            print(f"{name} / input mixup: {value:.4f}x")


if __name__ == "__main__":
    main()
