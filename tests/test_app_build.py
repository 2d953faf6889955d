"""The committed execution view (and test host) are exactly what app/ builds.

kitaru_mcp/surface/app/execution.html is package data, so installing and running the
server needs no Node. This test rebuilds both files from app/ (with the exact
versions pinned in app/package.json) and compares them byte for byte; it skips
only when node/npm are missing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT
from npm_folders import ensure

pytestmark = pytest.mark.node

APP = ROOT / "app"
BUILT = {
    "execution.html": ROOT / "kitaru_mcp" / "surface" / "app" / "execution.html",
    "host.html": ROOT / "tests" / "app_host" / "host.html",
}


def test_app_dependencies_are_pinned_exactly_and_no_lock_file_is_committed() -> None:
    manifest = json.loads((APP / "package.json").read_text())
    pins = {**manifest.get("dependencies", {}), **manifest.get("devDependencies", {})}
    assert "@modelcontextprotocol/ext-apps" in pins
    loose = {name: v for name, v in pins.items() if not re.fullmatch(r"\d+\.\d+\.\d+", v)}
    assert not loose, f"pin exact versions in app/package.json: {loose}"
    tracked = subprocess.run(
        ["git", "ls-files", "app"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    assert "app/package-lock.json" not in tracked


@pytest.fixture(scope="module")
def app_modules() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to rebuild the execution view from app/")
    why = ensure("app")
    assert not why, why
    return APP / "node_modules"


def test_the_committed_view_is_what_app_builds(app_modules: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        ["node", "build.mjs", "--out", str(tmp_path)],
        cwd=APP,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, f"{out.stdout}\n{out.stderr}"
    for name, committed in BUILT.items():
        rebuilt = (tmp_path / name).read_bytes()
        assert rebuilt == committed.read_bytes(), (
            f"{committed.relative_to(ROOT)} differs from what app/ builds: run `just app`"
        )


def test_the_view_is_one_self_contained_document() -> None:
    html = BUILT["execution.html"].read_text(encoding="utf-8")
    assert html.count("<script") == 1 and '<script type="module">' in html
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html)
    assert "default-src 'none'" in html  # its own CSP: nothing can be fetched
