"""Quantile regression forests: ours against the quantile-forest package on the same trees.

``--n-train`` training rows (5 uniform features, a heteroscedastic target), ``--n-test`` test
rows and 99 levels (0.01, ..., 0.99). Both libraries grow scikit-learn random forests with the
same parameters and ``random_state``, so the trees are the same (asserted: equal leaves).

- ``fully grown`` (``min_samples_leaf=1``): every leaf holds one distinct training row, so the
  forest quantile is the quantile of the T leaf targets. quantile-forest (default
  ``max_samples_leaf=1``) computes it as ``np.quantile`` over an (n_test, T) matrix with
  ``interpolation="inverted_cdf"``; ours is the weighted-CDF kernel. Quantiles asserted identical.
  T = 101 trees, not 100: with 100 trees the levels k / 100 land exactly on steps of the CDF, where
  NumPy's float index (0.07 * 100 = 7.000000000000001) takes the next tree's value and the
  inverse CDF takes the step (see ``tests/test_kernels_forest.py``).
- ``leaves of 10`` (``min_samples_leaf=10``, Meinshausen's setting): quantile-forest with
  ``max_samples_leaf=None, weighted_leaves=True`` uses the same weights as ours (in-bag rows,
  inverse leaf size; asserted: its weighted mean equals the forest's prediction, as ours does),
  but its weighted quantile interpolates (a weighted ``"linear"`` with a (W - 1) q + 1 position),
  which is not Meinshausen's inverse CDF, so the quantiles differ by definition; the table says by
  how much. Its kernel clears and scans an n_train array per test row.

Reported: fit time (forest + leaf index), predict time for 99 levels (best of ``--repeats``
interleaved; the slow side once), the size of each library's fitted leaf index, and the first
call of ours in a fresh interpreter with an empty and a filled numba cache.

Run:  .venv/bin/python benchmarks/speed_quantile_forest.py
          [--n-train 100000] [--n-test 10000] [--n-estimators 101]
Writes benchmarks/results/speed_quantile_forest.csv and .md.
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
    _version,
    best_of,
    fresh_interpreter_runs,
    machine_info,
    machine_markdown,
    markdown_table,
    seconds,
    write_csv,
)

LEVELS = np.round(np.arange(1, 100) / 100, 2)
MAX_FEATURES = 0.4  # 2 of the 5 features per split: faster trees, still a random forest


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, 5))
    y = np.sin(3 * X[:, 0]) + X[:, 1] + rng.normal(size=n) * (0.2 + X[:, 2])
    return X, y


def forest_params(n_estimators: int, min_samples_leaf: int) -> dict[str, Any]:
    return {
        "n_estimators": n_estimators,
        "min_samples_leaf": min_samples_leaf,
        "max_features": MAX_FEATURES,
        "n_jobs": 2,
        "random_state": 0,
    }


def ours_index_bytes(model: Any) -> int:
    return sum(
        getattr(model, name).nbytes
        for name in ("_node_offsets", "_starts", "_ranks", "_weights", "_sorted_y")
    )


def theirs_index_bytes(model: Any) -> int:
    forest = model.forest_
    return sum(
        np.asarray(getattr(forest, name)).nbytes
        for name in ("y_train", "y_train_leaves", "y_bound_leaves")
    )


def run_case(
    name: str, min_samples_leaf: int, args: argparse.Namespace, data: dict[str, np.ndarray]
) -> dict[str, Any]:
    from quantile_forest import RandomForestQuantileRegressor

    from conformal.aggregation._forest import QuantileForestRegressor

    X, y, X_test = data["X"], data["y"], data["X_test"]
    params = forest_params(args.n_estimators, min_samples_leaf)
    start = time.perf_counter()
    ours = QuantileForestRegressor(**params).fit(X, y)
    fit_ours = time.perf_counter() - start
    # Our share of the fit beyond the forest: the leaf index, rebuilt and timed on its own.
    from conformal.aggregation._forest import _leaf_table

    order = np.argsort(y, kind="stable")
    rank_of = np.empty(len(y), dtype=np.int64)
    rank_of[order] = np.arange(len(y))
    start = time.perf_counter()
    _leaf_table(ours.forest_, X.astype(np.float32), rank_of, np.ones(len(y)), True)
    index_ours = time.perf_counter() - start
    single = min_samples_leaf == 1
    start = time.perf_counter()
    theirs = RandomForestQuantileRegressor(max_samples_leaf=1 if single else None, **params)
    theirs.fit(X, y)
    fit_theirs = time.perf_counter() - start
    np.testing.assert_array_equal(
        ours.forest_.apply(X_test[:1000]), theirs.apply(X_test[:1000]), err_msg="not the same trees"
    )
    print(f"[{name}] same trees; fit: ours {fit_ours:.1f} s, quantile-forest {fit_theirs:.1f} s")

    def predict_ours() -> np.ndarray:
        return ours.predict_quantiles(X_test, LEVELS)

    if single:

        def predict_theirs() -> np.ndarray:
            return theirs.predict(X_test, quantiles=LEVELS.tolist(), interpolation="inverted_cdf")

    else:

        def predict_theirs() -> np.ndarray:
            return theirs.predict(X_test, quantiles=LEVELS.tolist(), weighted_leaves=True)

    q_ours = predict_ours()  # also the warm-up (compiles the kernel once)
    # Interleaved repeats (ours, theirs, apply, ours, ...), best of each: the load of a shared
    # machine then weighs on all three alike.
    t_ours = t_theirs = t_apply = np.inf
    for repeat in range(args.repeats):
        t_ours = min(t_ours, best_of(predict_ours, 1)[0])
        if single or repeat == 0:  # quantile-forest's weighted path is slow: once
            elapsed, q_theirs = best_of(predict_theirs, 1)
            t_theirs = min(t_theirs, elapsed)
        t_apply = min(t_apply, best_of(lambda: ours.forest_.apply(X_test), 1)[0])
    equal_share = float(np.mean(q_ours == q_theirs))
    max_diff = float(np.max(np.abs(q_ours - q_theirs)))
    if single:
        np.testing.assert_array_equal(q_ours, q_theirs, err_msg="quantiles differ")
        check = "identical quantiles (assert_array_equal)"
    else:
        mean = theirs.predict(X_test[:2000], quantiles="mean", weighted_leaves=True)
        np.testing.assert_allclose(mean, ours.forest_.predict(X_test[:2000]), rtol=1e-9)
        check = (
            "same weights (weighted means equal); quantiles differ by definition: "
            f"{equal_share:.1%} of entries equal, max |difference| {max_diff:.3g}"
        )
    print(f"[{name}] {check}; predict: ours {t_ours:.3f} s, quantile-forest {t_theirs:.3f} s")
    return {
        "case": name,
        "min_samples_leaf": min_samples_leaf,
        "n_train": args.n_train,
        "n_test": args.n_test,
        "n_levels": len(LEVELS),
        "n_estimators": args.n_estimators,
        "fit_ours_s": fit_ours,
        "fit_theirs_s": fit_theirs,
        "index_build_ours_s": index_ours,
        "predict_ours_s": t_ours,
        "predict_theirs_s": t_theirs,
        "predict_ratio": t_theirs / t_ours,
        "apply_s": t_apply,
        "quantiles_ratio": (t_theirs - t_apply) / (t_ours - t_apply)
        if min(t_theirs, t_ours) > t_apply
        else float("nan"),
        "index_ours_mb": ours_index_bytes(ours) / 1e6,
        "index_theirs_mb": theirs_index_bytes(theirs) / 1e6,
        "equal_share": equal_share,
        "max_abs_difference": max_diff,
        "check": check,
    }


def first_call_child() -> None:
    """(Run in a fresh interpreter.) First and second ``predict_quantiles`` on a small forest."""
    from conformal.aggregation._forest import QuantileForestRegressor

    X, y = make_data(2000, 0)
    model = QuantileForestRegressor(n_estimators=10, min_samples_leaf=5, random_state=0).fit(X, y)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        model.predict_quantiles(X[:1000], LEVELS)
        times.append(time.perf_counter() - start)
    print(json.dumps({"first_s": times[0], "second_s": times[1]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-train", type=int, default=100_000)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--n-estimators", type=int, default=101)
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (best is kept)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--first-call-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_call_child:
        first_call_child()
        return

    info = machine_info()
    info["quantile-forest"] = _version("quantile-forest")
    X, y = make_data(args.n_train, 0)
    X_test, _ = make_data(args.n_test, 1)
    data = {"X": X, "y": y, "X_test": X_test}
    rows = [
        run_case("fully grown", 1, args, data),
        run_case("leaves of 10", 10, args, data),
    ]
    first = fresh_interpreter_runs(__file__, [])
    csv_path = args.output / "speed_quantile_forest.csv"
    md_path = args.output / "speed_quantile_forest.md"
    write_csv(csv_path, rows)
    text = render(rows, first, info, args)
    md_path.write_text(text)
    print()
    print(text)
    print(f"wrote {csv_path} and {md_path}")


def render(
    rows: list[dict[str, Any]],
    first: dict[str, Any],
    info: dict[str, str],
    args: argparse.Namespace,
) -> str:
    table = markdown_table(
        [
            "trees",
            "fit: ours",
            "fit: quantile-forest",
            "of which our leaf index",
            "predict 99 levels: ours",
            "predict: quantile-forest",
            "quantile-forest / ours",
            "`apply` alone",
            "ratio without `apply`",
            "leaf index: ours",
            "leaf index: quantile-forest",
            "agreement",
        ],
        [
            [
                f"{r['case']} (`min_samples_leaf={r['min_samples_leaf']}`)",
                seconds(r["fit_ours_s"]),
                seconds(r["fit_theirs_s"]),
                seconds(r["index_build_ours_s"]),
                seconds(r["predict_ours_s"]),
                seconds(r["predict_theirs_s"]),
                f"**{r['predict_ratio']:,.1f}**",
                seconds(r["apply_s"]),
                f"{r['quantiles_ratio']:,.1f}",
                f"{r['index_ours_mb']:,.0f} MB",
                f"{r['index_theirs_mb']:,.0f} MB",
                r["check"],
            ]
            for r in rows
        ],
    )
    command = (
        f"benchmarks/speed_quantile_forest.py --n-train {args.n_train} --n-test {args.n_test} "
        f"--n-estimators {args.n_estimators} --repeats {args.repeats}"
    )
    return f"""# Quantile regression forest: ours against quantile-forest on the same trees

`{command}`

{args.n_train:,} training rows (5 uniform features, `y = sin(3 x0) + x1 + (0.2 + x2) e`),
{args.n_test:,} test rows, 99 levels 0.01..0.99. Both sides: scikit-learn random forests with
`n_estimators={args.n_estimators}, max_features={MAX_FEATURES}, random_state=0, n_jobs=2`
(bootstrap on), the same trees (leaves asserted equal). Ours: `QuantileForestRegressor`
(in-bag leaf rows, inverse weighted CDF). quantile-forest: `RandomForestQuantileRegressor`;
fully grown trees: default `max_samples_leaf=1`, `interpolation="inverted_cdf"` (the same
definition); leaves of 10: `max_samples_leaf=None, weighted_leaves=True` (the same weights, its
interpolated weighted quantile). Fit times include the forest (the same work on both sides, so
their difference is mostly the machine's load changing between the two fits) and each library's
leaf index (ours also timed alone); predict times include `apply` on both sides (best of
{args.repeats} interleaved repeats after a warm-up; quantile-forest's weighted path once). Leaf
index: the arrays each fitted model keeps beyond the forest. The ratio is quantile-forest's time
over ours; both predicts start with the same `forest.apply` (timed alone in its column), and the
last ratio subtracts it from both sides (the quantile step alone).

{table}

101 trees rather than 100: with 100 the levels k / 100 sit exactly on steps of the CDF, where
NumPy's float index (`0.07 * 100 = 7.000000000000001`) takes the next value while the inverse
CDF takes the step, so the two would differ there by definition of rounding, not of weights.

First call of ours in a fresh interpreter (a 10-tree forest on 2,000 rows, 1,000 test rows,
99 levels; imports and fit excluded): {seconds(first["cold"]["first_s"])} with an empty numba
cache (the kernel compiles), {seconds(first["warm"]["first_s"])} with the cache filled,
{seconds(first["warm"]["second_s"])} for the second call.

{machine_markdown(info)}
"""


if __name__ == "__main__":
    main()
