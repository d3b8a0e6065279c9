"""Coverage under covariate shift: unweighted, oracle and estimated likelihood-ratio weights.

The protocol of Tibshirani, Barber, Candes and Ramdas (2019, Section 2.2, there on the airfoil
data), on the bundled ``concrete`` data (1,030 rows, 8 features; the shift tilts the ``cement``
column). In each seeded repetition:

1. the rows are split at random into two halves: the *source* half and a *pool*;
2. the test set is drawn from the pool, with replacement, as many rows as the pool has, each row
   with probability proportional to ``exp(lambda * z)``, ``z`` the standardised ``cement``
   feature (``lambda = 1`` by default): an exponential tilting of one feature;
3. ``SplitConformalRegressor(LinearRegression(), calibration_size=0.5)`` is fitted on the source
   half (half of it trains the model, half calibrates) at confidence level 0.9, with

   - no weights (``unweighted``): exchangeability fails, so it under-covers;
   - the true likelihood ratio ``exp(lambda * z)`` (``oracle``, a plain callable): the pool and
     the source half are two uniform halves of the same rows, so this is the exact ratio of the
     test and source distributions; coverage is at least 0.9 by Tibshirani et al. (2019);
   - the ratio estimated by ``LikelihoodRatioWeights`` with logistic regression (the default
     classifier) and with gradient boosting, cross-fitted on the source rows and the unlabeled
     test rows: ``fit(X, y, X_target=X_test)``;

4. coverage is the fraction of the test rows whose ``y`` is inside its interval; the widths are
   averaged (mean) and their median taken over the test rows.

The table reports, over the repetitions, the mean coverage with its standard error (Monte Carlo
error), the mean of the per-repetition mean and median widths (the mean width over finite
intervals, with the share of infinite ones), and the mean effective sample size
``(sum w)^2 / sum w^2`` of the calibration weights (about 258 calibration rows).

Run:  .venv/bin/python benchmarks/covariate_shift_validity.py [--repetitions 1000] [--jobs 2]
Writes benchmarks/results/covariate_shift_validity.csv and .md.
"""

from __future__ import annotations

import os

# One OpenMP / BLAS / numba thread per worker process (set before numpy and scikit-learn load):
# oversubscribed OpenMP barriers make gradient boosting many times slower.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine_info, machine_markdown, markdown_table, write_csv  # noqa: E402

from conformal import SplitConformalRegressor  # noqa: E402
from conformal.datasets import load_dataset  # noqa: E402
from conformal.weights import LikelihoodRatioWeights  # noqa: E402

DATASET = "concrete"
FEATURE = 0  # cement
LEVEL = 0.9
METHODS = ("unweighted", "oracle", "logistic", "gradient_boosting")


def load() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_dataset(DATASET)
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)


class Tilt:
    """``exp(lambda * z)``, ``z`` the standardised feature: the oracle likelihood ratio (up to a
    constant, which weighted conformal prediction ignores). A class, so it pickles."""

    def __init__(self, X: np.ndarray, lam: float) -> None:
        self.mean, self.sd, self.lam = X[:, FEATURE].mean(), X[:, FEATURE].std(), lam

    def __call__(self, X: Any) -> np.ndarray:
        return np.exp(self.lam * (np.asarray(X)[:, FEATURE] - self.mean) / self.sd)


def weights_of(method: str, tilt: Tilt) -> Any:
    if method == "unweighted":
        return None
    if method == "oracle":
        return tilt
    if method == "logistic":
        return LikelihoodRatioWeights()  # StandardScaler + LogisticRegression
    return LikelihoodRatioWeights(HistGradientBoostingClassifier(max_depth=3, random_state=0))


def repetition(seed: int, lam: float, methods: tuple[str, ...] = METHODS) -> list[dict]:
    X, y = load()
    tilt = Tilt(X, lam)
    rng = np.random.default_rng(seed)
    order = rng.permutation(y.shape[0])
    half = y.shape[0] // 2
    source, pool = order[:half], order[half:]
    p = tilt(X[pool])
    test = rng.choice(pool, size=pool.shape[0], replace=True, p=p / p.sum())
    X_test, y_test = X[test], y[test]
    rows = []
    for method in methods:
        weights = weights_of(method, tilt)
        model = SplitConformalRegressor(
            LinearRegression(), weights=weights, calibration_size=0.5, random_state=seed
        )
        extra = {"X_target": X_test} if isinstance(weights, LikelihoodRatioWeights) else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a small effective sample size warns; it is reported
            model.fit(X[source], y[source], **extra)
            intervals = model.predict_interval(X_test, LEVEL)
        width = intervals[:, 1] - intervals[:, 0]
        # Upper bound of the coverage with continuous scores: 1 - a + E[max_i p_i], the largest
        # normalised weight (the test point's included), here averaged over the test points.
        w_cal = model.calibration_weights_
        if w_cal is None:
            largest = np.full(y_test.shape[0], 1.0 / (model.conformity_scores_.shape[0] + 1))
        else:
            w_test = model.weights_scheme_.test_weights(X_test)
            largest = np.maximum(w_cal.max(), w_test) / (w_cal.sum() + w_test)
        finite = np.isfinite(width)
        rows.append(
            {
                "seed": seed,
                "method": method,
                "coverage": float(
                    np.mean((intervals[:, 0] <= y_test) & (y_test <= intervals[:, 1]))
                ),
                "mean_width": float(width[finite].mean()) if finite.any() else np.inf,
                "median_width": float(np.median(width)),
                "infinite_share": float(1.0 - finite.mean()),
                "ess": float(getattr(model, "effective_sample_size_", np.nan)),
                "largest_weight": float(largest.mean()),
            }
        )
    return rows


def summarise(rows: list[dict], methods: tuple[str, ...]) -> list[dict]:
    out = []
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        cov = np.array([r["coverage"] for r in mine])
        out.append(
            {
                "method": method,
                "repetitions": len(mine),
                "coverage_mean": cov.mean(),
                "coverage_se": cov.std(ddof=1) / np.sqrt(len(cov)),
                "coverage_median": float(np.median(cov)),
                "mean_width": float(np.mean([r["mean_width"] for r in mine])),
                "median_width": float(np.mean([r["median_width"] for r in mine])),
                "infinite_share": float(np.mean([r["infinite_share"] for r in mine])),
                "ess": float(np.mean([r["ess"] for r in mine])),
                "upper_bound": LEVEL + float(np.mean([r["largest_weight"] for r in mine])),
            }
        )
    return out


NAMES = {
    "unweighted": "unweighted",
    "oracle": "oracle ratio `exp(lambda z)` (callable)",
    "logistic": "estimated: `LikelihoodRatioWeights()` (logistic)",
    "gradient_boosting": (
        "estimated: `LikelihoodRatioWeights(HistGradientBoostingClassifier(max_depth=3))`"
    ),
}


def render(summary: list[dict], args: argparse.Namespace, seconds: float, info: dict) -> str:
    table = markdown_table(
        [
            "weights",
            "coverage (mean ± se)",
            "upper bound 0.9 + E max p",
            "median coverage",
            "mean width",
            "median width",
            "infinite intervals",
            "effective sample size",
        ],
        [
            [
                NAMES[s["method"]],
                f"{s['coverage_mean']:.4f} ± {s['coverage_se']:.4f}",
                f"{s['upper_bound']:.4f}",
                f"{s['coverage_median']:.4f}",
                f"{s['mean_width']:.2f}",
                f"{s['median_width']:.2f}",
                f"{100 * s['infinite_share']:.2f} %",
                f"{s['ess']:.0f}",
            ]
            for s in summary
        ],
    )
    return f"""# Covariate shift: coverage of unweighted, oracle and estimated weights

`benchmarks/covariate_shift_validity.py --repetitions {args.repetitions} --lam {args.lam}`
({seconds:.0f} s with {args.jobs} process{"es" if args.jobs > 1 else ""})

Tibshirani et al. (2019) protocol on the bundled `{DATASET}` data ({args.n_rows:,} rows):
each of {args.repetitions} seeded repetitions splits the rows into a source half and a pool, draws
a test set from the pool (with replacement, as many rows as the pool) with probabilities
proportional to `exp({args.lam} * z)`, `z` the standardised `cement` feature, and fits
`SplitConformalRegressor(LinearRegression(), calibration_size=0.5)` on the source half at level
{LEVEL} (about 258 calibration rows). Estimated weights are cross-fitted (`cv=5`) on the source
rows and the unlabeled test rows: `fit(X, y, X_target=X_test)`. Coverage is the share of the test
rows covered; "mean width" is the mean over repetitions of the mean finite width (with the share
of infinite intervals beside it), "median width" the mean over repetitions of the median width.
Monte Carlo error: coverage ± 1 se; a band of ± 3.5 se is what the tests use.

With the true ratio, coverage is at least {LEVEL} (Tibshirani et al. 2019, Corollary 1) and, for
continuous scores, at most {LEVEL} + E[max_i p_i], the expected largest normalised weight (the
test point's included; the weighted form of the usual `1 - a + 1/(n+1)`): the "upper bound"
column, computed from each method's own weights. Weighted intervals thus over-cover a little by
design when the weights are uneven (an effective sample size of about 100 of the 258 points).

{table}

{machine_markdown(info)}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=int, default=1000)
    parser.add_argument("--lam", type=float, default=1.0, help="tilting strength lambda")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args()
    info = machine_info()
    args.n_rows = load()[1].shape[0]
    start = time.perf_counter()
    seeds = range(args.repetitions)
    with ProcessPoolExecutor(args.jobs) as pool:
        chunks = pool.map(repetition, seeds, [args.lam] * args.repetitions, chunksize=10)
        rows = [row for chunk in chunks for row in chunk]
    elapsed = time.perf_counter() - start
    summary = summarise(rows, METHODS)
    write_csv(args.output / "covariate_shift_validity.csv", summary)
    text = render(summary, args, elapsed, info)
    (args.output / "covariate_shift_validity.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
