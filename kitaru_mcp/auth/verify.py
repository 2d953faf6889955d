"""Access tokens: a JWT (RFC 9068) checked against the issuer's keys, or an opaque
token asked about at the issuer's introspection endpoint (RFC 7662).

A JWT must be signed with an accepted asymmetric algorithm by a key of the
issuer's JWKS, carry ``iss`` (the issuer), ``aud`` (containing our audience)
and ``exp``; ``exp`` and ``nbf`` are checked with a small leeway. A ``typ``
header, when present, must say it is an access token (``at+jwt``) or a
plain ``JWT``. Scopes come from ``scope`` (space-separated) or ``scp``.

What leaves this module is an ``Identity`` (subject, client id, scopes) and
the SDK's ``AccessToken`` holding no claim beyond the issuer; a refusal is a
``TokenRejected`` whose text names the rule broken, never a claim's value.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kitaru_mcp.auth.config import AuthConfig
from kitaru_mcp.auth.jwks import KeySet, KeysUnavailable

__all__ = ["Identity", "IntrospectionUnavailable", "KeysUnavailable", "TokenRejected", "Verifier"]

MAX_TOKEN_CHARS = 16 * 1024
_ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt", "jwt"}


class IntrospectionUnavailable(KeysUnavailable):
    """The introspection endpoint did not answer: no opaque token can be verified."""


class TokenRejected(Exception):
    """The token is not one this server accepts; the text says which rule it broke."""


@dataclass(frozen=True)
class Identity:
    """Who is calling: what reaches the call context (and the audit log), nothing more."""

    caller: str  # the token's subject, or "token" for the static bearer token
    client_id: str | None = None
    scopes: frozenset[str] | None = None  # None: not limited by a token


@dataclass(frozen=True)
class Verified:
    identity: Identity
    expires_at: int | None
    issuer: str


def _scopes(claims: dict[str, Any]) -> frozenset[str]:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, list):
        return frozenset(str(s) for s in scp)
    if isinstance(scp, str):
        return frozenset(scp.split())
    return frozenset()


def _identity(claims: dict[str, Any]) -> Identity:
    client_id = claims.get("client_id") or claims.get("azp")
    client = str(client_id)[:256] if client_id else None
    subject = claims.get("sub") or claims.get("username") or client
    if not subject:
        raise TokenRejected("the token names no subject (sub)")
    return Identity(str(subject)[:256], client, _scopes(claims))


def _audience_matches(aud: Any, audience: str) -> bool:
    wanted = audience.rstrip("/")
    values = aud if isinstance(aud, list) else [aud]
    return any(isinstance(v, str) and v.rstrip("/") == wanted for v in values)


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and bool(token.split(".", 1)[0])


class JwtVerifier:
    def __init__(self, config: AuthConfig, keys: KeySet) -> None:
        self.config = config
        self.keys = keys

    async def verify(self, token: str) -> Verified:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("the token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in self.config.algorithms:
            raise TokenRejected("the token's signing algorithm is not accepted")
        typ = header.get("typ")
        if typ is not None and str(typ).lower() not in _ACCESS_TOKEN_TYPES:
            raise TokenRejected("the token is not an access token (typ)")
        kid = header.get("kid")
        key = await self.keys.key_for(str(kid) if kid is not None else None)
        if key is None:
            raise TokenRejected("the token is signed with a key the issuer does not publish")
        if key.algorithm is not None and key.algorithm != algorithm:
            raise TokenRejected("the token's algorithm is not the one its key is for")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[algorithm],
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=self.config.leeway_s,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("the token is not valid yet (nbf)") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("the token was issued by another issuer") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("the token was not issued for this server (aud)") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected(f"the token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("the token's signature does not verify") from None
        except jwt.PyJWTError:
            raise TokenRejected("the token is malformed") from None
        exp = claims.get("exp")
        return Verified(_identity(claims), int(exp) if exp is not None else None, claims["iss"])


Post = Callable[[str, dict[str, str], tuple[str, str]], Awaitable[dict[str, Any]]]


async def post_form(url: str, form: dict[str, str], auth: tuple[str, str]) -> dict[str, Any]:
    import httpx2

    async with httpx2.AsyncClient(timeout=5.0, follow_redirects=False) as http:
        response = await http.post(url, data=form, auth=auth)
    if response.status_code != 200:
        raise IntrospectionUnavailable(
            f"the introspection endpoint answered HTTP {response.status_code}"
        )
    document = response.json()
    if not isinstance(document, dict):
        raise IntrospectionUnavailable("the introspection endpoint did not answer a JSON object")
    return document


class Introspector:
    """RFC 7662: ask the issuer whether an opaque token is active; answers cached briefly."""

    CACHE_S = 60.0
    CACHE_ENTRIES = 4096

    def __init__(self, config: AuthConfig, post: Post = post_form) -> None:
        assert config.introspection_url and config.client_id and config.client_secret
        self.config = config
        self._post = post
        self._cache: dict[str, tuple[float, Verified]] = {}

    async def verify(self, token: str) -> Verified:
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = time.time()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        assert self.config.introspection_url and self.config.client_id
        try:
            answer = await self._post(
                self.config.introspection_url,
                {"token": token, "token_type_hint": "access_token"},
                (self.config.client_id, self.config.client_secret or ""),
            )
        except KeysUnavailable:
            raise
        except Exception as exc:
            raise IntrospectionUnavailable("the introspection endpoint cannot be reached") from exc
        verified = self._check(answer, now)
        if len(self._cache) >= self.CACHE_ENTRIES:
            self._cache.clear()
        until = min(now + self.CACHE_S, float(verified.expires_at or now + self.CACHE_S))
        self._cache[digest] = (until, verified)
        return verified

    def _check(self, answer: dict[str, Any], now: float) -> Verified:
        leeway = self.config.leeway_s
        if answer.get("active") is not True:
            raise TokenRejected("the issuer says the token is not active")
        exp, nbf = answer.get("exp"), answer.get("nbf")
        if not isinstance(exp, int | float):
            raise TokenRejected("the token lacks the 'exp' claim")
        if exp + leeway < now:
            raise TokenRejected("the token has expired")
        if isinstance(nbf, int | float) and nbf - leeway > now:
            raise TokenRejected("the token is not valid yet (nbf)")
        iss = answer.get("iss", self.config.issuer)
        if str(iss).rstrip("/") != self.config.issuer.rstrip("/"):
            raise TokenRejected("the token was issued by another issuer")
        if not _audience_matches(answer.get("aud"), self.config.audience):
            raise TokenRejected("the token was not issued for this server (aud)")
        return Verified(_identity(answer), int(exp), self.config.issuer)


class Verifier:
    """JWTs through the JWKS; opaque tokens through introspection when it is configured."""

    def __init__(
        self,
        config: AuthConfig,
        keys: KeySet | None = None,
        introspector: Introspector | None = None,
    ) -> None:
        self.config = config
        self.keys = keys or KeySet(config)
        self.jwt = JwtVerifier(config, self.keys)
        if introspector is None and config.introspection_url:
            introspector = Introspector(config)
        self.introspector = introspector

    async def verify(self, token: str) -> Verified:
        """The verified identity, or TokenRejected / KeysUnavailable."""
        token = token.strip()
        if not token:
            raise TokenRejected("the bearer token is empty")
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenRejected("the bearer token is too long")
        if looks_like_jwt(token) and _decodes(token):
            return await self.jwt.verify(token)
        if self.introspector is not None:
            return await self.introspector.verify(token)
        raise TokenRejected("the token is not a JWT and this server has no introspection endpoint")


def _decodes(token: str) -> bool:
    head = token.split(".", 1)[0]
    try:
        base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    except ValueError:
        return False
    return True
