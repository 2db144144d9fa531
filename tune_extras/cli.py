"""Command line: ``tune-extras report`` and ``tune-extras demo``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence


def _tail(text: str) -> int | float | str:
    """``--tail``: ``auto``, a count (``30``) or a share (``0.2``)."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        share = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--tail takes 'auto', a count of trials (30) or a share (0.2), got {text!r}"
        ) from None
    if not 0.0 < share <= 1.0:
        raise argparse.ArgumentTypeError(f"--tail as a share must be in (0, 1], got {text!r}")
    return share


def _bounds(text: str) -> tuple[float | None, float | None] | str | None:
    """``--bounds``: ``auto``, ``none`` or ``LO,HI`` (either side may be empty)."""
    from tune_extras.analysis import parse_bounds

    if text in ("auto", "none"):
        return None if text == "none" else text
    try:
        low, high = parse_bounds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if low is not None and high is not None and not low < high:
        raise argparse.ArgumentTypeError(f"--bounds needs LO < HI, got {text!r}")
    return low, high


def _report(args: argparse.Namespace) -> int:
    from tune_extras.analysis import analyze

    if not 0.0 < args.confidence < 1.0:
        raise ValueError(f"--confidence must be in (0, 1), got {args.confidence}")
    if args.extra_trials < 1:
        raise ValueError(f"--extra-trials must be >= 1, got {args.extra_trials}")
    try:
        report = analyze(
            args.storage,
            study_name=args.study,
            objective=args.objective,
            direction=args.direction,
            tail=args.tail,
            bounds=args.bounds,
            confidence=args.confidence,
            extra_trials=args.extra_trials,
            assume_random=args.assume_random,
            seed=args.seed,
        )
    except ValueError as error:
        # Name the flags, not the Python arguments.
        message = str(error)
        for python, flag in (
            ("study_name", "--study"),
            ("objective=K", "--objective K"),
            ("pass direction=", "pass --direction"),
            ("tail must", "--tail must"),
            ("a float tail", "--tail as a share"),
            ("pass bounds=", "pass --bounds"),
            ("pass assume_random=True", "pass --assume-random"),
            ("(tail=)", "(--tail)"),
        ):
            message = message.replace(python, flag)
        raise ValueError(message) from error
    print(report.to_json() if args.format == "json" else report.to_text())
    if args.plot and report.tuning_curve is not None:
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
    report.add_argument(
        "--bounds",
        type=_bounds,
        default="auto",
        metavar="LO,HI",
        help="possible values of the objective, e.g. 0, (a loss) or 0,1 (an accuracy); 'auto' "
        "(default: from the metric's name and the values) or 'none'",
    )
    report.add_argument(
        "--tail",
        type=_tail,
        default="auto",
        help="trials the fit uses: 'auto' (default), a count (30) or a share (0.2)",
    )
    report.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and bands")
    report.add_argument(
        "--assume-random",
        action="store_true",
        help="analyse the trials as a random search even when the sampling checks say otherwise",
    )
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
