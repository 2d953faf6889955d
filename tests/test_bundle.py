"""The MCP Bundle (`just bundle`): its manifest passes `mcpb validate` (from
@anthropic-ai/mcpb, pinned in tests/clients), it unpacks with `mcpb unpack`, and the
command a host builds from it (mcpb's own getMcpConfigForManifest, with the user's
settings) starts this server: real `uv run` in the unpacked folder, pointed at this
venv instead of installing the package again (no network here)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import node_clients
import pytest
from conftest import ROOT, home_env
from mcp_client import StdioClient

import kitaru_mcp

pytestmark = [pytest.mark.node, pytest.mark.timeout(600)]

VERSION = kitaru_mcp.__version__
MCPB_CONFIG = node_clients.CLIENTS / "node_modules" / "@anthropic-ai" / "mcpb" / "dist" / "index.js"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`just bundle`'s own command line, into a folder of this test's."""
    recipe = (ROOT / "justfile").read_text()
    assert re.search(r"^bundle:\n    \{\{venv\}\}/python bundle/build\.py dist$", recipe, re.M)
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, str(ROOT / "bundle" / "build.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    archive = out / f"kitaru-mcp-{VERSION}.mcpb"
    assert done.stdout.strip() == str(archive)
    return archive


def mcpb(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [node_clients.binary("mcpb"), *args],
        env=node_clients.env(cwd),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_manifest_passes_mcpb_validate(built: Path) -> None:
    folder = built.with_suffix("")
    done = mcpb("validate", str(folder / "manifest.json"), cwd=built.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Manifest schema validation passes!" in done.stdout
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["version"] == VERSION
    assert manifest["server"]["type"] == "uv"
    assert set(manifest["user_config"]) == {"mode", "target_root"}


def unpack(built: Path, tmp_path: Path) -> Path:
    out = tmp_path / "unpacked"
    done = mcpb("unpack", str(built), str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "manifest.json",
        "pyproject.toml",
        "server/main.py",
    ]
    assert f'dependencies = ["kitaru-mcp=={VERSION}"]' in (out / "pyproject.toml").read_text()
    return out


def host_config(folder: Path, user_config: dict[str, Any], home: Path) -> Any:
    """The command a host runs for the unpacked bundle, as mcpb's own code builds it."""
    script = (
        f"import {{ getMcpConfigForManifest }} from {json.dumps(MCPB_CONFIG.as_uri())};\n"
        "import { readFileSync } from 'fs';\n"
        "const [dir, user, home] = process.argv.slice(1);\n"
        "const manifest = JSON.parse(readFileSync(dir + '/manifest.json', 'utf8'));\n"
        "const config = await getMcpConfigForManifest({manifest, extensionPath: dir,\n"
        "  systemDirs: {HOME: home}, userConfig: JSON.parse(user), pathSeparator: '/'});\n"
        "console.log(JSON.stringify(config));\n"
    )
    done = subprocess.run(
        [
            "node",
            "--input-type=module",
            "-e",
            script,
            str(folder),
            json.dumps(user_config),
            str(home),
        ],
        env=node_clients.env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return None if done.stdout.strip() == "undefined" else json.loads(done.stdout)


def test_the_unpacked_bundle_starts_this_server_with_the_users_settings(
    built: Path, tmp_path: Path
) -> None:
    folder = unpack(built, tmp_path)
    home = tmp_path / "home"
    flows = tmp_path / "flows"
    home.mkdir()
    flows.mkdir()
    config = host_config(folder, {"mode": "read-only", "target_root": str(flows)}, home)
    assert config["command"] == "uv"
    assert config["args"] == [
        "run", "--directory", str(folder), "server/main.py",
        "--mode", "read-only", "--allow-target-root", str(flows),
    ]  # fmt: skip
    uv = Path(sys.executable).parent / "uv"
    assert uv.exists(), "uv comes with the [test] extra"
    env = {
        **home_env(home),
        **config["env"],
        "PATH": f"{uv.parent}:/usr/bin:/bin",
        # the environment uv would install the bundle's dependencies into: this venv
        "UV_PROJECT_ENVIRONMENT": sys.prefix,
        "UV_NO_SYNC": "1",
        "UV_OFFLINE": "1",
    }
    client = StdioClient([config["command"], *config["args"]], env=env, cwd=home)
    client.start(errlog_path=tmp_path / "server.log")
    try:
        names = {tool.name for tool in client.list_tools()}
    finally:
        client.close()
    assert "kitaru_executions_list" in names and "kitaru_executions_get" in names
    assert "kitaru_executions_run" not in names  # read-only, as the user chose
    assert "kitaru_executions_cancel" not in names


def test_without_the_required_folder_a_host_does_not_start_it(built: Path, tmp_path: Path) -> None:
    folder = unpack(built, tmp_path)
    assert host_config(folder, {"mode": "standard"}, tmp_path) is None
