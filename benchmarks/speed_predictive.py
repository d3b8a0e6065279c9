"""Conformal predictive distributions: CDF values, quantiles and CRPS, ours against crepes.

Same residuals and point predictions for both: ``ConformalPredictiveDistribution(residuals)``
against crepes 0.9's ``ConformalPredictiveSystem().fit(residuals)``, on ``--n-cal`` calibration
residuals and ``--n-test`` test points:

- CDF at the true target (unsmoothed, ``Q(y, 1)``): ours ``pvalues(y_hat, y,
  alternative="less")``, crepes ``predict(y_hat, y=y, smoothing=False)``;
- three quantiles (5%, 50%, 95%, upper convention): ours ``quantiles(y_hat, levels,
  side="upper")``, crepes ``predict(y_hat, higher_percentiles=[5, 50, 95])``;
- CRPS of each test point: ours ``crps(y_hat, y)``, crepes ``evaluate(y_hat, y,
  metrics=["CRPS"])`` (its mean; ours is averaged too).

Results are asserted equal first (the percentiles chosen are ones where crepes' floating-point
rank agrees with the exact one). Best of ``--repeats`` after a warm-up.

Run:  .venv/bin/python benchmarks/speed_predictive.py
Writes benchmarks/results/speed_predictive.csv and benchmarks/results/speed_predictive.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

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

LEVELS = [0.05, 0.5, 0.95]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-cal", type=int, default=20_000, help="calibration residuals")
    parser.add_argument("--n-test", type=int, default=20_000, help="test points")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (best is kept)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args()

    from crepes import ConformalPredictiveSystem

    from conformal import ConformalPredictiveDistribution

    info = machine_info()
    rng = np.random.default_rng(0)
    residuals = rng.standard_t(5, size=args.n_cal)
    y_hat = rng.normal(size=args.n_test)
    y = y_hat + rng.standard_t(5, size=args.n_test)

    ours = ConformalPredictiveDistribution(residuals)
    theirs = ConformalPredictiveSystem().fit(residuals)
    percentiles = [100 * p for p in LEVELS]
    tasks: dict[str, tuple[Any, Any]] = {
        "CDF at the target": (
            lambda: ours.pvalues(y_hat, y, alternative="less"),
            lambda: theirs.predict(y_hat, y=y, smoothing=False),
        ),
        "3 quantiles": (
            lambda: ours.quantiles(y_hat, LEVELS, side="upper"),
            lambda: theirs.predict(y_hat, higher_percentiles=percentiles),
        ),
        "mean CRPS": (
            lambda: float(np.mean(ours.crps(y_hat, y))),
            lambda: float(theirs.evaluate(y_hat, y, metrics=["CRPS"])["CRPS"]),
        ),
    }
    rows = []
    for task, (mine, peer) in tasks.items():
        np.testing.assert_allclose(mine(), peer(), rtol=1e-9, err_msg=task)
        t_ours, _ = best_of(mine, args.repeats)
        t_crepes, _ = best_of(peer, args.repeats)
        rows.append(
            {
                "task": task,
                "n_cal": args.n_cal,
                "n_test": args.n_test,
                "ours_s": t_ours,
                "crepes_s": t_crepes,
                "ratio": t_crepes / t_ours,
            }
        )
        print(f"{task:20s} ours {seconds(t_ours)}  crepes {seconds(t_crepes)}", flush=True)

    table = markdown_table(
        ["task", "conformal (ours)", "crepes", "crepes / ours"],
        [
            [r["task"], seconds(r["ours_s"]), seconds(r["crepes_s"]), f"**{r['ratio']:.0f}**"]
            for r in rows
        ],
    )
    text = f"""# Conformal predictive distributions: CDF, quantiles, CRPS

`benchmarks/speed_predictive.py --n-cal {args.n_cal} --n-test {args.n_test} \
--repeats {args.repeats}`

{args.n_cal:,} calibration residuals (Student t, 5 degrees of freedom), {args.n_test:,} test
points; the same residuals and point predictions for both libraries, results asserted equal
(rtol 1e-9) before timing. Ours sorts the residuals once and answers by binary search
(quantiles by indexing, CRPS from prefix sums); best of {args.repeats}, wall time.

{table}

{machine_markdown(info)}
"""
    write_csv(args.output / "speed_predictive.csv", rows)
    (args.output / "speed_predictive.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
