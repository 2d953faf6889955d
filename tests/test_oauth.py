"""``--auth oauth`` end to end: a real server process, the local issuer of
tests/oauth_issuer.py on loopback, raw HTTP on both protocol revisions.

Every 401 case, the scope table for every tool (generated from the tool table:
each tool x each scope x each revision), the per-caller tool list, resources
and prompts, sessions bound to their token, the start-up refusals, an issuer
that comes up after the server, and opaque tokens through introspection."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx2
import pytest
from conftest import ROOT, wait_until
from http_server import (
    LEGACY,
    MODERN,
    HttpServer,
    LegacySession,
    free_port,
    modern_headers,
    modern_request,
    sse_or_json,
)
from kitaru_mcp.generated.tools import TOOLS
from oauth_issuer import DESTRUCTIVE, READ, RESOURCE_CLIENT, WRITE, Issuer

from kitaru_mcp.auth import scopes
from kitaru_mcp.surface.http_auth import UNAVAILABLE

pytestmark = pytest.mark.server

SECRET_CLAIM = "claim-value-never-logged-4f2a"
REFUSED_CALL = {"name": "manage_stack", "arguments": {"action": "create", "name": "oauth-401"}}
NOT_AN_ARGUMENT = {"__not_an_argument__": 1}  # every input schema is closed: nothing runs


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with Issuer() as served:
        yield served


@pytest.fixture(scope="module")
def server(issuer: Issuer, tmp_path_factory) -> Iterator[HttpServer]:
    tmp = tmp_path_factory.mktemp("oauth")
    flags = ["--auth", "oauth", "--auth-issuer", issuer.url, "--mode", "destructive"]
    running = HttpServer(tmp, *flags, "--log-level", "DEBUG").wait_listening()
    issuer.audience = running.url
    wait_until(lambda: "signing key(s)" in running.stderr, timeout=60, interval=0.1)
    yield running
    running.stop()


def _metadata_url(server: HttpServer) -> str:
    return f"{server.base}/.well-known/oauth-protected-resource/mcp"


def test_the_metadata_is_served_without_a_token(server: HttpServer, issuer: Issuer) -> None:
    expected = {
        "resource": server.url,
        "authorization_servers": [issuer.url],
        "scopes_supported": [READ, WRITE, DESTRUCTIVE],
        "bearer_methods_supported": ["header"],
        "resource_name": "kitaru-mcp",
    }
    with httpx2.Client(timeout=30) as http:
        for path in (
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-protected-resource/mcp",
        ):
            response = http.get(server.base + path)
            assert response.status_code == 200, response.text
            assert response.json() == expected
        assert http.post(server.base + "/.well-known/oauth-protected-resource").status_code == 405


def _refusals(issuer: Issuer) -> dict[str, tuple[dict[str, str], str | None]]:
    """case -> (headers, the error_description expected; None: no token was sent)."""
    bearer = lambda token: {"authorization": f"Bearer {token}"}  # noqa: E731
    return {
        "missing": ({}, None),
        "not bearer": ({"authorization": "Basic dXNlcjpwdw=="}, "Authorization: Bearer"),
        "empty bearer": ({"authorization": "Bearer"}, "Authorization: Bearer"),
        "malformed": (bearer("abc.def"), "not a JWT"),
        "garbage jwt": (bearer("eyJhbGciOi.eyJzdWIi.c2ln"), "not a well-formed JWT"),
        "expired": (bearer(issuer.mint(DESTRUCTIVE, exp_in=-120)), "the token has expired"),
        "not yet valid": (bearer(issuer.mint(DESTRUCTIVE, nbf_in=120)), "not valid yet"),
        "wrong issuer": (bearer(issuer.mint(DESTRUCTIVE, iss="https://evil.test")), "another"),
        "wrong audience": (
            bearer(issuer.mint(DESTRUCTIVE, aud="http://127.0.0.1:1/mcp")),
            "not issued for this server",
        ),
        "unknown key": (bearer(issuer.mint(DESTRUCTIVE, kid="no-such-key")), "does not publish"),
        "bad signature": (
            bearer(issuer.mint(DESTRUCTIVE, key=issuer.unpublished)),
            "signature does not verify",
        ),
        "no exp": (bearer(issuer.mint(DESTRUCTIVE, exp_in=None)), "'exp'"),
    }


@pytest.mark.parametrize("era", [LEGACY, MODERN])
def test_every_bad_token_gets_401_and_reaches_nothing(
    server: HttpServer, issuer: Issuer, era: str
) -> None:
    challenge = f'Bearer resource_metadata="{_metadata_url(server)}"'
    if era == MODERN:
        body = modern_request("tools/call", REFUSED_CALL)
        extra = modern_headers("tools/call", "manage_stack")
    else:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": REFUSED_CALL}
        extra = {}
    for case, (headers, description) in _refusals(issuer).items():
        response = server.post(body, **{**extra, **headers})
        assert response.status_code == 401, (case, response.text)
        www = response.headers["www-authenticate"]
        if description is None:
            assert www == challenge, case
            continue
        assert www.startswith(f'{challenge}, error="invalid_token", error_description="'), www
        assert description in www and description in response.json()["error_description"], case
        assert "alice" not in response.text  # no claim of the token comes back
    with httpx2.Client(timeout=30) as http:
        assert http.get(server.url).status_code == 401
        assert http.delete(server.url).status_code == 401
    admin = LegacySession(server, issuer.mint(DESTRUCTIVE))
    listed = sse_or_json(
        admin.request("tools/call", {"name": "kitaru_stacks_list", "arguments": {}})
    )
    names = {stack["name"] for stack in listed["result"]["structuredContent"]["stacks"]}
    assert "oauth-401" not in names, "a refused request ran no tool"


def _allowed(token_scope: str, tool: str) -> bool:
    return scopes.level(token_scope) >= scopes.level(TOOLS[tool].scope)


@pytest.mark.parametrize("era", [LEGACY, MODERN])
def test_the_scope_table_holds_for_every_tool(server: HttpServer, issuer: Issuer, era: str) -> None:
    """Each tool, called with each scope: past the gate (a clean invalid_argument, as the
    arguments are wrong on purpose) exactly when the scope covers the tool's, else 403."""
    checked = 0
    for token_scope in (READ, WRITE, DESTRUCTIVE):
        token = issuer.mint(token_scope, sub=f"user-{token_scope}", secret=SECRET_CLAIM)
        session = LegacySession(server, token) if era == LEGACY else None
        for name in sorted(TOOLS):
            params = {"name": name, "arguments": NOT_AN_ARGUMENT}
            if session is not None:
                response = session.request("tools/call", params)
            else:
                response = server.post(
                    modern_request("tools/call", params),
                    token,
                    **modern_headers("tools/call", name),
                )
            if _allowed(token_scope, name):
                assert response.status_code == 200, (name, token_scope, response.text)
                result = sse_or_json(response)["result"]
                assert result["isError"] is True
                assert json.loads(result["content"][0]["text"])["code"] == "invalid_argument"
            else:
                assert response.status_code == 403, (name, token_scope, response.text)
                www = response.headers["www-authenticate"]
                assert 'error="insufficient_scope"' in www
                assert www.endswith(f'scope="{TOOLS[name].scope}"'), www
                assert f'resource_metadata="{_metadata_url(server)}"' in www
                assert response.json()["error"] == "insufficient_scope"
            checked += 1
    assert checked == 3 * len(TOOLS)
    assert SECRET_CLAIM not in server.stderr


def test_the_headers_cannot_hide_what_the_body_calls(server: HttpServer, issuer: Issuer) -> None:
    token = issuer.mint(READ)
    params = {"name": "kitaru_executions_cancel", "arguments": NOT_AN_ARGUMENT}
    lying = modern_headers("tools/call", "kitaru_status")
    response = server.post(modern_request("tools/call", params), token, **lying)
    assert response.status_code == 403
    assert response.headers["www-authenticate"].endswith(f'scope="{DESTRUCTIVE}"')
    # no routing headers, or a content type other than JSON: the body still decides
    for headers in (
        {"mcp-protocol-version": MODERN},
        {**modern_headers("tools/call", "kitaru_executions_cancel"), "content-type": "text/plain"},
        {"content-type": "text/plain"},
    ):
        response = server.post(modern_request("tools/call", params), token, **headers)
        assert response.status_code == 403, (headers, response.text)


@pytest.mark.parametrize("era", [LEGACY, MODERN])
def test_tools_list_shows_each_caller_what_it_may_call(
    server: HttpServer, issuer: Issuer, era: str
) -> None:
    for token_scope, expected in {
        "openid": set(),
        READ: {n for n in TOOLS if _allowed(READ, n)},
        WRITE: {n for n in TOOLS if _allowed(WRITE, n)},
        f"openid {DESTRUCTIVE}": set(TOOLS),
    }.items():
        token = issuer.mint(token_scope)
        if era == LEGACY:
            response = LegacySession(server, token).request("tools/list", {})
        else:
            response = server.post(
                modern_request("tools/list", {}), token, **modern_headers("tools/list")
            )
        assert response.status_code == 200, response.text
        listed = {tool["name"] for tool in sse_or_json(response)["result"]["tools"]}
        assert listed == expected, token_scope
    assert {n for n in TOOLS if _allowed(READ, n)} < {n for n in TOOLS if _allowed(WRITE, n)}


@pytest.mark.parametrize("era", [LEGACY, MODERN])
def test_resources_prompts_and_completions_need_their_scope(
    server: HttpServer, issuer: Issuer, era: str
) -> None:
    uri = "kitaru://executions/00000000-0000-4000-8000-0000000000aa"
    requests = [
        ("resources/read", {"uri": uri}, uri, READ),
        ("prompts/get", {"name": "debug_failed_execution", "arguments": {}}, None, READ),
        ("prompts/get", {"name": "review_pending_waits", "arguments": {}}, None, WRITE),
        (
            "completion/complete",
            {
                "ref": {"type": "ref/prompt", "name": "review_pending_waits"},
                "argument": {"name": "flow", "value": "a"},
            },
            None,
            READ,
        ),
    ]
    for token_scope in ("openid", READ, WRITE):
        token = issuer.mint(token_scope)
        session = LegacySession(server, token) if era == LEGACY else None
        for method, params, name, needed in requests:
            if session is not None:
                response = session.request(method, params)
            else:
                named = name or params.get("name")
                response = server.post(
                    modern_request(method, params), token, **modern_headers(method, named)
                )
            if scopes.allows(frozenset(token_scope.split()), needed):
                # past the gate: the method's own answer (a missing execution is an error)
                assert response.status_code in (200, 400), (method, token_scope, response.text)
                assert "result" in sse_or_json(response) or method == "resources/read"
                assert sse_or_json(response).get("error", {}).get("code") != -32600
            else:
                assert response.status_code == 403, (method, params, token_scope)
                assert response.headers["www-authenticate"].endswith(f'scope="{needed}"')


def test_a_session_belongs_to_the_token_that_opened_it(server: HttpServer, issuer: Issuer) -> None:
    alice = LegacySession(server, issuer.mint(READ, sub="alice"))
    assert alice.request("tools/list", {}).status_code == 200
    refreshed = issuer.mint(READ, sub="alice")  # a new token of the same principal
    alice.token = refreshed
    assert alice.request("tools/list", {}).status_code == 200
    alice.token = issuer.mint(DESTRUCTIVE, sub="mallory")
    assert alice.request("tools/list", {}).status_code == 404


def test_no_token_or_claim_reaches_the_log(server: HttpServer, issuer: Issuer) -> None:
    token = issuer.mint(READ, sub="carol", secret=SECRET_CLAIM)
    LegacySession(server, token).request("tools/list", {})
    server.post(modern_request("tools/list", {}), token, **modern_headers("tools/list"))
    log = server.stderr
    assert token not in log and token.split(".")[1] not in log
    assert SECRET_CLAIM not in log
    assert server.stdout == b"", "over HTTP stdout carries nothing"


def _refuse_to_start(*flags: str, env: dict[str, str] | None = None) -> str:
    command = [sys.executable, "-m", "kitaru_mcp", "--transport", "http", "--port"]
    clean = {k: v for k, v in __import__("os").environ.items() if not k.startswith("KITARU_MCP")}
    out = subprocess.run(
        [*command, str(free_port()), *flags],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**clean, **(env or {})},
    )
    assert out.returncode == 2, out
    assert out.stdout == ""
    return out.stderr


def test_unsafe_or_conflicting_settings_refuse_to_start() -> None:
    assert "--auth oauth needs the authorization server" in _refuse_to_start("--auth", "oauth")
    stderr = _refuse_to_start("--auth", "oauth", "--auth-issuer", "http://login.kitaru.test")
    assert "plain HTTP on a non-loopback host" in stderr
    both = _refuse_to_start(
        "--auth", "oauth", "--auth-issuer", "https://login.kitaru.test", "--token", "x" * 20
    )
    assert "mutually exclusive" in both
    env_token = _refuse_to_start(
        "--auth", "oauth", "--auth-issuer", "https://login.kitaru.test",
        env={"KITARU_MCP_TOKEN": "y" * 20},
    )  # fmt: skip
    assert "mutually exclusive" in env_token
    wildcard = _refuse_to_start(
        "--auth", "oauth", "--auth-issuer", "https://login.kitaru.test", "--host", "0.0.0.0"
    )
    assert "--public-url" in wildcard
    over_stdio = subprocess.run(
        [sys.executable, "-m", "kitaru_mcp", "--auth", "oauth"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    assert over_stdio.returncode == 2 and over_stdio.stdout == ""
    assert "--auth oauth needs --transport http" in over_stdio.stderr


def test_an_issuer_that_comes_up_late(tmp_path) -> None:
    """The server starts without the issuer, says so, refuses every token with a clear
    description, and accepts tokens once the keys can be fetched."""
    late = Issuer()
    flags = ["--auth", "oauth", "--auth-issuer", late.url, "--read-only"]
    server = HttpServer(tmp_path, *flags).wait_listening()
    try:
        late.audience = server.url
        wait_until(lambda: "cannot fetch the signing keys" in server.stderr, 60, 0.1)
        token = late.mint(READ)
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        refused = server.post(
            modern_request("tools/list", {}), token, **modern_headers("tools/list")
        )
        assert refused.status_code == 401
        assert refused.json()["error_description"] == UNAVAILABLE
        assert f'error_description="{UNAVAILABLE}"' in refused.headers["www-authenticate"]
        assert server.post(body, token).status_code == 401
        with httpx2.Client(timeout=30) as http:
            meta = http.get(server.base + "/.well-known/oauth-protected-resource").json()
        assert meta["scopes_supported"] == [READ], "a read-only server offers only read"
        late.serve()
        modern = (modern_request("tools/list", {}), token)

        def answered() -> bool:
            return server.post(*modern, **modern_headers("tools/list")).status_code == 200

        wait_until(answered, 60, 0.2)
        assert "fetched 2 signing key(s)" in server.stderr
        assert server.process.poll() is None
    finally:
        server.stop()
        late.stop()


def test_opaque_tokens_through_introspection(tmp_path) -> None:
    with Issuer() as issuer:
        flags = [
            "--auth", "oauth", "--auth-issuer", issuer.url,
            "--auth-introspection-url", f"{issuer.url}/introspect", "--mode", "standard",
        ]  # fmt: skip
        env = {
            "KITARU_MCP_AUTH_CLIENT_ID": RESOURCE_CLIENT[0],
            "KITARU_MCP_AUTH_CLIENT_SECRET": RESOURCE_CLIENT[1],
        }
        server = HttpServer(tmp_path, *flags, env=env).wait_listening()
        try:
            issuer.audience = server.url
            token = issuer.opaque(WRITE)
            response = server.post(
                modern_request("tools/list", {}), token, **modern_headers("tools/list")
            )
            assert response.status_code == 200, response.text
            listed = {tool["name"] for tool in sse_or_json(response)["result"]["tools"]}
            assert listed == {n for n in TOOLS if _allowed(WRITE, n)}
            inactive = issuer.opaque(WRITE, active=False)
            refused = server.post(
                modern_request("tools/list", {}), inactive, **modern_headers("tools/list")
            )
            assert refused.status_code == 401
            assert "not active" in refused.json()["error_description"]
            assert "/introspect" in issuer.requests
            assert RESOURCE_CLIENT[1] not in server.stderr
        finally:
            server.stop()
