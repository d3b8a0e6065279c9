"""EnbPI (Xu and Xie 2021) for time series: time and peak memory against MAPIE 1.6.

The same work for both libraries, each in its own fresh interpreter so that its peak resident
memory (``ru_maxrss``, what ``/usr/bin/time -v`` reports as "Maximum resident set size") is its
own, under the same address-space limit (``RLIMIT_AS``, ``--memory-limit-gb``, default 16 GiB of
the machine's 24) so that running out of memory is an error recorded in the table, not a
machine brought down:

1. ``fit`` on ``n`` time-ordered rows: ``B`` (``--n-resamplings``, default 20)
   ``LinearRegression`` models on iid bootstrap samples (the same draws: MAPIE's
   ``Subsample(B, random_state=0)``, our ``random_state=0``) and the leave-one-out residuals;
2. intervals at ``n_test`` new rows (``predict_interval``; MAPIE ``predict(...,
   ensemble=True)``);
3. ``n_test`` residual updates (``partial_fit``; MAPIE ``update(..., ensemble=True)``): the
   residuals of the new rows enter the window, as many of the oldest leave;
4. intervals at ``n_test`` rows again, from the updated window.

Signed residuals, each tail at ``a/2`` (MAPIE's default EnbPI score; ours with
``symmetric=False``), confidence level 0.9. Two sizes: ``--n-small`` (default 10,000 = n =
n_test), where both libraries run and their intervals are checked to agree before any number is
written, and ``--n`` (default 50,000), the size of the issue. MAPIE's EnbPI builds the
``(n_test, n)`` matrix of leave-one-out predictions (``_aggregate_with_mask``: a matrix
product of the ``(n_test, B)`` predictions with the ``(n, B)`` out-of-bag weights) in steps 2
and 3; ours is a weighted mean of the ``B`` predictions per test row.

Run:  .venv/bin/python benchmarks/speed_enbpi.py      (about 1 minute)
Writes benchmarks/results/speed_enbpi.csv and benchmarks/results/speed_enbpi.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LinearRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine_info, machine_markdown, markdown_table, seconds, write_csv

LEVEL = 0.9
N_FEATURES = 5
STAGES = ("fit", "predict", "update", "predict_again")


def make_data(n: int, n_test: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """A linear signal in 5 features with AR(1) noise (phi = 0.6), in time order: ``n``
    training rows, ``n_test`` rows to predict, then ``n_test`` rows whose outcomes update the
    window (and are predicted again)."""
    rng = np.random.default_rng(seed)
    total = n + n_test
    X = rng.normal(size=(total, N_FEATURES))
    noise = np.empty(total)
    shocks = rng.normal(size=total)
    noise[0] = shocks[0]
    for t in range(1, total):
        noise[t] = 0.6 * noise[t - 1] + shocks[t]
    y = X @ rng.normal(size=N_FEATURES) + noise
    return X[:n], y[:n], X[n:], y[n:]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def child(
    library: str, n: int, n_test: int, n_resamplings: int, limit_gb: float, save: str
) -> None:
    """(Run in a fresh interpreter.) The four stages once; print timings and peak memory as
    JSON, with the error if a stage fails (e.g. MemoryError under the address-space limit)."""
    limit = int(limit_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    warnings.simplefilter("ignore")  # MAPIE's deprecation notice on every update call
    X, y, X_new, y_new = make_data(n, n_test)
    if library == "ours":
        from conformal._enbpi import EnbPIRegressor

        # A small untimed run first, so that loading the compiled kernels is not timed.
        warm = EnbPIRegressor(n_resamplings=5, symmetric=False, random_state=0).fit(X[:60], y[:60])
        warm.partial_fit(X_new[:5], y_new[:5]).predict_interval(X_new[:5])
        model: Any = EnbPIRegressor(
            LinearRegression(), n_resamplings=n_resamplings, symmetric=False, random_state=0
        )
        stages = {
            "fit": lambda: model.fit(X, y),
            "predict": lambda: model.predict_interval(X_new),
            "update": lambda: model.partial_fit(X_new, y_new),
            "predict_again": lambda: model.predict_interval(X_new),
        }
    else:
        from mapie.regression import TimeSeriesRegressor
        from mapie.subsample import Subsample

        model = TimeSeriesRegressor(
            LinearRegression(),
            method="enbpi",
            cv=Subsample(n_resamplings, random_state=0),
            agg_function="mean",
        )

        def intervals() -> np.ndarray:
            _, pis = model.predict(X_new, ensemble=True, confidence_level=LEVEL)
            return np.asarray(pis[:, :, 0])

        stages = {
            "fit": lambda: model.fit(X, y),
            "predict": intervals,
            "update": lambda: model.update(X_new, y_new, ensemble=True),
            "predict_again": intervals,
        }
    out: dict[str, Any] = {"peak_rss_before_mb": _peak_rss_mb(), "error": "", "failed_stage": ""}
    results = {}
    start = time.perf_counter()
    for stage in STAGES:
        began = time.perf_counter()
        try:
            results[stage] = stages[stage]()
        except MemoryError as error:
            out["error"] = f"MemoryError: {error}"
            out["failed_stage"] = stage
            out[f"{stage}_s"] = time.perf_counter() - began
            break
        out[f"{stage}_s"] = time.perf_counter() - began
    out["total_s"] = time.perf_counter() - start
    out["peak_rss_mb"] = _peak_rss_mb()
    if not out["error"]:
        np.save(save, np.stack([results["predict"], results["predict_again"]]))
    print(json.dumps(out))


def run_child(library: str, n: int, n_test: int, args: argparse.Namespace, save: str) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        library,
        str(n),
        str(n_test),
        str(args.n_resamplings),
        str(args.memory_limit_gb),
        save,
    ]
    print(f"running {library} n={n:,} n_test={n_test:,} ...", flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{library} n={n} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    status = result["error"] or "ok"
    print(
        f"  total {seconds(result['total_s'])}, peak RSS {result['peak_rss_mb']:.0f} MB, {status}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50_000, help="n = n_test, the large case")
    parser.add_argument("--n-small", type=int, default=10_000, help="n = n_test, both run")
    parser.add_argument("--n-resamplings", type=int, default=20, help="bootstrap models B")
    parser.add_argument(
        "--memory-limit-gb", type=float, default=16.0, help="RLIMIT_AS of each run, in GiB"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        library, n, n_test, b, limit, save = args.child
        child(library, int(n), int(n_test), int(b), float(limit), save)
        return

    info = machine_info()
    rows = []
    agreement = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (args.n_small, args.n):
            saved = {lib: str(Path(tmp) / f"{lib}-{n}.npy") for lib in ("ours", "mapie")}
            results = {lib: run_child(lib, n, n, args, saved[lib]) for lib in ("ours", "mapie")}
            if not results["mapie"]["error"] and not results["ours"]["error"]:
                ours_iv, mapie_iv = np.load(saved["ours"]), np.load(saved["mapie"])
                np.testing.assert_allclose(ours_iv, mapie_iv, rtol=1e-12, atol=1e-9)
                agreement[n] = float(np.abs(ours_iv - mapie_iv).max())
                print(f"  intervals agree with MAPIE (max abs difference {agreement[n]:.2g})")
            ours = results["ours"]
            for lib in ("ours", "mapie"):
                r = results[lib]
                failed = bool(r["error"])
                rows.append(
                    {
                        "library": lib,
                        "n": n,
                        "n_test": n,
                        "n_resamplings": args.n_resamplings,
                        "memory_limit_gb": args.memory_limit_gb,
                        **{f"{s}_s": r.get(f"{s}_s", float("nan")) for s in STAGES},
                        "total_s": r["total_s"],
                        "peak_rss_before_mb": r["peak_rss_before_mb"],
                        "peak_rss_mb": r["peak_rss_mb"],
                        "failed_stage": r["failed_stage"],
                        "error": r["error"],
                        "ratio_total": float("nan") if failed else r["total_s"] / ours["total_s"],
                        "ratio_peak_rss": r["peak_rss_mb"] / ours["peak_rss_mb"],
                        "max_abs_difference": agreement.get(n, float("nan")),
                    }
                )
    csv_path = args.output / "speed_enbpi.csv"
    md_path = args.output / "speed_enbpi.md"
    write_csv(csv_path, rows)
    text = render(rows, info, args)
    md_path.write_text(text)
    print()
    print(text)
    print(f"wrote {csv_path} and {md_path}")


NAMES = {"ours": "conformal (ours)", "mapie": "MAPIE"}


def _time(row: dict[str, Any], stage: str) -> str:
    if row["failed_stage"] == stage:
        return f"failed after {seconds(row[f'{stage}_s'])}"
    value = row[f"{stage}_s"]
    return "not run" if value != value else seconds(value)


def render(rows: list[dict[str, Any]], info: dict[str, str], args: argparse.Namespace) -> str:
    table = markdown_table(
        [
            "library",
            "n = n_test",
            "fit",
            "predict_interval",
            "partial_fit / update",
            "predict_interval again",
            "total",
            "peak RSS (process)",
            "peak RSS above the start",
            "peer / ours: time",
            "peak RSS",
        ],
        [
            [
                NAMES[r["library"]],
                f"{r['n']:,}",
                *[_time(r, s) for s in STAGES],
                seconds(r["total_s"]) + (" (failed)" if r["error"] else ""),
                f"{r['peak_rss_mb']:,.0f} MB",
                f"{r['peak_rss_mb'] - r['peak_rss_before_mb']:,.0f} MB",
                "-" if r["ratio_total"] != r["ratio_total"] else f"**{r['ratio_total']:.1f}**",
                f"{r['ratio_peak_rss']:.1f}",
            ]
            for r in rows
        ],
    )
    failures = [r for r in rows if r["error"]]
    failure_text = "".join(
        f"\n- {NAMES[r['library']]} at {r['n']:,} x {r['n_test']:,}, stage "
        f"`{r['failed_stage']}`: `{r['error']}`"
        for r in failures
    )
    agreed = [
        r
        for r in rows
        if r["library"] == "ours" and r["max_abs_difference"] == r["max_abs_difference"]
    ]
    agreement = "; ".join(
        f"{r['n']:,} x {r['n_test']:,}: max abs difference {r['max_abs_difference']:.2g}"
        for r in agreed
    )
    small = [r for r in rows if r["library"] == "mapie" and not r["error"]]
    scaling = ""
    if small and failures:
        r = small[0]
        above = (r["peak_rss_mb"] - r["peak_rss_before_mb"]) * 2**20
        matrix = 8 * r["n"] * r["n_test"]
        big = failures[0]
        scaling = (
            f"\n\nAt {r['n']:,} x {r['n_test']:,}, MAPIE's peak above the start is "
            f"{above / matrix:.1f} times its {matrix / 2**30:.2f} GiB matrix (`np.nanmean` over "
            f"the rows copies it); at that rate it would need about "
            f"{above / matrix * 8 * big['n'] * big['n_test'] / 2**30:.0f} GiB at "
            f"{big['n']:,} x {big['n_test']:,}."
        )
    return f"""# EnbPI: time and memory against MAPIE

`benchmarks/speed_enbpi.py --n {args.n} --n-small {args.n_small} --n-resamplings \
{args.n_resamplings} --memory-limit-gb {args.memory_limit_gb:g}`

`LinearRegression` on {N_FEATURES} features, `B = {args.n_resamplings}` iid bootstrap models (the
same draws in both libraries), AR(1) noise, confidence level {LEVEL}, signed residuals with each
tail at `a/2` (MAPIE's default EnbPI score, ours with `symmetric=False`). Each row is one run in
a fresh interpreter limited to {args.memory_limit_gb:g} GiB of address space (`RLIMIT_AS`), after
a small untimed run that loads our compiled kernels: *fit* is `fit` (both), *predict_interval*
the intervals at `n_test` new rows (MAPIE: `predict(X, ensemble=True, confidence_level=0.9)`),
*partial_fit / update* slides the residual window over those `n_test` rows with their outcomes
(MAPIE: `update(X, y, ensemble=True)`), then the intervals again. *Peak RSS* is the whole
process's maximum resident memory (`ru_maxrss`, as `/usr/bin/time -v` reports it), interpreter,
libraries and data included (about {rows[0]["peak_rss_before_mb"]:.0f} MB before fitting);
*above the start* subtracts what the process held before `fit`.
Ratios are MAPIE / ours from the same run. Where both ran, the intervals (before and after the
update) were checked to agree before anything was written ({agreement or "no size where both ran"}).

{table}

MAPIE's EnbPI builds the `(n_test, n)` matrix of leave-one-out predictions for the intervals and
again for the update ({8 * args.n**2 / 2**30:.1f} GiB in float64 at {args.n:,} x {args.n:,}, plus
temporaries). Ours never builds it: the mean over training rows of their leave-one-out means is
one fixed weighted mean of the `B` model predictions, computed a block of test rows at a time.
Failures recorded:{failure_text or " none."}{scaling}

{machine_markdown(info)}
"""


if __name__ == "__main__":
    main()
