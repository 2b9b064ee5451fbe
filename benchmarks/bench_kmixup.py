"""k-mixup pairing (mixkit.OTPairing) against the authors' formulation, same run.

    python benchmarks/bench_kmixup.py            # a table
    python benchmarks/bench_kmixup.py --json     # one {"case", "impl", "median_ms"} per line
    python benchmarks/bench_kmixup.py --quick    # a fast smoke run (smaller batch, fewer rounds)

Cases (B = 512, k = 16, d = 3072 = 3x32x32 unless said otherwise; 2 intra-op threads unless
``--threads`` says otherwise):

- ``pairing``: the whole partner draw. The authors' formulation: one ``B x B`` cost, 1000 off
  the ``k x k`` diagonal blocks, the distances between each chunk and its partner chunk
  (``scipy.spatial.distance_matrix``) on them, one ``scipy.optimize.linear_sum_assignment``;
  timed as the issue states it (the full ``B x B`` distance matrix computed, then the blocks
  kept) and as their repository's ``mixup_data`` does it (distances of the blocks only).
  mixkit: ``OTPairing.pair`` (batched chunk costs, one assignment per chunk), each solver.
- ``chunk``: one ``k x k`` chunk, d = 3072: POT ``ot.dist`` + ``ot.emd`` (exact OT) against
  ``scipy`` ``cdist`` + ``linear_sum_assignment`` (Hungarian), and the solvers alone on the cost.
- ``large-k``: exact (Hungarian per chunk) against entropic (POT batched Sinkhorn + rounding)
  for k = 64 and 256, on the CPU.
- ``mixer``: a whole ``KMixUp(k=16)`` call against a ``MixUp`` call on 512x3x32x32.

Before timing, the script checks that mixkit's matching has the same total cost as the
authors' on the same chunks (both are exact) and prints it. Timings are medians over repeats
of per-repeat medians, ratios medians of within-repeat ratios (``benchmarks/_timing.py``).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
from collections.abc import Callable

import numpy as np
import ot
import torch
from _timing import ratio, repeated_medians, report
from scipy.optimize import linear_sum_assignment
from scipy.spatial import distance_matrix
from scipy.spatial.distance import cdist

import mixkit
from mixkit import OTPairing
from mixkit.functional import ot_match


def authors_pairing(x: np.ndarray, index: np.ndarray, k: int, *, full: bool) -> np.ndarray:
    """The authors' k-mixup matching, with the partner order ``index`` given.

    ``full=True``: the formulation as the issue states it, the full ``B x B`` distance matrix
    between the batch and its partners, 1000 off the ``k x k`` diagonal blocks, one Hungarian.
    ``full=False``: their repository's ``mixup_data``, which fills the same ``B x B`` cost
    with 1000 and computes the distances of the diagonal blocks only.
    """
    batch = x.shape[0]
    blocks = [slice(i * k, (i + 1) * k) for i in range(math.ceil(batch / k))]
    if full:
        dist = distance_matrix(x, x[index])  # (B, B)
        cost = 1000.0 * np.ones((batch, batch))
        for block in blocks:
            cost[block, block] = dist[block, block]
    else:
        cost = 1000.0 * np.ones((batch, batch))
        for block in blocks:
            cost[block, block] = distance_matrix(x[block], x[index[block]])
    _, matches = linear_sum_assignment(cost)
    out: np.ndarray = index[matches]
    return out


def check_same_cost(x: torch.Tensor, k: int) -> tuple[float, float]:
    """Total matched distance: the authors' against mixkit's matching kernel
    (``mixkit.functional.ot_match``, what ``OTPairing`` runs) on the same chunks."""
    batch = x.shape[0]
    perm = torch.randperm(batch, generator=torch.Generator().manual_seed(1))
    theirs = authors_pairing(x.numpy(), perm.numpy(), k, full=False)
    same = authors_pairing(x.numpy(), perm.numpy(), k, full=True)
    if not np.array_equal(theirs, same):
        raise SystemExit("the two statements of the authors' formulation disagree")
    src = torch.arange(batch).view(-1, k)  # the authors' chunks: loader order
    dst = perm.view(-1, k)
    match = ot_match(x, src, dst, cost="euclidean", solver="exact")  # (n, k) column per source
    ours = dst.gather(1, match).reshape(-1)  # partner of sample src[c, i]
    x64 = x.double()
    ours_total = float((x64[src.reshape(-1)] - x64[ours]).norm(dim=1).sum())
    authors_total = float((x64 - x64[torch.from_numpy(theirs)]).norm(dim=1).sum())
    return authors_total, ours_total


def emit_ratio(case: str, name: str, value: float, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"case": case, "ratio": name, "value": round(value, 3)}))
    else:
        print(f"{case:28s} {name:52s} {value:9.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--quick", action="store_true", help="small batch, few rounds (smoke)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs; medians of")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batch, k, dim = (128, 16, 3072) if args.quick else (512, 16, 3072)
    slow_rounds, fast_rounds = (1, 5) if args.quick else (3, 50)
    repeats = 1 if args.quick else args.repeats
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, dim, generator=g)
    x_np = x.numpy()

    authors_total, ours_total = check_same_cost(x, k)
    same = math.isclose(authors_total, ours_total, rel_tol=1e-6)
    if args.json:
        print(json.dumps({"check": "same total cost", "authors": authors_total,
                          "mixkit": ours_total, "equal": same}))  # fmt: skip
    else:
        print(f"total matched distance: authors {authors_total:.4f}, mixkit {ours_total:.4f}")
    if not same:
        raise SystemExit("mixkit's matching is not as cheap as the authors': a bug")

    # -- the whole pairing ------------------------------------------------------------------
    case = f"pairing B={batch} k={k} d={dim}"
    pairings = {
        "exact": OTPairing(k),
        "emd": OTPairing(k, solver="emd"),
        "sinkhorn": OTPairing(k, solver="sinkhorn"),
    }
    perm_np = torch.randperm(batch, generator=g).numpy()
    full, blocks = "authors (full BxB distances)", "authors' code (block distances)"
    impls: dict[str, Callable[[], object]] = {
        full: lambda: authors_pairing(x_np, perm_np, k, full=True),
        blocks: lambda: authors_pairing(x_np, perm_np, k, full=False),
        **{
            f"mixkit OTPairing {name}": functools.partial(p.pair, batch, x, g)
            for name, p in pairings.items()
        },
    }
    medians, runs = repeated_medians(impls, rounds=slow_rounds, repeats=repeats, warmup=1)
    report(case, medians, as_json=args.json)
    for ref, tag in ((full, "authors full"), (blocks, "authors' code")):
        for name in pairings:
            emit_ratio(
                case,
                f"{tag} / mixkit OTPairing {name}",
                ratio(runs, ref, f"mixkit OTPairing {name}"),
                args.json,
            )

    # -- one chunk: POT exact OT against the Hungarian algorithm ------------------------------
    case = f"chunk k={k} d={dim}"
    a, b = x_np[:k].astype(np.float64), x_np[k : 2 * k].astype(np.float64)
    m = ot.dist(a, b, metric="euclidean")
    uniform = np.full(k, 1.0 / k)
    impls = {
        "POT ot.dist + ot.emd": lambda: ot.emd(uniform, uniform, ot.dist(a, b, "euclidean")),
        "scipy cdist + Hungarian": lambda: linear_sum_assignment(cdist(a, b)),
        "POT ot.emd (cost given)": lambda: ot.emd(uniform, uniform, m),
        "scipy Hungarian (cost given)": lambda: linear_sum_assignment(m),
    }
    medians, runs = repeated_medians(impls, rounds=fast_rounds * 20, repeats=repeats)
    report(case, medians, as_json=args.json)
    emit_ratio(
        case,
        "ot.emd / Hungarian (cost given)",
        ratio(runs, "POT ot.emd (cost given)", "scipy Hungarian (cost given)"),
        args.json,
    )

    # -- larger chunks: exact against entropic, on the CPU ------------------------------------
    for big_k in (64,) if args.quick else (64, 256):
        case = f"large-k B={batch} k={big_k} d={dim}"
        exact, sink = OTPairing(big_k), OTPairing(big_k, solver="sinkhorn")
        impls = {
            "mixkit exact": functools.partial(exact.pair, batch, x, g),
            "mixkit sinkhorn": functools.partial(sink.pair, batch, x, g),
        }
        medians, runs = repeated_medians(impls, rounds=fast_rounds // 5, repeats=repeats)
        report(case, medians, as_json=args.json)
        emit_ratio(case, "sinkhorn / exact", ratio(runs, "mixkit sinkhorn", "mixkit exact"),
                   args.json)  # fmt: skip

    # -- the whole mixer call -----------------------------------------------------------------
    case = f"mixer {batch}x3x32x32"
    images = x.view(batch, 3, 32, 32)
    labels = torch.randint(0, 10, (batch,), generator=g)
    kmix = mixkit.KMixUp(k=k, num_classes=10, generator=torch.Generator().manual_seed(0))
    mix = mixkit.MixUp(num_classes=10, generator=torch.Generator().manual_seed(0))
    impls = {
        "mixkit MixUp": lambda: mix(images, labels),
        f"mixkit KMixUp k={k}": lambda: kmix(images, labels),
    }
    medians, runs = repeated_medians(impls, rounds=fast_rounds, repeats=repeats)
    report(case, medians, as_json=args.json)
    emit_ratio(case, "KMixUp / MixUp", ratio(runs, f"mixkit KMixUp k={k}", "mixkit MixUp"),
               args.json)  # fmt: skip


if __name__ == "__main__":
    main()
