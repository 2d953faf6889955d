"""Build the MCP Bundle (``.mcpb``) for Claude Desktop into ``dist/``: ``just bundle``.

The bundle is a zip with ``manifest.json`` (MCPB manifest 0.4), a
``pyproject.toml`` that pins this version of kitaru-mcp, and
``server/main.py``. It is a ``uv`` bundle: the host runs ``uv run`` in the
unpacked folder, which installs kitaru-mcp and its dependencies (Kitaru,
ZenML, mcp) into the bundle's own environment. The user picks the tool mode
and the folder whose flows may run in the host's settings dialog.

The version comes from ``kitaru_mcp.__version__``, as the package's and
``server.json``'s do.
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent


def version() -> str:
    text = (ROOT / "kitaru_mcp" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    if not found:
        raise SystemExit("no __version__ in kitaru_mcp/__init__.py")
    return found.group(1)


def manifest(ver: str) -> dict[str, Any]:
    server = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    return {
        "$schema": "../node_modules/@anthropic-ai/mcpb/dist/mcpb-manifest-v0.4.schema.json",
        "manifest_version": "0.4",
        "name": "kitaru-mcp",
        "display_name": "Kitaru",
        "version": ver,
        "description": server["description"],
        "long_description": (
            "Lets Claude list, inspect, start, resume, replay and cancel Kitaru durable "
            "executions (flows, checkpoints, waits, artifacts, stacks) with structured tool "
            "calls. It uses the same Kitaru connection as the kitaru CLI: the embedded local "
            "store by default, or a server after `kitaru login`."
        ),
        "author": {"name": "kitaru-mcp contributors"},
        "license": "Apache-2.0",
        "keywords": ["kitaru", "zenml", "durable execution", "workflows", "mcp"],
        "server": {
            "type": "uv",
            "entry_point": "server/main.py",
            "mcp_config": {
                "command": "uv",
                "args": [
                    "run",
                    "--directory",
                    "${__dirname}",
                    "server/main.py",
                    "--mode",
                    "${user_config.mode}",
                    "--allow-target-root",
                    "${user_config.target_root}",
                ],
                "env": {"KITARU_ANALYTICS_OPT_IN": "false", "ZENML_ANALYTICS_OPT_IN": "false"},
            },
        },
        "tools_generated": True,
        "prompts_generated": True,
        "compatibility": {
            "platforms": ["darwin", "linux", "win32"],
            "runtimes": {"python": ">=3.11"},
        },
        "user_config": {
            "mode": {
                "type": "string",
                "title": "Tool mode",
                "description": "read-only: only read tools; standard: all but destructive "
                "tools (cancel, abort a wait, deletes, stopping the local server); "
                "destructive: every tool.",
                "default": "standard",
                "required": False,
            },
            "target_root": {
                "type": "directory",
                "title": "Flows folder",
                "description": "The folder whose .py flows kitaru_executions_run may start.",
                "required": True,
            },
        },
    }


def pyproject(ver: str) -> str:
    return (
        "[project]\n"
        'name = "kitaru-mcp-bundle"\n'
        f'version = "{ver}"\n'
        'requires-python = ">=3.11"\n'
        f'dependencies = ["kitaru-mcp=={ver}"]\n'
    )


def build(out: Path) -> Path:
    """Write the unpacked bundle to ``out/kitaru-mcp-VERSION/`` and the zip beside it."""
    ver = version()
    folder = out / f"kitaru-mcp-{ver}"
    (folder / "server").mkdir(parents=True, exist_ok=True)
    data = manifest(ver)
    del data["$schema"]
    files = {
        "manifest.json": json.dumps(data, indent=2) + "\n",
        "pyproject.toml": pyproject(ver),
        "server/main.py": (HERE / "server" / "main.py").read_text(encoding="utf-8"),
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    archive = out / f"kitaru-mcp-{ver}.mcpb"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, text)
    return archive


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist"
    print(build(target))
