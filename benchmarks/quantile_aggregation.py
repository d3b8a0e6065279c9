"""Quantile aggregation on the bundled regression datasets (Fakoor et al. 2023, on our data).

Runs the ``quantile`` task of the CLI benchmark (``python -m conformal benchmark --task
quantile``): five base quantile models, the aggregation baselines (best, average, median, QRA),
the learned families (coarse, medium, fine; global and local), and CQR around several of them,
each scored at the 19 levels 0.05, ..., 0.95 by the weighted interval score (WIS) before and
after sorting, with coverage and width of the 90% pair. Each dataset is subsampled once (seed
0) to at most ``--max-rows`` rows to bound the run time; 5 seeds each draw their own 80/20
split of those rows (the task's protocol). One OpenMP/numba thread per process.

Findings checked, written to ``benchmarks/results/quantile_aggregation.md``:

1. sorting never increases WIS (per run; asserted);
2. on how many datasets medium or fine aggregation beats the best single base model and the
   simple average (mean WIS over seeds);
3. whether the conformalized intervals reach 90% coverage on every dataset, within Monte Carlo
   error over the seeds (mean coverage >= 0.9 - 3 standard errors of a valid split interval's
   coverage: test rows and calibration rows are few, so each seed's coverage is itself noisy).

Run:  .venv/bin/python benchmarks/quantile_aggregation.py [--seeds 5] [--max-rows 1500]
      [--datasets NAME ...] [--part NAME]  (parts run in parallel; then --report merges them)
Writes benchmarks/results/quantile_aggregation.{csv,md,png}.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

from conformal.benchmark import get_method, list_methods, run_benchmark, write_csv
from conformal.datasets import list_datasets, load_dataset

RESULTS = Path(__file__).resolve().parent / "results"
BASES = ("q-forest", "q-knn", "q-linear", "q-gaussian", "q-gbm")
LEARNED = ("q-medium", "q-fine")


def _subsample(name: str, max_rows: int) -> tuple[np.ndarray, np.ndarray]:
    X, y = load_dataset(name)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(y) > max_rows:
        keep = np.sort(np.random.default_rng(0).choice(len(y), max_rows, replace=False))
        X, y = X[keep], y[keep]
    return X, y


def run(datasets: list[str], seeds: int, max_rows: int, out: Path) -> None:
    methods = [
        n
        for n in list_methods()
        if get_method(n).task == "quantile" and not get_method(n).on_request
    ]
    data = {name: _subsample(name, max_rows) for name in datasets}
    failures: list[dict] = []
    start = time.perf_counter()
    rows = run_benchmark(data, methods, seeds=seeds, progress=False, failures=failures)
    write_csv(rows, out)
    print(f"{len(rows)} rows, {len(failures)} failures in {time.perf_counter() - start:.0f} s")
    for failure in failures:
        print("failed:", failure)


def _read(paths: list[Path]) -> list[dict]:
    rows = []
    for path in paths:
        with path.open() as handle:
            for row in csv.DictReader(handle):
                rows.append(row)
    return rows


def _coverage_se(n_fit: int, n_test: int, seeds: int) -> float:
    """Standard error of the mean over seeds of a valid 90% split interval's test coverage:
    the test rows' binomial noise plus the calibration draw's (coverage given the calibration
    set is about Beta(k, n_cal + 1 - k), variance about 0.09 / (n_cal + 2))."""
    n_cal = math.ceil(0.3 * n_fit)
    return math.sqrt((0.09 / n_test + 0.09 / (n_cal + 2)) / seeds)


def report(paths: list[Path]) -> None:
    rows = _read(paths)
    with (RESULTS / "quantile_aggregation.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    values: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    sorting_violations = 0
    for row in rows:
        cell = values[(row["dataset"], row["method"])]
        for key in ("wis", "wis_unsorted", "coverage", "normalized_width", "fit_seconds"):
            cell[key].append(float(row[key]))
        if float(row["wis"]) > float(row["wis_unsorted"]) * (1 + 1e-12) + 1e-12:
            sorting_violations += 1
    datasets = sorted({d for d, _ in values})
    methods = list(dict.fromkeys(row["method"] for row in rows))

    def mean(d: str, m: str, key: str = "wis") -> float:
        return float(np.mean(values[(d, m)][key])) if (d, m) in values else math.nan

    lines = [
        "# Quantile aggregation on the bundled regression datasets",
        "",
        "`.venv/bin/python benchmarks/quantile_aggregation.py` (see its docstring): "
        f"{len(rows)} runs, {len(datasets)} datasets, "
        f"{len({row['seed'] for row in rows})} seeds, 19 levels 0.05..0.95.",
        "",
        "## Findings",
        "",
        f"1. Sorting never increased WIS: {sorting_violations} of {len(rows)} runs had a larger "
        "WIS after sorting each row (Fakoor et al.: post-sorting never hurts).",
    ]
    wins_best = {m: 0 for m in LEARNED}
    wins_average = {m: 0 for m in LEARNED}
    either = 0
    for d in datasets:
        best_base = min(mean(d, b) for b in BASES)
        average = mean(d, "q-average")
        for m in LEARNED:
            wins_best[m] += mean(d, m) < best_base
            wins_average[m] += mean(d, m) < average
        either += min(mean(d, m) for m in LEARNED) < min(best_base, average)
    lines.append(
        "2. Mean WIS over seeds, learned aggregation vs the best single base model (chosen "
        "after the fact, per dataset) and the simple average: "
        + "; ".join(
            f"{m} beats the best base model on {wins_best[m]} of {len(datasets)} datasets and "
            f"the average on {wins_average[m]}"
            for m in LEARNED
        )
        + f"; medium or fine beats both on {either} of {len(datasets)}."
    )
    conformal = [m for m in methods if m.startswith(("cqr-", "cvplus-"))]
    sizes = {row["dataset"]: (int(row["n_train"]), int(row["n_test"])) for row in rows}
    short: list[str] = []
    lowest = (math.inf, "")
    for d in datasets:
        n_fit, n_test = sizes[d]
        for m in conformal:
            if (d, m) not in values:
                continue
            cov = values[(d, m)]["coverage"]
            se = _coverage_se(n_fit, n_test, len(cov))
            z = (float(np.mean(cov)) - 0.9) / se
            lowest = min(lowest, (z, f"{d}/{m}: {np.mean(cov):.3f}, {z:+.1f} se"))
            if z < -3:
                short.append(f"{d}/{m} ({np.mean(cov):.3f}, se {se:.3f})")
    lines.append(
        "3. Conformalized 90% intervals reach nominal coverage within Monte Carlo error on every "
        "dataset for every conformalized method (mean coverage over seeds at least 0.9 - 3 se; "
        "se from the test draw and the calibration draw of a valid 90% split interval, "
        "sqrt(0.09 / n_test + 0.09 / (n_cal + 2)) per seed, n_cal = 30% of the fit rows): "
        + ("yes" if not short else "no: " + ", ".join(short))
        + f" (lowest: {lowest[1]}; {len(conformal)} methods x {len(datasets)} datasets)."
    )
    lines += ["", "## Mean WIS over seeds (lower is better; relative to the best base model)", ""]
    header = "| dataset | " + " | ".join(methods) + " |"
    lines += [header, "|" + "---|" * (len(methods) + 1)]
    for d in datasets:
        best_base = min(mean(d, b) for b in BASES)
        lines.append(
            f"| {d} | " + " | ".join(f"{mean(d, m) / best_base:.3f}" for m in methods) + " |"
        )
    lines += ["", "## Coverage of the 90% pair (mean over seeds)", "", header]
    lines.append("|" + "---|" * (len(methods) + 1))
    for d in datasets:
        lines.append(
            f"| {d} | " + " | ".join(f"{mean(d, m, 'coverage'):.3f}" for m in methods) + " |"
        )
    lines += ["", "## Absolute mean WIS and fit seconds", "", "| dataset | method | WIS | "
              "WIS unsorted | normalized width | fit s |", "|---|---|---|---|---|---|"]  # fmt: skip
    for d in datasets:
        for m in methods:
            lines.append(
                f"| {d} | {m} | {mean(d, m):.4g} | {mean(d, m, 'wis_unsorted'):.4g} | "
                f"{mean(d, m, 'normalized_width'):.3f} | {mean(d, m, 'fit_seconds'):.2f} |"
            )
    lines += [
        "",
        "fit seconds of the aggregators count the weight fit plus the base-model fits not "
        "already cached in the run (the first aggregator of a dataset and seed pays the fold "
        "fits; see conformal/benchmark/_methods_quantile.py).",
    ]
    weighted = [m for m in methods if m.startswith("q-") and m not in BASES and m != "q-best"]
    lines += [
        "",
        "## Aggregation weight-fitting time (fit seconds, mean over seeds)",
        "",
        "The base models' fold fits are cached by then (q-best, the first aggregator of each "
        "dataset and seed, paid them), so these are the weight fit plus the out-of-fold "
        "predictions of the cached models: LPs for coarse/medium/fine (HiGHS, at most 2,000 "
        "rows), one linear quantile regression per level for QRA, L-BFGS gating for local.",
        "",
        "| dataset | rows | " + " | ".join(weighted) + " |",
        "|" + "---|" * (len(weighted) + 2),
    ]
    n_fit = {row["dataset"]: row["n_train"] for row in rows}
    for d in datasets:
        lines.append(
            f"| {d} | {n_fit[d]} | "
            + " | ".join(f"{mean(d, m, 'fit_seconds'):.2f}" for m in weighted)
            + " |"
        )
    (RESULTS / "quantile_aggregation.md").write_text("\n".join(lines) + "\n")
    _figure(datasets, methods, mean)
    print("\n".join(lines[:12]))


def _figure(datasets, methods, mean) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [m for m in methods if m.startswith("q-") and m not in BASES] + ["q-forest", "q-gbm"]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for i, m in enumerate(shown):
        ratios = [mean(d, m) / min(mean(d, b) for b in BASES) for d in datasets]
        ax.scatter(np.arange(len(datasets)) + (i - len(shown) / 2) * 0.06, ratios, s=14, label=m)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xticks(np.arange(len(datasets)), datasets, rotation=30, ha="right")
    ax.set_ylabel("mean WIS / best base model's")
    ax.set_title("Quantile aggregation: WIS relative to the best single base model")
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(RESULTS / "quantile_aggregation.png", dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max-rows", type=int, default=1500)
    parser.add_argument("--datasets", nargs="*", default=None)
    parser.add_argument("--part", default=None, help="write the rows to /tmp/quantile_<part>.csv")
    parser.add_argument("--report", nargs="*", default=None, help="merge these part CSVs")
    args = parser.parse_args()
    if args.report is not None:
        report([Path(p) for p in args.report])
        return
    datasets = args.datasets or list_datasets(task="regression")
    out = Path(f"/tmp/quantile_{args.part}.csv") if args.part else Path("/tmp/quantile_all.csv")
    run(datasets, args.seeds, args.max_rows, out)
    if not args.part:
        report([out])


if __name__ == "__main__":
    main()
