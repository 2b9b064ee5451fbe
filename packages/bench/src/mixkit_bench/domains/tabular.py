"""Tabular: scikit-learn's bundled datasets, mixkit-sklearn's torch MLP estimator."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from sklearn import datasets as skdata
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from mixkit_bench._methods import METHODS, Context, build, distance_quantile, without
from mixkit_bench._runner import Profile, register_domain
from mixkit_sklearn import MLPMixUpClassifier

__all__ = ["run"]

LOADERS = {
    "iris": skdata.load_iris,
    "wine": skdata.load_wine,
    "breast_cancer": skdata.load_breast_cancer,
    "digits": skdata.load_digits,
}
METHODS_HERE = without(tuple(METHODS), "CutMix")  # no spatial dimensions to cut


def _one(name: str, method: str, seed: int, profile: Profile) -> float:
    x, y = LOADERS[name](return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(
        x, y, test_size=0.3, stratify=y, random_state=seed
    )  # fmt: skip
    scaler = StandardScaler().fit(xtr)
    xtr, xte = scaler.transform(xtr).astype(np.float32), scaler.transform(xte).astype(np.float32)
    xt = torch.from_numpy(xtr)
    ctx = Context(
        num_classes=int(y.max()) + 1,
        epochs=profile.epochs,
        seed=seed,
        alpha=0.4,
        local={"eps": distance_quantile(xt, 0.5)},
        fit_x=xt,
        fit_y=torch.from_numpy(ytr.astype(np.int64)),
    )
    recipe = build(method, ctx)
    clf = MLPMixUpClassifier(
        hidden_layer_sizes=(128, 128),
        mixer=recipe.mixer,
        max_iter=profile.epochs,
        batch_size=64,
        learning_rate_init=2e-3,
        tol=0.0,
        n_iter_no_change=profile.epochs,
        device=profile.device,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fixed epoch budget on purpose
        clf.fit(xtr, ytr)
    return float(clf.score(xte, yte))


def run(method: str, seed: int, profile: Profile) -> dict[str, Any]:
    names = list(profile.options.get("datasets", ["wine", "breast_cancer"]))
    scores = {name: _one(name, method, seed, profile) for name in names}
    return {
        "accuracy": float(np.mean(list(scores.values()))),
        "per_dataset": scores,
        "test_loss": [],
    }


register_domain("tabular", run, METHODS_HERE)
