"""Tabular: mixup inside a scikit-learn Pipeline, tuned by GridSearchCV.

A DataFrame with numeric and categorical columns (scikit-learn's bundled wine data, with two
categorical columns derived from it) goes through a ``ColumnTransformer`` (scaling + one-hot),
then a classifier that mixes its training rows. ``GridSearchCV`` picks ``alpha`` and the mixing
method (MixUp, and the seed methods that are installed); the result is compared with plain
training on a held-out split. A torch MLP that mixes every batch runs the same way.

    python examples/tabular_pipeline.py            # the full run (about a minute, 2 cores)
    python examples/tabular_pipeline.py --quick    # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mixkit
from mixkit_sklearn import MixUpClassifier, MLPMixUpClassifier

NUMERIC = ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols"]
CATEGORICAL = ["alcohol_level", "hue_band"]


def load_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """Wine as a DataFrame with 6 numeric and 2 categorical (string) columns."""
    data = load_wine(as_frame=True)
    X = data.data[NUMERIC].copy()
    X["alcohol_level"] = pd.cut(X["alcohol"], 3, labels=["low", "mid", "high"]).astype(str)
    X["hue_band"] = np.where(data.data["hue"] > 0.95, "pale", "deep")
    return X, data.target.to_numpy()


def pipeline(classifier: Any) -> Pipeline:
    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ]
    )
    return Pipeline([("prep", prep), ("clf", classifier)])


def methods() -> dict[str, Any]:
    """The mixing methods to search over: MixUp, and each seed method that is installed."""
    found: dict[str, Any] = {"MixUp": mixkit.MixUp(mode="elem")}
    if hasattr(mixkit, "LocalMixUp"):
        found["Local"] = mixkit.LocalMixUp(sigma=0.3, mode="elem")
    if hasattr(mixkit, "KMixUp"):
        found["k-mixup"] = mixkit.KMixUp(k=16)
    if hasattr(mixkit, "GenLabel"):
        found["GenLabel"] = mixkit.MixUp(mode="elem", relabel=mixkit.GenLabel(gamma=0.5))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny models: threads only add synchronisation
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    X, y = load_frame()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=args.seed
    )
    print(
        f"wine as a DataFrame: {X.shape[0]} rows, {len(NUMERIC)} numeric + "
        f"{len(CATEGORICAL)} categorical columns; {len(X_train)} train / {len(X_test)} test"
    )

    lr = LogisticRegression(max_iter=2000)
    start = time.perf_counter()
    erm = pipeline(lr).fit(X_train, y_train)
    print(f"ERM      LogisticRegression          test accuracy {erm.score(X_test, y_test):.4f}")

    found = methods()
    names = {id(m): n for n, m in found.items()}
    grid = {
        "clf__alpha": [0.2, 1.0] if args.quick else [0.1, 0.4, 1.0],
        "clf__mixer": list(found.values())[: 2 if args.quick else None],
    }
    search = GridSearchCV(
        pipeline(MixUpClassifier(lr, random_state=args.seed)), grid, cv=2 if args.quick else 5
    ).fit(X_train, y_train)
    best = search.best_params_
    chosen = names[id(best["clf__mixer"])]
    print(
        f"GridSearchCV over alpha {grid['clf__alpha']} and methods "
        f"{[names[id(m)] for m in grid['clf__mixer']]}: best {chosen}, alpha={best['clf__alpha']}"
        f" (cv accuracy {search.best_score_:.4f})"
    )
    print(
        f"{chosen:8s} MixUpClassifier(LR) tuned   test accuracy {search.score(X_test, y_test):.4f}"
    )

    epochs = 5 if args.quick else 150
    for label, mixer in (
        ("ERM", mixkit.MixUp(enabled=False)),
        ("MixUp", mixkit.MixUp(mode="elem")),
    ):
        mlp = MLPMixUpClassifier(
            (64,),
            mixer=mixer,
            alpha=0.4,
            batch_size=32,
            max_iter=epochs,
            n_iter_no_change=epochs,
            random_state=args.seed,
        )
        model = pipeline(mlp).fit(X_train, y_train)
        print(
            f"{label:8s} MLPMixUpClassifier({epochs} ep)  "
            f"test accuracy {model.score(X_test, y_test):.4f}"
        )
    print(f"done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
