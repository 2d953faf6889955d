"""CI runs the unit tier first, then the README's own test command, verbatim."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def _readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    commands = [
        line for b in blocks for line in b.splitlines() if line.rstrip().endswith("-m pytest")
    ]
    assert commands, "the README shows no command that runs the whole suite"
    return commands[0].strip()


def test_ci_runs_the_readme_command_after_the_unit_tier() -> None:
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    command = _readme_test_command()
    assert command in lines, f".ci/run does not run the README's command: {command}"
    unit = next(i for i, line in enumerate(lines) if "-m unit" in line and "tests/unit" in line)
    assert unit < lines.index(command), "the unit tier must run before the whole suite"
