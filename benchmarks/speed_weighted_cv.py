"""Weighted CV+ under covariate shift (JAWS): time and peak memory at 20,000 x 20,000, K = 10.

``conformal.CrossConformalRegressor(weights=w, cv=KFold(10))`` with ``LinearRegression`` on 20
features; the training covariates are ``N(0, I)``, the test covariates have their first feature
shifted to ``N(SHIFT, 1)``, and ``w`` is that known likelihood ratio
``exp(SHIFT * x_0 - SHIFT^2 / 2)``. Each test point gets the weighted plus interval of Prinster,
Liu and Saria (2022): the weighted quantiles of ``{f_{-k(i)}(x) +- R_i}`` with weights
``w(X_i) / (sum_j w(X_j) + w(x))`` and the test point's own mass at ``+-inf``.

Three runs, each in a fresh interpreter so that its peak resident memory (``ru_maxrss``, the
"Maximum resident set size" of ``/usr/bin/time -v``) is its own:

1. **ours, weighted**: ``fit`` + ``predict_interval`` on all ``--n-test`` test points (after a
   small untimed run that loads the compiled kernels). No ``(n_test, n)`` matrix: the kernel
   selects across the 10 folds' sorted scores with running weight sums, ``O(K log^2 n)`` per
   test point.
2. **ours, unweighted** (the same CV+ without ``weights``): what the weighting costs.
3. **NumPy reference** (the textbook computation): the ``(m, n)`` matrices of the values
   ``f_{-k(i)}(x) +- R_i``, ``argsort`` along each row, normalised weights gathered and summed
   (``cumsum``), first index reaching the level. Its time and memory grow with ``m x n``, so it
   runs on the first ``--n-sub`` test points only, and its time is **extrapolated linearly** to
   ``--n-test`` (its cost per test point is constant); the memory of the full computation is
   extrapolated from the size of its matrices (8 bytes x n_test x n each, several alive at
   once) and not measured. It fits the same weighted CV+ as run 1 (same splits, hence the same
   fold models, scores and weights) and takes its fold models, scores, folds and weights; only
   the bounds are timed (with the fold models' predictions on its test rows).

Before anything is written, run 3's intervals are checked to equal run 1's on the subset
(``assert_array_equal``).

Run:  .venv/bin/python benchmarks/speed_weighted_cv.py  [--n 20000] [--n-test 20000] [--n-sub 500]
Writes benchmarks/results/speed_weighted_cv.csv and benchmarks/results/speed_weighted_cv.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine_info, machine_markdown, markdown_table, seconds, write_csv

LEVEL = 0.9
N_FEATURES = 20
N_FOLDS = 10
SHIFT = 0.5  # test x_0 ~ N(SHIFT, 1), training x_0 ~ N(0, 1)
BUDGET_MB = 500


def likelihood_ratio(X: np.ndarray) -> np.ndarray:
    """dP_test / dP_train of the covariates: N(SHIFT, 1) / N(0, 1) in the first feature."""
    return np.exp(SHIFT * np.asarray(X)[:, 0] - SHIFT**2 / 2)


def make_data(n: int, n_test: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Linear signal in 20 features, noise growing with |x_0|; the test rows shifted in x_0."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n + n_test, N_FEATURES))
    X[n:, 0] += SHIFT
    beta = rng.normal(size=N_FEATURES)
    y = X @ beta + (1.0 + np.abs(X[:, 0])) * rng.normal(size=n + n_test)
    return X[:n], y[:n], X[n:], y[n:]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def _model(weighted: bool) -> Any:
    from conformal import CrossConformalRegressor

    return CrossConformalRegressor(
        LinearRegression(),
        confidence_level=LEVEL,
        method="plus",
        cv=KFold(N_FOLDS, shuffle=True, random_state=0),
        weights=likelihood_ratio if weighted else None,
    )


def numpy_reference(
    centers: np.ndarray,
    fold_of: np.ndarray,
    scores: np.ndarray,
    weights: np.ndarray,
    test_weights: np.ndarray,
) -> np.ndarray:
    """Weighted plus intervals from the (m, n) matrices: per row, sort the values, sum the
    normalised weights in that order, take the first value whose sum reaches the level (+-inf
    when none does). The lower bound is the mirror image (``-Q(-(f - R))``)."""
    mass = weights.sum() + test_weights  # (m,)
    p = weights[None, :] / mass[:, None]  # (m, n) normalised weights
    out = np.empty((centers.shape[0], 2))
    for side, sign in ((1, 1.0), (0, -1.0)):
        values = sign * centers[:, fold_of] + scores[None, :]  # (m, n)
        order = np.argsort(values, axis=1, kind="stable")
        cumulative = np.cumsum(np.take_along_axis(p, order, axis=1), axis=1)
        reached = cumulative >= LEVEL - 1e-12
        first = reached.argmax(axis=1)
        chosen = np.take_along_axis(values, np.take_along_axis(order, first[:, None], 1), 1)
        bound = np.where(reached.any(axis=1), chosen[:, 0], np.inf)
        out[:, side] = sign * bound
    return out


def child(run: str, n: int, n_test: int, n_sub: int, save: str) -> None:
    """(Run in a fresh interpreter.) One run; prints timings and peak memory as JSON."""
    import warnings

    from conformal import ConformalWarning

    warnings.simplefilter("ignore", ConformalWarning)  # infinite bounds are counted, not shown
    X, y, X_test, _ = make_data(n, n_test)
    # Small untimed runs first, so that loading the compiled kernels is not timed.
    for size in (50, 2_000):
        warm = _model(run != "ours_unweighted").fit(X[:size], y[:size])
        warm.predict_interval(X_test[:5])
    rss_before = _peak_rss_mb()
    model = _model(run != "ours_unweighted")
    start = time.perf_counter()
    model.fit(X, y)
    fitted = time.perf_counter()
    result: dict[str, Any] = {"fit_s": fitted - start}
    if run == "numpy":
        X_sub = X_test[:n_sub]
        rss_before = _peak_rss_mb()
        start = time.perf_counter()
        centers = np.column_stack([m.predict(X_sub) for m in model.estimators_])
        intervals = numpy_reference(
            centers,
            model.fold_of_,
            model.conformity_scores_,
            model.calibration_weights_,
            likelihood_ratio(X_sub),
        )
        done = time.perf_counter()
        result.update(predict_s=done - start, n_timed=n_sub)
    else:
        intervals = model.predict_interval(X_test)
        done = time.perf_counter()
        result.update(predict_s=done - fitted, n_timed=n_test)
        if run == "ours_weighted":
            result["effective_sample_size"] = model.effective_sample_size_
    result.update(
        total_s=done - start,
        n_infinite=int(np.isinf(intervals).any(axis=1).sum()),
        peak_rss_before_mb=rss_before,
        peak_rss_mb=_peak_rss_mb(),
    )
    np.save(save, intervals[:n_sub])
    print(json.dumps(result))


def run_child(run: str, n: int, n_test: int, n_sub: int, save: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", run, str(n), str(n_test), str(n_sub), save]
    print(f"running {run} n={n:,} n_test={n_test:,} ...", flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{run} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  predict {seconds(result['predict_s'])}, peak RSS {result['peak_rss_mb']:.0f} MB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="training points")
    parser.add_argument("--n-test", type=int, default=20_000, help="test points")
    parser.add_argument(
        "--n-sub",
        type=int,
        default=500,
        help="test points the NumPy reference runs on (time extrapolated to --n-test)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run, n, n_test, n_sub, save = args.child
        child(run, int(n), int(n_test), int(n_sub), save)
        return

    info = machine_info()
    n_sub = min(args.n_sub, args.n_test)
    runs = ("ours_weighted", "ours_unweighted", "numpy")
    with tempfile.TemporaryDirectory() as tmp:
        saved = {run: str(Path(tmp) / f"{run}.npy") for run in runs}
        results = {run: run_child(run, args.n, args.n_test, n_sub, saved[run]) for run in runs}
        np.testing.assert_array_equal(
            np.load(saved["ours_weighted"]), np.load(saved["numpy"]), err_msg="ours vs NumPy"
        )
    print(f"  weighted intervals equal the NumPy reference on {n_sub:,} test points")
    ours = results["ours_weighted"]
    rows = []
    for run in runs:
        r = results[run]
        extrapolated = r["n_timed"] < args.n_test
        predict_full = r["predict_s"] * args.n_test / r["n_timed"]
        rows.append(
            {
                "run": run,
                "n": args.n,
                "n_test": args.n_test,
                "n_folds": N_FOLDS,
                "n_timed": r["n_timed"],
                "fit_s": r["fit_s"],
                "predict_timed_s": r["predict_s"],
                "predict_s": predict_full,
                "predict_extrapolated": extrapolated,
                "peak_rss_mb": r["peak_rss_mb"],
                "peak_rss_before_mb": r["peak_rss_before_mb"],
                "matrix_gb_full": 8 * args.n * args.n_test / 1e9 if run == "numpy" else 0.0,
                "ratio_predict": predict_full / ours["predict_s"],
                "n_infinite": r["n_infinite"],
                "effective_sample_size": r.get("effective_sample_size", ""),
            }
        )
    assert ours["peak_rss_mb"] < BUDGET_MB, f"peak RSS {ours['peak_rss_mb']:.0f} MB"
    csv_path = args.output / "speed_weighted_cv.csv"
    md_path = args.output / "speed_weighted_cv.md"
    write_csv(csv_path, rows)
    text = render(rows, info, args, n_sub)
    md_path.write_text(text)
    print()
    print(text)
    print(f"wrote {csv_path} and {md_path}")


NAMES = {
    "ours_weighted": "conformal (ours), weighted CV+ `weights=w`",
    "ours_unweighted": "conformal (ours), unweighted CV+",
    "numpy": "NumPy reference, `(m, n)` matrices",
}


def render(
    rows: list[dict[str, Any]], info: dict[str, str], args: argparse.Namespace, n_sub: int
) -> str:
    table = markdown_table(
        [
            "run",
            "test points timed",
            "fit",
            "predict_interval (measured)",
            f"predict_interval for {args.n_test:,}",
            "peak RSS (process)",
            "predict / ours weighted",
        ],
        [
            [
                NAMES[r["run"]],
                f"{r['n_timed']:,}",
                seconds(r["fit_s"]),
                seconds(r["predict_timed_s"]),
                seconds(r["predict_s"]) + (" (extrapolated)" if r["predict_extrapolated"] else ""),
                f"{r['peak_rss_mb']:,.0f} MB"
                + (f" (on {n_sub:,} test points)" if r["run"] == "numpy" else ""),
                f"**{r['ratio_predict']:,.1f}**",
            ]
            for r in rows
        ],
    )
    ours, plain, ref = rows
    return f"""# Weighted CV+ under covariate shift (JAWS): time and memory

`benchmarks/speed_weighted_cv.py --n {args.n} --n-test {args.n_test} --n-sub {args.n_sub}`

{args.n:,} training and {args.n_test:,} test points, `LinearRegression` on {N_FEATURES}
features, `KFold({N_FOLDS}, shuffle=True, random_state=0)`, `method="plus"`, confidence level
{LEVEL}. The test covariates are shifted (`x_0 ~ N({SHIFT}, 1)` against `N(0, 1)` in training)
and `weights=w` is that known likelihood ratio, evaluated on every training row and each test
row (effective sample size of the training weights: {ours["effective_sample_size"]:,.0f} of
{args.n:,}; {ours["n_infinite"]:,} test points get an infinite bound, their own weight being too
large). Each row is one run in a fresh interpreter, after a small untimed run that loads the
compiled kernels. *Peak RSS* is the whole process's maximum resident memory (`ru_maxrss`),
interpreter, libraries and data included (about {ours["peak_rss_before_mb"]:.0f} MB before
`fit`); the budget for ours, weighted, is {BUDGET_MB} MB. Ratios are from this one run.

The NumPy reference builds the `(m, n)` matrices of `f_{{-k(i)}}(x) +- R_i` (and of the sorted,
normalised weights) for its `m` test points, so it ran on the first {n_sub:,} test points only:
its `predict_interval` time is **extrapolated linearly** to {args.n_test:,} test points, and at
that size each of its `(n_test, n)` float64 matrices would take
{ref["matrix_gb_full"]:,.1f} GB (several are alive at once; not measured). Its intervals were
checked to equal ours on those {n_sub:,} test points (`assert_array_equal`) before anything
was written. Its *fit* column is our weighted CV+ fit, whose fold models, scores, folds and
weights it reads.

{table}

Weighting costs {seconds(ours["predict_s"] - plain["predict_s"])} of `predict_interval` over the
unweighted CV+ ({ours["predict_s"] / plain["predict_s"]:.1f}x): the test weights `w(x)`, and a
weighted selection across the folds instead of a rank-based one.

{machine_markdown(info)}
"""


if __name__ == "__main__":
    main()
