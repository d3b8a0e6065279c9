"""Cold start: what a user's first ``fit`` / ``predict`` costs before numba has compiled anything.

For every public estimator and function of ``conformal`` (one row per code path that reaches a
different kernel: each regression score, groups, weights, each classification score, cross and
leave-one-out forms, ...), a fresh interpreter is started with ``NUMBA_CACHE_DIR`` pointing at a
new, empty temporary folder. It times, separately,

- *import*: ``import conformal`` (numpy and scikit-learn are imported first, untimed);
- *fit*: the estimator's ``fit`` (kernels used at fit time compile here);
- *first call*: the first ``predict_interval`` / ``predict_set`` / ... (the rest compile here);
- *second call*: the same call again in the same process (compiled code, warm memory).

Then the same child runs again with the now populated cache folder (*warm cache*): the kernels
load from disk instead of compiling; that is what every later interpreter pays. Models are fast
(``LinearRegression``, ``LogisticRegression``, small trees) so that the model fit is not what is
timed. The cross row uses the sizes of issue 8 (CV+, ``cv=10``, 20,000 x 20,000).

The package's own on-disk cache (``conformal/_kernels/__pycache__``) is neither used nor
touched.

Run:  .venv/bin/python benchmarks/cold_start.py            (about 5 minutes)
      .venv/bin/python benchmarks/cold_start.py --cases cross_cv10_plus split_absolute
Writes benchmarks/results/cold_start.csv and .md (``--name`` to change the file name; with
``--compare-to CSV`` the table gets a column with that earlier run's cold first call).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine_info, machine_markdown, markdown_table, seconds, write_csv

N_FEATURES = 20

# name -> (what it runs, n_train x n_test)
CASES: dict[str, tuple[str, str]] = {
    "split_absolute": ("SplitConformalRegressor, absolute", "20,000 x 20,000"),
    "split_signed": ("SplitConformalRegressor, signed", "20,000 x 20,000"),
    "split_normalized": ("SplitConformalRegressor, normalized (tree sigma)", "20,000 x 20,000"),
    "split_gamma": ("SplitConformalRegressor, gamma", "20,000 x 20,000"),
    "split_groups": ("SplitConformalRegressor, groups (4)", "20,000 x 20,000"),
    "split_weights": ("SplitConformalRegressor, weights", "20,000 x 20,000"),
    "cqr": ("ConformalizedQuantileRegressor (GBR, 10 trees)", "20,000 x 20,000"),
    "cross_cv10_plus": ("CrossConformalRegressor, cv=10, plus", "20,000 x 20,000"),
    "cross_cv10_minmax": ("CrossConformalRegressor, cv=10, minmax", "20,000 x 20,000"),
    "cross_loo": ("CrossConformalRegressor, cv='loo' (jackknife+)", "500 x 500"),
    "jab_mean": ("JackknifeAfterBootstrapRegressor, mean", "5,000 x 5,000"),
    "jab_median": ("JackknifeAfterBootstrapRegressor, median", "2,000 x 2,000"),
    "cross_cqr": ("CrossConformalizedQuantileRegressor, cv=5 (GBR)", "5,000 x 5,000"),
    "clf_lac": ("SplitConformalClassifier, lac", "20,000 x 20,000"),
    "clf_aps": ("SplitConformalClassifier, aps", "20,000 x 20,000"),
    "clf_raps": ("SplitConformalClassifier, raps", "20,000 x 20,000"),
    "clf_class_conditional": (
        "SplitConformalClassifier, lac, class_conditional",
        "20,000 x 20,000",
    ),
    "cross_clf": ("CrossConformalClassifier, cv=5", "20,000 x 20,000"),
    "venn_abers_inductive": ("VennAbersClassifier, inductive", "20,000 x 20,000"),
    "venn_abers_cross": ("VennAbersClassifier, cross (cv=5)", "20,000 x 20,000"),
    "cpd_split": ("ConformalPredictiveDistribution (split): cdf", "20,000 x 20,000"),
    "cpd_cross_quantiles": (
        "ConformalPredictiveDistribution (10 folds): quantiles",
        "20,000 x 20,000",
    ),
    "predict_cdf": ("SplitConformalRegressor.predict_cdf", "20,000 x 20,000"),
    "predict_quantiles": ("SplitConformalRegressor.predict_quantiles", "20,000 x 20,000"),
    "cross_predict_quantiles": (
        "CrossConformalRegressor(cv=10).predict_quantiles",
        "20,000 x 20,000",
    ),
    "quantile_weighted": (
        "conformal_quantile, weights + per-point test_weights",
        "20,000 x 20,000",
    ),
    "quantile_grouped": ("conformal_quantile, groups (10)", "20,000 x 20,000"),
    "weighted_cv_plus": ("Calibrator.plus, weighted CV+ (10 folds)", "20,000 x 20,000"),
    "weighted_jackknife_plus": ("Calibrator.plus, weighted jackknife+", "2,000 x 2,000"),
}


# ------------------------------------------------------------------------------------- the child


def _regression_data(n: int, m: int, positive: bool = False) -> tuple[Any, ...]:
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n + m, N_FEATURES))
    y = X @ rng.normal(size=N_FEATURES) + (1.0 + np.abs(X[:, 0])) * rng.normal(size=n + m)
    if positive:
        y = 50.0 + y
    return X[:n], y[:n], X[n:]


def _classification_data(n: int, m: int) -> tuple[Any, ...]:
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n + m, N_FEATURES))
    logits = X[:, :5] * 2.0 + rng.gumbel(size=(n + m, 5))
    y = logits.argmax(axis=1)
    return X[:n], y[:n], X[n:]


def _build(case: str) -> tuple[Callable[[], Any], Callable[[Any], Any]]:
    """``(fit, call)``: ``call(fit())`` is the timed call."""
    import numpy as np
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.tree import DecisionTreeRegressor

    import conformal
    from conformal.regression import ConformalPredictiveDistribution
    from conformal.scores import NormalizedScore

    def group_of(X: Any) -> Any:
        return (X[:, 1] > 0).astype(int) + 2 * (X[:, 2] > 0).astype(int)

    def interval(model: Any, X_test: Any) -> Callable[[Any], Any]:
        return lambda fitted: fitted.predict_interval(X_test)

    if case.startswith("split_") or case in ("predict_cdf", "predict_quantiles"):
        X, y, X_test = _regression_data(20_000, 20_000, positive=case == "split_gamma")
        score: Any = case.removeprefix("split_")
        kwargs: dict[str, Any] = {}
        if case == "split_normalized":
            score = NormalizedScore(DecisionTreeRegressor(max_depth=4))
        elif case == "split_groups":
            score, kwargs = "absolute", {"groups": group_of}
        elif case == "split_weights":
            score, kwargs = "absolute", {"weights": np.linspace(0.5, 1.5, X.shape[0])}
        elif case in ("predict_cdf", "predict_quantiles"):
            score = "absolute"
        model = conformal.SplitConformalRegressor(
            LinearRegression(), conformity_score=score, random_state=0, **kwargs
        )
        if case == "predict_cdf":
            grid = np.linspace(-5.0, 5.0, 5)
            return (lambda: model.fit(X, y)), lambda f: f.predict_cdf(X_test, grid)
        if case == "predict_quantiles":
            return (lambda: model.fit(X, y)), lambda f: f.predict_quantiles(X_test, [0.1, 0.9])
        return (lambda: model.fit(X, y)), interval(model, X_test)
    if case == "cqr":
        X, y, X_test = _regression_data(20_000, 20_000)
        model = conformal.ConformalizedQuantileRegressor(
            GradientBoostingRegressor(loss="quantile", n_estimators=10, max_depth=2), random_state=0
        )
        return (lambda: model.fit(X, y)), interval(model, X_test)
    if case.startswith("cross_cv10") or case == "cross_predict_quantiles":
        X, y, X_test = _regression_data(20_000, 20_000)
        method = "minmax" if case.endswith("minmax") else "plus"
        model = conformal.CrossConformalRegressor(
            LinearRegression(), method=method, cv=10, random_state=0
        )
        if case == "cross_predict_quantiles":
            return (lambda: model.fit(X, y)), lambda f: f.predict_quantiles(X_test, [0.1, 0.9])
        return (lambda: model.fit(X, y)), interval(model, X_test)
    if case == "cross_loo":
        X, y, X_test = _regression_data(500, 500)
        model = conformal.CrossConformalRegressor(LinearRegression(), cv="loo")
        return (lambda: model.fit(X, y)), interval(model, X_test)
    if case.startswith("jab_"):
        n = 5_000 if case == "jab_mean" else 2_000
        X, y, X_test = _regression_data(n, n)
        model = conformal.JackknifeAfterBootstrapRegressor(
            LinearRegression(), aggregation=case.removeprefix("jab_"), random_state=0
        )
        return (lambda: model.fit(X, y)), interval(model, X_test)
    if case == "cross_cqr":
        X, y, X_test = _regression_data(5_000, 5_000)
        model = conformal.CrossConformalizedQuantileRegressor(
            GradientBoostingRegressor(loss="quantile", n_estimators=10, max_depth=2),
            cv=5,
            random_state=0,
        )
        return (lambda: model.fit(X, y)), interval(model, X_test)
    if case.startswith("clf_") or case == "cross_clf":
        X, y, X_test = _classification_data(20_000, 20_000)
        if case == "cross_clf":
            clf: Any = conformal.CrossConformalClassifier(
                LogisticRegression(max_iter=200), cv=5, random_state=0
            )
        else:
            name = case.removeprefix("clf_")
            conditional = name == "class_conditional"
            clf = conformal.SplitConformalClassifier(
                LogisticRegression(max_iter=200),
                conformity_score="lac" if conditional else name,
                class_conditional=conditional,
                random_state=0,
            )
        return (lambda: clf.fit(X, y)), lambda f: f.predict_set(X_test)
    if case.startswith("venn_abers_"):
        X, y, X_test = _classification_data(20_000, 20_000)
        va = conformal.VennAbersClassifier(
            LogisticRegression(max_iter=200),
            method=case.removeprefix("venn_abers_"),
            random_state=0,
        )
        return (lambda: va.fit(X, (y == 0).astype(int))), lambda f: f.predict_proba(X_test)
    if case.startswith("cpd_"):
        rng = np.random.default_rng(0)
        residuals = rng.normal(size=20_000)
        if case == "cpd_split":
            centers = rng.normal(size=20_000)
            grid = np.linspace(-3.0, 3.0, 5)
            return (lambda: ConformalPredictiveDistribution(residuals)), lambda c: c.cdf(
                centers, grid, tau=0.5
            )
        fold_of = rng.permutation(np.arange(20_000) % 10)
        centers = rng.normal(size=(20_000, 1)) + 0.1 * rng.normal(size=(20_000, 10))
        return (lambda: ConformalPredictiveDistribution(residuals, fold_of)), lambda c: c.quantiles(
            centers, [0.1, 0.5, 0.9]
        )
    if case.startswith("quantile_"):
        rng = np.random.default_rng(0)
        scores = np.abs(rng.normal(size=20_000))
        if case == "quantile_weighted":
            weights = rng.uniform(0.5, 2.0, size=20_000)
            test_weights = rng.uniform(0.5, 2.0, size=20_000)
            return (lambda: None), lambda _: conformal.conformal_quantile(
                scores, 0.9, weights=weights, test_weights=test_weights
            )
        groups = rng.integers(0, 10, size=20_000)
        test_groups = rng.integers(0, 10, size=20_000)
        return (lambda: None), lambda _: conformal.conformal_quantile(
            scores, [0.8, 0.9], groups=groups, test_groups=test_groups
        )
    if case.startswith("weighted_"):
        # The learner-free layer (conformal.calibration): out-of-fold scores, calibration
        # weights (e.g. likelihood ratios), one weight per test point.
        from conformal.calibration import Calibrator, TestContext

        rng = np.random.default_rng(0)
        n, n_folds = (20_000, 10) if case == "weighted_cv_plus" else (2_000, 2_000)
        scores = np.abs(rng.normal(size=n))
        folds = rng.permutation(np.arange(n) % n_folds)
        weights = rng.uniform(0.5, 2.0, size=n)
        centers = rng.normal(size=(n, 1)) + 0.1 * rng.normal(size=(n, n_folds))
        test = TestContext(weights=rng.uniform(0.5, 2.0, size=n))
        return (
            lambda: Calibrator(scores, weights=weights, folds=folds, n_folds=n_folds)
        ), lambda cal: cal.plus(centers, [0.9], test=test)
    raise ValueError(f"unknown case {case!r}; choose from {sorted(CASES)}")


def child(case: str) -> None:
    import warnings

    import numpy  # noqa: F401  (untimed: every user pays it anyway)
    import sklearn.ensemble
    import sklearn.linear_model  # noqa: F401

    start = time.perf_counter()
    import conformal  # noqa: F401

    out: dict[str, float] = {"import": time.perf_counter() - start}
    fit, call = _build(case)
    warnings.simplefilter("ignore")  # a child process of its own: nothing else to disturb
    for name, run in (("fit", fit), ("first", None), ("second", None)):
        start, cpu = time.perf_counter(), time.process_time()
        if run is not None:
            fitted = run()
        else:
            call(fitted)
        out[name] = time.perf_counter() - start
        out[f"{name}_cpu"] = time.process_time() - cpu
    print(json.dumps(out))


# ------------------------------------------------------------------------------------ the parent


def _run_children(case: str, timeout: float, pythonpath: str | None) -> dict[str, float]:
    """Empty-cache run, then warm-cache run, of one case (``pythonpath``: a package put first)."""
    command = [sys.executable, __file__, "--child", case]
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache_dir:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
        if pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (pythonpath, os.environ.get("PYTHONPATH")) if p
            )
        for mode in ("cold", "warm"):
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(f"{case} ({mode}) failed:\n{done.stderr[-3000:]}")
            times = json.loads(done.stdout.strip().splitlines()[-1])
            for key, value in times.items():
                out[f"{mode}_{key}"] = round(value, 4)
    return out


def run_case(case: str, timeout: float, baseline: str | None) -> dict[str, Any]:
    """One row: this package's runs and, with ``baseline``, the baseline's right after them (the
    same minutes of machine load for both)."""
    row: dict[str, Any] = {"case": case, "what": CASES[case][0], "sizes": CASES[case][1]}
    row.update(_run_children(case, timeout, None))
    if baseline:
        try:
            before = _run_children(case, timeout, baseline)
        except RuntimeError:  # a row the baseline cannot run (e.g. a kernel it does not have)
            before = {}
        row.update({f"before_{k}": v for k, v in before.items()})
    return row


def _load(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as handle:
        return {row["case"]: row for row in csv.DictReader(handle)}


def _cell(value: Any) -> str:
    return seconds(float(value)) if value not in (None, "") else "-"


def _first_use(row: dict[str, Any], prefix: str = "") -> tuple[float, float]:
    """Wall and CPU time of fit + first call with the empty cache."""
    wall = float(row[f"{prefix}cold_fit"]) + float(row[f"{prefix}cold_first"])
    cpu = float(row[f"{prefix}cold_fit_cpu"]) + float(row[f"{prefix}cold_first_cpu"])
    return wall, cpu


def write_results(
    rows: list[dict[str, Any]], info: dict[str, str], load_end: str, args: argparse.Namespace
) -> str:
    before: dict[str, dict[str, Any]] = {}
    source = ""
    if args.baseline:
        before = {
            row["case"]: {k[7:]: v for k, v in row.items() if k.startswith("before_")}
            for row in rows
        }
        source = f"`{args.baseline}`, run right after each row's own runs"
    elif args.compare_to:
        before = dict(_load(Path(args.compare_to)))
        source = f"`{args.compare_to}` (an earlier run, other machine load)"
    header = [
        "case",
        "n x n_test",
        "import",
        "fit (empty cache)",
        "first call (empty cache)",
        "second call",
        "fit (warm cache)",
        "first call (warm cache)",
    ]
    if before:
        header += [
            "before: fit + first call, empty cache: wall (CPU)",
            "after: wall (CPU)",
            "before / after (wall)",
        ]
    table = []
    for row in rows:
        line = [
            row["what"],
            row["sizes"],
            _cell(row["cold_import"]),
            _cell(row["cold_fit"]),
            f"**{_cell(row['cold_first'])}**",
            _cell(row["cold_second"]),
            _cell(row["warm_fit"]),
            _cell(row["warm_first"]),
        ]
        if before:
            old = before.get(row["case"])
            wall, cpu = _first_use(row)
            if not old or "cold_fit" not in old:
                line += ["n/a", f"{_cell(wall)} ({_cell(cpu)})", "-"]
            elif "cold_fit_cpu" in old:
                old_wall, old_cpu = _first_use(old)
                line += [
                    f"{_cell(old_wall)} ({_cell(old_cpu)})",
                    f"{_cell(wall)} ({_cell(cpu)})",
                    f"{old_wall / wall:.1f}",
                ]
            else:
                old_wall = float(old["cold_fit"]) + float(old["cold_first"])
                line += [_cell(old_wall), f"{_cell(wall)} ({_cell(cpu)})", f"{old_wall / wall:.1f}"]
        table.append(line)
    command = " ".join(["benchmarks/cold_start.py", *sys.argv[1:]])
    comparison = f"\n*before* is {source}.\n" if before else ""
    text = f"""# Cold start: first fit and first call with an empty numba cache

`{command}`

Each row runs in a fresh interpreter whose `NUMBA_CACHE_DIR` is a new, empty folder (*empty
cache*: every kernel the row needs compiles during `fit` or the first call), then once more in a
fresh interpreter with that folder as the first run left it (*warm cache*: the kernels load from
disk). *import* is `import conformal` (numpy and scikit-learn already imported); *second call* is
the same call again in the first process. Models are fast (`LinearRegression`,
`LogisticRegression`, small trees), so *fit* is mostly the model except where a kernel compiles
at fit time. Wall time (`time.perf_counter`; CPU time of the process, all threads, in
parentheses), one run per cell: on a shared machine expect noise of tens of percent, more in wall
time than in CPU time (compilation is single-threaded CPU work).
{comparison}
{markdown_table(header, table)}

Load average at the start: {info["load_average_at_start"]}; at the end: {load_end}. Package
imported from `{args.package}`.

{machine_markdown(info)}
"""
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cases", nargs="*", default=list(CASES), help="subset of the rows")
    parser.add_argument("--name", default="cold_start", help="output file name (no suffix)")
    parser.add_argument("--output", default=str(RESULTS), help="output folder")
    parser.add_argument("--compare-to", help="csv of an earlier run: adds a before/after column")
    parser.add_argument(
        "--baseline",
        help="a folder holding another version of the package (e.g. an export of an earlier "
        "commit): each row also runs with it first on PYTHONPATH, for a before/after column",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per child run")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    info = machine_info()
    spec = importlib.util.find_spec("conformal")
    args.package = str(Path(spec.origin).parent) if spec and spec.origin else "?"
    rows = []
    for case in args.cases:
        row = run_case(case, args.timeout, args.baseline)
        rows.append(row)
        print(
            f"{case:28s} import {row['cold_import']:6.2f}  fit {row['cold_fit']:6.2f}  "
            f"first {row['cold_first']:6.2f}  second {row['cold_second']:6.2f}  | warm: fit "
            f"{row['warm_fit']:6.2f}  first {row['warm_first']:6.2f}"
            + (
                f"  | before: fit {row['before_cold_fit']:6.2f}  "
                f"first {row['before_cold_first']:6.2f}"
                if "before_cold_fit" in row
                else ""
            ),
            flush=True,
        )
    load_end = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    output = Path(args.output)
    columns = list(dict.fromkeys(key for row in rows for key in row))  # rows may lack "before"
    write_csv(output / f"{args.name}.csv", [{k: row.get(k, "") for k in columns} for row in rows])
    text = write_results(rows, info, load_end, args)
    (output / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
