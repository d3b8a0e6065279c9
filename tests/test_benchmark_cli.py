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
    with pytest.raises(ValueError, match=r"Unknown task 'vision'\. Valid tasks are \['"):
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


# --- Issue 10: never overwrite, task mismatches, warnings and failures per unit ---------------

YACHT = ["--datasets", "yacht", "--methods", "split-absolute", "--seeds", "1", "--no-progress"]


def test_default_out_is_a_new_folder_named_for_the_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["benchmark", *YACHT]) == 0
    (out,) = tmp_path.iterdir()
    assert re.fullmatch(r"conformal-benchmark-regression-\d{8}-\d{6}", out.name), out.name
    assert sorted(p.name for p in out.iterdir()) == ["raw.csv", "summary.csv", "summary.md"]
    assert out.name in capsys.readouterr().out
    # A second run at once gets its own folder, never the first one's.
    assert main(["benchmark", *YACHT]) == 0
    assert len(list(tmp_path.iterdir())) == 2


def test_non_empty_out_needs_overwrite(tmp_path, capsys):
    out = tmp_path / "results"
    first = subprocess.run(
        [sys.executable, "-m", "conformal", "benchmark", *YACHT, "--out", str(out)],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    before = (out / "raw.csv").read_text()
    (out / "mine.txt").write_text("not the benchmark's")
    argv = ["benchmark", *YACHT, "--out", str(out), "--confidence", "0.5"]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"the folder {out} is not empty; pass --overwrite" in err
    assert (out / "raw.csv").read_text() == before
    assert main([*argv, "--overwrite"]) == 0
    assert (out / "raw.csv").read_text() != before
    assert (out / "mine.txt").read_text() == "not the benchmark's"


def test_method_of_another_task_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "conformal", "benchmark", "--methods", "split-lac",
         "--datasets", "yacht", "--no-progress"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    err = result.stderr
    assert "'split-lac' is a classification method" in err and "'yacht' (regression)" in err
    assert "methods for regression datasets: split-absolute" in err and "cqr" in err
    assert list(tmp_path.iterdir()) == []
    # A dataset that no chosen method fits is the same error, listing what fits it.
    with pytest.raises(SystemExit) as info:
        main(["benchmark", "--methods", "default", "--datasets", "yeast", "--no-progress"])
    assert info.value.code == 2
    assert list(tmp_path.iterdir()) == []


def test_list_names_the_task_of_each_dataset_and_method(capsys):
    assert main(["benchmark", "--list"]) == 0
    printed = capsys.readouterr().out
    regression = re.search(r"^regression datasets: (.*)$", printed, re.M)
    classification = re.search(r"^classification datasets: (.*)$", printed, re.M)
    assert regression and "yacht" in regression.group(1) and "yeast" not in regression.group(1)
    assert classification and "yeast" in classification.group(1)
    assert "method split-lac (classification):" in printed
    assert "method cqr (regression, default):" in printed


@pytest.fixture
def flaky_methods():
    """A method that fails on seed 1, and one that warns; removed from the registry after."""
    import warnings

    from conformal import SplitConformalRegressor
    from conformal.benchmark import _registry
    from conformal.exceptions import ConformalWarning

    class FailsOnSeedOne(SplitConformalRegressor):
        def predict_interval(self, X, confidence_level=None):
            if self.random_state == 1:
                raise RuntimeError("cannot score these intervals")
            return super().predict_interval(X, confidence_level=confidence_level)

    class Warns(SplitConformalRegressor):
        def fit(self, X, y):
            warnings.warn("calibration set is small", ConformalWarning, stacklevel=2)
            return super().fit(X, y)

    register_method("test-fails", lambda random_state: FailsOnSeedOne(random_state=random_state))
    register_method("test-warns", lambda random_state: Warns(random_state=random_state))
    yield
    for name in ("test-fails", "test-warns"):
        _registry._REGISTRY.pop(name, None)


def test_failing_unit_is_reported_and_the_others_written(flaky_methods, tmp_path, capsys):
    argv = ["benchmark", "--datasets", "yacht", "--methods", "test-fails", "split-absolute",
            "--seeds", "2", "--no-progress", "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    _, raw = _read(tmp_path / "raw.csv")
    assert [(r["method"], r["seed"]) for r in raw] == [
        ("test-fails", "0"),
        ("split-absolute", "0"),
        ("split-absolute", "1"),
    ]
    _, failed = _read(tmp_path / "failures.csv")
    assert failed == [
        {"dataset": "yacht", "method": "test-fails", "seed": "1", "error_type": "RuntimeError",
         "error": "cannot score these intervals"}
    ]  # fmt: skip
    markdown = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "## Failed units" in markdown and "cannot score these intervals" in markdown
    assert "failed units (1 of 4)" in captured.out and "RuntimeError" in captured.out
    assert "failed: yacht, test-fails, seed 1: RuntimeError" in captured.err


def test_every_unit_failing_exits_1(tmp_path, capsys):
    from conformal.benchmark import _registry

    register_method("test-always-fails", lambda random_state: 1 / 0)
    try:
        argv = ["benchmark", "--datasets", "yacht", "--methods", "test-always-fails",
                "--seeds", "2", "--no-progress", "--out", str(tmp_path)]  # fmt: skip
        assert main(argv) == 1
    finally:
        _registry._REGISTRY.pop("test-always-fails", None)
    _, failed = _read(tmp_path / "failures.csv")
    assert [(r["seed"], r["error_type"]) for r in failed] == [
        ("0", "ZeroDivisionError"),
        ("1", "ZeroDivisionError"),
    ]
    assert "failed units (2 of 2)" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # the exit rule is documented in --help
        main(["benchmark", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "exit status: 0 when" in help_text and "1 when every unit failed" in help_text
    assert "the progress bar needs tqdm" in help_text


def test_warnings_name_the_unit(flaky_methods, tmp_path, capsys):
    argv = ["benchmark", "--datasets", "yacht", "--methods", "test-warns", "--seeds", "1",
            "--no-progress", "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert (
        "warning: yacht, test-warns, seed 0: ConformalWarning: calibration set is small" in err
    ), err
    assert err.count("calibration set is small") == 1  # not the warm-up's


def test_make_benchmark_writes_into_an_ignored_folder():
    from fnmatch import fnmatch
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    target = re.search(r"^benchmark:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert target, "no benchmark target"
    out = re.search(r"conformal benchmark .*--out (\S+)", target.group(1))
    assert out and "--overwrite" in target.group(1)
    folder = out.group(1).rstrip("/")
    assert folder != "benchmarks/results/main"  # the committed reference stays untouched
    patterns = [
        line.strip() for line in (root / ".gitignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]  # fmt: skip
    assert not any(p.startswith("!") for p in patterns)
    assert any(
        fnmatch(folder, p.strip("/")) or fnmatch(folder + "/", p.lstrip("/")) for p in patterns
    ), (folder, patterns)


def test_task_timeseries_walks_forward_in_time_order(tmp_path, capsys):
    out = tmp_path / "ts"
    argv = ["benchmark", "--task", "timeseries", "--datasets", "co2_weekly", "--seeds", "2",
            "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    header, rows = _read(out / "raw.csv")
    assert "worst_window_coverage" in header
    methods = {row["method"] for row in rows}
    assert {"split-ordered", "nexcp"} <= methods
    assert all(row["method"] in list_methods() for row in rows)
    # The test period is the last 20% of the rows in time order: the same for every seed.
    assert {(row["n_train"], row["n_test"]) for row in rows} == {("1780", "445")}
    for row in rows:
        assert float(row["worst_window_coverage"]) <= float(row["coverage"])
    assert "worst_window_coverage" in (out / "summary.md").read_text()


def test_task_with_a_method_of_another_task_is_an_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["benchmark", "--task", "timeseries", "--methods", "split-absolute"])
    assert info.value.code == 2
    assert re.search(
        r"--task timeseries runs timeseries methods; 'split-absolute' is not\. timeseries "
        r"methods: split-ordered",
        capsys.readouterr().err,
    )


def test_sequential_evaluation_refits_static_methods_on_the_rows_seen():
    import numpy as np

    from conformal.benchmark._runner import _evaluate_sequential

    class Recorder:
        def __init__(self):
            self.sizes = []

        def fit(self, X, y):
            self.sizes.append(len(y))
            return self

        def predict_interval(self, X, confidence_level):
            return np.tile([-np.inf, np.inf], (len(X), 1))

    recorder = Recorder()
    X, y = np.arange(120.0)[:, None], np.arange(120.0)
    scores = _evaluate_sequential(recorder, X[:100], y[:100], X[100:], y[100:], 0.9)
    assert recorder.sizes == [100, 102, 104, 106, 108, 110, 112, 114, 116, 118]
    assert scores["coverage"] == 1.0 and scores["worst_window_coverage"] == 1.0
