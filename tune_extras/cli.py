"""Command line: ``tune-extras report`` and ``tune-extras demo``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence


def _report(args: argparse.Namespace) -> int:
    from tune_extras.analysis import analyze

    report = analyze(
        args.storage,
        study_name=args.study,
        objective=args.objective,
        direction=args.direction,
        confidence=args.confidence,
        extra_trials=args.extra_trials,
    )
    print(report.to_json() if args.format == "json" else report.to_text())
    if args.plot:
        print(f"tuning-curve plot: {report.plot(args.plot)}", file=sys.stderr)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from tune_extras.analysis import analyze
    from tune_extras.demo import run_demo

    print(
        f"tune-extras demo: random search of {args.trials} small torch MLP trainings into "
        f"{args.storage} (study {args.study!r}) ...",
        flush=True,
    )
    start = time.perf_counter()
    study = run_demo(args.storage, args.study, args.trials, args.seed)
    print(f"study done in {time.perf_counter() - start:.0f} s; analysing ...\n", flush=True)
    report = analyze(study)
    print(report.to_text())
    try:
        path = report.plot(args.plot)
        print(f"\ntuning-curve plot: {path}")
    except ImportError:
        pass
    print(
        f"\nthe same report from the stored study: tune-extras report {args.storage} "
        f"--study {args.study}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tune-extras", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    report = sub.add_parser("report", help="analyse a finished Optuna study (read-only)")
    report.add_argument("storage", help="storage URL (sqlite:///x.db, journal:///x.log, RDB URL)")
    report.add_argument("--study", help="study name (needed if the storage holds several)")
    report.add_argument("--objective", type=int, help="objective index of a multi-objective study")
    report.add_argument("--direction", choices=("minimize", "maximize"), help="override direction")
    report.add_argument("--format", choices=("text", "json"), default="text")
    report.add_argument("--confidence", type=float, default=0.95, help="interval level")
    report.add_argument("--extra-trials", type=int, default=100, help="what N more trials buy")
    report.add_argument("--plot", help="write the tuning-curve plot to this PNG")
    report.set_defaults(func=_report)

    demo = sub.add_parser("demo", help="run a real random-search study, then report on it")
    demo.add_argument("--storage", default="sqlite:///tune_extras_demo.db")
    demo.add_argument("--study", default="tune-extras-demo")
    demo.add_argument("--trials", type=int, default=400)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--plot", default="tune_extras_demo.png")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, TypeError) as error:
        print(f"tune-extras {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
