"""What mixing costs inside scikit-learn estimators (same-run medians and ratios).

1. ``augment``: the work ``MixUpClassifier.fit`` adds before the wrapped estimator's fit —
   mixing 20000 x 50 rows (3 classes) with the mixer (256 rows per call) and expanding the soft
   labels into weighted rows — against the floor of the same mixup written as two numpy lines
   (one lam per row, a random permutation, the two-row expansion by concatenation), and against
   the LogisticRegression fit it precedes.
2. ``mlp-epoch``: one training epoch of ``MLPMixUpClassifier`` (5120 x 50 rows, batch 256,
   hidden 128) with MixUp against the same epoch without mixing (``MixUp(enabled=False)``).

    python benchmarks/bench_sklearn.py           # table
    python benchmarks/bench_sklearn.py --json    # one {"case", "impl", "median_ms"} per line
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _timing import ratio, repeated_medians, report
from sklearn.linear_model import LogisticRegression

import mixkit
from mixkit_sklearn._augment import classification_rows, mix_rows
from mixkit_sklearn._mixers import prepare_mixer
from mixkit_sklearn._training import build_mlp, train


def augment_case(as_json: bool, rounds: int, repeats: int) -> None:
    g = np.random.default_rng(0)
    X = g.normal(size=(20_000, 50))
    y = g.integers(0, 3, 20_000)
    rng = np.random.RandomState(0)
    mixer = prepare_mixer(
        None,
        owner="bench",
        alpha=0.4,
        task="multiclass",
        num_classes=3,
        rng=rng,
        allow_extra_loss=False,
    )
    x_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    shuffle = torch.Generator().manual_seed(0)

    def mixkit_sklearn() -> object:
        rows = mix_rows(
            mixer, x_t, y_t, sample_weight=None, batch_size=256, rounds=1, generator=shuffle
        )
        return classification_rows(X, y, None, rows, keep_original=True)

    def numpy_floor() -> object:
        lam = g.beta(0.4, 0.4, size=len(X))
        perm = g.permutation(len(X))
        mixed = lam[:, None] * X + (1 - lam[:, None]) * X[perm]
        rows = np.concatenate([X, mixed, mixed])
        labels = np.concatenate([y, y, y[perm]])
        weights = np.concatenate([np.ones(len(X)), lam, 1 - lam])
        return rows, labels, weights

    def logistic_fit() -> object:
        return LogisticRegression(max_iter=200).fit(X, y)

    impls = {"mixkit-sklearn": mixkit_sklearn, "numpy two-liner": numpy_floor}
    medians, runs = repeated_medians(impls, rounds=rounds, repeats=repeats, warmup=2)
    fit, _ = repeated_medians({"LogisticRegression.fit": logistic_fit}, rounds=3, repeats=1)
    report("augment 20000x50", {**medians, **fit}, as_json=as_json)
    if not as_json:
        floor = ratio(runs, "mixkit-sklearn", "numpy two-liner")
        print(f"  ratio mixkit-sklearn / numpy two-liner: {floor:.2f}")
        share = medians["mixkit-sklearn"] / fit["LogisticRegression.fit"]
        print(f"  augment / LogisticRegression.fit on the raw rows: {share:.2f}")


def mlp_case(as_json: bool, rounds: int, repeats: int) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5120, 50, generator=g)
    y = torch.randint(0, 3, (5120,), generator=g)
    device = torch.device("cpu")

    def epoch(mixer: torch.nn.Module) -> object:
        module = build_mlp(
            50,
            [128],
            3,
            activation="relu",
            flat_output=False,
            generator=torch.Generator().manual_seed(0),
            device=device,
        )
        return train(
            module,
            mixer,
            x,
            y,
            task="multiclass",
            sample_weight=None,
            validation=None,
            batch_size=256,
            learning_rate=1e-3,
            weight_decay=0.0,
            max_iter=1,
            tol=0.0,
            n_iter_no_change=10,
            generator=torch.Generator().manual_seed(0),
            verbose=False,
        )

    mixup = mixkit.MixUp(alpha=0.4, mode="elem", num_classes=3)
    erm = mixkit.MixUp(enabled=False, num_classes=3)
    impls = {"MixUp": lambda: epoch(mixup), "no mixing": lambda: epoch(erm)}
    medians, runs = repeated_medians(impls, rounds=rounds, repeats=repeats, warmup=2)
    report("mlp-epoch 5120x50 b256", medians, as_json=as_json)
    if not as_json:
        print(f"  ratio MixUp / no mixing: {ratio(runs, 'MixUp', 'no mixing'):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    augment_case(args.json, args.rounds, args.repeats)
    mlp_case(args.json, args.rounds, args.repeats)


if __name__ == "__main__":
    main()
