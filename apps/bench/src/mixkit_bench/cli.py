"""``mixkit-bench``: the cross-domain evaluation and the papers' cheap checks.

mixkit-bench run                      # quick profile, all five domains (< 10 min, 2 cores)
mixkit-bench run --profile standard   # clean, label-noise and over-training settings (< 1 h)
mixkit-bench run --domains image tabular --methods ERM MixUp --seeds 2 --label-noise 0.4
mixkit-bench run --profile full --device cuda --data image=/data/cifar10 graph=/data/TU
mixkit-bench papers                   # each seed paper's claim: what we measured, holds or not
mixkit-bench list                     # domains and the methods each runs
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

__all__ = ["main"]


def _parse_data(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        domain, sep, path = item.partition("=")
        if not sep or not path:
            raise SystemExit(f"mixkit-bench: expected --data DOMAIN=PATH, got {item!r}")
        out[domain] = path
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from mixkit_bench import evaluation

    parser = argparse.ArgumentParser(prog="mixkit-bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the cross-domain evaluation")
    run.add_argument("--profile", choices=["quick", "standard", "full", "tiny"], default="quick")
    run.add_argument(
        "--settings",
        nargs="+",
        default=None,
        metavar="SETTING",
        help="the profile's settings to run: clean, noise, overtrain (default: all it has)",
    )
    run.add_argument(
        "--label-noise",
        type=float,
        default=None,
        metavar="P",
        help="flip this share of the training labels to another class, uniformly, in every "
        "setting that runs (the test set stays clean)",
    )
    run.add_argument("--domains", nargs="+", default=None, help="default: all")
    run.add_argument("--methods", nargs="+", default=None, help="default: all of each domain")
    run.add_argument("--seeds", type=int, default=None, help="default: the profile's")
    run.add_argument("--out", type=Path, default=Path("outputs/bench"))
    run.add_argument("--device", default="cpu")
    run.add_argument(
        "--data",
        nargs="*",
        default=[],
        metavar="DOMAIN=PATH",
        help="local datasets for the full profile (never downloaded)",
    )
    run.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="processes for the one-thread domains' runs (tabular, graph, text); default: the "
        "usable CPU cores; the results do not depend on it",
    )
    run.add_argument("--no-progress", action="store_true")

    papers = sub.add_parser("papers", help="the cheap checks of every seed paper")
    papers.add_argument("--out", type=Path, default=Path("outputs/papers"))
    papers.add_argument("--quick", action="store_true", help="smaller settings (smoke test)")

    sub.add_parser("list", help="domains and methods")
    args = parser.parse_args(argv)

    if args.command == "list":
        for domain, methods in evaluation.available().items():
            print(f"{domain}: {', '.join(methods)}")
        return 0
    if args.command == "papers":
        from mixkit_bench import papers as papers_mod

        report = papers_mod.run_all(args.out, quick=args.quick)
        print(report)
        return 0
    try:
        table = evaluation.run(
            profile=args.profile,
            domains=args.domains,
            methods=args.methods,
            seeds=args.seeds,
            out=args.out,
            device=args.device,
            data=_parse_data(args.data),
            progress=not args.no_progress,
            today=date.today().isoformat(),
            settings=args.settings,
            label_noise=args.label_noise,
            jobs=args.jobs,
            command="mixkit-bench "
            + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)),
        )
    except ValueError as err:
        print(f"mixkit-bench: {err}", file=sys.stderr)
        return 2
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
