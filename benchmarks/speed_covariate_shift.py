"""Covariate-shift split conformal end to end, with estimated likelihood-ratio weights.

``--n-cal`` calibration rows (and as many training rows) from the source distribution, ``--n-test``
unlabeled test rows from a shifted one (5 features, the first shifted by ``SHIFT``):

- ours: ``SplitConformalRegressor(LinearRegression(), weights=LikelihoodRatioWeights(),
  calibration_size=n_cal).fit(X, y, X_target=X_test).predict_interval(X_test)``: the model,
  the cross-fitted classifier weights (``cv=5``, standardised logistic regression), then one sort
  of the calibration scores with prefix sums of their weights and a binary search per test
  point.
- reference: the same pipeline written with scikit-learn and NumPy (the same split, model, folds
  and classifiers, so the same weights), then a per-test-point loop doing O(n) weighted-quantile
  work per test point: the scores sorted once outside the loop, then for each test point the
  cumulative sum of the calibration weights with its own weight at ``+inf`` and a search for
  ``0.9`` of the total. The loop is timed on the first ``--n-loop`` test points and
  **extrapolated linearly** to ``--n-test`` (its cost is the same for every point); the model and
  weights part is timed in full.

Before timing, the intervals of the reference on the loop's test points are checked against
ours (equal to rounding), which also checks the cross-fitted weights.

Run:  .venv/bin/python benchmarks/speed_covariate_shift.py
          [--n-cal 100000] [--n-test 100000] [--n-loop 2000]
Writes benchmarks/results/speed_covariate_shift.csv and .md.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import KFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    RESULTS,
    best_of,
    machine_info,
    machine_markdown,
    markdown_table,
    seconds,
    write_csv,
)

LEVEL = 0.9
SHIFT = 0.5
N_FEATURES = 5
CV = 5
SEED = 0


def make_data(n_cal: int, n_test: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Source rows (training + calibration) and shifted test rows; heteroscedastic noise."""
    rng = np.random.default_rng(seed)
    n = 2 * n_cal
    X = rng.normal(size=(n, N_FEATURES))
    beta = np.arange(1.0, N_FEATURES + 1)
    y = X @ beta + rng.normal(size=n) * (1.0 + 0.5 * np.abs(X[:, 0]))
    X_test = rng.normal(size=(n_test, N_FEATURES))
    X_test[:, 0] += SHIFT
    return {"X": X, "y": y, "X_test": X_test}


def ours(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, n_cal: int) -> tuple[Any, np.ndarray]:
    from conformal import SplitConformalRegressor
    from conformal.weights import LikelihoodRatioWeights

    model = SplitConformalRegressor(
        LinearRegression(),
        weights=LikelihoodRatioWeights(cv=CV),
        calibration_size=n_cal,
        random_state=SEED,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # infinite intervals for the heaviest test points
        model.fit(X, y, X_target=X_test)
        return model, model.predict_interval(X_test, LEVEL)


def reference_weights(
    X: np.ndarray, y: np.ndarray, X_test: np.ndarray, n_cal: int
) -> dict[str, np.ndarray]:
    """Everything but the quantiles: split, model, cross-fitted classifier weights."""
    n = y.shape[0]
    train, cal = train_test_split(np.arange(n), test_size=n_cal, random_state=SEED)
    train, cal = np.sort(train), np.sort(cal)
    model = LinearRegression().fit(X[train], y[train])
    scores = np.abs(y[cal] - model.predict(X[cal]))
    folds = KFold(CV, shuffle=True, random_state=SEED)
    oof = np.empty(n)
    test_weights = np.zeros(X_test.shape[0])
    source_folds = folds.split(np.empty((n, 0)))
    target_folds = folds.split(np.empty((X_test.shape[0], 0)))
    for (s_in, s_out), (t_in, _) in zip(source_folds, target_folds, strict=True):
        classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        labels = np.r_[np.zeros(s_in.shape[0]), np.ones(t_in.shape[0])]
        classifier.fit(np.concatenate([X[s_in], X_test[t_in]]), labels)
        size = s_in.shape[0] / t_in.shape[0]
        p = classifier.predict_proba(X[s_out])[:, 1]
        oof[s_out] = p / (1 - p) * size
        p = classifier.predict_proba(X_test)[:, 1]
        test_weights += p / (1 - p) * size
    return {
        "scores": scores,
        "weights": oof[cal],
        "test_weights": test_weights / CV,
        "prediction": model.predict(X_test),
    }


def reference_loop(parts: dict[str, np.ndarray], n_points: int) -> np.ndarray:
    """Intervals of the first ``n_points`` test points, one O(n) weighted quantile each."""
    order = np.argsort(parts["scores"], kind="stable")
    sorted_scores = np.append(parts["scores"][order], np.inf)
    sorted_weights = parts["weights"][order]
    out = np.empty((n_points, 2))
    for j in range(n_points):
        mass = np.append(sorted_weights, parts["test_weights"][j])
        cumulative = np.cumsum(mass)
        q = sorted_scores[np.searchsorted(cumulative, LEVEL * cumulative[-1], side="left")]
        out[j] = parts["prediction"][j] - q, parts["prediction"][j] + q
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-cal", type=int, default=100_000, help="calibration rows")
    parser.add_argument("--n-test", type=int, default=100_000, help="test rows")
    parser.add_argument(
        "--n-loop", type=int, default=2_000, help="test points the loop is timed on"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (best is kept)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args()
    info = machine_info()
    data = make_data(args.n_cal, args.n_test)
    X, y, X_test = data["X"], data["y"], data["X_test"]
    n_loop = min(args.n_loop, args.n_test)

    # Agreement first (also the warm-up: numba kernels compile or load here).
    model, intervals = ours(X, y, X_test, args.n_cal)
    parts = reference_weights(X, y, X_test, args.n_cal)
    np.testing.assert_allclose(
        model.calibration_weights_, parts["weights"], rtol=1e-9, err_msg="calibration weights"
    )
    looped = reference_loop(parts, n_loop)
    np.testing.assert_allclose(intervals[:n_loop], looped, rtol=1e-9, err_msg="intervals")
    n_inf = int(np.isinf(intervals[:, 1]).sum())
    print(f"intervals equal on {n_loop} test points ({n_inf} of {args.n_test} infinite)")

    t_ours, _ = best_of(lambda: ours(X, y, X_test, args.n_cal), args.repeats)
    fitted = model

    def predict_only() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fitted.predict_interval(X_test, LEVEL)

    t_predict, _ = best_of(predict_only, args.repeats)
    t_parts, _ = best_of(lambda: reference_weights(X, y, X_test, args.n_cal), args.repeats)
    start = time.perf_counter()
    reference_loop(parts, n_loop)
    t_loop_subset = time.perf_counter() - start
    t_loop = t_loop_subset * args.n_test / n_loop
    t_reference = t_parts + t_loop

    rows = [
        {
            "method": "ours",
            "n_cal": args.n_cal,
            "n_test": args.n_test,
            "fit_and_weights_s": t_ours - t_predict,
            "intervals_s": t_predict,
            "intervals_timed_points": args.n_test,
            "total_s": t_ours,
            "ratio": 1.0,
        },
        {
            "method": "numpy_loop",
            "n_cal": args.n_cal,
            "n_test": args.n_test,
            "fit_and_weights_s": t_parts,
            "intervals_s": t_loop,
            "intervals_timed_points": n_loop,
            "total_s": t_reference,
            "ratio": t_reference / t_ours,
        },
    ]
    write_csv(args.output / "speed_covariate_shift.csv", rows)
    text = render(rows, info, args, n_loop, n_inf, t_loop_subset)
    (args.output / "speed_covariate_shift.md").write_text(text)
    print(text)


def render(
    rows: list[dict[str, Any]],
    info: dict[str, str],
    args: argparse.Namespace,
    n_loop: int,
    n_inf: int,
    t_loop_subset: float,
) -> str:
    names = {
        "ours": "conformal (ours): `SplitConformalRegressor(weights=LikelihoodRatioWeights())`",
        "numpy_loop": "scikit-learn + per-test-point NumPy loop",
    }
    table = markdown_table(
        [
            "method",
            "model + estimated weights",
            f"intervals for {args.n_test:,} test points",
            "total",
            "total / ours",
        ],
        [
            [
                names[r["method"]],
                seconds(r["fit_and_weights_s"]),
                seconds(r["intervals_s"])
                + (
                    f" (extrapolated from {seconds(t_loop_subset)} for {n_loop:,})"
                    if r["method"] == "numpy_loop"
                    else ""
                ),
                seconds(r["total_s"]),
                f"**{r['ratio']:,.1f}**",
            ]
            for r in rows
        ],
    )
    command = (
        f"benchmarks/speed_covariate_shift.py --n-cal {args.n_cal} --n-test {args.n_test} "
        f"--n-loop {args.n_loop} --repeats {args.repeats}"
    )
    return f"""# Covariate-shift split conformal, end to end with estimated weights

`{command}`

{2 * args.n_cal:,} source rows ({args.n_cal:,} train the `LinearRegression`, {args.n_cal:,}
calibrate), {args.n_test:,} unlabeled test rows whose first feature is shifted by {SHIFT}
({N_FEATURES} features); level {LEVEL}. The likelihood ratio is estimated by {CV} cross-fitted
classifiers (`StandardScaler` + `LogisticRegression`) on the source and test rows; each
calibration row is weighted by the classifier that did not see it, each test row by the mean of
the {CV} ratios.

- **ours**: `fit(X, y, X_target=X_test)` then `predict_interval(X_test)`; best of
  {args.repeats}. "model + estimated weights" is the fit time minus the interval time.
- **reference**: the same split, model, folds and classifiers written with scikit-learn (best of
  {args.repeats}), then, per test point, O(n) NumPy work: the cumulative sum of the
  {args.n_cal:,} sorted calibration weights with the point's own weight at `+inf` and a search
  for {LEVEL} of the total (the scores are sorted once, outside the loop). The loop is timed once
  on the first {n_loop:,} test points and **extrapolated linearly** to {args.n_test:,}.

Before timing, the calibration weights and the intervals on those {n_loop:,} test points were
checked equal (`assert_allclose`, rtol 1e-9) ({n_inf:,} of the {args.n_test:,} intervals are
infinite: the point's own weight is too large for the calibration weights).

{table}

Most of our end-to-end time is fitting the classifiers, the same work on both sides; the interval
step is where the per-point loop loses. Our interval time includes evaluating the {CV} classifiers
on the test rows (their weights), which the reference does in its "model + estimated weights"
column.

{machine_markdown(info)}
"""


if __name__ == "__main__":
    main()
