"""Speed of the lambda selection of conformal risk control.

Work: choose lambda by CRC for the miscoverage loss ``1{s_i > lambda}`` (a step loss) of ``n``
calibration scores over a grid of 1,000 lambdas, alpha = 0.1, and for the false-negative rate
of 10-label sets (10 steps per row).

- ``conformal``: :func:`conformal.risk.conformal_risk_control_steps` with the grid (each
  breakpoint binned into the grid by binary search, cumulative sums, binary search for the
  first qualifying lambda; no loss matrix);
- ``numpy grid scan``: the loss sum at every grid lambda computed directly (one pass over the
  scores per lambda, in chunks: the (n, 1000) matrix of n = 10^6 would take 8 GB), then the first
  lambda that qualifies;
- ``MAPIE``: ``mapie.risk_control.methods.get_r_hat_plus`` + ``find_best_predict_param`` (what
  its controllers call once the risks are computed), which take the dense (n, 1000) risk
  matrix: run only where that matrix fits (n <= 10^5), its construction not timed.

All three give the same lambda (asserted). Best of 3 runs each.

Run:  .venv/bin/python benchmarks/speed_risk.py
Writes benchmarks/results/speed_risk.md and .csv.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

from conformal.risk import conformal_risk_control_steps

RESULTS = Path(__file__).resolve().parent / "results"
ALPHA = 0.1
GRID = np.linspace(0.0, 1.0, 1000)


def best_of(fn, repeats: int = 3) -> tuple[float, float]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def grid_scan(scores: np.ndarray, drops: np.ndarray | None = None) -> float:
    n = scores.shape[0]
    sums = np.zeros(GRID.shape[0])
    size = 100_000
    for lo in range(0, n, size):
        block = scores[lo : lo + size]
        d = None if drops is None else drops[lo : lo + size]
        for j, lam in enumerate(GRID):
            above = block > lam
            sums[j] += above.sum() if d is None else d[above].sum()
    ok = np.flatnonzero((sums + 1.0) <= ALPHA * (n + 1))
    return float(GRID[ok[0]]) if ok.size else np.inf


def mapie_select(losses: np.ndarray) -> float:
    from mapie.risk_control import methods

    t_grid = 1.0 - GRID[::-1]
    _, r_hat_plus = methods.get_r_hat_plus(losses[:, ::-1], t_grid, "crc", None, None, None)
    return float(1.0 - methods.find_best_predict_param(t_grid, r_hat_plus, np.array([ALPHA]))[0])


def main() -> None:
    rows = []
    rng = np.random.default_rng(0)
    for n in (10_000, 100_000, 1_000_000):
        scores = rng.uniform(size=n)
        ours_t, ours = best_of(
            lambda s=scores: conformal_risk_control_steps(s, ALPHA, lambdas=GRID)
        )
        scan_t, scan = best_of(lambda s=scores: grid_scan(s), repeats=1 if n >= 10**6 else 3)
        assert ours == scan, (ours, scan)
        row = {
            "loss": "miscoverage",
            "n": n,
            "n_lambdas": GRID.shape[0],
            "conformal_s": ours_t,
            "numpy_grid_scan_s": scan_t,
            "mapie_s": "",
            "scan_over_conformal": scan_t / ours_t,
            "mapie_over_conformal": "",
        }
        if n <= 100_000:
            losses = (scores[:, None] > GRID[None, :]).astype(float)
            mapie_t, theirs = best_of(lambda m=losses: mapie_select(m))
            assert abs(theirs - ours) < 1e-9, (theirs, ours)
            row["mapie_s"] = mapie_t
            row["mapie_over_conformal"] = mapie_t / ours_t
            del losses
        rows.append(row)
        print(row, flush=True)
    # multilabel FNR, 10 labels: 10 breakpoints per row
    n, labels = 1_000_000, 10
    proba = rng.uniform(size=(n, labels))
    y = rng.uniform(size=(n, labels)) < proba
    size = np.maximum(y.sum(axis=1), 1)
    points = np.where(y, 1.0 - proba, np.inf)
    drops = np.where(y, 1.0 / size[:, None], 0.0)
    ours_t, ours = best_of(
        lambda: conformal_risk_control_steps(points, ALPHA, drops=drops, lambdas=GRID)
    )
    rows.append(
        {
            "loss": "multilabel FNR (10 labels)",
            "n": n,
            "n_lambdas": GRID.shape[0],
            "conformal_s": ours_t,
            "numpy_grid_scan_s": "",
            "mapie_s": "",
            "scan_over_conformal": "",
            "mapie_over_conformal": "",
        }
    )
    print(rows[-1], flush=True)
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "speed_risk.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    def fmt(v: object, digits: int = 4) -> str:
        return f"{v:.{digits}g}" if isinstance(v, float) else str(v)

    lines = [
        "# Speed of CRC lambda selection",
        "",
        "alpha = 0.1, a grid of 1,000 lambdas; seconds, best of 3 (the NumPy scan at n = 10^6: "
        "one run). Same lambda from every implementation (asserted). MAPIE needs the dense "
        "(n, 1000) risk matrix (8 GB at n = 10^6), so it runs up to n = 10^5 only; its "
        "construction is not timed.",
        "",
        "| loss | n | conformal (s) | NumPy grid scan (s) | MAPIE (s) | scan / conformal "
        "| MAPIE / conformal |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['loss']} | {r['n']:,} | {fmt(r['conformal_s'])} | "
            f"{fmt(r['numpy_grid_scan_s'])} | {fmt(r['mapie_s'])} | "
            f"{fmt(r['scan_over_conformal'], 3)} | {fmt(r['mapie_over_conformal'], 3)} |"
        )
    lines.append("")
    (RESULTS / "speed_risk.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
