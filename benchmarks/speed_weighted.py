"""Per-test-point weighted conformal quantiles (covariate shift).

Under covariate shift each test point ``x`` has its own weight ``w(x)`` (a likelihood ratio) and
its own threshold: the ``0.9`` quantile of the calibration scores weighted by ``w(X_i)``, plus
``w(x)`` at ``+inf`` (Tibshirani et al. 2019). With ``--n-cal`` calibration points and
``--n-test`` test points:

- ours: ``conformal.conformal_quantile(scores, 0.9, weights=w, test_weights=w_test)``: sort once,
  prefix sums once, then a binary search per test point (numba kernel, ``prange`` over test
  points): O((n + m) log n).
- plain NumPy loop: for each test point, append its weight at ``+inf``, normalise, sort, cumsum,
  take the first point whose cumulative weight reaches 0.9: O(m n log n). It is slow, so it is
  timed on the first ``--n-loop`` test points and extrapolated linearly to ``--n-test``.
- NumPy, vectorised (for reference): the same algorithm as ours (``argsort`` once, ``cumsum``
  once, ``np.searchsorted`` for all test points at once), so the table separates the algorithmic
  gain from what the compiled kernel adds.

Results are checked for equality before anything is timed: ours against the loop on the loop's
subset, ours against the vectorised NumPy version on all test points.

MAPIE (1.6) and crepes (0.9) are not in the table: neither offers a weighted quantile with
user-given calibration and per-test-point weights (see the markdown output for what they do offer).

Run:  .venv/bin/python benchmarks/speed_weighted.py
          [--n-cal 100000] [--n-test 100000] [--n-loop 2000]
Writes benchmarks/results/speed_weighted.csv and benchmarks/results/speed_weighted.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    RESULTS,
    best_of,
    fresh_interpreter_runs,
    machine_info,
    machine_markdown,
    markdown_table,
    seconds,
    write_csv,
)

LEVEL = 0.9
SHIFT = 0.5  # test covariates ~ N(SHIFT, 1), calibration covariates ~ N(0, 1)


def make_data(n_cal: int, n_test: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Absolute residuals whose spread grows with x; likelihood-ratio weights of a mean shift."""
    rng = np.random.default_rng(seed)
    x_cal = rng.normal(size=n_cal)
    x_test = rng.normal(loc=SHIFT, size=n_test)
    scores = np.abs(rng.normal(size=n_cal) * (1.0 + 0.5 * np.abs(x_cal)))

    def likelihood_ratio(x: np.ndarray) -> np.ndarray:  # N(SHIFT, 1) / N(0, 1) densities
        return np.exp(SHIFT * x - SHIFT**2 / 2)

    return {
        "scores": scores,
        "weights": likelihood_ratio(x_cal),
        "test_weights": likelihood_ratio(x_test),
    }


def ours(scores: np.ndarray, weights: np.ndarray, test_weights: np.ndarray) -> np.ndarray:
    from conformal import conformal_quantile

    return conformal_quantile(scores, LEVEL, weights=weights, test_weights=test_weights)


def numpy_loop(scores: np.ndarray, weights: np.ndarray, test_weights: np.ndarray) -> np.ndarray:
    """The textbook computation, one test point at a time."""
    values = np.append(scores, np.inf)
    out = np.empty(test_weights.shape[0])
    for j, w_test in enumerate(test_weights):
        mass = np.append(weights, w_test)
        mass = mass / mass.sum()
        order = np.argsort(values)
        cumulative = np.cumsum(mass[order])
        out[j] = values[order][np.searchsorted(cumulative, LEVEL, side="left")]
    return out


def numpy_vectorised(
    scores: np.ndarray, weights: np.ndarray, test_weights: np.ndarray
) -> np.ndarray:
    """Sort once, prefix sums once, one vectorised binary search (no per-point loop)."""
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    cumulative = np.cumsum(weights[order])
    targets = LEVEL * (cumulative[-1] + test_weights)
    index = np.searchsorted(cumulative, targets, side="left")
    return np.where(
        index < scores.shape[0], sorted_scores[np.minimum(index, scores.shape[0] - 1)], np.inf
    )


def first_call_child(n_cal: int, n_test: int) -> None:
    """(Run in a fresh interpreter.) First and second call of ours, as JSON."""
    data = make_data(n_cal, n_test)
    import conformal  # noqa: F401  (import time is not measured)

    times = []
    for _ in range(2):
        start = time.perf_counter()
        ours(data["scores"], data["weights"], data["test_weights"])
        times.append(time.perf_counter() - start)
    print(json.dumps({"first_s": times[0], "second_s": times[1]}))


def first_calls(n_cal: int, n_test: int) -> dict[str, float]:
    """First-call times of ours in fresh interpreters with an empty and a filled numba cache."""
    runs = fresh_interpreter_runs(__file__, ["--n-cal", str(n_cal), "--n-test", str(n_test)])
    return {
        f"{key}_{mode}_s": runs[mode][f"{key}_s"]
        for mode in ("cold", "warm")
        for key in ("first", "second")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-cal", type=int, default=100_000, help="calibration points")
    parser.add_argument("--n-test", type=int, default=100_000, help="test points")
    parser.add_argument(
        "--n-loop",
        type=int,
        default=2_000,
        help="test points the NumPy loop is timed on (extrapolated to --n-test)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (best is kept)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--first-call-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_call_child:
        first_call_child(args.n_cal, args.n_test)
        return

    info = machine_info()
    data = make_data(args.n_cal, args.n_test)
    s, w, wt = data["scores"], data["weights"], data["test_weights"]
    n_loop = min(args.n_loop, args.n_test)

    # Agreement first (this is also the warm-up of every method).
    ours_all = ours(s, w, wt)
    loop_subset = numpy_loop(s, w, wt[:n_loop])
    np.testing.assert_array_equal(ours_all[:n_loop], loop_subset, err_msg="ours vs NumPy loop")
    np.testing.assert_array_equal(
        ours_all, numpy_vectorised(s, w, wt), err_msg="ours vs vectorised"
    )
    n_inf = int(np.isinf(ours_all).sum())
    print(
        f"results equal: ours = NumPy loop on {n_loop} test points, ours = vectorised NumPy on "
        f"all {args.n_test} ({n_inf} infinite thresholds)"
    )

    first = first_calls(args.n_cal, args.n_test)
    t_ours, _ = best_of(lambda: ours(s, w, wt), args.repeats)
    t_vec, _ = best_of(lambda: numpy_vectorised(s, w, wt), args.repeats)
    start = time.perf_counter()
    numpy_loop(s, w, wt[:n_loop])
    t_loop_subset = time.perf_counter() - start
    t_loop = t_loop_subset * args.n_test / n_loop

    rows = [
        {
            "method": "ours",
            "n_cal": args.n_cal,
            "n_test": args.n_test,
            "n_timed": args.n_test,
            "timed_s": t_ours,
            "time_s": t_ours,
            "extrapolated": False,
            "ratio": 1.0,
            **first,
        },
        {
            "method": "numpy_loop",
            "n_cal": args.n_cal,
            "n_test": args.n_test,
            "n_timed": n_loop,
            "timed_s": t_loop_subset,
            "time_s": t_loop,
            "extrapolated": n_loop < args.n_test,
            "ratio": t_loop / t_ours,
        },
        {
            "method": "numpy_vectorised",
            "n_cal": args.n_cal,
            "n_test": args.n_test,
            "n_timed": args.n_test,
            "timed_s": t_vec,
            "time_s": t_vec,
            "extrapolated": False,
            "ratio": t_vec / t_ours,
        },
    ]
    csv_path = args.output / "speed_weighted.csv"
    md_path = args.output / "speed_weighted.md"
    write_csv(csv_path, rows)
    text = render(rows, info, args, n_loop, n_inf)
    md_path.write_text(text)
    print()
    print(text)
    print(f"wrote {csv_path} and {md_path}")


NAMES = {
    "ours": "conformal (ours): `conformal_quantile(..., test_weights=w_test)`",
    "numpy_loop": "plain NumPy loop (per test point: append, normalise, argsort, cumsum)",
    "numpy_vectorised": (
        "NumPy vectorised, same algorithm as ours (argsort once, cumsum, searchsorted)"
    ),
}


def render(
    rows: list[dict[str, Any]],
    info: dict[str, str],
    args: argparse.Namespace,
    n_loop: int,
    n_inf: int,
) -> str:
    table = markdown_table(
        [
            "method",
            "test points timed",
            "time measured",
            f"time for {args.n_test:,} test points",
            "method / ours",
        ],
        [
            [
                NAMES[r["method"]],
                f"{r['n_timed']:,}",
                seconds(r["timed_s"]),
                seconds(r["time_s"]) + (" (extrapolated)" if r["extrapolated"] else ""),
                f"**{r['ratio']:,.1f}**",
            ]
            for r in rows
        ],
    )
    ours_row = rows[0]
    command = (
        f"benchmarks/speed_weighted.py --n-cal {args.n_cal} --n-test {args.n_test} "
        f"--n-loop {args.n_loop} --repeats {args.repeats}"
    )
    return f"""# Weighted (covariate-shift) conformal quantile, one threshold per test point

`{command}`

{args.n_cal:,} calibration scores with likelihood-ratio weights `w(x)` of a mean shift
(calibration `x ~ N(0, 1)`, test `x ~ N({SHIFT}, 1)`), {args.n_test:,} test points each with its
own weight at `+inf`; confidence level {LEVEL}. Ours and the vectorised NumPy version: best of
{args.repeats} after a warm-up. The plain loop is timed once on the first {n_loop:,} test points
and **extrapolated linearly** to {args.n_test:,} (its cost is the same for every test point).
Before timing, the results were checked to be identical (`assert_array_equal`): ours = loop on
those {n_loop:,} test points, ours = vectorised NumPy on all {args.n_test:,}
({n_inf:,} thresholds are `+inf`: the test point's own weight is too large).

{table}

First call of ours in a fresh interpreter (imports excluded): {seconds(ours_row["first_cold_s"])}
with an empty numba cache (the kernel compiles), {seconds(ours_row["first_warm_s"])} in a second
interpreter with the cache the first one filled, {seconds(ours_row["second_warm_s"])} for the
second call in that interpreter.

**MAPIE and crepes.** Neither offers this computation, so they are not in the table. MAPIE 1.6
computes unweighted quantiles (`mapie.utils._compute_regression_quantile`, `np.nanquantile`);
its `ConditionalSplitConformalRegressor` (Gibbs, Cherian and Candes) solves a linear programme
per test point for conditional coverage over a function class, a different method with no
user-given weights. crepes 0.9 calibrates with unweighted sorted scores, optionally normalised
(`sigmas`) or per Mondrian category (`bins`); it has no weights.

{machine_markdown(info)}
"""


if __name__ == "__main__":
    main()
