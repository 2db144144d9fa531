"""``python -m benchmarks run <suite> [--seeds N] [--budget B] [--quick]`` and ``... list``.

A suite is a module ``benchmarks/suite_<name>.py`` with ``run(seeds, budget, quick) -> list[dict]``;
it may define ``METRICS`` (numeric keys summarised by median and interquartile range over seeds,
grouped by problem and method) or its own ``print_tables(rows)``. Results are written as JSON, and a
plot of the first two metrics where matplotlib is installed, under ``benchmarks/results/<suite>/``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import pkgutil
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def suites() -> list[str]:
    package = Path(__file__).resolve().parent
    return sorted(
        m.name.removeprefix("suite_")
        for m in pkgutil.iter_modules([str(package)])
        if m.name.startswith("suite_")
    )


def summarise(rows: list[dict[str, Any]], metrics: tuple[str, ...]) -> list[dict[str, Any]]:
    """Median and interquartile range of each metric per (problem, method)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["problem"], row["method"]), []).append(row)
    table = []
    for (problem, method), members in groups.items():
        entry: dict[str, Any] = {"problem": problem, "method": method, "seeds": len(members)}
        for metric in metrics:
            values = np.array([m[metric] for m in members], dtype=float)
            finite = values[np.isfinite(values)]
            if finite.size:
                q1, med, q3 = np.percentile(finite, [25, 50, 75])
            else:
                q1 = med = q3 = math.inf
            entry[metric] = (float(med), float(q1), float(q3))
        table.append(entry)
    return table


def print_summary(table: list[dict[str, Any]], metrics: tuple[str, ...]) -> None:
    header = f"{'problem':<18} {'method':<18} {'seeds':>5} " + " ".join(
        f"{m + ' median [IQR]':>30}" for m in metrics
    )
    print(header)
    print("-" * len(header))
    for entry in table:
        cells = " ".join(
            f"{entry[m][0]:>10.4g} [{entry[m][1]:.3g}, {entry[m][2]:.3g}]".rjust(30)
            for m in metrics
        )
        print(f"{entry['problem']:<18} {entry['method']:<18} {entry['seeds']:>5} {cells}")


def plot(table: list[dict[str, Any]], metrics: tuple[str, ...], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    x_metric, y_metric = metrics[0], metrics[1]
    problems = sorted({e["problem"] for e in table})
    fig, axes = plt.subplots(1, len(problems), figsize=(4.5 * len(problems), 3.8), squeeze=False)
    for ax, problem in zip(axes[0], problems, strict=True):
        for entry in (e for e in table if e["problem"] == problem):
            ax.scatter(entry[x_metric][0], entry[y_metric][0], label=entry["method"])
        ax.set_title(problem)
        ax.set_xlabel(f"{x_metric} (median)")
        ax.set_ylabel(f"{y_metric} (median)")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the suites")
    runner = sub.add_parser("run", help="run one suite")
    runner.add_argument("suite", help="suite name (see `list`)")
    runner.add_argument("--seeds", type=int, default=5)
    runner.add_argument("--budget", type=int, default=100)
    runner.add_argument("--quick", action="store_true", help="CI-sized smoke run")
    runner.add_argument("--out", type=Path, default=None, help="results folder")
    args, extra = parser.parse_known_args(argv)
    if extra and (args.command != "run" or args.suite != "samplers"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "list":
        print("\n".join(suites()))
        return 0
    if args.suite not in suites():
        parser.error(f"unknown suite {args.suite!r}; choose from {suites()}")
    module = importlib.import_module(f"benchmarks.suite_{args.suite}")
    start = time.perf_counter()
    options = {"options": extra} if extra else {}  # suite-specific flags (samplers suite)
    rows = module.run(seeds=args.seeds, budget=args.budget, quick=args.quick, **options)
    elapsed = time.perf_counter() - start
    out = args.out or RESULTS / args.suite
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "suite": args.suite,
        "seeds": args.seeds,
        "budget": args.budget,
        "quick": args.quick,
        "seconds": elapsed,
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "python": platform.python_version(),
    }
    metrics = getattr(module, "METRICS", ())
    if hasattr(module, "print_tables"):
        module.print_tables(rows)
        table = rows
    else:
        table = summarise(rows, metrics)
        print_summary(table, metrics)
        if len(metrics) >= 2:
            plot(table, metrics, out / "summary.png")
    (out / "results.json").write_text(
        json.dumps({"meta": meta, "rows": rows, "summary": table}, indent=1, default=str)
    )
    print(f"\n{args.suite}: {elapsed:.0f} s; results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
