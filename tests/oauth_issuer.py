"""A small OAuth 2.1 authorization server for the tests, on loopback.

It holds an RSA and an EC signing key (and a third, unpublished one for the
"unknown key" cases), publishes them as a JWKS, serves its RFC 8414 metadata,
and issues access tokens:

- ``mint(...)`` in process, with any claim bent as a test needs;
- ``POST /token`` with the client-credentials grant (client_secret_basic or
  _post; ``resource`` per RFC 8707 becomes the audience), as a real client does;
- ``POST /introspect`` (RFC 7662) for the opaque tokens ``opaque(...)`` issues.

``Issuer()`` mints without serving (unit tests); ``serve()`` starts it on a
free loopback port (or a given one) in a thread; ``stop()`` ends it.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

READ, WRITE, DESTRUCTIVE = "kitaru:read", "kitaru:write", "kitaru:destructive"
CLIENT_SECRET = "issuer-test-secret-5b1e0c2f9a"
RESOURCE_CLIENT = ("kitaru-mcp-resource", "resource-secret-8d2c4f1a7e")  # introspection


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _public_jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if alg.startswith("RS") else jwt.algorithms.ECAlgorithm
    jwk = json.loads(algorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


@dataclass
class Client:
    secret: str
    scopes: tuple[str, ...]


@dataclass
class Issuer:
    port: int = 0
    audience: str = ""  # the default aud of minted tokens
    clients: dict[str, Client] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)  # paths served, in order

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.unpublished = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.keys = {"rsa-1": (self.rsa, "RS256"), "ec-1": (self.ec, "ES256")}
        self.opaque_tokens: dict[str, dict[str, Any]] = {}
        self._server: ThreadingHTTPServer | None = None
        for name, scopes in {
            "reader": (READ,),
            "writer": (READ, WRITE),
            "admin": (READ, WRITE, DESTRUCTIVE),
        }.items():
            self.clients.setdefault(name, Client(CLIENT_SECRET, scopes))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": f"{self.url}/jwks",
            "token_endpoint": f"{self.url}/token",
            "introspection_endpoint": f"{self.url}/introspect",
            "authorization_endpoint": f"{self.url}/authorize",
            "response_types_supported": ["code"],
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": [READ, WRITE, DESTRUCTIVE],
            "code_challenge_methods_supported": ["S256"],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [_public_jwk(key, kid, alg) for kid, (key, alg) in self.keys.items()]}

    def rotate(self) -> str:
        """Publish a new RSA key (as a rotation would); its kid."""
        kid = f"rsa-{len(self.keys) + 1}"
        self.keys[kid] = (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")
        return kid

    def mint(
        self,
        scope: str | None = READ,
        *,
        sub: str | None = "alice",
        aud: Any = None,
        iss: str | None = None,
        exp_in: float | None = 300,
        nbf_in: float | None = None,
        kid: str | None = "rsa-1",
        key: Any = None,
        alg: str | None = None,
        typ: str | None = "at+jwt",
        client_id: str | None = "cli-app",
        **claims: Any,
    ) -> str:
        """An access token; every argument bends one claim or header (None leaves it out)."""
        now = int(time.time())
        signing, default_alg = self.keys.get(kid or "rsa-1", (self.rsa, "RS256"))
        payload: dict[str, Any] = {
            "iss": iss or self.url,
            "sub": sub,
            "aud": self.audience if aud is None else aud,
            "iat": now,
            "jti": secrets.token_hex(8),
            "scope": scope,
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        if client_id is not None:
            payload["client_id"] = client_id
        if exp_in is not None:
            payload["exp"] = now + int(exp_in)
        if nbf_in is not None:
            payload["nbf"] = now + int(nbf_in)
        headers: dict[str, Any] = {}
        if kid is not None:
            headers["kid"] = kid
        if typ is not None:
            headers["typ"] = typ
        return jwt.encode(payload, key or signing, algorithm=alg or default_alg, headers=headers)

    def opaque(self, scope: str = READ, *, active: bool = True, **claims: Any) -> str:
        token = secrets.token_urlsafe(24)
        now = int(time.time())
        self.opaque_tokens[token] = {
            "active": active,
            "scope": scope,
            "sub": "bob",
            "client_id": "opaque-app",
            "aud": self.audience,
            "iss": self.url,
            "exp": now + 300,
            **claims,
        }
        return token

    # -- serving ------------------------------------------------------------------------

    def serve(self) -> Issuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                issuer.requests.append(self.path)
                if self.path == "/.well-known/oauth-authorization-server":
                    self._json(200, issuer.metadata())
                elif self.path == "/jwks":
                    self._json(200, issuer.jwks())
                else:
                    self._json(404, {"error": "not_found"})

            def _form(self) -> dict[str, str]:
                length = int(self.headers.get("content-length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                return {k: v[0] for k, v in form.items()}

            def _client(self, form: dict[str, str]) -> tuple[str, str] | None:
                header = self.headers.get("authorization", "")
                if header.lower().startswith("basic "):
                    name, _, secret = base64.b64decode(header[6:]).decode().partition(":")
                    from urllib.parse import unquote_plus

                    return unquote_plus(name), unquote_plus(secret)
                if "client_id" in form:
                    return form["client_id"], form.get("client_secret", "")
                return None

            def do_POST(self) -> None:
                issuer.requests.append(self.path)
                form = self._form()
                credentials = self._client(form)
                if self.path == "/token":
                    client = issuer.clients.get(credentials[0]) if credentials else None
                    if credentials is None or client is None or client.secret != credentials[1]:
                        self._json(401, {"error": "invalid_client"})
                        return
                    if form.get("grant_type") != "client_credentials":
                        self._json(400, {"error": "unsupported_grant_type"})
                        return
                    asked = form.get("scope", " ".join(client.scopes)).split()
                    allowed = [s for s in asked if s in client.scopes]
                    token = issuer.mint(
                        " ".join(allowed),
                        sub=credentials[0],
                        client_id=credentials[0],
                        aud=form.get("resource") or issuer.audience,
                    )
                    self._json(
                        200,
                        {
                            "access_token": token,
                            "token_type": "Bearer",
                            "expires_in": 300,
                            "scope": " ".join(allowed),
                        },
                    )
                elif self.path == "/introspect":
                    if credentials != RESOURCE_CLIENT:
                        self._json(401, {"error": "invalid_client"})
                        return
                    self._json(
                        200, issuer.opaque_tokens.get(form.get("token", ""), {"active": False})
                    )
                else:
                    self._json(404, {"error": "not_found"})

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Issuer:
        return self.serve()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
