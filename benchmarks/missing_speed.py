"""Speed of CP-MDA-Exact and CP-MDA-Nested against a straightforward per-pair implementation.

Work: d = 10 (the section 7.1 model, MCAR 0.2), 500 training and 250 calibration points,
3,000 test points, IterativeImputer(Ridge()) and linear quantile regression, a = 0.1.

- ours: ``MissingDataConformalRegressor.predict_interval(X_test, method=...)`` on all 3,000
  test points (Exact: one batch of augmented points for all distinct test masks; Nested: groups
  of test points sharing a mask batched into few imputer and model calls over deduplicated
  augmented masks);
- per pair: the definition, one imputer call and one model call per calibration/test pair
  (``tests/missing/_naive.py``, as the authors' reference code works). It is too slow to run on
  3,000 test points, so it runs on the first ``--naive-points`` of them and its time is scaled
  to 3,000 (it is linear in the number of test points); the intervals of those points must be
  identical to ours (max absolute difference printed).

Run:  .venv/bin/python benchmarks/missing_speed.py [--naive-points 12]
Writes benchmarks/results/missing_speed.md and .csv.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import QuantileRegressor

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformal.exceptions import ConformalWarning  # noqa: E402
from conformal.missing import MissingDataConformalRegressor, make_gaussian_missing  # noqa: E402
from tests.missing._naive import naive_intervals  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--naive-points", type=int, default=12)
    parser.add_argument("--n-test", type=int, default=3000)
    args = parser.parse_args()
    X, y = make_gaussian_missing(750, random_state=0)
    X_test, _ = make_gaussian_missing(args.n_test, random_state=1)
    model = MissingDataConformalRegressor(
        QuantileRegressor(alpha=0.0, solver="highs"), calibration_size=250, random_state=0
    ).fit(X, y)
    warnings.simplefilter("ignore", ConformalWarning)
    rows = []
    for method in ("exact", "nested"):
        start = time.perf_counter()
        ours = model.predict_interval(X_test, method=method)
        t_ours = time.perf_counter() - start
        k = args.naive_points
        start = time.perf_counter()
        naive = naive_intervals(model, X_test[:k], method)
        t_naive = (time.perf_counter() - start) * args.n_test / k
        finite = np.isfinite(naive) | np.isfinite(ours[:k])
        diff = float(np.max(np.abs(np.where(finite, naive - ours[:k], 0.0))))
        same_inf = bool((np.isinf(naive) == np.isinf(ours[:k])).all())
        rows.append(
            {
                "method": method,
                "n_calibration": 250,
                "n_test": args.n_test,
                "ours_s": round(t_ours, 3),
                "per_pair_s_scaled": round(t_naive, 1),
                "per_pair_points_run": k,
                "speedup": round(t_naive / t_ours, 1),
                "max_abs_difference": diff,
                "same_infinite_bounds": same_inf,
            }
        )
        print(rows[-1], flush=True)
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "missing_speed.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        "# CP-MDA speed: batched by mask against one imputer/model call per pair",
        "",
        "d = 10, MCAR 0.2, 250 calibration x 3,000 test points, IterativeImputer(Ridge()),",
        "linear quantile regression. Per pair: the definition, one imputer call and one model",
        "call per calibration/test pair, run on the first test points and scaled to 3,000 (linear",
        "in the test points); its intervals on those points must equal ours. One run, one",
        "machine; `.venv/bin/python benchmarks/missing_speed.py "
        f"--naive-points {args.naive_points}`.",
        "",
        "| method | ours (s) | per pair, scaled (s) | speed-up | max abs difference "
        "| same infinite |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['ours_s']} | {r['per_pair_s_scaled']} | {r['speedup']}x | "
            f"{r['max_abs_difference']:.1e} | {r['same_infinite_bounds']} |"
        )
    (RESULTS / "missing_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
