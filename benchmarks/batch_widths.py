"""Batch predictive inference against its baselines on bundled data.

1. The benchmark runner's ``batch`` task (``conformal.benchmark.run_benchmark``) on three
   regression datasets, three seeds: per-point coverage, ``batch_coverage`` (the fraction of test
   batches of 50 rows covered entirely) and widths of the exact simultaneous intervals
   (``batch-exact``), Bonferroni, calibration-set partitioning and per-point intervals.
2. Threshold (half-width of the absolute-residual intervals, in units of the standard deviation
   of ``y``) as the batch size ``m`` grows, at a fixed calibration set, on ``power_plant``:
   where Bonferroni and partitioning become infinite, the exact bound is still finite.

Run:  .venv/bin/python benchmarks/batch_widths.py
Writes benchmarks/results/batch_widths.csv, batch_widths_m.csv and batch_widths.md.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine_info, machine_markdown, markdown_table, write_csv

from conformal.benchmark import format_summary, run_benchmark, summarize
from conformal.benchmark._methods_batch import KINDS, batch_threshold
from conformal.datasets import load_dataset

DATASETS = ["power_plant", "kin8nm", "concrete"]
METHODS = [f"batch-{kind}" for kind in KINDS]


def width_by_batch_size(n_calibration: int = 1000) -> list[dict[str, object]]:
    X, y = load_dataset("power_plant")
    X_train, X_cal, y_train, y_cal = train_test_split(X, y, test_size=n_calibration, random_state=0)
    model = HistGradientBoostingRegressor(random_state=0).fit(X_train, y_train)
    scores = np.abs(y_cal - model.predict(X_cal))
    spread = float(np.std(y))
    rows = []
    for delta in (0.0, 0.1):
        for m in [1, 10, 50, 100, 111, 200, 500]:
            row: dict[str, object] = {"delta": delta, "m": m, "n_calibration": n_calibration}
            for kind in KINDS:
                row[kind] = batch_threshold(kind, scores, m, 0.9, delta) / spread
            rows.append(row)
    return rows


def main() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = run_benchmark(DATASETS, METHODS, seeds=3, confidence_level=0.9, progress=False)
    summary = summarize(raw)
    write_csv(RESULTS / "batch_widths.csv", summary)
    by_m = width_by_batch_size()
    write_csv(RESULTS / "batch_widths_m.csv", by_m)
    table = [
        [r["delta"], r["m"], *(f"{float(r[k]):.3f}" for k in KINDS)]  # type: ignore[arg-type]
        for r in by_m
    ]
    text = f"""# Batch predictive inference against its baselines

`benchmarks/batch_widths.py`

## The `batch` task of the benchmark runner

Three regression datasets, seeds 0-2, 20% test, level 0.9; the test part is cut into batches
of 50 rows. *batch_coverage* is the fraction of batches in which at least 45 of the 50
intervals (delta = 0.1) hold their point (target: at least 0.9 for all but `batch-pointwise`);
*coverage* is per point. Same fitted split (histogram gradient boosting, absolute residuals) for
all four. `inf` widths: the calibration part (30% of the fit part) is too small for the method.

{format_summary(summary)}

## Half-width as the batch grows (power_plant, n = 1000 calibration points)

Threshold of the absolute-residual intervals, in standard deviations of `y`, covering at least
`ceil((1 - delta) m)` of the `m` points of a batch at once with probability 0.9 (`pointwise`:
per-point 0.9 intervals, not simultaneous; Bonferroni covers all `m`, whatever delta). `inf`:
the method needs more calibration points (Bonferroni: n >= m / a - 1 = 10 m - 1; partitioning:
floor(n / m) >= 9; exact, delta = 0: n >= 9 m). With delta = 0 the exact rank is Bonferroni's
(or one below) until Bonferroni turns infinite (m = 101..111 here); with delta = 0.1 it is
much smaller, and the only finite one at m = 200 and 500.

{markdown_table(["delta", "m", *KINDS], table)}

{machine_markdown(machine_info())}
"""
    (RESULTS / "batch_widths.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
