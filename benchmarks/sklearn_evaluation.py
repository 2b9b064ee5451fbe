"""Tabular evaluation of mixkit-sklearn: 5-fold CV accuracy, and the GenLabel paper's toys.

Table 1: scikit-learn's bundled iris, wine, breast_cancer and digits; stratified 5-fold CV
accuracy (mean and std over the folds) of LogisticRegression (wrapped in MixUpClassifier) and of
the torch MLP (MLPMixUpClassifier), each after a StandardScaler, trained with ERM, MixUp and each
seed method installed in mixkit (Local Mixup, k-mixup, GenLabel, MixupE). Hyperparameters are
fixed, not tuned (listed in the output).

Table 2: the GenLabel paper's toys (Sohn et al., ICML 2022): the 2-D cube (2 classes, 20 points
each), the 3-D cube (8 classes, 20 each) and moons with Laplace noise (1000 points), MLP test
accuracy (mean and std over seeds) with ERM, MixUp and MixUp + GenLabel.

    python benchmarks/sklearn_evaluation.py            # writes benchmarks/sklearn_evaluation.md
    python benchmarks/sklearn_evaluation.py --quick --out /tmp/x.md    # a smoke run
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import torch
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

import mixkit
from mixkit_sklearn import MixUpClassifier, MLPMixUpClassifier

HERE = Path(__file__).resolve().parent
ALPHA = 0.4  # every mixing method, both tables' first one (the toys use the authors' 1.0)
DATASETS: dict[str, Callable[..., Any]] = {
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "digits": load_digits,
}


@dataclass(frozen=True)
class Method:
    """A mixing method: a mixer for the meta-estimator (None: not applicable) and the MLP."""

    name: str
    meta: Callable[[int], nn.Module | None]
    mlp: Callable[[int], nn.Module]
    setting: str


def methods(alpha: float) -> tuple[list[Method], list[str]]:
    """ERM, MixUp and every seed method this mixkit has; the names of the missing ones."""

    def mixup() -> mixkit.MixUp:
        return mixkit.MixUp(alpha=alpha, mode="elem")

    found = [
        Method("ERM", lambda d: None, lambda d: mixkit.MixUp(enabled=False), "no mixing"),
        Method("MixUp", lambda d: mixup(), lambda d: mixup(), f"alpha={alpha}, one lam per row"),
    ]
    missing = []
    if hasattr(mixkit, "LocalMixUp"):

        def local(d: int) -> nn.Module:
            # w = exp(-sigma * ||x_i - x_j||) with sigma = 1 / sqrt(2 d): the typical distance
            # of two standardised rows is sqrt(2 d), so a typical pair gets w = exp(-1)
            return mixkit.LocalMixUp(sigma=1.0 / np.sqrt(2 * d), alpha=alpha, mode="elem")

        found.append(Method("Local", local, local, "sigma = 1/sqrt(2 d) (w = exp(-sigma d_ij))"))
    else:
        missing.append("Local Mixup (mixkit.LocalMixUp)")
    if hasattr(mixkit, "KMixUp"):

        def kmix(d: int) -> nn.Module:
            return mixkit.KMixUp(k=16, alpha=alpha)

        found.append(Method("k-mixup", kmix, kmix, "k=16, exact OT, Euclidean cost"))
    else:
        missing.append("k-mixup (mixkit.KMixUp)")
    if hasattr(mixkit, "GenLabel"):

        def genlabel(d: int) -> nn.Module:
            return mixkit.MixUp(alpha=alpha, mode="elem", relabel=mixkit.GenLabel(gamma=0.5))

        found.append(
            Method("GenLabel", genlabel, genlabel, "Gaussian densities fitted on X, gamma=0.5")
        )
    else:
        missing.append("GenLabel (mixkit.GenLabel)")
    if hasattr(mixkit, "MixUpE"):
        found.append(
            Method(
                "MixupE",
                lambda d: None,  # the extra term needs a model's gradient: MLP only
                lambda d: mixkit.MixUpE(alpha=alpha, mode="elem", eta=1e-3, tau=1.0, version=3),
                "version 3, eta=1e-3, tau=1.0 (MLP only: needs the model's gradient)",
            )
        )
    else:
        missing.append("MixupE (mixkit.MixUpE)")
    return found, missing


def mlp(mixer: nn.Module, epochs: int, seed: int, hidden: tuple[int, ...] = (128,)) -> Any:
    # fixed epochs (no early stop): every method gets the same budget
    return MLPMixUpClassifier(
        hidden,
        mixer=mixer,
        batch_size=32,
        learning_rate_init=1e-3,
        weight_decay=1e-4,
        max_iter=epochs,
        n_iter_no_change=epochs,
        random_state=seed,
    )


def cv_table(args: argparse.Namespace, found: list[Method]) -> list[str]:
    names = list(DATASETS)[:1] if args.quick else list(DATASETS)
    cv = StratifiedKFold(args.folds, shuffle=True, random_state=0)
    header = "| dataset (n, d, classes) | model | " + " | ".join(m.name for m in found) + " |"
    lines = [header, "|" + "---|" * (2 + len(found))]
    for dataset in names:
        X, y = DATASETS[dataset](return_X_y=True)
        d = X.shape[1]
        shape = f"{dataset} ({X.shape[0]}, {d}, {len(np.unique(y))})"
        for model in ("LogisticRegression", "MLP (128)"):
            cells = []
            for method in found:
                start = time.perf_counter()
                if model == "LogisticRegression":
                    mixer = method.meta(d)
                    lr = LogisticRegression(max_iter=5000)
                    if method.name == "ERM":
                        est: Any = lr
                    elif mixer is None:
                        cells.append("n/a")
                        continue
                    else:
                        est = MixUpClassifier(lr, mixer=mixer, random_state=0)
                else:
                    est = mlp(method.mlp(d), args.epochs, seed=0)
                scores = cross_val_score(make_pipeline(StandardScaler(), est), X, y, cv=cv)
                cells.append(f"{scores.mean():.4f} ± {scores.std():.4f}")
                print(
                    f"{dataset:14s} {model:18s} {method.name:9s} {cells[-1]}  "
                    f"({time.perf_counter() - start:.1f} s)",
                    flush=True,
                )
            lines.append(f"| {shape} | {model} | " + " | ".join(cells) + " |")
    return lines


def cube(points: int, dims: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The GenLabel cubes: class c uniform in the unit cube around a vertex of [-1, 1]^dims.

    2-D: two classes at (-1, 0) and (1, 0) (the authors' 2dcube); 3-D: eight classes at the
    vertices (+-1, +-1, +-1) (their 3dcube). Uniform noise in [-1, 1] per coordinate.
    """
    if dims == 2:
        centres = np.array([[-1.0, 0.0], [1.0, 0.0]])
    else:
        centres = np.array([[a, b, c] for a in (1, -1) for b in (1, -1) for c in (1, -1)], float)
    X = np.concatenate([rng.uniform(-1, 1, (points, dims)) + c for c in centres])
    return X, np.repeat(np.arange(len(centres)), points)


def moons(points: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The GenLabel moons: make_moons plus Laplace noise of scale 0.1 (the authors' Syn_model)."""
    X, y = make_moons(points, random_state=int(rng.integers(2**31)))
    return X + rng.laplace(scale=0.1, size=X.shape), y


def toy_table(args: argparse.Namespace) -> list[str]:
    seeds = range(2 if args.quick else args.seeds)
    toys: dict[str, dict[str, Any]] = {
        "2-D cube (2 classes, 20 per class)": {
            "data": lambda r, n: cube(n, 2, r),
            "train": 20,
            "test": 2000,
            "hidden": (64, 128),
            "density": {"density": "gaussian"},
        },
        "3-D cube (8 classes, 20 per class)": {
            "data": lambda r, n: cube(n, 3, r),
            "train": 20,
            "test": 2000,
            "hidden": (64, 128),
            "density": {"density": "gaussian"},
        },
        "moons + Laplace(0.1) noise (1000 points)": {
            "data": lambda r, n: moons(n, r),
            "train": 1000,
            "test": 1000,
            "hidden": (64, 128, 128, 128),
            "density": {"density": "kde", "bandwidth": 0.2},
        },
    }
    names = ["ERM", "MixUp"] + (["MixUp + GenLabel"] if hasattr(mixkit, "GenLabel") else [])
    lines = ["| toy | " + " | ".join(names) + " |", "|" + "---|" * (1 + len(names))]
    for toy, spec in list(toys.items())[: 1 if args.quick else None]:
        results: dict[str, list[float]] = {n: [] for n in names}
        for seed in seeds:
            rng = np.random.default_rng(seed)
            X_train, y_train = spec["data"](rng, spec["train"])
            X_test, y_test = spec["data"](rng, spec["test"])
            mixers = {
                "ERM": mixkit.MixUp(enabled=False),
                "MixUp": mixkit.MixUp(alpha=1.0, mode="elem"),
            }
            if "MixUp + GenLabel" in names:  # the toys' variant: top-2 classes, gamma = 1
                relabel = mixkit.GenLabel(gamma=1.0, top2=True, **spec["density"])
                mixers["MixUp + GenLabel"] = mixkit.MixUp(alpha=1.0, mode="elem", relabel=relabel)
            for name, mixer in mixers.items():
                est = MLPMixUpClassifier(
                    spec["hidden"],
                    mixer=mixer,
                    batch_size=16 if spec["train"] < 100 else 128,
                    learning_rate_init=1e-2,
                    max_iter=args.toy_epochs,
                    n_iter_no_change=args.toy_epochs,
                    random_state=seed,
                ).fit(X_train, y_train)
                results[name].append(est.score(X_test, y_test))
        cells = [f"{np.mean(v):.4f} ± {np.std(v):.4f}" for v in results.values()]
        print(f"{toy}: " + ", ".join(f"{n} {c}" for n, c in zip(names, cells, strict=True)))
        lines.append(f"| {toy} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 dataset, 2 folds")
    parser.add_argument("--out", type=Path, default=HERE / "sklearn_evaluation.md")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=100, help="MLP epochs (table 1)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per toy (table 2)")
    parser.add_argument("--toy-epochs", type=int, default=100)
    args = parser.parse_args()
    if args.quick:
        args.folds, args.epochs, args.toy_epochs = 2, 3, 3
    torch.set_num_threads(1)  # tiny models: threads only add synchronisation
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    start = time.perf_counter()
    found, missing = methods(ALPHA)
    table1 = cv_table(args, found)
    table2 = toy_table(args)
    command = "python " + " ".join(["benchmarks/sklearn_evaluation.py", *sys.argv[1:]])
    text = [
        "# mixkit-sklearn: tabular evaluation",
        "",
        f"Command: `{command}` ({time.perf_counter() - start:.0f} s, "
        f"{platform.machine()}, 1 torch thread; torch {torch.__version__}, scikit-learn "
        f"{sklearn.__version__}).",
        "",
        f"## 1. {args.folds}-fold CV accuracy (mean ± std over folds)",
        "",
        "StandardScaler, then LogisticRegression(max_iter=5000) — ERM alone, mixing methods "
        "inside `MixUpClassifier` (defaults: one mixed copy on top of the originals, 256 rows "
        "per mixer call) — or `MLPMixUpClassifier((128,))` (AdamW lr 1e-3, weight decay 1e-4, "
        f"batch 32, {args.epochs} epochs, no early stopping). Stratified folds (shuffled, "
        "seed 0); no hyperparameter tuned. Methods:",
        "",
        *[f"- **{m.name}**: {m.setting}" for m in found],
        *([f"- not in this mixkit, so not run: {', '.join(missing)}"] if missing else []),
        "",
        *table1,
        "",
        "## 2. The GenLabel paper's toys: MLP test accuracy (mean ± std over seeds)",
        "",
        f"{2 if args.quick else args.seeds} seeds (fresh data each); test sets of 2000 per "
        "class (cubes) or 1000 points (moons). The authors' nets (2-64-128-C for the cubes, "
        f"64-128-128-128 for moons) trained with AdamW lr 1e-2 for {args.toy_epochs} epochs "
        "(batch 16 on the cubes, 128 on moons); alpha = 1 as theirs. GenLabel as in their toy "
        "code: top-2 classes, gamma = 1, Gaussian densities (mean and covariance estimated; "
        "the authors fix the covariance to I) on the cubes, KDE (bandwidth 0.2) on moons, "
        "fitted on the training inputs.",
        "",
        *table2,
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(text))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
