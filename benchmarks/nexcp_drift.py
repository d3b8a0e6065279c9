"""Split CP against nexCP (exponential decay weights) on drifting data: the experiments of
Barber, Candes, Ramdas and Tibshirani (2023), Section 5.

Protocol (split conformal, online): for each time ``t`` from 100 to ``N - 1``, the past rows
``0..t-1`` are split at random into halves (one split per ``t``, the same for both methods);
least squares (with intercept) is fitted on one half, the absolute residuals of the other half are
the calibration scores, and ``y_t`` is covered when ``|y_t - f(x_t)|`` is at most the threshold:

- CP: the unweighted threshold, ``conformal_quantile(scores, 0.9)``;
- nexCP: ``conformal_quantile(scores, 0.9, weights=0.99 ** (t - i))``, the calibration row
  ``i`` weighted by its age, the test point by 1.

Both thresholds come from the package's calibration layer (the function the estimators call;
``tests/regression/test_nexcp_validity.py`` checks that ``SplitConformalRegressor(weights=
ExponentialDecayWeights(0.99))`` gives the same intervals as this loop). Reported: mean coverage
and mean width over ``t``, averaged over trials (with the standard error over trials).

1. Synthetic drift (Section 5.1): N = 2000, X ~ N(0, I_4), Y = X'beta_t + N(0, 1); setting 1
   beta = (2, 1, 0, 0) always; setting 2 changepoints at 500 and 1500; setting 3 beta drifting
   linearly from (2, 1, 0, 0) to (0, 0, 2, 1). 30 trials.
2. ELEC2 (Section 5.2; the bundled ``elec2``, 3,444 time points): the original order, and 30
   random permutations of it (exchangeable data).

Run:  .venv/bin/python benchmarks/nexcp_drift.py [--trials 30]
Writes benchmarks/results/nexcp_drift.md and .csv.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

from conformal import conformal_quantile
from conformal.datasets import load_dataset

RESULTS = Path(__file__).resolve().parent / "results"
LEVEL = 0.9
RHO = 0.99


def synthetic(setting: int, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The three settings of Barber et al. (2023), Section 5.1."""
    X = rng.normal(size=(n, 4))
    t = np.arange(1, n + 1)
    start, end = np.array([2.0, 1.0, 0.0, 0.0]), np.array([0.0, 0.0, 2.0, 1.0])
    if setting == 1:
        beta = np.tile(start, (n, 1))
    elif setting == 2:
        beta = np.where(
            (t <= 500)[:, None],
            start,
            np.where((t <= 1500)[:, None], np.array([0.0, -2.0, -1.0, 0.0]), end),
        )
    else:
        share = ((t - 1) / (n - 1))[:, None]
        beta = (1 - share) * start + share * end
    return X, np.einsum("ij,ij->i", X, beta) + rng.normal(size=n)


def online_split(
    X: np.ndarray, y: np.ndarray, rng: np.random.Generator, start: int = 100
) -> dict[str, tuple[float, float]]:
    """Mean coverage and mean width over t of split CP and split nexCP."""
    design = np.column_stack([np.ones(len(y)), X])
    covered = {"CP": [], "nexCP": []}
    width = {"CP": [], "nexCP": []}
    for t in range(start, len(y)):
        order = rng.permutation(t)
        train, cal = order[: t // 2], np.sort(order[t // 2 :])
        beta = np.linalg.lstsq(design[train], y[train], rcond=None)[0]
        scores = np.abs(y[cal] - design[cal] @ beta)
        error = abs(y[t] - design[t] @ beta)
        for name, weights in (("CP", None), ("nexCP", RHO ** (t - cal))):
            q = float(conformal_quantile(scores, LEVEL, weights=weights))
            covered[name].append(error <= q)
            width[name].append(2 * q)
    return {m: (float(np.mean(covered[m])), float(np.mean(width[m]))) for m in covered}


def _se(values: np.ndarray) -> float:
    """Standard error of the mean over trials (0 for a single trial)."""
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()
    rows = []
    began = time.perf_counter()
    experiments = [(f"synthetic setting {s}", s) for s in (1, 2, 3)]
    experiments += [("elec2, original order", "original"), ("elec2, permuted", "permuted")]
    X_elec, y_elec = load_dataset("elec2")
    for label, kind in experiments:
        results: dict[str, list[tuple[float, float]]] = {"CP": [], "nexCP": []}
        trials = 1 if kind == "original" else args.trials
        for trial in range(trials):
            rng = np.random.default_rng(trial)
            if isinstance(kind, int):
                X, y = synthetic(kind, 2000, rng)
            elif kind == "original":
                X, y = X_elec, y_elec
            else:
                order = rng.permutation(len(y_elec))
                X, y = X_elec[order], y_elec[order]
            for method, value in online_split(X, y, rng).items():
                results[method].append(value)
        for method, values in results.items():
            cov, wid = np.array(values).T
            rows.append(
                {
                    "experiment": label,
                    "method": method,
                    "trials": trials,
                    "coverage": float(cov.mean()),
                    "coverage_se": _se(cov),
                    "width": float(wid.mean()),
                    "width_se": _se(wid),
                }
            )
            print(rows[-1], file=sys.stderr)
    elapsed = time.perf_counter() - began
    with open(RESULTS / "nexcp_drift.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        "# Split CP vs nexCP (rho = 0.99) on drifting data",
        "",
        "Barber, Candes, Ramdas and Tibshirani (2023), Section 5, split-conformal version: at each",
        "time t >= 100 least squares on a random half of the past, calibration on the other half,",
        "level 0.9. Mean coverage and width over t; mean (standard error) over trials.",
        f"Command: `.venv/bin/python benchmarks/nexcp_drift.py --trials {args.trials}` "
        f"({elapsed:.0f} s).",
        "",
        "| experiment | method | trials | coverage | width |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['experiment']} | {r['method']} | {r['trials']} | "
            f"{r['coverage']:.3f} ({r['coverage_se']:.3f}) | "
            f"{r['width']:.3f} ({r['width_se']:.3f}) |"
        )
    lines += [
        "",
        "The paper's split-conformal findings: in setting 1 (exchangeable) both cover at 0.9;",
        "under changepoints and drift CP under-covers and nexCP stays near 0.9 with wider",
        "intervals where needed; on ELEC2 CP under-covers in the original order but not after a",
        "random permutation, and nexCP restores coverage near 0.9.",
    ]
    (RESULTS / "nexcp_drift.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
