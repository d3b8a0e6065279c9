"""Command line of the package: ``python -m conformal benchmark ...`` (or ``conformal benchmark``).

``benchmark`` fits the chosen methods on the chosen bundled datasets with several seeds, prints
a summary table (coverage, widths, time) and writes ``raw.csv`` (one row per dataset, method and
seed), ``summary.csv`` (mean and standard deviation over seeds) and ``summary.md`` (the summary
as a Markdown table, with the settings and method definitions) into ``--out``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .benchmark import (
    TASK_METRICS,
    format_summary,
    get_method,
    list_methods,
    run_benchmark,
    summarize,
    write_csv,
)
from .datasets import list_datasets

DEFAULT_OUT = Path("benchmarks") / "results" / "main"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m conformal``."""
    parser = argparse.ArgumentParser(
        prog="python -m conformal",
        description="conformal: distribution-free prediction intervals for scikit-learn models.",
    )
    parser.add_argument("--version", action="version", version=f"conformal {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    bench = commands.add_parser(
        "benchmark",
        help="compare conformal methods on the bundled datasets",
        description=(
            "Fit each method on each dataset with each seed (seed s splits the data into fit "
            "and test parts and seeds the estimator), print the summary over seeds and write "
            "raw.csv, summary.csv and summary.md into --out."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(
            textwrap.fill(text, width=79, subsequent_indent="  ", break_on_hyphens=False)
            for text in (
                f"datasets: {', '.join(list_datasets(task=None))}",
                f"methods: {', '.join(list_methods())} "
                f"(default: {', '.join(list_methods(default_only=True))})",
                "example: python -m conformal benchmark --datasets yacht concrete --seeds 5",
            )
        ),
    )
    bench.add_argument(
        "--datasets",
        nargs="+",
        metavar="NAME",
        default=["all"],
        help="bundled datasets to run, or 'all' (default: all)",
    )
    bench.add_argument(
        "--methods",
        nargs="+",
        metavar="NAME",
        default=["default"],
        help=(
            "methods to run, 'default' for the default set, 'regression' or 'classification' "
            "for every method of that task, or 'all' (default: default)"
        ),
    )
    bench.add_argument(
        "--seeds",
        type=_positive_int,
        default=3,
        metavar="N",
        help="number of seeds, 0 .. N-1 (default: 3)",
    )
    bench.add_argument(
        "--confidence",
        type=_fraction,
        default=0.9,
        metavar="LEVEL",
        help="target coverage (default: 0.9)",
    )
    bench.add_argument(
        "--test-size",
        type=_fraction,
        default=0.2,
        metavar="FRACTION",
        help="fraction of each dataset held out for testing (default: 0.2)",
    )
    bench.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"folder for raw.csv, summary.csv and summary.md (default: {DEFAULT_OUT})",
    )
    bench.add_argument(
        "--no-progress", action="store_true", help="do not show a progress bar (needs tqdm)"
    )
    bench.add_argument(
        "--list", action="store_true", help="list the datasets and methods, then exit"
    )
    bench.set_defaults(handler=_benchmark, subparser=bench)
    return parser


def _choose(
    names: Sequence[str], valid: list[str], keywords: dict[str, list[str]], kind: str
) -> list[str] | str:
    """The names chosen, expanding keywords; an error message (str) for unknown names."""
    chosen: list[str] = []
    for name in names:
        chosen.extend(keywords.get(name, [name]))
    unknown = [name for name in chosen if name not in valid]
    if unknown:
        words = " or ".join(repr(k) for k in keywords)
        return (
            f"unknown {kind}{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"valid names are {', '.join(valid)} (or {words})"
        )
    return list(dict.fromkeys(chosen))


def _markdown(
    summary: list[dict[str, Any]], methods: list[str], args: argparse.Namespace, seconds: float
) -> str:
    import numpy
    import sklearn

    command = (
        f"python -m conformal benchmark --datasets {' '.join(dict.fromkeys(args.datasets))} "
        f"--methods {' '.join(methods)} --seeds {args.seeds} --confidence {args.confidence} "
        f"--test-size {args.test_size}"
    )
    lines = [
        "# Conformal prediction benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"Confidence level {args.confidence}; seeds 0..{args.seeds - 1}; test size "
        f"{args.test_size}. Cells are mean ± standard deviation over seeds; `n_train` counts the "
        "rows given to `fit` (training plus calibration); `normalized_width` is the mean width "
        "over the standard deviation of the test targets; for prediction sets, "
        "`class_coverage_gap` is the mean over classes of |coverage within the class - level| "
        "and `worst_class_coverage` the smallest class coverage; times are wall-clock seconds.",
        "",
        f"Wall time {seconds:.0f} s on {os.cpu_count()} cores; conformal {__version__}, "
        f"scikit-learn {sklearn.__version__}, numpy {numpy.__version__}, Python "
        f"{platform.python_version()} ({platform.system()} {platform.machine()}).",
        "",
        format_summary(summary, markdown=True),
        "",
        "## Methods",
        "",
    ]
    lines += [f"- `{name}`: {get_method(name).description}" for name in methods]
    return "\n".join(lines) + "\n"


def _benchmark(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.subparser
    all_datasets, all_methods = list_datasets(task=None), list_methods()
    if args.list:
        print("datasets:", ", ".join(all_datasets))
        for name in all_methods:
            method = get_method(name)
            print(f"method {name}{' (default)' if method.default else ''}: {method.description}")
        return 0
    datasets = _choose(args.datasets, all_datasets, {"all": all_datasets}, "dataset")
    methods = _choose(
        args.methods,
        all_methods,
        {
            "default": list_methods(default_only=True),
            "all": all_methods,
            **{
                task: [m for m in all_methods if get_method(m).task == task]
                for task in TASK_METRICS
            },
        },
        "method",
    )
    for chosen in (datasets, methods):
        if isinstance(chosen, str):
            parser.error(chosen)  # exits with status 2
    assert isinstance(datasets, list) and isinstance(methods, list)
    start = time.perf_counter()
    rows = run_benchmark(
        datasets,
        methods,
        seeds=args.seeds,
        confidence_level=args.confidence,
        test_size=args.test_size,
        progress=not args.no_progress,
    )
    seconds = time.perf_counter() - start
    summary = summarize(rows)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out / "raw.csv")
    write_csv(summary, out / "summary.csv")
    (out / "summary.md").write_text(_markdown(summary, methods, args, seconds), encoding="utf-8")
    print(format_summary(summary))
    print(
        f"\n{len(rows)} fits in {seconds:.1f} s; wrote raw.csv, summary.csv and summary.md to {out}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    Usage errors (unknown names, bad values) exit through ``SystemExit(2)`` with argparse's
    message on stderr.
    """
    args = build_parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
