"""The benchmark runs end to end in --quick mode (its timings are reported, never asserted)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.warm_runner]

SECTIONS = ("cold_start", "per_call", "list_scaling", "concurrency", "run_returns")


@pytest.mark.timeout(600)
def test_quick_bench_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=590,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    results = json.loads(out.read_text())
    for section in SECTIONS:
        metrics = results[section]["metrics"]
        assert metrics, f"{section} has no metrics"
        for name, value in metrics.items():
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            assert is_number and math.isfinite(value), f"{section}.{name} = {value!r}"
    assert isinstance(results["orphan_warm_runners"], int)
