"""The benchmark job: ``python -m conformal benchmark`` and the functions behind it."""

import csv
import math
import re
import subprocess
import sys

import pytest

from conformal.__main__ import main
from conformal.benchmark import (
    RAW_COLUMNS,
    format_table,
    get_method,
    list_methods,
    register_method,
    run_benchmark,
    summarize,
    write_csv,
)

SMALL = ["yacht", "energy_heating"]
DEFAULT_METHODS = ["split-absolute", "split-normalized", "cqr"]
TIMINGS = {"fit_seconds", "predict_seconds"}


def _read(path):
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def _without_timings(rows):
    return [{k: v for k, v in row.items() if k.removesuffix("_mean").removesuffix("_std")
             not in TIMINGS} for row in rows]  # fmt: skip


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """One CLI run on the two small datasets, 1 seed, the default methods."""
    out = tmp_path_factory.mktemp("bench")
    status = main(["benchmark", "--datasets", *SMALL, "--seeds", "1", "--out", str(out),
                   "--no-progress"])  # fmt: skip
    return status, out


def test_cli_writes_raw_summary_and_markdown(small_run, capsys):
    status, out = small_run
    assert status == 0
    fields, raw = _read(out / "raw.csv")
    assert tuple(fields) == RAW_COLUMNS
    assert [(r["dataset"], r["method"]) for r in raw] == [
        (d, m) for d in SMALL for m in DEFAULT_METHODS
    ]
    for row in raw:
        assert row["seed"] == "0" and float(row["confidence_level"]) == 0.9
        assert int(row["n_train"]) + int(row["n_test"]) in (308, 768)
        # 62 or 154 test points: a 90% method should not land far outside [0.75, 1].
        assert 0.75 <= float(row["coverage"]) <= 1.0
        assert 0 < float(row["mean_width"]) < math.inf
        assert float(row["fit_seconds"]) >= 0 and float(row["predict_seconds"]) >= 0
    fields, summary = _read(out / "summary.csv")
    assert fields[:6] == ["dataset", "method", "confidence_level", "n_seeds", "n_train", "n_test"]
    assert {"coverage_mean", "coverage_std", "mean_width_mean", "fit_seconds_mean"} <= set(fields)
    assert len(summary) == len(raw) and all(r["n_seeds"] == "1" for r in summary)
    markdown = (out / "summary.md").read_text(encoding="utf-8")
    assert "| dataset" in markdown and "split-normalized" in markdown


def test_cli_prints_summary_table(tmp_path, capsys):
    main(["benchmark", "--datasets", "yacht", "--methods", "split-absolute", "--seeds", "1",
          "--out", str(tmp_path), "--no-progress"])  # fmt: skip
    printed = capsys.readouterr().out
    header = printed.splitlines()[0].split()
    assert header[:2] == ["dataset", "method"]
    assert {"coverage", "mean_width", "fit_seconds"} <= set(header)
    assert "yacht" in printed and str(tmp_path) in printed


def test_same_seed_same_results(small_run, tmp_path):
    """Everything but the timings is reproducible for a fixed seed."""
    _, out = small_run
    main(["benchmark", "--datasets", *SMALL, "--seeds", "1", "--out", str(tmp_path),
          "--no-progress"])  # fmt: skip
    for name in ("raw.csv", "summary.csv"):
        first, second = _read(out / name)[1], _read(tmp_path / name)[1]
        assert _without_timings(first) == _without_timings(second)


def test_seeds_change_the_split():
    rows = run_benchmark(["yacht"], ["split-absolute"], seeds=[0, 1], progress=False)
    assert [r["seed"] for r in rows] == [0, 1]
    assert (
        rows[0]["coverage"] != rows[1]["coverage"] or rows[0]["mean_width"] != rows[1]["mean_width"]
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--datasets", "yacht", "no_such_data"], "unknown dataset 'no_such_data'; valid names"),
        (["--methods", "cqr", "nope"], "unknown method 'nope'; valid names are split-absolute"),
        (["--seeds", "0"], "expected a positive integer"),
        (["--confidence", "1.5"], r"expected a number in \(0, 1\)"),
    ],
)
def test_cli_rejects_bad_arguments_listing_valid_names(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["benchmark", *argv, "--out", str(tmp_path), "--no-progress"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert __import__("re").search(message, err), err
    if "valid names" in message:
        assert "yacht" in err or "cqr-asymmetric" in err
    assert not (tmp_path / "raw.csv").exists()


def test_run_benchmark_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"Unknown dataset\(s\) \['atlantis'\]. Valid names"):
        run_benchmark(["atlantis"], progress=False)
    with pytest.raises(ValueError, match=r"Unknown benchmark method\(s\) \['magic'\].*'cqr'"):
        run_benchmark(["yacht"], ["magic"], progress=False)
    with pytest.raises(ValueError, match=r"Unknown benchmark method 'magic'\. Valid names"):
        get_method("magic")
    with pytest.raises(ValueError, match=r"confidence_level must be a float in the range"):
        run_benchmark(["yacht"], confidence_level=0.0, progress=False)
    with pytest.raises(ValueError, match=r"test_size must be a float in the range"):
        run_benchmark(["yacht"], test_size=1.0, progress=False)
    with pytest.raises(ValueError, match="seeds must give at least one seed"):
        run_benchmark(["yacht"], seeds=[], progress=False)


def test_registry_defaults_and_extension():
    assert list_methods(default_only=True) == DEFAULT_METHODS
    assert {"split-signed", "cqr-asymmetric"} <= set(list_methods())
    with pytest.raises(ValueError, match="already registered; pass replace=True"):
        register_method("cqr", lambda random_state: None)
    with pytest.raises(ValueError, match=r"Unknown task 'vision'\. Valid tasks are \['classif"):
        register_method("x", lambda random_state: None, task="vision")


def test_custom_data_and_methods_by_mapping():
    import numpy as np

    from conformal import SplitConformalRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    y = X[:, 0] + rng.normal(size=400)
    methods = {"ols": lambda random_state: SplitConformalRegressor(random_state=random_state)}
    rows = run_benchmark({"toy": (X, y)}, methods, seeds=1, progress=False)
    assert rows[0]["dataset"] == "toy" and rows[0]["method"] == "ols"
    assert (rows[0]["n_train"], rows[0]["n_test"]) == (320, 80)
    assert 0.8 <= rows[0]["coverage"] <= 1.0


def test_summarize_and_format_table(tmp_path):
    rows = [
        {"dataset": "d", "method": "m", "seed": s, "n_train": 8, "n_test": 2,
         "confidence_level": 0.9, "coverage": c, "mean_width": w, "normalized_width": w / 2,
         "fit_seconds": 0.5, "predict_seconds": 0.01}
        for s, c, w in [(0, 0.8, 2.0), (1, 1.0, 4.0)]
    ]  # fmt: skip
    (summary,) = summarize(rows)
    assert summary["n_seeds"] == 2
    assert summary["coverage_mean"] == pytest.approx(0.9)
    assert summary["mean_width_std"] == pytest.approx(math.sqrt(2.0))
    assert math.isnan(summarize(rows[:1])[0]["coverage_std"])
    text = format_table([summary], ["method", "coverage", "mean_width"])
    assert text.splitlines() == [
        "method       coverage  mean_width",
        "------  -------------  ----------",
        "m       0.900 ± 0.141     3 ± 1.4",
    ]
    markdown = format_table([summary], ["method", "coverage"], markdown=True)
    assert markdown.splitlines()[1].startswith("| ---") and "-: |" in markdown.splitlines()[1]
    path = write_csv(rows, tmp_path / "deep" / "raw.csv")
    fields, back = _read(path)
    assert tuple(fields) == RAW_COLUMNS
    assert float(back[1]["coverage"]) == 1.0 and back[0]["dataset"] == "d"


def test_module_help_runs():
    result = subprocess.run(
        [sys.executable, "-m", "conformal", "--help"], capture_output=True, text=True, check=True
    )
    assert "benchmark" in result.stdout


def test_classification_methods_run_on_classification_datasets_only():
    rows = run_benchmark(
        ["yeast", "yacht"], ["split-lac", "split-absolute"], seeds=1, progress=False
    )
    assert [(r["dataset"], r["method"]) for r in rows] == [
        ("yeast", "split-lac"),
        ("yacht", "split-absolute"),
    ]
    sets_row = rows[0]
    assert 0.8 <= sets_row["coverage"] <= 1.0
    assert 1.0 <= sets_row["mean_set_size"] <= 9.0
    assert 0.0 <= sets_row["worst_class_coverage"] <= sets_row["coverage"]
    assert 0.0 <= sets_row["class_coverage_gap"] <= 0.9
    assert "mean_width" not in sets_row and "mean_width" in rows[1]
    (summary,) = [s for s in summarize(rows) if s["method"] == "split-lac"]
    assert "mean_set_size_mean" in summary and "mean_width_mean" not in summary


def test_cli_classification_keyword_and_tables(tmp_path):
    code = main(
        ["benchmark", "--datasets", "yeast", "--methods", "classification", "--seeds", "1",
         "--out", str(tmp_path), "--no-progress"]
    )  # fmt: skip
    assert code == 0
    text = (tmp_path / "summary.md").read_text()
    table = text.split("## Methods")[0]
    for name in ("split-lac", "split-aps", "split-raps", "split-top-k", "cross-lac"):
        assert re.search(rf"\| yeast +\| {name} +\|", table), name
    assert "class_coverage_gap" in text and "mean_width" not in text.split("## Methods")[0]
