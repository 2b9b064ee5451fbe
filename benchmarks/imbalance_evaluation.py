"""MixUpResampler as an imbalanced-learn sampler: against SMOTE and RandomOverSampler.

Two imbalanced tables made from scikit-learn's bundled data (fixed subsets, seed 0):

* breast-cancer 1:9: every benign row (357) and a random ninth as many malignant ones (39);
* digits long-tail: digits 5-9 whole (~180 each), digits 0-4 cut to a ninth (~20 each).

Each sampler sits in an ``imblearn.pipeline.Pipeline`` between a ``StandardScaler`` and a
``LogisticRegression(max_iter=3000)``, inside a ``GridSearchCV`` (3 inner folds, balanced
accuracy) over the classifier's ``C`` (0.1, 1, 10) and the sampler's own parameter (SMOTE's
``k_neighbors`` 3 / 5, mixup's ``alpha`` 0.2 / 1.0). Scores: balanced accuracy and macro-F1 on
the outer 5 stratified folds (shuffled, seed 0), mean ± std over the folds.

    python benchmarks/imbalance_evaluation.py                 # the table (a few minutes)
    python benchmarks/imbalance_evaluation.py --quick         # a smoke run: 2 folds, fewer rows

``--quick`` keeps every row of the small classes (SMOTE needs ``k_neighbors + 1`` of a class in
every inner training fold) and every second row of the others.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import imblearn
import numpy as np
import sklearn
import torch
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from numpy.typing import NDArray
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.preprocessing import StandardScaler

from mixkit_sklearn import MixUpResampler

Table = tuple[NDArray[np.float64], NDArray[np.int64]]


def breast_cancer_1_9(seed: int = 0) -> Table:
    X, y = load_breast_cancer(return_X_y=True)  # 0: malignant (212), 1: benign (357)
    rng = np.random.default_rng(seed)
    benign = np.flatnonzero(y == 1)
    malignant = rng.choice(np.flatnonzero(y == 0), len(benign) // 9, replace=False)
    rows = np.concatenate([benign, malignant])
    return X[rows], y[rows]


def digits_long_tail(seed: int = 0) -> Table:
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    keep = []
    for digit in range(10):
        rows = np.flatnonzero(y == digit)
        keep.append(rows if digit >= 5 else rng.choice(rows, len(rows) // 9, replace=False))
    rows = np.concatenate(keep)
    return X[rows], y[rows]


TABLES: dict[str, Callable[[], Table]] = {
    "breast-cancer 1:9": breast_cancer_1_9,
    "digits long-tail (0-4 at 1:9)": digits_long_tail,
}

ALPHAS = [0.2, 1.0]
SAMPLERS: dict[str, tuple[Any, dict[str, list[Any]]]] = {
    "no resampling": ("passthrough", {}),
    "RandomOverSampler": (RandomOverSampler(random_state=0), {}),
    "SMOTE": (SMOTE(random_state=0), {"sampler__k_neighbors": [3, 5]}),
    "MixUpResampler() (augmentation)": (
        MixUpResampler(random_state=0),
        {"sampler__alpha": ALPHAS},
    ),
    'MixUpResampler(sampling_strategy="auto")': (
        MixUpResampler(sampling_strategy="auto", random_state=0),
        {"sampler__alpha": ALPHAS},
    ),
    'MixUpResampler(sampling_strategy="auto", pairs="across")': (
        MixUpResampler(sampling_strategy="auto", pairs="across", random_state=0),
        {"sampler__alpha": ALPHAS},
    ),
}


def evaluate(sampler: Any, grid: dict[str, list[Any]], data: Table, folds: int) -> dict[str, Any]:
    """Outer stratified CV of the grid-searched pipeline: scores per fold."""
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("sampler", sampler),
            ("clf", LogisticRegression(max_iter=3000)),
        ]
    )
    search = GridSearchCV(
        pipe, {"clf__C": [0.1, 1.0, 10.0], **grid}, scoring="balanced_accuracy", cv=3
    )
    outer = StratifiedKFold(folds, shuffle=True, random_state=0)
    return dict(cross_validate(search, *data, cv=outer, scoring=["balanced_accuracy", "f1_macro"]))


def halve_large_classes(data: Table) -> Table:
    """Every second row of the classes above twice the smallest's count; the others whole."""
    X, y = data
    counts = np.bincount(y)
    small = counts[counts > 0].min()
    keep = np.concatenate(
        [
            rows[::2] if len(rows) > 2 * small else rows
            for rows in (np.flatnonzero(y == c) for c in np.unique(y))
        ]
    )
    keep.sort()
    return X[keep], y[keep]


def cell(values: NDArray[np.float64]) -> str:
    return f"{values.mean():.3f} ± {values.std():.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 2 folds, large classes halved"
    )
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    if args.quick:
        args.folds = 2
    torch.set_num_threads(1)  # small tables: threads only add synchronisation
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    start = time.perf_counter()
    names = list(TABLES)
    header = "| sampler | " + " | ".join(f"{n}: balanced acc. | {n}: macro-F1" for n in names)
    lines = [header + " |", "|---" * (1 + 2 * len(names)) + "|"]
    for name, (sampler, grid) in SAMPLERS.items():
        cells = []
        for table in names:
            X, y = TABLES[table]()
            if args.quick:
                X, y = halve_large_classes((X, y))
            scores = evaluate(sampler, grid, (X, y), args.folds)
            cells += [cell(scores["test_balanced_accuracy"]), cell(scores["test_f1_macro"])]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    command = "python " + " ".join(["benchmarks/imbalance_evaluation.py", *sys.argv[1:]])
    print()
    print(
        f"Command: `{command}` ({time.perf_counter() - start:.0f} s, {platform.machine()}, "
        f"scikit-learn {sklearn.__version__}, imbalanced-learn {imblearn.__version__}, "
        f"{args.folds} folds)"
    )
    print()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
