"""Split conformal classification: prediction sets and conformal p-values.

Compares ``conformal.SplitConformalClassifier`` with MAPIE 1.x's ``SplitConformalClassifier`` and
crepes' ``ConformalClassifier`` on the same work: a prefit 10-class model whose probabilities are
precomputed (``predict_proba(X) = X``, wrapped in ``sklearn.frozen.FrozenEstimator``), LAC scores
(``1 - p_y``) on ``--n-cal`` calibration points, sets and p-values for ``--n-test`` test points.

- ours:   ``SplitConformalClassifier(FrozenEstimator(model), confidence_level=...)``
          ``.fit(X_cal, y_cal)``, then ``.predict_set(X_test)`` and ``.predict_pvalues(X_test)``
- MAPIE:  ``SplitConformalClassifier(model, confidence_level=..., prefit=True)``
          ``.conformalize(X_cal, y_cal)`` then ``.predict_set(X_test)`` (MAPIE has no p-values)
- crepes: ``ConformalClassifier().fit(1 - p_y)`` then ``.predict_set(1 - p, confidence=c,
          smoothing=False)`` once per level and ``.predict_p(1 - p, smoothing=False)``; the
          ``predict_proba`` calls are inside crepes' timed phases so that all three do the same
          work. crepes counts with a Python loop over test points and classes
          (``np.sum(alphas_cal >= a)`` each), so its predict phases are timed on the first
          ``--n-crepes`` test points and scaled linearly to ``--n-test`` (the work is exactly
          linear in the number of test points).

Every phase is timed with ``time.perf_counter``, best of ``--repeats`` (default 5) after one
untimed warm-up run. Before any time is reported the libraries' sets and p-values are checked to
agree exactly (MAPIE's sets on all test points, crepes' sets and p-values on its subset; the
calibration size is chosen so that ``a (n + 1)`` is not an integer for the levels used, where
crepes' ``p >= a`` rule and our ``p > a`` coincide).

Run:  .venv/bin/python benchmarks/speed_classification.py [--n-cal 100000] [--n-test 100000]
Writes benchmarks/results/speed_classification.csv and .md.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.frozen import FrozenEstimator

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

N_CLASSES = 10
SINGLE = 0.9
MULTI = [0.8, 0.9, 0.95]
NAMES = {"ours": "conformal (ours)", "mapie": "MAPIE", "crepes": "crepes"}


class PrecomputedClassifier(ClassifierMixin, BaseEstimator):
    """A classifier whose probabilities are already in the data: ``predict_proba(X) = X``."""

    def fit(self, X: Any, y: Any = None) -> PrecomputedClassifier:
        self.classes_ = np.arange(np.shape(X)[1])
        self.n_features_in_ = np.shape(X)[1]
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=np.float64)

    def predict(self, X: Any) -> np.ndarray:
        return np.argmax(self.predict_proba(X), axis=1)


def make_data(n_cal: int, n_test: int, seed: int = 0) -> dict[str, Any]:
    """Dirichlet probabilities; each label is drawn from its row's probabilities."""
    rng = np.random.default_rng(seed)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        proba = rng.dirichlet(np.full(N_CLASSES, 0.5), size=n)
        cumulative = np.cumsum(proba, axis=1)
        u = rng.uniform(size=(n, 1)) * cumulative[:, -1:]
        return proba, np.minimum((cumulative < u).sum(axis=1), N_CLASSES - 1)

    X_cal, y_cal = draw(n_cal)
    X_test, _ = draw(n_test)
    model = PrecomputedClassifier().fit(X_cal[:10])
    return {"X_cal": X_cal, "y_cal": y_cal, "X_test": X_test, "model": model}


def levels_list(level: Any) -> list[float]:
    return level if isinstance(level, list) else [level]


# Each library: calibrate(data, level) -> state; sets(state, X, level) -> (n, L, K) bool;
# pvalues(state, X) -> (n, K).


def ours_calibrate(data: dict[str, Any], level: Any) -> Any:
    from conformal import SplitConformalClassifier

    model = SplitConformalClassifier(FrozenEstimator(data["model"]), confidence_level=level)
    return model.fit(data["X_cal"], data["y_cal"])


def ours_sets(state: Any, X: np.ndarray, level: Any) -> np.ndarray:
    sets = state.predict_set(X)
    return sets[:, np.newaxis, :] if sets.ndim == 2 else sets


def ours_pvalues(state: Any, X: np.ndarray) -> np.ndarray:
    return state.predict_pvalues(X)


def mapie_calibrate(data: dict[str, Any], level: Any) -> Any:
    from mapie.classification import SplitConformalClassifier

    model = SplitConformalClassifier(data["model"], confidence_level=level, prefit=True)
    return model.conformalize(data["X_cal"], data["y_cal"])


def mapie_sets(state: Any, X: np.ndarray, level: Any) -> np.ndarray:
    return np.transpose(state.predict_set(X)[1], (0, 2, 1))  # (n, K, L) -> (n, L, K)


def crepes_calibrate(data: dict[str, Any], level: Any) -> Any:
    from crepes import ConformalClassifier

    proba = data["model"].predict_proba(data["X_cal"])
    alphas = 1.0 - proba[np.arange(proba.shape[0]), data["y_cal"]]
    return data["model"], ConformalClassifier().fit(alphas)


def crepes_sets(state: Any, X: np.ndarray, level: Any) -> np.ndarray:
    model, classifier = state
    alphas = 1.0 - model.predict_proba(X)
    sets = [
        classifier.predict_set(alphas, confidence=c, smoothing=False) for c in levels_list(level)
    ]
    return np.stack(sets, axis=1).astype(bool)


def crepes_pvalues(state: Any, X: np.ndarray) -> np.ndarray:
    model, classifier = state
    return classifier.predict_p(1.0 - model.predict_proba(X), smoothing=False)


CALIBRATE = {"ours": ours_calibrate, "mapie": mapie_calibrate, "crepes": crepes_calibrate}
SETS = {"ours": ours_sets, "mapie": mapie_sets, "crepes": crepes_sets}
PVALUES = {"ours": ours_pvalues, "crepes": crepes_pvalues}


def check_agreement(data: dict[str, Any], level: Any, n_crepes: int) -> None:
    states = {lib: CALIBRATE[lib](data, level) for lib in CALIBRATE}
    X, subset = data["X_test"], data["X_test"][:n_crepes]
    ours = SETS["ours"](states["ours"], X, level)
    np.testing.assert_array_equal(SETS["mapie"](states["mapie"], X, level), ours)
    np.testing.assert_array_equal(SETS["crepes"](states["crepes"], subset, level), ours[:n_crepes])
    np.testing.assert_allclose(
        PVALUES["crepes"](states["crepes"], subset),
        PVALUES["ours"](states["ours"], subset),
        rtol=1e-12,
    )


def measure(library: str, data: dict[str, Any], level: Any, args: argparse.Namespace) -> dict:
    """Best-of-``repeats`` times of each phase (after one warm-up run); crepes' predict phases
    on ``n_crepes`` test points, scaled to ``n_test``."""
    calibrate = CALIBRATE[library]
    state = calibrate(data, level)  # warm-up
    X = data["X_test"] if library != "crepes" else data["X_test"][: args.n_crepes]
    scale = data["X_test"].shape[0] / X.shape[0]
    SETS[library](state, X, level)
    t_cal, state = best_of(lambda: calibrate(data, level), args.repeats)
    t_sets, _ = best_of(lambda: SETS[library](state, X, level), args.repeats)
    out = {"calibrate_s": t_cal, "sets_s": t_sets * scale, "pvalues_s": np.nan}
    if library in PVALUES:
        t_p, _ = best_of(lambda: PVALUES[library](state, X), args.repeats)
        out["pvalues_s"] = t_p * scale
    out["scaled_from"] = X.shape[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-cal", type=int, default=100_000, help="calibration points")
    parser.add_argument("--n-test", type=int, default=100_000, help="test points")
    parser.add_argument(
        "--n-crepes", type=int, default=200, help="test points crepes is timed on (scaled up)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (best is kept)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args()

    info = machine_info()
    data = make_data(args.n_cal, args.n_test)
    cases = [("1 level (0.9)", SINGLE), ("3 levels (0.8, 0.9, 0.95)", MULTI)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning here would mean the comparison is off
        for _, level in cases:
            check_agreement(data, level, args.n_crepes)
    print(f"sets and p-values agree (ours, MAPIE, crepes) at n_cal={args.n_cal}")

    rows = []
    for case, level in cases:
        timed = {lib: measure(lib, data, level, args) for lib in CALIBRATE}
        for library, t in timed.items():
            ours = timed["ours"]
            rows.append(
                {
                    "case": case,
                    "library": library,
                    "n_cal": args.n_cal,
                    "n_test": args.n_test,
                    "n_classes": N_CLASSES,
                    **t,
                    "ratio_calibrate": t["calibrate_s"] / ours["calibrate_s"],
                    "ratio_sets": t["sets_s"] / ours["sets_s"],
                    "ratio_pvalues": t["pvalues_s"] / ours["pvalues_s"],
                }
            )
            print(f"{case:28s} {library:7s} sets {seconds(t['sets_s'])}", flush=True)

    csv_path = args.output / "speed_classification.csv"
    md_path = args.output / "speed_classification.md"
    write_csv(csv_path, rows)
    text = render(rows, info, args)
    md_path.write_text(text)
    print()
    print(text)
    print(f"wrote {csv_path} and {md_path}")


def _time(value: float) -> str:
    return "n/a" if np.isnan(value) else seconds(value)


def _ratio(value: float) -> str:
    return "n/a" if np.isnan(value) else f"{value:.2f}"


def render(rows: list[dict[str, Any]], info: dict[str, str], args: argparse.Namespace) -> str:
    table = markdown_table(
        [
            "case",
            "library",
            "calibrate",
            "predict_set",
            "p-values",
            "peer / ours: calibrate",
            "predict_set",
            "p-values",
        ],
        [
            [
                r["case"],
                NAMES[r["library"]] + (" (scaled)" if r["library"] == "crepes" else ""),
                seconds(r["calibrate_s"]),
                _time(r["sets_s"]),
                _time(r["pvalues_s"]),
                f"{r['ratio_calibrate']:.2f}",
                f"**{_ratio(r['ratio_sets'])}**",
                f"**{_ratio(r['ratio_pvalues'])}**",
            ]
            for r in rows
        ],
    )
    return f"""# Split conformal classification: prediction sets and p-values

`benchmarks/speed_classification.py --n-cal {args.n_cal} --n-test {args.n_test} \
--n-crepes {args.n_crepes} --repeats {args.repeats}`

Same work for all three: a prefit {N_CLASSES}-class model with precomputed probabilities
(`predict_proba(X) = X`, wrapped in `FrozenEstimator`, so nothing is fitted), LAC scores
`1 - p_y` on {args.n_cal:,} calibration points, prediction sets and conformal p-values
`(#{{s_i >= s}} + 1)/(n + 1)` for {args.n_test:,} test points x {N_CLASSES} classes.
*calibrate* is `fit` (ours) / `conformalize` (MAPIE) / scores + `fit` (crepes); *predict_set*
is `predict_set` (ours, MAPIE; crepes once per level); *p-values* is `predict_pvalues` (ours) /
`predict_p` (crepes; MAPIE has none). Best of {args.repeats} after one warm-up run, wall time
(`time.perf_counter`). crepes loops in Python over test points and classes, so its predict
phases were timed on the first {args.n_crepes} test points and scaled linearly to
{args.n_test:,}. Ratios are peer time / our time in the same run (above 1: we are faster). Sets
and p-values of the three libraries were checked to agree exactly before timing.

Ours sorts the calibration scores once and answers each (test point, class) by binary search
(`np.searchsorted` on the whole `(n_test, n_classes)` score matrix): `O((n + m K) log n)`, no
`m x n` comparison. No numba kernel is involved, so there is no compile cost on first call.

{table}

{machine_markdown(info)}
"""


if __name__ == "__main__":
    main()
