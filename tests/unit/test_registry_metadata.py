"""server.json against the MCP Registry's published schema, the README's mcp-name line, and
one version for the package, server.json and the MCP Bundle."""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest

import kitaru_mcp

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "registry" / "server.schema.json").read_text())
SERVER = json.loads((ROOT / "server.json").read_text())


def _bundle_builder():
    spec = importlib.util.spec_from_file_location("bundle_build", ROOT / "bundle" / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _errors(document: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_server_json_validates_against_the_registry_schema() -> None:
    assert SCHEMA["$id"].endswith("/2025-09-29/server.schema.json")
    assert SERVER["$schema"] == SCHEMA["$id"]
    assert _errors(SERVER) == []


def test_the_schema_copy_still_rejects_what_the_registry_rejects() -> None:
    """The copy kept its validation keywords: the registry's own invalid cases fail."""
    too_long = {**SERVER, "description": "x" * 101}
    no_slash = {**SERVER, "name": "kitaru-mcp"}
    latest = {**SERVER, "packages": [{**SERVER["packages"][0], "version": "latest"}]}
    no_transport = {
        **SERVER,
        "packages": [{k: v for k, v in SERVER["packages"][0].items() if k != "transport"}],
    }
    assert any("too long" in e for e in _errors(too_long))
    assert any("does not match" in e for e in _errors(no_slash))
    assert _errors(latest) and _errors(no_transport)


def test_server_json_describes_the_pypi_package_over_stdio() -> None:
    (package,) = SERVER["packages"]
    assert package["registryType"] == "pypi"
    assert package["identifier"] == "kitaru-mcp"
    assert package["transport"] == {"type": "stdio"}
    assert package["runtimeHint"] == "uvx"
    assert len(SERVER["description"]) <= 100


def test_readme_carries_the_mcp_name_line() -> None:
    readme = (ROOT / "README.md").read_text()
    assert re.search(rf"^<!-- mcp-name: {re.escape(SERVER['name'])} -->$", readme, re.MULTILINE)


def test_one_version_everywhere() -> None:
    version = kitaru_mcp.__version__
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "kitaru_mcp.__version__"
    }
    assert SERVER["version"] == version
    assert SERVER["packages"][0]["version"] == version
    builder = _bundle_builder()
    assert builder.version() == version
    manifest = builder.manifest(version)
    assert manifest["version"] == version
    assert manifest["description"] == SERVER["description"]
    assert f'"kitaru-mcp=={version}"' in builder.pyproject(version)


def test_the_bundle_offers_mode_and_target_root_as_settings() -> None:
    manifest = _bundle_builder().manifest(kitaru_mcp.__version__)
    settings = manifest["user_config"]
    assert settings["mode"]["default"] == "standard"
    assert settings["target_root"]["type"] == "directory"
    args = manifest["server"]["mcp_config"]["args"]
    assert args[args.index("--mode") + 1] == "${user_config.mode}"
    assert args[args.index("--allow-target-root") + 1] == "${user_config.target_root}"
