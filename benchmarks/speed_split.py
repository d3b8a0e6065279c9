"""Split conformal regression: overhead of calibrating and predicting intervals.

Compares ``conformal.SplitConformalRegressor`` with MAPIE 1.x's ``SplitConformalRegressor`` and
crepes' ``ConformalRegressor`` on the same work: a prefit model whose predictions are precomputed
(``predict(X) = X[:, 0]``, wrapped in ``sklearn.frozen.FrozenEstimator``), absolute-residual
scores on ``--n-cal`` calibration points, intervals for ``--n-test`` test points.

- ours:   ``SplitConformalRegressor(FrozenEstimator(model), confidence_level=...)``
          ``.fit(X_cal, y_cal)`` then ``.predict_interval(X_test)``
- MAPIE:  ``SplitConformalRegressor(FrozenEstimator(model), confidence_level=..., prefit=True)``
          ``.conformalize(X_cal, y_cal)`` then ``.predict_interval(X_test)``
- crepes: ``ConformalRegressor().fit(y_cal - model.predict(X_cal))`` then
          ``.predict_int(model.predict(X_test), confidence=c)`` once per level; the two
          ``model.predict`` calls are inside crepes' timed phases so that all three do the same
          work.

Every phase is timed with ``time.perf_counter``, best of ``--repeats`` (default 7) after one
untimed warm-up run. The first call in a fresh interpreter is timed separately, in two
interpreters sharing a new ``NUMBA_CACHE_DIR``: in the first the cache is empty (our kernels
compile and fill it), in the second it is warm (they load). Before any time is reported the three
libraries' intervals are checked to agree (``np.testing.assert_allclose``).

Run:  .venv/bin/python benchmarks/speed_split.py [--n-cal 1000000] [--n-test 1000000]
Writes benchmarks/results/speed_split.csv and benchmarks/results/speed_split.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.frozen import FrozenEstimator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    RESULTS,
    PrecomputedRegressor,
    best_of,
    fresh_interpreter_runs,
    machine_info,
    machine_markdown,
    markdown_table,
    seconds,
    write_csv,
)

LIBRARIES = ("ours", "mapie", "crepes")
SINGLE = 0.9
MULTI = [0.8, 0.9, 0.95]


def make_data(n_cal: int, n_test: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Column 0 of X is the model's prediction; y = prediction + N(0, 1) noise."""
    rng = np.random.default_rng(seed)
    X_cal = rng.normal(size=(n_cal, 1))
    y_cal = X_cal[:, 0] + rng.normal(size=n_cal)
    X_test = rng.normal(size=(n_test, 1))
    return {"X_cal": X_cal, "y_cal": y_cal, "X_test": X_test}


def frozen_model(X: np.ndarray, y: np.ndarray) -> FrozenEstimator:
    return FrozenEstimator(PrecomputedRegressor().fit(X[:10], y[:10]))


# Each library: calibrate(model, X_cal, y_cal, level) -> state; predict(state, X_test, level) ->
# raw output; as_intervals(raw, level) -> (n, L, 2) for the agreement check (outside the timing).


def ours_calibrate(model: Any, X: np.ndarray, y: np.ndarray, level: Any) -> Any:
    from conformal import SplitConformalRegressor

    return SplitConformalRegressor(model, confidence_level=level).fit(X, y)


def ours_predict(state: Any, X: np.ndarray, level: Any) -> Any:
    return state.predict_interval(X)


def ours_intervals(raw: np.ndarray, level: Any) -> np.ndarray:
    return raw[:, np.newaxis, :] if raw.ndim == 2 else raw


def mapie_calibrate(model: Any, X: np.ndarray, y: np.ndarray, level: Any) -> Any:
    from mapie.regression import SplitConformalRegressor

    return SplitConformalRegressor(model, confidence_level=level, prefit=True).conformalize(X, y)


def mapie_predict(state: Any, X: np.ndarray, level: Any) -> Any:
    return state.predict_interval(X)


def mapie_intervals(raw: tuple[np.ndarray, np.ndarray], level: Any) -> np.ndarray:
    return np.transpose(raw[1], (0, 2, 1))  # (n, 2, L) -> (n, L, 2)


def crepes_calibrate(model: Any, X: np.ndarray, y: np.ndarray, level: Any) -> Any:
    from crepes import ConformalRegressor

    residuals = y - model.predict(X)
    return (model, ConformalRegressor().fit(residuals))


def crepes_predict(state: Any, X: np.ndarray, level: Any) -> Any:
    model, regressor = state
    y_hat = model.predict(X)
    levels = level if isinstance(level, list) else [level]
    return [regressor.predict_int(y_hat, confidence=c) for c in levels]


def crepes_intervals(raw: list[np.ndarray], level: Any) -> np.ndarray:
    return np.stack(raw, axis=1)


FUNCTIONS: dict[str, tuple[Callable[..., Any], ...]] = {
    "ours": (ours_calibrate, ours_predict, ours_intervals),
    "mapie": (mapie_calibrate, mapie_predict, mapie_intervals),
    "crepes": (crepes_calibrate, crepes_predict, crepes_intervals),
}


def run_once(library: str, data: dict[str, np.ndarray], level: Any) -> tuple[float, float, Any]:
    """One calibrate + predict; returns both phase times and the raw output."""
    calibrate, predict, _ = FUNCTIONS[library]
    model = frozen_model(data["X_cal"], data["y_cal"])
    start = time.perf_counter()
    state = calibrate(model, data["X_cal"], data["y_cal"], level)
    middle = time.perf_counter()
    raw = predict(state, data["X_test"], level)
    end = time.perf_counter()
    return middle - start, end - middle, raw


def measure(library: str, data: dict[str, np.ndarray], level: Any, repeats: int) -> dict[str, Any]:
    """Best-of-``repeats`` times of each phase and of their sum (after one warm-up run)."""
    calibrate, predict, _ = FUNCTIONS[library]
    run_once(library, data, level)  # warm-up: numba loads/compiles, caches fill
    model = frozen_model(data["X_cal"], data["y_cal"])
    t_cal, state = best_of(lambda: calibrate(model, data["X_cal"], data["y_cal"], level), repeats)
    t_pred, _ = best_of(lambda: predict(state, data["X_test"], level), repeats)
    totals = [sum(run_once(library, data, level)[:2]) for _ in range(repeats)]
    return {"calibrate_s": t_cal, "predict_s": t_pred, "total_s": min(totals)}


def check_agreement(data: dict[str, np.ndarray], level: Any) -> None:
    """The three libraries' intervals agree (raises AssertionError otherwise)."""
    results = {}
    for library in LIBRARIES:
        raw = run_once(library, data, level)[2]
        results[library] = FUNCTIONS[library][2](raw, level)
    for peer in ("mapie", "crepes"):
        np.testing.assert_allclose(
            results[peer],
            results["ours"],
            rtol=1e-12,
            atol=1e-12,
            err_msg=f"{peer} and ours disagree at confidence_level={level}",
        )


def first_call_child(n_cal: int, n_test: int) -> None:
    """(Run in a fresh interpreter.) First and second call of each library, as JSON."""
    data = make_data(n_cal, n_test)
    # Import outside the timing: import time is not what is measured.
    import crepes  # noqa: F401
    import mapie.regression  # noqa: F401

    import conformal  # noqa: F401

    out = {}
    for library in LIBRARIES:
        first = sum(run_once(library, data, SINGLE)[:2])
        second = sum(run_once(library, data, SINGLE)[:2])
        out[library] = {"first_s": first, "second_s": second}
    print(json.dumps(out))


def first_calls(n_cal: int, n_test: int) -> dict[str, dict[str, float]]:
    """First-call times in fresh interpreters with an empty and with a filled numba cache."""
    runs = fresh_interpreter_runs(__file__, ["--n-cal", str(n_cal), "--n-test", str(n_test)])
    return {
        library: {
            f"{key}_{mode}_s": runs[mode][library][f"{key}_s"]
            for mode in ("cold", "warm")
            for key in ("first", "second")
        }
        for library in LIBRARIES
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-cal", type=int, default=1_000_000, help="calibration points")
    parser.add_argument("--n-test", type=int, default=1_000_000, help="test points")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats (best is kept)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--first-call-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_call_child:
        first_call_child(args.n_cal, args.n_test)
        return

    info = machine_info()
    data = make_data(args.n_cal, args.n_test)
    cases = [("1 level (0.9)", SINGLE), ("3 levels (0.8, 0.9, 0.95)", MULTI)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning here would mean the comparison is off
        for _, level in cases:
            check_agreement(data, level)
    print(f"intervals agree (ours, MAPIE, crepes) at n_cal={args.n_cal}, n_test={args.n_test}")

    first = first_calls(args.n_cal, args.n_test)
    rows = []
    for case, level in cases:
        timed = {lib: measure(lib, data, level, args.repeats) for lib in LIBRARIES}
        for library in LIBRARIES:
            row = {
                "case": case,
                "library": library,
                "n_cal": args.n_cal,
                "n_test": args.n_test,
                **timed[library],
                "ratio_calibrate": timed[library]["calibrate_s"] / timed["ours"]["calibrate_s"],
                "ratio_predict": timed[library]["predict_s"] / timed["ours"]["predict_s"],
                "ratio_total": timed[library]["total_s"] / timed["ours"]["total_s"],
            }
            if level == SINGLE:
                row.update(first[library])
            rows.append(row)
            print(f"{case:28s} {library:7s} total {seconds(row['total_s'])}", flush=True)

    csv_path = args.output / "speed_split.csv"
    md_path = args.output / "speed_split.md"
    write_csv(csv_path, rows)
    text = render(rows, info, args)
    md_path.write_text(text)
    print()
    print(text)
    print(f"wrote {csv_path} and {md_path}")


NAMES = {"ours": "conformal (ours)", "mapie": "MAPIE", "crepes": "crepes"}


def render(rows: list[dict[str, Any]], info: dict[str, str], args: argparse.Namespace) -> str:
    steady = markdown_table(
        [
            "case",
            "library",
            "calibrate",
            "predict",
            "total",
            "peer / ours: calibrate",
            "predict",
            "total",
        ],
        [
            [
                r["case"],
                NAMES[r["library"]],
                seconds(r["calibrate_s"]),
                seconds(r["predict_s"]),
                seconds(r["total_s"]),
                f"{r['ratio_calibrate']:.2f}",
                f"{r['ratio_predict']:.2f}",
                f"**{r['ratio_total']:.2f}**",
            ]
            for r in rows
        ],
    )
    first_rows = [r for r in rows if "first_cold_s" in r]
    first = markdown_table(
        [
            "library",
            "first call, empty numba cache",
            "first call, warm numba cache",
            "second call (same process)",
        ],
        [
            [
                NAMES[r["library"]],
                seconds(r["first_cold_s"]),
                seconds(r["first_warm_s"]),
                seconds(r["second_warm_s"]),
            ]
            for r in first_rows
        ],
    )
    return f"""# Split conformal regression: calibrate + predict_interval overhead

`benchmarks/speed_split.py --n-cal {args.n_cal} --n-test {args.n_test} --repeats {args.repeats}`

Same work for all three: a prefit model with precomputed predictions (`predict(X) = X[:, 0]`,
wrapped in `FrozenEstimator`, so nothing is fitted), absolute-residual scores on
{args.n_cal:,} calibration points, intervals for {args.n_test:,} test points. *calibrate* is
`fit` (ours) / `conformalize` (MAPIE) / residuals + `fit` (crepes); *predict* is
`predict_interval` (ours, MAPIE) / `model.predict` + `predict_int` per level (crepes). Best of
{args.repeats} after one warm-up run, wall time (`time.perf_counter`); *total* is the best of
{args.repeats} calibrate + predict runs. Ratios are peer time / our time in the same run
(above 1: we are faster). The intervals of the three libraries were checked to agree
(`assert_allclose`, rtol 1e-12) at each case before timing.

{steady}

First call in a fresh interpreter (1 level; imports excluded), in two interpreters sharing a new
`NUMBA_CACHE_DIR`: with the empty cache our kernels compile, with the warm one (`cache=True`,
filled by the first interpreter) they only load. MAPIE and crepes compile nothing; their first
call pays only cold memory and caches:

{first}

{machine_markdown(info)}
"""


if __name__ == "__main__":
    main()
