"""Helpers shared by the speed benchmarks (not part of the package).

The scripts in this folder run as plain scripts
(``.venv/bin/python benchmarks/speed_split.py``), so this module is imported by its bare name.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

RESULTS = Path(__file__).resolve().parent / "results"


class PrecomputedRegressor(RegressorMixin, BaseEstimator):
    """A regressor whose prediction is already in the data: ``predict(X) = X[:, 0]``.

    ``fit`` learns nothing (it only marks the model as fitted), so a benchmark that wraps it in
    ``sklearn.frozen.FrozenEstimator`` measures the conformal layer alone: scoring, the quantile
    and the intervals, plus each library's input handling.
    """

    def fit(self, X: Any, y: Any = None) -> PrecomputedRegressor:
        self.n_features_in_ = np.shape(X)[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=np.float64)[:, 0]


def best_of(func: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Smallest wall time of ``repeats`` calls (time.perf_counter) and the last result."""
    best = np.inf
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def fresh_interpreter_runs(script: str, arguments: Sequence[str]) -> dict[str, Any]:
    """Run ``script --first-call-child ARGUMENTS`` twice in fresh interpreters sharing a new, empty
    numba cache directory (``NUMBA_CACHE_DIR``): ``"cold"`` is the first run (the kernels
    compile and fill the cache), ``"warm"`` the second (they load from it). Each run prints one
    JSON object on its last line; returns ``{"cold": ..., "warm": ...}``.

    The package's own on-disk cache is neither used nor touched, so a cache made stale by an edit
    of the kernels cannot turn a "warm" measurement into a compile.
    """
    command = [sys.executable, script, "--first-call-child", *arguments]
    out = {}
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache_dir:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
        for mode in ("cold", "warm"):
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            out[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "conformal"],
            cwd=Path(__file__).resolve().parent.parent,  # the root: pathspecs are relative
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return out.stdout.strip() + (" (conformal/ has uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_info() -> dict[str, str]:
    """What the numbers depend on: CPUs, load, library versions."""
    import numba

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 0
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    return {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": f"{os.cpu_count()} (usable: {usable})",
        "numba_threads": str(numba.config.NUMBA_NUM_THREADS),  # type: ignore[attr-defined]
        "load_average_at_start": load,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "scikit-learn": _version("scikit-learn"),
        "conformal": _version("conformal") + f" (git {_git_commit()})",
        "mapie": _version("mapie"),
        "crepes": _version("crepes"),
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_markdown(info: dict[str, str]) -> str:
    info = {"cpu": cpu_model(), **{k: v for k, v in info.items() if k != "cpu"}}
    return markdown_table(["machine", ""], [[k, v] for k, v in info.items()])


def seconds(t: float) -> str:
    """A time in the unit that keeps three significant digits readable."""
    if t < 1e-3:
        return f"{t * 1e6:.0f} us"
    if t < 1.0:
        return f"{t * 1e3:.1f} ms"
    return f"{t:.2f} s"
