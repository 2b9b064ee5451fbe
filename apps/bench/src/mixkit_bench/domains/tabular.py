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
from mixkit_bench._metrics import classification_metrics, flip_labels, mean_metrics
from mixkit_bench._runner import Profile, register_domain
from mixkit_sklearn import MLPMixUpClassifier

__all__ = ["run"]

LOADERS = {
    "iris": skdata.load_iris,
    "wine": skdata.load_wine,
    "breast_cancer": skdata.load_breast_cancer,
    "digits": skdata.load_digits,
}
# CutMix: no spatial dimensions to cut. AutoSwitch: the estimator reports a validation loss to
# its mixer only with early_stopping=True, which also keeps the best epoch's weights (another
# method than the others'), so it is left out here.
METHODS_HERE = without(tuple(METHODS), "CutMix", "MixUp, AutoSwitch")


def _one(name: str, method: str, seed: int, profile: Profile) -> dict[str, Any]:
    x, y = LOADERS[name](return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(
        x, y, test_size=0.3, stratify=y, random_state=seed
    )  # fmt: skip
    kept = profile.options.get("train_fraction")
    if kept is not None and float(kept) < 1.0:  # the over-training setting: a small subset
        xtr, _, ytr, _ = train_test_split(
            xtr, ytr, train_size=float(kept), stratify=ytr, random_state=seed
        )  # fmt: skip
    num_classes = int(y.max()) + 1
    noise = float(profile.options.get("label_noise", 0.0))
    ytr = flip_labels(torch.from_numpy(ytr.astype(np.int64)), noise, num_classes, seed).numpy()
    scaler = StandardScaler().fit(xtr)
    xtr, xte = scaler.transform(xtr).astype(np.float32), scaler.transform(xte).astype(np.float32)
    xt = torch.from_numpy(xtr)
    ctx = Context(
        num_classes=num_classes,
        epochs=profile.epochs,
        seed=seed,
        alpha=0.4,
        local={"eps": distance_quantile(xt, 0.5)},
        fit_x=xt,
        fit_y=torch.from_numpy(ytr),
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
    # predict_log_proba's columns follow clf.classes_: column c is class c when every class
    # is in the training split (stratified; flipped labels could in principle empty a class)
    if len(clf.classes_) != num_classes:
        raise ValueError(
            f"expected every one of the {num_classes} classes of {name} among the training "
            f"labels, got {clf.classes_.tolist()}"
        )
    log_probs = torch.from_numpy(clf.predict_log_proba(xte))
    return classification_metrics(log_probs, torch.from_numpy(yte.astype(np.int64))) | {
        "train_size": len(xtr)
    }


def run(method: str, seed: int, profile: Profile) -> dict[str, Any]:
    """The mean over the datasets of each metric (the reliability bins added up); the
    estimator trains in one ``fit`` call, so there is no per-epoch test curve here."""
    names = list(profile.options.get("datasets", ["wine", "breast_cancer"]))
    scores = {name: _one(name, method, seed, profile) for name in names}
    return mean_metrics(list(scores.values())) | {
        "per_dataset": {
            name: {k: v for k, v in s.items() if k != "bins"} for name, s in scores.items()
        },
        "test_loss": [],
        "train_size": int(sum(s["train_size"] for s in scores.values())),
        "label_noise": float(profile.options.get("label_noise", 0.0)),
    }


# an MLP on a few hundred rows: one thread (see register_domain)
register_domain("tabular", run, METHODS_HERE, threads=1)
