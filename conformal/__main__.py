"""Command line of the package: ``python -m conformal benchmark ...`` (or ``conformal benchmark``).

``benchmark`` fits the chosen methods on the chosen bundled datasets with several seeds, prints
a summary table (coverage, widths, time) and writes ``raw.csv`` (one row per dataset, method and
seed), ``summary.csv`` (mean and standard deviation over seeds) and ``summary.md`` (the summary
as a Markdown table, with the settings and method definitions) into ``--out``: by default a new
folder named for the run in the current directory; a folder that is not empty only with
``--overwrite``. A unit (dataset, method, seed) that raises is listed in the summary (and in
``failures.csv``) and the others still run: the exit status is 0 unless every unit failed (1);
usage errors exit with 2.
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
    format_table,
    get_method,
    list_methods,
    run_benchmark,
    summarize,
    write_csv,
)
from .benchmark._runner import data_task
from .datasets import TASKS, describe_dataset, list_datasets

#: The default ``--out``: ``conformal-benchmark-<task>-<YYYYmmdd-HHMMSS>`` in the current folder.
OUT_PREFIX = "conformal-benchmark"

_EXIT_RULE = (
    "exit status: 0 when the results were written and at least one unit (dataset, method, "
    "seed) ran; a unit that raises is listed with its error type and message in the printed "
    "summary, summary.md and failures.csv while every other unit is still run and written; 1 "
    "when every unit failed; 2 for usage errors (unknown names, a method that does not fit a "
    "dataset's task, a non-empty --out without --overwrite)."
)


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
            "Fit each method on each dataset of its task with each seed (seed s splits the data "
            "into fit and test parts and seeds the estimator), print the summary over seeds and "
            "write raw.csv, summary.csv and summary.md into --out. Warnings are printed with "
            "the dataset, method and seed that raised them."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(
            textwrap.fill(text, width=79, subsequent_indent="  ", break_on_hyphens=False)
            for text in (
                f"datasets: {', '.join(list_datasets(task=None))}",
                f"methods: {', '.join(list_methods())} "
                f"(default: {', '.join(list_methods(default_only=True))})",
                "example: python -m conformal benchmark --datasets yacht concrete --seeds 5",
                "example: python -m conformal benchmark --task timeseries",
                _EXIT_RULE,
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
        "--task",
        choices=list(TASK_METRICS),
        default=None,
        help=(
            "run one task: its default methods (when none is a default, all of its methods "
            "but those run only on request, e.g. cvplus-medium), "
            "unless --methods names others of the same task, on all of its datasets unless "
            "--datasets names some; e.g. --task timeseries"
        ),
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
        help=(
            "fraction of each dataset held out for testing (default: 0.2; time series: the "
            "last rows in time order, at most 2,000)"
        ),
    )
    bench.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help=(
            "folder for raw.csv, summary.csv and summary.md (default: a new folder "
            f"{OUT_PREFIX}-TASK-YYYYMMDD-HHMMSS in the current directory, named for the "
            "task(s) and start time of the run); it must be empty or absent unless "
            "--overwrite is given"
        ),
    )
    bench.add_argument(
        "--overwrite",
        action="store_true",
        help="allow writing into a non-empty --out (replaces its raw.csv, summary.csv, "
        "summary.md and failures.csv; other files stay)",
    )
    bench.add_argument(
        "--no-progress",
        action="store_true",
        help="do not show the progress bar (the progress bar needs tqdm, the 'progress' "
        "extra; without tqdm none is shown)",
    )
    bench.add_argument(
        "--list",
        action="store_true",
        help="list the datasets by task and the methods with their task, then exit",
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
    summary: list[dict[str, Any]],
    failures: list[dict[str, Any]],
    methods: list[str],
    args: argparse.Namespace,
    seconds: float,
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
        "and `worst_class_coverage` the smallest class coverage. Time series are split in time "
        "order (the last part, at most 2,000 points, is the test period, the same for every "
        "seed) and walked forward: online methods predict each point then learn it "
        "(`partial_fit`), static ones are refitted before each tenth of the test period; "
        "`worst_window_coverage` is the smallest coverage over those tenths. Missing data: "
        "`worst_mask_coverage` is the smallest coverage over groups of test rows with the same "
        "number of missing values, among groups of at least 30 rows (NaN when none is that "
        "large). Quantile task: every method's quantiles at 19 levels 0.05..0.95 (plus the "
        "level's tails); `wis_unsorted` is their weighted interval score (2 x mean pinball loss) "
        "as predicted, `crossing_rate` the fraction of test rows whose quantiles cross (for "
        "`cqr-*`, inner pairs calibrated to cross or be empty count), `wis` and `pinball` are "
        "scored after sorting each row, and coverage and widths are those of the sorted "
        "(a/2, 1 - a/2) pair; the aggregators of one run share cached base-model fits, so the "
        "first one's `fit_seconds` includes the fold fits the others reuse. Times are "
        "wall-clock seconds and depend on the machine and its load at the time of the run.",
        "",
        f"Wall time {seconds:.0f} s on {os.cpu_count()} cores; conformal {__version__}, "
        f"scikit-learn {sklearn.__version__}, numpy {numpy.__version__}, Python "
        f"{platform.python_version()} ({platform.system()} {platform.machine()}).",
        "",
        format_summary(summary, markdown=True),
        "",
    ]
    if failures:
        lines += [
            "## Failed units",
            "",
            f"{len(failures)} unit(s) raised an error and have no row above:",
            "",
            format_table(failures, markdown=True),
            "",
        ]
    lines += ["## Methods", ""]
    lines += [f"- `{name}`: {get_method(name).description}" for name in methods]
    return "\n".join(lines) + "\n"


def _task_of_dataset(name: str) -> str:
    return str(describe_dataset(name)["task"])


def _known_tasks() -> list[str]:
    """Every task the datasets or the method registry know, datasets' order first."""
    return list(dict.fromkeys([*TASKS, *TASK_METRICS]))


def _print_list(all_datasets: list[str], all_methods: list[str]) -> None:
    for task in TASKS:  # the tasks of the bundled data (method families may share them)
        names = [d for d in all_datasets if _task_of_dataset(d) == task]
        print(f"{task} datasets: {', '.join(names) if names else '(none bundled)'}")
    for name in all_methods:
        method = get_method(name)
        default = ", default" if method.default else ""
        runs_on = data_task(method.task)
        data = f", runs on {runs_on} datasets" if runs_on != method.task else ""
        request = ", on request" if method.on_request else ""
        print(f"method {name} ({method.task}{default}{request}{data}): {method.description}")


def _methods_for(task: str) -> str:
    """The methods that run on datasets of ``task``."""
    names = [m for m in list_methods() if data_task(get_method(m).task) == task]
    return ", ".join(names) if names else "(none registered)"


def _task_mismatch(datasets: list[str], methods: list[str], named: list[str]) -> str | None:
    """A message when a named method fits no chosen dataset or a dataset no chosen method."""
    tasks = {name: _task_of_dataset(name) for name in datasets}
    present = list(dict.fromkeys(tasks.values()))
    for name in named:
        task = get_method(name).task
        if data_task(task) not in present:
            chosen = ", ".join(f"{d!r} ({t})" for d, t in tasks.items())
            fitting = "; ".join(f"methods for {t} datasets: {_methods_for(t)}" for t in present)
            return (
                f"method {name!r} is a {task} method and does not fit dataset"
                f"{'s' if len(tasks) > 1 else ''} {chosen}; {fitting}"
            )
    for dataset, task in tasks.items():
        if not any(data_task(get_method(m).task) == task for m in methods):
            return (
                f"dataset {dataset!r} is a {task} dataset and none of the chosen methods "
                f"({', '.join(methods)}) fits it; methods for {task} datasets: "
                f"{_methods_for(task)}"
            )
    return None


def _fresh_out(tasks: list[str]) -> Path:
    """A folder name for this run that does not exist yet, in the current directory."""
    stem = f"{OUT_PREFIX}-{'-'.join(tasks)}-{time.strftime('%Y%m%d-%H%M%S')}"
    out, n = Path(stem), 1
    while out.exists():
        n += 1
        out = Path(f"{stem}-{n}")
    return out


def _benchmark(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.subparser
    all_datasets, all_methods = list_datasets(task=None), list_methods()
    if args.list:
        _print_list(all_datasets, all_methods)
        return 0
    method_keywords = {
        "default": list_methods(default_only=True),
        "all": all_methods,
        **{task: [m for m in all_methods if get_method(m).task == task] for task in TASK_METRICS},
    }
    if args.task is not None:
        of_task = [m for m in all_methods if get_method(m).task == args.task]
        method_keywords["default"] = [m for m in of_task if get_method(m).default] or [
            m for m in of_task if not get_method(m).on_request
        ]
        method_keywords["all"] = of_task
    methods = _choose(args.methods, all_methods, method_keywords, "method")
    if isinstance(methods, str):
        parser.error(methods)  # exits with status 2
    if args.task is not None:
        others = [m for m in methods if get_method(m).task != args.task]
        if others:
            own = [m for m in all_methods if get_method(m).task == args.task]
            parser.error(
                f"--task {args.task} runs {args.task} methods; {', '.join(map(repr, others))} "
                f"{'is' if len(others) == 1 else 'are'} not. {args.task} methods: "
                f"{', '.join(own)}"
            )
    # 'all' datasets: every bundled dataset of the chosen methods' tasks.
    method_tasks = {data_task(get_method(m).task) for m in methods}
    datasets = _choose(
        args.datasets,
        all_datasets,
        {"all": [d for d in all_datasets if _task_of_dataset(d) in method_tasks]},
        "dataset",
    )
    if isinstance(datasets, str):
        parser.error(datasets)
    named = [m for m in dict.fromkeys(args.methods) if m not in method_keywords]
    mismatch = _task_mismatch(datasets, methods, named)
    if mismatch is not None:
        parser.error(mismatch)
    if args.out is None:
        tasks = {_task_of_dataset(d) for d in datasets}
        out = _fresh_out([t for t in _known_tasks() if t in tasks])
    else:
        out = args.out
        if out.exists() and not out.is_dir():
            parser.error(f"--out {out} is a file, not a folder")
        if out.is_dir() and any(out.iterdir()) and not args.overwrite:
            parser.error(
                f"the folder {out} is not empty; pass --overwrite to write into it anyway "
                "(its raw.csv, summary.csv, summary.md and failures.csv are replaced), or "
                "choose another --out"
            )
    start = time.perf_counter()
    failures: list[dict[str, Any]] = []
    rows = run_benchmark(
        datasets,
        methods,
        seeds=args.seeds,
        confidence_level=args.confidence,
        test_size=args.test_size,
        progress=not args.no_progress,
        failures=failures,
    )
    seconds = time.perf_counter() - start
    summary = summarize(rows)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out / "raw.csv")
    write_csv(summary, out / "summary.csv")
    written = "raw.csv, summary.csv and summary.md"
    if failures:
        write_csv(failures, out / "failures.csv")
        written = "raw.csv, summary.csv, summary.md and failures.csv"
    else:
        (out / "failures.csv").unlink(missing_ok=True)  # a previous run's, with --overwrite
    (out / "summary.md").write_text(
        _markdown(summary, failures, methods, args, seconds), encoding="utf-8"
    )
    if rows:
        print(format_summary(summary))
    if failures:
        print(f"\nfailed units ({len(failures)} of {len(failures) + len(rows)}):")
        print(format_table(failures))
    failed = f" ({len(failures)} failed)" if failures else ""
    print(f"\n{len(rows)} fits{failed} in {seconds:.1f} s; wrote {written} to {out}")
    return 1 if failures and not rows else 0


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
