"""Command line: ``tune-extras report`` (read-only) and ``tune-extras demo``.

``tune-extras report SOURCE`` reads an Optuna storage URL (``sqlite:///study.db``,
``journal:///study.log``, ``postgresql://...``), a bare sqlite or journal file, or a Ray Tune
experiment folder (with ``--metric`` and ``--direction``), and prints the report; ``--html`` and
``--plot`` write it as a page or a figure, ``--publish`` attaches it to the study for
optuna-dashboard (the only option that writes to a study).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


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


#: Python argument names in the analyzer's messages -> the command line's flags.
_FLAGS = (
    ("name one with study_name", "name one with --study"),
    ("study_name", "--study"),
    ("objective=K", "--objective K"),
    ("got objective=", "got --objective "),
    ("objective must", "--objective must"),
    ("pass direction=", "pass --direction"),
    ("tail must", "--tail must"),
    ("a float tail", "--tail as a share"),
    ("pass bounds=", "pass --bounds"),
    ("pass assume_random=True", "pass --assume-random"),
    ("(tail=)", "(--tail)"),
)


def _flags(message: str) -> str:
    for python, flag in _FLAGS:
        message = message.replace(python, flag)
    return message


def _check_output(path: str | None, flag: str) -> None:
    """A file the command will write: its folder must exist (checked before the slow work)."""
    if path is None:
        return
    folder = Path(path).expanduser().resolve().parent
    if not folder.is_dir():
        raise ValueError(f"{flag} {path}: no folder {str(folder)!r} to write it in")
    if Path(path).is_dir():
        raise ValueError(f"{flag} {path}: is a folder, give a file name")


def _load(args: argparse.Namespace, status: Any) -> tuple[Any, Any]:
    """The study (``None`` for a Ray experiment) and its trials table."""
    from tune_extras.optuna._loader import load_study, load_trials
    from tune_extras.optuna._storage import resolve_source

    source = resolve_source(args.storage)
    if source.kind == "ray":
        if not args.metric or not args.direction:
            raise ValueError(
                f"{args.storage} is a Ray Tune experiment: name its metric and direction with "
                "--metric NAME --direction minimize|maximize"
            )
        from tune_extras.ray import load_experiment

        status.update(f"reading the Ray Tune experiment {args.storage} ...")
        mode = "min" if args.direction == "minimize" else "max"
        return None, load_experiment(source.location, args.metric, mode)
    if args.metric:
        raise ValueError("--metric is for Ray Tune experiments; an Optuna study names its own")
    status.update(f"opening {args.storage} (read-only) ...")
    study = load_study(args.storage, args.study)
    status.update(f"reading the trials of study {study.study_name!r} ...")
    return study, load_trials(study, objective=args.objective)


def _report(args: argparse.Namespace) -> int:
    from rich.console import Console

    from tune_extras.analysis import analyze

    if not 0.0 < args.confidence < 1.0:
        raise ValueError(f"--confidence must be in (0, 1), got {args.confidence}")
    if args.extra_trials < 1:
        raise ValueError(f"--extra-trials must be >= 1, got {args.extra_trials}")
    _check_output(args.plot, "--plot")
    _check_output(args.html, "--html")
    if args.artifact_dir and not args.publish:
        raise ValueError("--artifact-dir goes with --publish")
    if args.publish:
        from tune_extras.optuna._storage import resolve_source

        if resolve_source(args.storage).kind == "ray":
            raise ValueError("--publish needs an Optuna study, not a Ray Tune experiment")
    progress = Console(stderr=True)
    try:
        with progress.status("opening the study ...") as status:
            study, table = _load(args, status)
            status.update(
                f"analysing {len(table)} trials: tail fit, intervals, bands"
                + (", importance" if study is not None else "") + " ..."
            )
            report = analyze(
                table if study is None else study,
                objective=args.objective,
                direction=args.direction,
                tail=args.tail,
                bounds=args.bounds,
                confidence=args.confidence,
                extra_trials=args.extra_trials,
                assume_random=args.assume_random,
                seed=args.seed,
            )
            if report.trials is None:
                report = report.with_trials(table)
            if args.html:
                status.update(f"writing {args.html} ...")
                report.to_html(args.html)
            if args.plot and report.tuning_curve is not None:
                status.update(f"writing {args.plot} ...")
                report.plot(args.plot)
    except ValueError as error:
        raise ValueError(_flags(str(error))) from error
    if args.format == "json":
        print(report.to_json())
    else:
        report.print()
    if args.html:
        print(f"HTML report: {args.html}", file=sys.stderr)
    if args.plot:
        if report.tuning_curve is None:
            print(f"--plot {args.plot}: not written, the report has no tuning curve",
                  file=sys.stderr)
        else:
            print(f"tuning-curve plot: {args.plot}", file=sys.stderr)
    if args.publish:
        _publish(args, report)
    return 0


def _publish(args: argparse.Namespace, report: Any) -> None:
    """``--publish``: the one command that writes, and only a note and artifacts of the study."""
    import optuna

    from tune_extras.optuna._storage import resolve_source

    source = resolve_source(args.storage)
    if source.kind == "journal":
        from optuna.storages.journal import JournalFileBackend

        storage: Any = optuna.storages.JournalStorage(JournalFileBackend(source.location))
    else:
        storage = source.location
    study = optuna.load_study(study_name=report.study_name, storage=storage)
    store = None
    if args.artifact_dir:
        Path(args.artifact_dir).mkdir(parents=True, exist_ok=True)
        store = optuna.artifacts.FileSystemArtifactStore(args.artifact_dir)
    report.publish(study, artifact_store=store)
    where = f" and figures in {args.artifact_dir}" if store is not None else ""
    print(f"published the report to study {report.study_name!r}: a note{where} "
          f"(optuna-dashboard {args.storage}"
          + (f" --artifact-dir {args.artifact_dir}" if store is not None else "") + ")",
          file=sys.stderr)


def _demo(args: argparse.Namespace) -> int:
    from tune_extras.analysis import analyze
    from tune_extras.demo import run_demo

    _check_output(args.plot, "--plot")
    _check_output(args.html, "--html")
    print(
        f"tune-extras demo: random search of {args.trials} small torch MLP trainings into "
        f"{args.storage} (study {args.study!r}), {args.jobs} at a time, one torch thread each",
        file=sys.stderr,
        flush=True,
    )
    start = time.perf_counter()
    study = run_demo(args.storage, args.study, args.trials, args.seed, n_jobs=args.jobs)
    print(f"study done in {time.perf_counter() - start:.0f} s; analysing ...", file=sys.stderr,
          flush=True)
    report = analyze(study)
    report = report if report.trials is not None else report.with_trials(study)
    report.print()
    report.to_html(args.html)
    print(f"\nHTML report: {args.html}")
    try:
        print(f"tuning-curve plot: {report.plot(args.plot)}")
    except ImportError as error:
        print(f"tuning-curve plot not written: {error}")
    print(
        f"the same report from the stored study: tune-extras report {args.storage} "
        f"--study {args.study} --html report.html"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    from tune_extras import __version__

    parser = argparse.ArgumentParser(
        prog="tune-extras", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tune-extras {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    report = sub.add_parser(
        "report", help="analyse a finished study (read-only)",
        description="Analyse a finished random search; the study is only read.",
    )
    report.add_argument(
        "storage", metavar="SOURCE",
        help="Optuna storage URL (sqlite:///study.db, journal:///study.log, postgresql://...), a "
        "sqlite or journal file, or a Ray Tune experiment folder (with --metric, --direction)",
    )
    report.add_argument("--study", help="study name (needed if the storage holds several)")
    report.add_argument("--objective", type=int, help="objective index of a multi-objective study")
    report.add_argument("--direction", choices=("minimize", "maximize"),
                        help="override the direction (required for a Ray Tune experiment)")
    report.add_argument("--metric", help="the metric of a Ray Tune experiment")
    report.add_argument("--format", choices=("text", "json"), default="text",
                        help="what to print: text (default) or JSON")
    report.add_argument("--html", metavar="PATH", help="write the HTML report (self-contained)")
    report.add_argument("--plot", metavar="PATH",
                        help="write the tuning-curve figure (PNG, SVG or PDF from the suffix)")
    report.add_argument("--confidence", type=float, default=0.95, help="interval level")
    report.add_argument("--extra-trials", type=int, default=100, help="what N more trials buy")
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
    report.add_argument(
        "--publish", action="store_true",
        help="attach the report to the study for optuna-dashboard (a note; the only option that "
        "writes, and never to a trial; needs tune-extras[dashboard])",
    )
    report.add_argument("--artifact-dir", metavar="DIR",
                        help="with --publish: also upload the figures as SVG artifacts here")
    report.set_defaults(func=_report)

    demo = sub.add_parser("demo", help="run a real random-search study, then report on it")
    demo.add_argument("--storage", default="sqlite:///tune_extras_demo.db")
    demo.add_argument("--study", default="tune-extras-demo")
    demo.add_argument("--trials", type=int, default=300)
    demo.add_argument("--jobs", type=int, default=2, help="trials run at once (threads)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--plot", default="tune_extras_demo.png")
    demo.add_argument("--html", default="tune_extras_demo.html")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, TypeError, ImportError, OSError) as error:
        # one line: the problem and, for a missing optional dependency, the extra to install
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        print(f"tune-extras {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
