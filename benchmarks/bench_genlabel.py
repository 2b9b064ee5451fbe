"""GenLabel relabelling cost against the MixUp call itself and a scipy reference, same run.

    python benchmarks/bench_genlabel.py            # a table
    python benchmarks/bench_genlabel.py --json     # one {"case", "impl", "median_ms"} per line

The issue's target: relabelling a batch of B = 512 points with C = 10 classes in d = 64 costs
less than the MixUp call itself on a 128x3x32x32 image batch, measured in the same run.
``GenLabel.relabel`` is timed alone (log-densities of every class, the relabel, the gamma blend),
as the mixer calls it. For context: the same relabelling with
``scipy.stats.multivariate_normal.logpdf`` per class (its BLAS on one thread, its fastest setting
at this size), the Gaussian KDE (500 kernels per class, all and subsampled to 100) and the whole
``GenLabelMixUp`` call against a plain ``MixUp`` call on the same (512, 64) batch.
Interleaved round-robin with 2 intra-op threads (``--threads``), repeated; medians of repeats,
ratios are medians of within-repeat ratios.
"""

from __future__ import annotations

import os

# scipy's BLAS (OpenBLAS) would otherwise start a thread per core for 64 x 64 matrices, which
# only adds contention at this size; one thread is its fastest setting here.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json

import numpy as np
import torch
from _timing import ratio, repeated_medians, report
from scipy import stats
from scipy.special import softmax

import mixkit

B, C, D, PER_CLASS = 512, 10, 64, 500


def scipy_relabel(means: np.ndarray, covs: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The reference: per-class ``logpdf`` then a softmax over classes."""
    log_p = np.stack(
        [stats.multivariate_normal(m, s).logpdf(x) for m, s in zip(means, covs, strict=True)], 1
    )
    labels: np.ndarray = softmax(log_p, axis=1)
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved runs; medians of")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    g = torch.Generator().manual_seed(0)
    y_train = torch.arange(C).repeat_interleave(PER_CLASS)
    centres = torch.randn(C, D, generator=g)
    x_train = centres[y_train] + torch.randn(C * PER_CLASS, D, generator=g)
    gaussian = mixkit.GenLabel().fit(x_train, y_train)
    top2 = mixkit.GenLabel(top2=True).fit(x_train, y_train)
    kde = mixkit.GenLabel(density="kde").fit(x_train, y_train)
    kde_100 = mixkit.GenLabel(density="kde", max_samples=100).fit(x_train, y_train)

    x = torch.randn(B, D, generator=g) + centres[torch.randint(0, C, (B,), generator=g)]
    targets = torch.softmax(torch.randn(B, C, generator=g), dim=1)
    x_np = x.double().numpy()
    means = np.stack([x_train[y_train == c].double().numpy().mean(0) for c in range(C)])
    covs = np.stack(
        [
            np.cov(x_train[y_train == c].double().numpy().T, bias=True) + 1e-4 * np.eye(D)
            for c in range(C)
        ]
    )

    images = torch.randn(128, 3, 32, 32, generator=g)
    labels = torch.randint(0, C, (128,), generator=g)
    mixup_images = mixkit.MixUp(num_classes=C, generator=torch.Generator().manual_seed(1))
    genlabel_mixer = mixkit.GenLabelMixUp(num_classes=C, generator=torch.Generator().manual_seed(2))
    genlabel_mixer.fit(x_train, y_train)
    mixup_tabular = mixkit.MixUp(num_classes=C, generator=torch.Generator().manual_seed(2))
    y = torch.randint(0, C, (B,), generator=g)

    groups = {
        f"relabel B={B} C={C} d={D}": {
            "MixUp call 128x3x32x32": lambda: mixup_images(images, labels),
            "GenLabel gaussian": lambda: gaussian.relabel(x, None, targets),
            "GenLabel gaussian top2": lambda: top2.relabel(x, None, targets),
            "GenLabel kde 100/class": lambda: kde_100.relabel(x, None, targets),
        },
        f"context B={B} C={C} d={D}": {
            "GenLabel gaussian": lambda: gaussian.relabel(x, None, targets),
            "scipy logpdf per class": lambda: scipy_relabel(means, covs, x_np),
            "GenLabel kde 500/class": lambda: kde.relabel(x, None, targets),
        },
        f"mixer call ({B}, {D})": {
            "MixUp": lambda: mixup_tabular(x, y),
            "GenLabelMixUp": lambda: genlabel_mixer(x, y),
        },
    }
    ratios: dict[str, float] = {}
    for case, impls in groups.items():
        # the scipy reference takes ~100x longer: fewer rounds for its group
        rounds = max(5, args.rounds // 30) if case.startswith("context") else args.rounds
        medians, runs = repeated_medians(impls, rounds=rounds, repeats=args.repeats, warmup=2)
        report(case, medians, as_json=args.json)
        names = list(impls)
        if case.startswith("relabel"):
            for name in names[1:]:
                ratios[f"{name} / MixUp call 128x3x32x32"] = ratio(runs, name, names[0])
        elif case.startswith("context"):
            ratios["scipy logpdf per class / GenLabel gaussian"] = ratio(runs, names[1], names[0])
        else:
            ratios["GenLabelMixUp / MixUp"] = ratio(runs, names[1], names[0])
    for name, value in ratios.items():
        if args.json:
            print(json.dumps({"case": "ratios", "ratio": name, "value": round(value, 3)}))
        else:
            print(f"{'ratios':28s} {name:52s} {value:7.2f}x")


if __name__ == "__main__":
    main()
