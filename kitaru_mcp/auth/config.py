"""The ``--auth oauth`` settings, checked before the server starts.

An issuer is required; it, the JWKS URL and the introspection URL must be
HTTPS unless they are on loopback (a test or a tunnel). The audience (the
``aud`` every token must carry, RFC 8707) defaults to the server's public
``/mcp`` URL: ``--public-url`` behind a proxy, the bound address otherwise.
Introspection's client credentials come from the environment only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from kitaru_mcp.core.hosts import is_loopback

ISSUER_ENV = "KITARU_MCP_AUTH_ISSUER"
AUDIENCE_ENV = "KITARU_MCP_AUTH_AUDIENCE"
PUBLIC_URL_ENV = "KITARU_MCP_PUBLIC_URL"
JWKS_URL_ENV = "KITARU_MCP_AUTH_JWKS_URL"
INTROSPECTION_URL_ENV = "KITARU_MCP_AUTH_INTROSPECTION_URL"
CLIENT_ID_ENV = "KITARU_MCP_AUTH_CLIENT_ID"
CLIENT_SECRET_ENV = "KITARU_MCP_AUTH_CLIENT_SECRET"
DEFAULT_LEEWAY_S = 30.0
# asymmetric algorithms only: never "none", never a shared secret (HS*)
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
MCP_PATH = "/mcp"
METADATA_PATH = "/.well-known/oauth-protected-resource"


class AuthConfigError(ValueError):
    """The OAuth settings are missing or unsafe: the server must not start."""


def check_url(url: str, what: str) -> str:
    """``url`` if it is absolute HTTPS, or HTTP on loopback; AuthConfigError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AuthConfigError(f"{what} {url!r} is not an absolute http(s) URL.")
    if parts.username or parts.password:
        raise AuthConfigError(f"{what} must not carry credentials in the URL.")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise AuthConfigError(
            f"{what} {url!r} is plain HTTP on a non-loopback host: use https:// "
            "(tokens and keys must not travel in clear text)."
        )
    return url


def resource_url(public_url: str) -> str:
    """The public URL of the MCP endpoint: ``public_url`` with ``/mcp`` appended if missing."""
    base = public_url.rstrip("/")
    return base if base.endswith(MCP_PATH) else base + MCP_PATH


def metadata_url(resource: str) -> str:
    """RFC 9728 §3.1: the metadata of ``https://h/mcp`` is at ``https://h/.well-known/…/mcp``."""
    parts = urlsplit(resource)
    path = parts.path if parts.path != "/" else ""
    return f"{parts.scheme}://{parts.netloc}{METADATA_PATH}{path}"


@dataclass(frozen=True)
class AuthConfig:
    issuer: str
    audience: str  # what ``aud`` must contain
    resource: str  # the public URL of /mcp (shown in the metadata)
    jwks_url: str | None = None  # None: found through the issuer's metadata
    introspection_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    leeway_s: float = DEFAULT_LEEWAY_S
    algorithms: tuple[str, ...] = ALGORITHMS

    @property
    def metadata_url(self) -> str:
        return metadata_url(self.resource)

    @classmethod
    def build(
        cls,
        *,
        issuer: str | None,
        audience: str | None,
        public_url: str | None,
        bound_url: str | None,
        jwks_url: str | None = None,
        introspection_url: str | None = None,
        leeway_s: float = DEFAULT_LEEWAY_S,
        environ: dict[str, str] | None = None,
    ) -> AuthConfig:
        """Check the settings (flags first, then the environment) and freeze them.

        ``bound_url``: the server's own address (``http://host:port``), None on a
        wildcard bind, where a public URL or an audience must be given.
        """
        env = os.environ if environ is None else environ
        issuer = issuer or env.get(ISSUER_ENV) or None
        if not issuer:
            raise AuthConfigError(
                f"--auth oauth needs the authorization server: pass --auth-issuer URL "
                f"(or set {ISSUER_ENV})."
            )
        issuer = check_url(issuer, "--auth-issuer")
        public_url = public_url or env.get(PUBLIC_URL_ENV) or None
        if public_url:
            resource = resource_url(check_url(public_url, "--public-url"))
        elif bound_url:
            resource = resource_url(bound_url)
        else:
            resource = ""
        audience = audience or env.get(AUDIENCE_ENV) or resource or None
        if not audience:
            raise AuthConfigError(
                "on a wildcard bind the server cannot know its public URL: pass --public-url "
                f"(or --auth-audience, or set {PUBLIC_URL_ENV})."
            )
        resource = resource or audience
        jwks_url = jwks_url or env.get(JWKS_URL_ENV) or None
        if jwks_url:
            check_url(jwks_url, "--auth-jwks-url")
        introspection_url = introspection_url or env.get(INTROSPECTION_URL_ENV) or None
        client_id = client_secret = None
        if introspection_url:
            check_url(introspection_url, "--auth-introspection-url")
            client_id = env.get(CLIENT_ID_ENV) or None
            client_secret = env.get(CLIENT_SECRET_ENV) or None
            if not client_id or not client_secret:
                raise AuthConfigError(
                    f"--auth-introspection-url needs this server's client credentials: set "
                    f"{CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}."
                )
        if leeway_s < 0 or leeway_s > 300:
            raise AuthConfigError("--auth-leeway must be between 0 and 300 seconds.")
        return cls(
            issuer=issuer,
            audience=audience,
            resource=resource,
            jwks_url=jwks_url,
            introspection_url=introspection_url,
            client_id=client_id,
            client_secret=client_secret,
            leeway_s=leeway_s,
        )
