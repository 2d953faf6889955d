"""--auth oauth without a server: the scope table, the settings, token verification,
the challenges and the body classification (tokens from tests/oauth_issuer.py's keys,
its JWKS and metadata handed to the verifier in process)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import jwt
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for oauth_issuer
from kitaru_mcp.generated.tools import TOOLS
from oauth_issuer import DESTRUCTIVE, READ, WRITE, Issuer

from kitaru_mcp.auth import jwks, metadata, scopes
from kitaru_mcp.auth.config import AuthConfig, AuthConfigError
from kitaru_mcp.auth.verify import (
    Introspector,
    KeysUnavailable,
    TokenRejected,
    Verifier,
)
from kitaru_mcp.surface.dispatch import ServeOptions
from kitaru_mcp.surface.http_front import classify

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
AUDIENCE = "https://mcp.kitaru.test/mcp"

# -- the scope table -------------------------------------------------------------------


def test_the_ladder() -> None:
    assert scopes.granted([WRITE]) == {READ, WRITE}
    assert scopes.granted([DESTRUCTIVE, "openid"]) == {READ, WRITE, DESTRUCTIVE}
    assert scopes.granted(["openid", "kitaru:admin"]) == frozenset()
    assert scopes.allows(None, DESTRUCTIVE)  # not limited by a token
    assert scopes.allows(frozenset({WRITE}), READ)
    assert not scopes.allows(frozenset({WRITE}), DESTRUCTIVE)
    assert not scopes.allows(frozenset(), READ)
    assert scopes.highest([READ, DESTRUCTIVE, WRITE]) == DESTRUCTIVE
    assert scopes.highest([]) == READ
    assert scopes.supported("read-only") == [READ]
    assert scopes.supported("standard") == [READ, WRITE]
    assert scopes.supported("destructive") == [READ, WRITE, DESTRUCTIVE]


@pytest.mark.parametrize(
    ("annotations", "scope"),
    [
        ({"readOnlyHint": True, "destructiveHint": False}, READ),
        ({"readOnlyHint": True, "destructiveHint": True}, READ),  # read-only wins
        ({"readOnlyHint": False, "destructiveHint": False}, WRITE),
        ({"readOnlyHint": False, "destructiveHint": True}, DESTRUCTIVE),
        ({"readOnlyHint": False}, DESTRUCTIVE),  # MCP's default for destructiveHint
    ],
)
def test_scope_from_annotations(annotations: dict[str, bool], scope: str) -> None:
    assert scopes.scope_for(annotations) == scope


TOOL_DOCS = (ROOT / "docs" / "tools.md").read_text()


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_every_tool_has_the_scope_its_annotations_give(name: str) -> None:
    """The generated table, the docs and the modes agree for every tool."""
    stub = TOOLS[name]
    hints = stub.spec["annotations"]
    expected = READ if hints["readOnlyHint"] else DESTRUCTIVE if hints["destructiveHint"] else WRITE
    assert stub.scope == expected
    row = next(line for line in TOOL_DOCS.splitlines() if line.startswith(f"| [`{name}`]"))
    assert f"| `{expected}` |" in row
    assert (
        f"**Required scope** (over HTTP with `--auth oauth`): `{expected}`"
        in (TOOL_DOCS.split(f'<a id="{name}"></a>', 1)[1].split("<a id=", 1)[0])
    )
    for mode, cap in scopes.MODE_CAP.items():  # a mode serves exactly what its cap allows
        served = ServeOptions(mode=mode).serves(stub)
        assert served == (scopes.level(expected) <= scopes.level(cap)), (mode, name)


# -- settings --------------------------------------------------------------------------


def _config(**overrides: Any) -> AuthConfig:
    arguments: dict[str, Any] = {
        "issuer": "https://login.kitaru.test/realms/team",
        "audience": None,
        "public_url": None,
        "bound_url": "http://127.0.0.1:8765",
        "environ": {},
    }
    return AuthConfig.build(**{**arguments, **overrides})


def test_settings() -> None:
    config = _config()
    assert config.audience == config.resource == "http://127.0.0.1:8765/mcp"
    assert config.metadata_url == "http://127.0.0.1:8765/.well-known/oauth-protected-resource/mcp"
    behind = _config(public_url="https://mcp.kitaru.test/")
    assert behind.audience == behind.resource == AUDIENCE
    assert _config(public_url=AUDIENCE, audience="api://kitaru").audience == "api://kitaru"
    from_env = _config(
        issuer=None, environ={"KITARU_MCP_AUTH_ISSUER": "http://localhost:9000", "X": "1"}
    )
    assert from_env.issuer == "http://localhost:9000"
    assert "secret" not in repr(
        _config(
            introspection_url="https://login.kitaru.test/introspect",
            environ={
                "KITARU_MCP_AUTH_CLIENT_ID": "rs",
                "KITARU_MCP_AUTH_CLIENT_SECRET": "secret-value-1",
            },
        )
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"issuer": None}, "needs the authorization server"),
        ({"issuer": "http://login.kitaru.test"}, "plain HTTP on a non-loopback host"),
        ({"issuer": "ftp://login.kitaru.test"}, "not an absolute http"),
        ({"issuer": "https://u:p@login.kitaru.test"}, "credentials"),
        ({"bound_url": None}, "wildcard bind"),
        ({"jwks_url": "http://keys.kitaru.test/jwks"}, "--auth-jwks-url"),
        ({"introspection_url": "https://login.kitaru.test/i"}, "KITARU_MCP_AUTH_CLIENT_ID"),
        ({"leeway_s": 3600}, "--auth-leeway"),
    ],
)
def test_unsafe_settings_refuse_to_start(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(AuthConfigError, match=message):
        _config(**overrides)


def test_metadata_document_and_challenges() -> None:
    config = _config(public_url="https://mcp.kitaru.test")
    doc = metadata.document(config, [READ, WRITE])
    assert doc == {
        "resource": AUDIENCE,
        "authorization_servers": ["https://login.kitaru.test/realms/team"],
        "scopes_supported": [READ, WRITE],
        "bearer_methods_supported": ["header"],
        "resource_name": "kitaru-mcp",
    }
    meta = "https://mcp.kitaru.test/.well-known/oauth-protected-resource/mcp"
    assert metadata.challenge(config) == f'Bearer resource_metadata="{meta}"'
    assert metadata.challenge(config, "insufficient_scope", 'x"\\\ny', WRITE) == (
        f'Bearer resource_metadata="{meta}", error="insufficient_scope", '
        f'error_description="xy", scope="{WRITE}"'
    )
    assert jwks.discovery_urls("https://login.kitaru.test/realms/team") == [
        "https://login.kitaru.test/.well-known/oauth-authorization-server/realms/team",
        "https://login.kitaru.test/.well-known/openid-configuration/realms/team",
        "https://login.kitaru.test/realms/team/.well-known/openid-configuration",
    ]


# -- JWT verification --------------------------------------------------------------------


class Keys:
    """The issuer's metadata and JWKS as the verifier fetches them, counted; or down."""

    def __init__(self, issuer: Issuer) -> None:
        self.issuer = issuer
        self.fetched: list[str] = []
        self.down = False

    async def __call__(self, url: str) -> dict[str, Any]:
        self.fetched.append(url)
        if self.down:
            raise OSError("connection refused")
        if url.endswith("/.well-known/oauth-authorization-server"):
            return self.issuer.metadata()
        if url.endswith("/jwks"):
            return self.issuer.jwks()
        raise KeysUnavailable(f"{url} answered HTTP 404")


@pytest.fixture
def issuer() -> Issuer:
    return Issuer(audience=AUDIENCE)


def _verifier(issuer: Issuer, keys: Keys | None = None, **overrides: Any) -> Verifier:
    config = _config(issuer=issuer.url, public_url="https://mcp.kitaru.test", **overrides)
    return Verifier(config, jwks.KeySet(config, keys or Keys(issuer)))


def _verify(verifier: Verifier, token: str) -> Any:
    return anyio.run(verifier.verify, token)


def _refused(verifier: Verifier, token: str) -> str:
    with pytest.raises(TokenRejected) as refused:
        _verify(verifier, token)
    return str(refused.value)


def test_a_good_token_gives_subject_client_and_scopes(issuer: Issuer) -> None:
    keys = Keys(issuer)
    verifier = _verifier(issuer, keys)
    verified = _verify(verifier, issuer.mint(f"{WRITE} openid", sub="alice", email="a@x.test"))
    assert verified.identity.caller == "alice"
    assert verified.identity.client_id == "cli-app"
    assert verified.identity.scopes == {WRITE, "openid"}
    assert verified.issuer == issuer.url
    assert verified.expires_at == pytest.approx(time.time() + 300, abs=5)
    assert "a@x.test" not in repr(verified)  # no other claim travels on
    es = _verify(verifier, issuer.mint(READ, kid="ec-1", sub="svc", scp=None, client_id=None))
    assert (es.identity.caller, es.identity.client_id) == ("svc", None)
    scp = _verify(
        verifier, issuer.mint(scope=None, scp=[READ, WRITE], azp="web-app", client_id=None)
    )
    assert scp.identity.scopes == {READ, WRITE} and scp.identity.client_id == "web-app"
    for typ in ("JWT", "application/at+jwt", None):
        assert _verify(verifier, issuer.mint(READ, typ=typ)).identity.caller == "alice"
    listed = _verify(verifier, issuer.mint(READ, aud=["https://other.test", AUDIENCE]))
    assert listed.identity.scopes == {READ}
    assert keys.fetched == [
        f"{issuer.url}/.well-known/oauth-authorization-server",
        f"{issuer.url}/jwks",
    ], "metadata and keys fetched once, then cached"


def test_leeway(issuer: Issuer) -> None:
    verifier = _verifier(issuer)
    assert _verify(verifier, issuer.mint(READ, exp_in=-10))  # within 30 s
    assert _verify(verifier, issuer.mint(READ, nbf_in=10))
    assert _refused(verifier, issuer.mint(READ, exp_in=-60)) == "the token has expired"
    assert _refused(verifier, issuer.mint(READ, nbf_in=60)) == "the token is not valid yet (nbf)"


def test_bad_tokens_are_refused_naming_the_rule(issuer: Issuer) -> None:
    verifier = _verifier(issuer)
    hs = jwt.encode({"iss": issuer.url, "aud": AUDIENCE, "exp": time.time() + 60}, "k" * 32)
    none = jwt.encode({"iss": issuer.url, "aud": AUDIENCE, "sub": "x"}, None, algorithm="none")  # type: ignore[arg-type]
    cases = {
        issuer.mint(READ, iss="https://evil.test"): "the token was issued by another issuer",
        issuer.mint(READ, aud="https://other.test/mcp"): "not issued for this server (aud)",
        issuer.mint(READ, exp_in=None): "the token lacks the 'exp' claim",
        issuer.mint(READ, aud=[]): "the token lacks the 'aud' claim",
        issuer.mint(READ, key=issuer.unpublished): "the token's signature does not verify",
        issuer.mint(READ, kid="ec-1", key=issuer.rsa, alg="RS256"): "is not the one its key is for",
        issuer.mint(READ, typ="id+jwt"): "the token is not an access token (typ)",
        issuer.mint(READ, sub=None, client_id=None): "the token names no subject (sub)",
        hs: "the token's signing algorithm is not accepted",
        none: "the token's signing algorithm is not accepted",
        "not.a.jwt": "the token is not a well-formed JWT",
        "opaque-token-value": "the token is not a JWT and this server has no introspection",
        "": "the bearer token is empty",
        "x" * 20000: "the bearer token is too long",
    }
    for token, rule in cases.items():
        assert rule in _refused(verifier, token), token[:40]


def test_an_unknown_key_refetches_once(issuer: Issuer, monkeypatch) -> None:
    keys = Keys(issuer)
    verifier = _verifier(issuer, keys)
    _verify(verifier, issuer.mint(READ))
    assert len(keys.fetched) == 2
    kid = issuer.rotate()
    refused = _refused(verifier, issuer.mint(READ, kid=kid))  # just fetched: not again yet
    assert refused == "the token is signed with a key the issuer does not publish"
    assert len(keys.fetched) == 2
    monkeypatch.setattr(jwks, "REFETCH_INTERVAL_S", 0.0)  # later on, the rotated key is found
    assert _verify(verifier, issuer.mint(READ, kid=kid)).identity.caller == "alice"
    assert keys.fetched[2:] == [f"{issuer.url}/jwks"], "one refetch for the rotated key"
    monkeypatch.setattr(jwks, "REFETCH_INTERVAL_S", 30.0)
    for n in range(20):  # made-up key ids do not reach the issuer again
        refused = _refused(verifier, issuer.mint(READ, kid=f"made-up-{n}"))
        assert refused == "the token is signed with a key the issuer does not publish"
    assert len(keys.fetched) == 3


def test_an_unreachable_issuer_refuses_every_token_until_it_answers(
    issuer: Issuer, monkeypatch
) -> None:
    keys = Keys(issuer)
    keys.down = True
    verifier = _verifier(issuer, keys)
    with pytest.raises(KeysUnavailable, match="no authorization server metadata"):
        _verify(verifier, issuer.mint(READ))
    tried = len(keys.fetched)
    with pytest.raises(KeysUnavailable):  # retried at most every RETRY_INTERVAL_S
        _verify(verifier, issuer.mint(READ))
    assert len(keys.fetched) == tried
    keys.down = False
    monkeypatch.setattr(jwks, "RETRY_INTERVAL_S", 0.0)
    assert _verify(verifier, issuer.mint(READ)).identity.caller == "alice"


def test_metadata_naming_another_issuer_is_not_trusted(issuer: Issuer) -> None:
    class Lying(Keys):
        async def __call__(self, url: str) -> dict[str, Any]:
            document = await super().__call__(url)
            return {**document, "issuer": "https://evil.test"} if "well-known" in url else document

    with pytest.raises(KeysUnavailable, match="names another issuer"):
        _verify(_verifier(issuer, Lying(issuer)), issuer.mint(READ))


def test_an_explicit_jwks_url_skips_discovery(issuer: Issuer) -> None:
    keys = Keys(issuer)
    verifier = _verifier(issuer, keys, jwks_url=f"{issuer.url}/jwks")
    assert _verify(verifier, issuer.mint(DESTRUCTIVE)).identity.scopes == {DESTRUCTIVE}
    assert keys.fetched == [f"{issuer.url}/jwks"]


def test_introspection(issuer: Issuer) -> None:
    asked: list[tuple[str, dict[str, str], tuple[str, str]]] = []

    async def post(url: str, form: dict[str, str], auth: tuple[str, str]) -> dict[str, Any]:
        asked.append((url, form, auth))
        return issuer.opaque_tokens.get(form["token"], {"active": False})

    environ = {"KITARU_MCP_AUTH_CLIENT_ID": "rs", "KITARU_MCP_AUTH_CLIENT_SECRET": "rs-secret"}
    config = _config(
        issuer=issuer.url,
        public_url="https://mcp.kitaru.test",
        introspection_url=f"{issuer.url}/introspect",
        environ=environ,
    )
    verifier = Verifier(config, jwks.KeySet(config, Keys(issuer)), Introspector(config, post))
    token = issuer.opaque(WRITE)
    verified = _verify(verifier, token)
    assert (verified.identity.caller, verified.identity.client_id) == ("bob", "opaque-app")
    assert verified.identity.scopes == {WRITE}
    _verify(verifier, token)
    assert len(asked) == 1, "the answer is cached"
    assert asked[0][1] == {"token": token, "token_type_hint": "access_token"}
    assert asked[0][2] == ("rs", "rs-secret")
    bents: list[tuple[dict[str, Any], str]] = [
        ({"active": False}, "not active"),
        ({"exp": int(time.time()) - 100}, "expired"),
        ({"aud": "https://other.test/mcp"}, "(aud)"),
        ({"iss": "https://evil.test"}, "another issuer"),
        ({"exp": None}, "'exp'"),
    ]
    for bent, rule in bents:
        assert rule in _refused(verifier, issuer.opaque(READ, **bent))
    assert _verify(verifier, issuer.mint(READ)).identity.caller == "alice", "JWTs still verify"


# -- bodies that are not one JSON-RPC message ---------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "request_id"),
    [
        (b"{not json", -32700, None),
        (b"\xff\xfe", -32700, None),
        (b"", -32700, None),
        (b"[" * 100_000 + b"]" * 100_000, -32600, None),
        (b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', -32600, None),
        (b'"a string"', -32600, None),
        (b'{"jsonrpc": "1.0", "id": 7, "method": "ping"}', -32600, 7),
        (b'{"jsonrpc": "2.0", "id": {"x": 1}, "method": "ping"}', -32600, None),
        (b'{"jsonrpc": "2.0", "id": 3, "method": 5}', -32600, 3),
        (b'{"jsonrpc": "2.0", "id": "a", "method": "x", "params": [1]}', -32600, "a"),
        (b'{"jsonrpc": "2.0", "id": 4, "result": {}, "error": {}}', -32600, 4),
    ],
)
def test_bad_bodies_get_a_clean_error(body: bytes, code: int, request_id: Any) -> None:
    parsed, refusal = classify(body)
    assert parsed is None and refusal is not None
    answer = json.loads(refusal)
    assert answer["jsonrpc"] == "2.0" and answer["id"] == request_id
    assert answer["error"]["code"] == code
    assert set(answer["error"]) == {"code", "message"}
    assert len(answer["error"]["message"]) < 100
    for word in ("pydantic", "Expecting", "validation", "not json", "string"):
        assert word not in answer["error"]["message"]


def test_messages_pass_the_classifier() -> None:
    for message in (
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": "s-1", "result": {"action": "decline"}},
        {"jsonrpc": "2.0", "id": 2, "error": {"code": -1, "message": "no"}},
    ):
        assert classify(json.dumps(message).encode()) == (message, None)


# -- who is calling: from the verified token to the call context -------------------------


def test_the_call_context_gets_subject_client_transport_and_scopes(issuer: Issuer) -> None:
    from types import SimpleNamespace

    from kitaru_mcp.calls.context import CallContext
    from kitaru_mcp.surface.http_auth import OAuthGate
    from kitaru_mcp.surface.http_transport import BearerAuth, StaticCaller
    from kitaru_mcp.surface.server import identify

    verifier = _verifier(issuer)
    token = issuer.mint(f"{WRITE} openid", sub="alice", email="alice@kitaru.test")
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["scope"] = scope

    async def send(message: Any) -> None:
        seen.setdefault("sent", []).append(message)

    def request(gate: Any, headers: list[tuple[bytes, bytes]]) -> Any:
        seen.clear()
        scope = {"type": "http", "path": "/mcp", "method": "POST", "headers": headers}
        anyio.run(gate, scope, None, send)
        return seen.get("scope")

    gate = OAuthGate(app, verifier.config, verifier, [READ, WRITE])
    scope = request(gate, [(b"authorization", f"Bearer {token}".encode())])
    call = identify(CallContext(), SimpleNamespace(request=SimpleNamespace(scope=scope)))
    assert (call.caller, call.client_id, call.transport) == ("alice", "cli-app", "http")
    assert call.scopes == {WRITE, "openid"}
    access = scope["user"].access_token  # what the SDK binds the session to
    assert (access.subject, access.client_id, access.claims) == (
        "alice",
        "cli-app",
        {"iss": issuer.url},
    )
    assert access.token == "" and "alice@kitaru.test" not in repr(scope)
    assert request(gate, []) is None, "no token: nothing behind the gate runs"
    assert seen["sent"][0]["status"] == 401

    static = BearerAuth(StaticCaller(app), "static-token-0123456789")
    scope = request(static, [(b"authorization", b"Bearer static-token-0123456789")])
    call = identify(CallContext(), SimpleNamespace(request=SimpleNamespace(scope=scope)))
    assert (call.caller, call.client_id, call.transport, call.scopes) == (
        "token",
        None,
        "http",
        None,
    )

    over_stdio = identify(CallContext(), SimpleNamespace(request=None))
    assert (over_stdio.caller, over_stdio.transport, over_stdio.scopes) == ("local", "stdio", None)


def test_dispatch_refuses_what_the_scopes_do_not_cover() -> None:
    from kitaru_mcp.calls.context import CallContext
    from kitaru_mcp.surface.dispatch import Dispatcher, NotServed

    dispatcher = Dispatcher(ServeOptions(mode="destructive"), gateway=lambda: None)
    reader = CallContext(scopes=frozenset({READ}))
    with pytest.raises(NotServed, match="does not grant kitaru:destructive"):
        anyio.run(dispatcher.run, "kitaru_executions_cancel", {"exec_id": "x"}, reader)
    with pytest.raises(NotServed, match="does not grant kitaru:write"):
        anyio.run(dispatcher.run, "kitaru_executions_input", {}, reader)


def test_the_readme_scope_table_names_every_tool_above_read() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Serving a team", 1)[1].split("\n## ", 1)[0]
    for scope in (READ, WRITE, DESTRUCTIVE):
        row = next(line for line in section.splitlines() if line.startswith(f"| `{scope}` |"))
        names = {n for n, stub in TOOLS.items() if stub.scope == scope}
        assert row.split(" | ")[-1].startswith(f"{len(names)}"), row
        if scope != READ:
            assert set(row.split(" | ")[-1].split(": ", 1)[1].strip(" |").split(", ")) == {
                f"`{name}`" for name in names
            }
