"""CP-MDA on real missing covariates: marginal coverage, coverage by number of missing values,
widths, for impute-then-CQR, CP-MDA-Exact and CP-MDA-Nested.

Datasets (bundled): ``communities_crime`` (a block of 22 police columns missing together in 84%
of the rows), ``beijing_aotizhongxin`` (scattered sensor gaps; a random subsample of
``--beijing-rows`` rows per repetition to bound the run time) and ``star_raw`` (Tennessee STAR:
students enter and leave, whole school years missing). Each repetition draws a random 75/25
split; the estimator (``HistGradientBoostingRegressor(loss="quantile")`` with the default
imputer ``IterativeImputer(Ridge())`` fitted on its training part, mask appended, 30% of the fit
rows calibrating) is fitted once and serves the three calibrations.

Groups: the test rows with the same number of missing values; a group is reported when it has
at least 30 rows in every repetition on average. ``infinite``: the fraction of infinite
intervals (Exact, masks with fewer than 9 compatible calibration points); widths are medians
(an infinite interval makes a mean infinite).

Run:  .venv/bin/python benchmarks/missing_real.py [--repetitions 10]
Writes benchmarks/results/missing_real.md and .csv.
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from conformal.datasets import load_dataset
from conformal.exceptions import ConformalWarning
from conformal.metrics import coverage_by_mask
from conformal.missing import MissingDataConformalRegressor

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = {"impute": "impute-then-CQR", "exact": "CP-MDA-Exact", "nested": "CP-MDA-Nested"}
MIN_GROUP = 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repetitions", type=int, default=10)
    parser.add_argument("--beijing-rows", type=int, default=8000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # a script: ConvergenceWarning and Exact's warnings
    start = time.perf_counter()
    rows = []
    for name in ("communities_crime", "beijing_aotizhongxin", "star_raw"):
        X_all, y_all = load_dataset(name)
        for seed in range(args.repetitions):
            rng = np.random.default_rng(seed)
            order = rng.permutation(len(y_all))
            if name == "beijing_aotizhongxin":
                order = order[: args.beijing_rows]
            X, y = X_all[order], y_all[order]
            cut = len(y) * 3 // 4
            model = MissingDataConformalRegressor(
                HistGradientBoostingRegressor(loss="quantile", random_state=seed),
                random_state=seed,
            ).fit(X[:cut], y[:cut])
            X_test, y_test = X[cut:], y[cut:]
            for method in METHODS:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConformalWarning)
                    intervals = model.predict_interval(X_test, method=method)
                widths = intervals[:, 1] - intervals[:, 0]
                covered = (y_test >= intervals[:, 0]) & (y_test <= intervals[:, 1])
                base = {"dataset": name, "repetition": seed, "method": method}
                rows.append(
                    {
                        **base,
                        "group": "all",
                        "n": len(y_test),
                        "coverage": covered.mean(),
                        "median_width": float(np.median(widths)),
                        "infinite": float(np.isinf(widths).mean()),
                    }
                )
                counts = np.isnan(X_test).sum(axis=1)
                for k, result in coverage_by_mask(y_test, intervals, X_test).items():
                    rows.append(
                        {
                            **base,
                            "group": k,
                            "n": result.n,
                            "coverage": result.coverage,
                            "median_width": float(np.median(widths[counts == k])),
                            "infinite": float(np.isinf(widths[counts == k]).mean()),
                        }
                    )
            print(name, seed, f"{time.perf_counter() - start:.0f} s", flush=True)
    elapsed = time.perf_counter() - start
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "missing_real.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    grouped: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        grouped[(r["dataset"], r["group"], r["method"])].append(r)
    lines = [
        "# CP-MDA on real missing covariates",
        "",
        "Random 75/25 splits; quantile HGB with IterativeImputer(Ridge) fitted on the training",
        "part and the mask appended; level 0.9. Coverage: mean over repetitions (standard error);",
        "width: mean over repetitions of the median width; inf: fraction of infinite intervals.",
        "Groups: test rows with the same number of missing values (shown when they average at",
        f"least {MIN_GROUP} rows). beijing_aotizhongxin: {args.beijing_rows} random rows per",
        "repetition.",
        f"Command: `.venv/bin/python benchmarks/missing_real.py --repetitions "
        f"{args.repetitions}` ({elapsed:.0f} s).",
        "",
        "| dataset | n missing | rows | "
        + " | ".join(f"{label} coverage | width | inf" for label in METHODS.values())
        + " |",
        "|---|---|---|" + "---|---|---|" * len(METHODS),
    ]
    keys = sorted(
        {(r["dataset"], r["group"]) for r in rows},
        key=lambda k: (k[0], -1 if k[1] == "all" else k[1]),
    )
    for dataset, group in keys:
        first = grouped[(dataset, group, "impute")]
        n = np.mean([r["n"] for r in first])
        if group != "all" and (n < MIN_GROUP or len(first) < args.repetitions):
            continue
        cells = [dataset, str(group), f"{n:.0f}"]
        for method in METHODS:
            sel = grouped[(dataset, group, method)]
            cov = np.array([r["coverage"] for r in sel])
            se = cov.std(ddof=1) / np.sqrt(len(cov)) if len(cov) > 1 else 0.0
            cells += [
                f"{cov.mean():.3f} ({se:.3f})",
                f"{np.mean([r['median_width'] for r in sel]):.3f}",
                f"{np.mean([r['infinite'] for r in sel]):.1%}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    (RESULTS / "missing_real.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
