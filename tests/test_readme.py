"""The README is true to the letter: its example runs as written and reports the level."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).parent.parent / "README.md").read_text()


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_the_example_runs_as_written(capsys):
    blocks = _python_blocks()
    assert blocks, "the README has no python example"
    exec(compile(blocks[0], "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "IntervalReport" in out
    assert re.search(r"^0\.9\s", out, flags=re.M), "the report shows the level it was given"


def test_every_python_block_runs_in_order():
    """Later blocks continue the first one (they use its data), as a reader runs them."""
    blocks = _python_blocks()
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)


def test_the_two_commands_say_how_long_they_take():
    commands = README.split("## The two commands", 1)[1].split("##", 1)[0]
    assert re.search(r"make test.*minute", commands, flags=re.S)
    assert re.search(r"make benchmark.*minute", commands, flags=re.S)


def test_the_example_is_reproducible():
    """The example fixes its seeds: two runs print the same report."""
    first = _python_blocks()[0]
    assert first.count("random_state=0") >= 2
