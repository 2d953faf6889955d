"""A real OAuth client end to end: the TypeScript SDK (tests/ts_client/oauth_client.mjs)
starts from a 401, reads the protected resource metadata, discovers the local issuer,
gets a client-credentials token for this server, and works within its scopes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from http_server import HttpServer
from kitaru_mcp.generated.tools import TOOLS
from oauth_issuer import CLIENT_SECRET, DESTRUCTIVE, READ, WRITE, Issuer
from test_ts_client import ts_client  # noqa: F401 - the npm-installed client, as a fixture

from kitaru_mcp.auth import scopes

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with Issuer() as served:
        yield served


@pytest.fixture(scope="module")
def server(issuer: Issuer, tmp_path_factory) -> Iterator[HttpServer]:
    flags = ["--auth", "oauth", "--auth-issuer", issuer.url, "--mode", "destructive"]
    running = HttpServer(tmp_path_factory.mktemp("ts-oauth"), *flags).wait_listening()
    yield running
    running.stop()


def _run(client_dir: Path, server: HttpServer, issuer: Issuer, client: str) -> dict[str, Any]:
    out = subprocess.run(
        ["node", "oauth_client.mjs", server.url, client, CLIENT_SECRET, issuer.url],
        cwd=client_dir,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, f"{out.stdout}\n{out.stderr[-4000:]}"
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["error"] is None, report["error"]
    return report


def test_discovery_from_a_401_to_a_working_session(
    ts_client: Path,  # noqa: F811
    server: HttpServer,
    issuer: Issuer,
) -> None:
    report = _run(ts_client, server, issuer, "writer")
    first = report["exchanges"][0]
    assert (first["method"], first["url"], first["status"]) == ("POST", server.url, 401)
    metadata_url = f"{server.base}/.well-known/oauth-protected-resource/mcp"
    assert first["wwwAuthenticate"] == f'Bearer resource_metadata="{metadata_url}"'
    steps = [(e["method"], e["url"], e["status"]) for e in report["exchanges"]]
    assert ("GET", metadata_url, 200) in steps
    assert ("GET", f"{issuer.url}/.well-known/oauth-authorization-server", 200) in steps
    assert ("POST", f"{issuer.url}/token", 200) in steps
    authorized = [e for e in report["exchanges"] if e["authorized"]]
    assert authorized and authorized[0]["status"] == 200, "the retry with the token worked"

    assert set(report["tools"]) == {n for n in TOOLS if scopes.level(TOOLS[n].scope) <= 2}
    assert report["status"]["isError"] is False
    assert report["status"]["structuredContent"]["connection"]["kind"] == "local_store"
    # kitaru_executions_cancel needs kitaru:destructive: 403, a step-up the issuer refuses
    assert "403" in report["refused"], report["refused"]
    refusals = [e for e in report["exchanges"] if e["status"] == 403]
    assert refusals and all(
        e["wwwAuthenticate"].endswith(f'scope="{DESTRUCTIVE}"') for e in refusals
    )
    assert set(report["grantedScope"].split()) <= {READ, WRITE}


def test_a_reader_sees_only_read_tools(
    ts_client: Path,  # noqa: F811
    server: HttpServer,
    issuer: Issuer,
) -> None:
    report = _run(ts_client, server, issuer, "reader")
    assert set(report["tools"]) == {n for n in TOOLS if TOOLS[n].scope == READ}
    assert report["status"]["isError"] is False
