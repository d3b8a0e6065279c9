"""Cross-conformal regression (CV+, jackknife+): time and peak memory of ``predict_interval``.

Three cases, each library in its own fresh interpreter so that its peak resident memory
(``ru_maxrss``, what ``/usr/bin/time -v`` reports as "Maximum resident set size") is its own:

1. **CV+ at 20,000 x 20,000** (``--n``, ``--n-test``): 10 folds, ``LinearRegression``, 20
   features, ``method="plus"``, one level (0.9). ``conformal.CrossConformalRegressor`` against
   MAPIE 1.6's ``CrossConformalRegressor`` with the same ``KFold(10, shuffle=True,
   random_state=0)`` splits; the two interval arrays are saved and asserted equal before any
   time is reported. MAPIE builds the ``(n_test, n)`` matrix of shifted predictions; we select
   across the 10 sorted folds per test point.
2. **CV+ at 200,000 x 200,000** (``--n-large``), ours only: the same model and folds, fit +
   ``predict_interval`` end to end. MAPIE would need a 200,000 x 200,000 matrix (320 GB in
   float64) and is not run.
3. **Jackknife+ (leave-one-out) at n = 5,000** (``--n-loo``), 5,000 test points: total time
   and the share spent in our code, i.e. outside the 5,000 ``LinearRegression.fit`` calls and
   the fold models' ``predict`` calls (timed by a subclass that adds up its own time), against
   MAPIE with ``cv=LeaveOneOut()``.

Run:  .venv/bin/python benchmarks/speed_cross.py      (about 4 minutes, most of it MAPIE)
Writes benchmarks/results/speed_cross.csv and benchmarks/results/speed_cross.md.
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
from sklearn.model_selection import KFold, LeaveOneOut

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine_info, machine_markdown, markdown_table, seconds, write_csv

LEVEL = 0.9
N_FEATURES = 20
N_FOLDS = 10


def make_data(n: int, n_test: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Linear signal in 20 features with heteroskedastic noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n + n_test, N_FEATURES))
    beta = rng.normal(size=N_FEATURES)
    y = X @ beta + (1.0 + np.abs(X[:, 0])) * rng.normal(size=n + n_test)
    return X[:n], y[:n], X[n:], y[n:]


class TimedLinearRegression(LinearRegression):
    """``LinearRegression`` that adds the time of its own ``fit`` and ``predict`` to a class-wide
    counter, so that the time spent in the user's model can be told from ours."""

    seconds_in_model = 0.0

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> TimedLinearRegression:
        start = time.perf_counter()
        try:
            return super().fit(X, y, sample_weight)
        finally:
            TimedLinearRegression.seconds_in_model += time.perf_counter() - start

    def predict(self, X: Any) -> np.ndarray:
        start = time.perf_counter()
        try:
            return super().predict(X)
        finally:
            TimedLinearRegression.seconds_in_model += time.perf_counter() - start


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def child(library: str, case: str, n: int, n_test: int, save: str | None) -> None:
    """(Run in a fresh interpreter.) Fit and predict once; print timings and peak memory."""
    X, y, X_test, _ = make_data(n, n_test)
    cv = LeaveOneOut() if case == "loo" else KFold(N_FOLDS, shuffle=True, random_state=0)
    model = TimedLinearRegression()
    if library == "ours":
        from conformal import CrossConformalRegressor

        estimator = CrossConformalRegressor(model, confidence_level=LEVEL, method="plus", cv=cv)
        # Small runs first so that loading the compiled kernels is not timed: 50 points take
        # the streamed kernel, 2,000 in 10 folds the union kernel.
        for size, folds in ((50, 5), (2_000, 10)):
            warm = CrossConformalRegressor(LinearRegression(), cv=folds).fit(X[:size], y[:size])
            warm.predict_interval(X_test[:5])
    else:
        from mapie.regression import CrossConformalRegressor as MapieCross

        estimator = MapieCross(model, confidence_level=LEVEL, method="plus", cv=cv)
    rss_before = _peak_rss_mb()
    TimedLinearRegression.seconds_in_model = 0.0
    start = time.perf_counter()
    if library == "ours":
        estimator.fit(X, y)
    else:
        estimator.fit_conformalize(X, y)
    fitted = time.perf_counter()
    model_fit = TimedLinearRegression.seconds_in_model
    raw = estimator.predict_interval(X_test)
    done = time.perf_counter()
    model_predict = TimedLinearRegression.seconds_in_model - model_fit
    intervals = raw if library == "ours" else np.transpose(raw[1], (0, 2, 1))[:, 0, :]
    if save:
        np.save(save, intervals)
    print(
        json.dumps(
            {
                "fit_s": fitted - start,
                "predict_s": done - fitted,
                "total_s": done - start,
                "model_s": TimedLinearRegression.seconds_in_model,
                "model_fit_s": model_fit,
                "model_predict_s": model_predict,
                "peak_rss_before_mb": rss_before,
                "peak_rss_mb": _peak_rss_mb(),
            }
        )
    )


def run_child(library: str, case: str, n: int, n_test: int, save: str | None = None) -> dict:
    command = [sys.executable, __file__, "--child", library, case, str(n), str(n_test)]
    if save:
        command.append(save)
    print(f"running {library} {case} n={n:,} n_test={n_test:,} ...", flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{library} {case} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  total {seconds(result['total_s'])}, peak RSS {result['peak_rss_mb']:.0f} MB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="training points, case 1")
    parser.add_argument("--n-test", type=int, default=20_000, help="test points, case 1")
    parser.add_argument("--n-large", type=int, default=200_000, help="train = test, case 2")
    parser.add_argument("--n-loo", type=int, default=5_000, help="train = test, case 3")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        library, case, n, n_test, *save = args.child
        child(library, case, int(n), int(n_test), save[0] if save else None)
        return

    info = machine_info()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case, n, n_test, libraries in [
            ("cv+", args.n, args.n_test, ("ours", "mapie")),
            ("cv+", args.n_large, args.n_large, ("ours",)),
            ("loo", args.n_loo, args.n_loo, ("ours", "mapie")),
        ]:
            saved = {lib: str(Path(tmp) / f"{lib}-{case}-{n}.npy") for lib in libraries}
            results = {lib: run_child(lib, case, n, n_test, saved[lib]) for lib in libraries}
            if len(libraries) == 2:
                np.testing.assert_allclose(
                    np.load(saved["mapie"]), np.load(saved["ours"]), rtol=1e-12, atol=1e-9
                )
                print("  intervals agree with MAPIE")
            for lib in libraries:
                r = results[lib]
                ours = results["ours"]
                rows.append(
                    {
                        "case": "jackknife+ (LOO)" if case == "loo" else f"CV+ (K={N_FOLDS})",
                        "library": lib,
                        "n": n,
                        "n_test": n_test,
                        **r,
                        "ratio_predict": r["predict_s"] / ours["predict_s"],
                        "ratio_total": r["total_s"] / ours["total_s"],
                        "share_outside_model": 1.0 - r["model_s"] / r["total_s"],
                    }
                )
    csv_path = args.output / "speed_cross.csv"
    md_path = args.output / "speed_cross.md"
    write_csv(csv_path, rows)
    text = render(rows, info, args)
    md_path.write_text(text)
    print()
    print(text)
    print(f"wrote {csv_path} and {md_path}")


NAMES = {"ours": "conformal (ours)", "mapie": "MAPIE"}


def render(rows: list[dict[str, Any]], info: dict[str, str], args: argparse.Namespace) -> str:
    table = markdown_table(
        [
            "case",
            "library",
            "n x n_test",
            "fit",
            "predict_interval",
            "total",
            "peak RSS (process)",
            "time in the model",
            "peer / ours: predict",
            "total",
        ],
        [
            [
                r["case"],
                NAMES[r["library"]],
                f"{r['n']:,} x {r['n_test']:,}",
                seconds(r["fit_s"]),
                seconds(r["predict_s"]),
                seconds(r["total_s"]),
                f"{r['peak_rss_mb']:,.0f} MB",
                f"{100 * r['model_s'] / r['total_s']:.0f}%",
                f"**{r['ratio_predict']:.1f}**",
                f"{r['ratio_total']:.1f}",
            ]
            for r in rows
        ],
    )
    return f"""# Cross-conformal regression: CV+ and jackknife+ time and memory

`benchmarks/speed_cross.py --n {args.n} --n-test {args.n_test} --n-large {args.n_large} \
--n-loo {args.n_loo}`

`LinearRegression` on {N_FEATURES} features, `method="plus"`, confidence level {LEVEL}; CV+ uses
`KFold({N_FOLDS}, shuffle=True, random_state=0)` for both libraries, jackknife+ uses
`LeaveOneOut()`. Each row is one run in a fresh interpreter (after a small untimed run that loads
our compiled kernels): *fit* is `fit` (ours) / `fit_conformalize` (MAPIE), *predict_interval*
the intervals for all test points. *Peak RSS* is the whole process's maximum resident memory
(`ru_maxrss`, as `/usr/bin/time -v` reports it), interpreter, libraries and data included (about
{rows[0]["peak_rss_before_mb"]:.0f} MB before fitting). *Time in the model* is the share of the
total spent inside `LinearRegression.fit` / `predict`; the rest is the conformal layer. Where
both libraries ran, their intervals were checked to agree (`assert_allclose`, rtol 1e-12) before
the numbers were written. Ratios are MAPIE time / our time from the same run. MAPIE is not run at
{args.n_large:,} x {args.n_large:,}: its `(n_test, n)` matrix alone would take
{8 * args.n_large**2 / 1e9:,.0f} GB.

{table}

{machine_markdown(info)}
"""


if __name__ == "__main__":
    main()
