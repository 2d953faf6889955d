"""The issuer's signing keys: found through its metadata, cached, refetched rarely.

- The JWKS URL is ``--auth-jwks-url`` or the ``jwks_uri`` of the issuer's
  RFC 8414 metadata (``/.well-known/oauth-authorization-server``), or of its
  OpenID configuration; the metadata's ``issuer`` must be the configured one.
- Keys are fetched once and kept. A token signed with a key id the set does
  not hold triggers one refetch (at most one per ``REFETCH_INTERVAL_S``, under
  a lock, so a flood of made-up key ids never reaches the issuer).
- An issuer that cannot be reached leaves the set empty: every token is then
  refused (``KeysUnavailable``) until a fetch succeeds; the server keeps
  trying in the background and says so on stderr.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio

from kitaru_mcp.auth.config import AuthConfig

logger = logging.getLogger("kitaru_mcp.auth")

REFETCH_INTERVAL_S = 30.0  # an unknown key id refetches at most this often
RETRY_INTERVAL_S = 2.0  # while no keys are known, a request may retry this often
BACKGROUND_RETRY_MAX_S = 30.0
FETCH_TIMEOUT_S = 5.0
MAX_DOCUMENT_BYTES = 512 * 1024

Fetch = Callable[[str], Awaitable[dict[str, Any]]]


class KeysUnavailable(Exception):
    """The issuer's keys could not be fetched (yet): no token can be verified."""


def discovery_urls(issuer: str) -> list[str]:
    """Where the issuer's metadata may be: RFC 8414 first, then OpenID Connect's two spellings."""
    parts = urlsplit(issuer)
    base = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    return [
        f"{base}/.well-known/oauth-authorization-server{path}",
        f"{base}/.well-known/openid-configuration{path}",
        f"{issuer.rstrip('/')}/.well-known/openid-configuration",
    ]


async def fetch_json(url: str) -> dict[str, Any]:
    """GET ``url`` (no redirects, bounded time and size) and return its JSON object."""
    import httpx2

    async with httpx2.AsyncClient(timeout=FETCH_TIMEOUT_S, follow_redirects=False) as http:
        response = await http.get(url, headers={"accept": "application/json"})
    if response.status_code != 200:
        raise KeysUnavailable(f"{url} answered HTTP {response.status_code}")
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise KeysUnavailable(f"{url} answered a document over {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = response.json()
    except ValueError:
        raise KeysUnavailable(f"{url} did not answer JSON") from None
    if not isinstance(document, dict):
        raise KeysUnavailable(f"{url} did not answer a JSON object")
    return document


@dataclass(frozen=True)
class SigningKey:
    key: Any  # the public key object PyJWT verifies with
    algorithm: str | None  # the JWK's own "alg", when it names one


def _usable_keys(document: dict[str, Any], algorithms: tuple[str, ...]) -> dict[str, SigningKey]:
    """kid -> key for every signing key of an accepted algorithm ("" for a key without kid)."""
    import jwt

    keys: dict[str, SigningKey] = {}
    for entry in document.get("keys") or []:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if entry.get("alg") and entry["alg"] not in algorithms:
            continue
        if entry.get("kty") not in ("RSA", "EC"):
            continue
        try:
            key = jwt.PyJWK(entry)
        except Exception:  # a key we cannot use is skipped, not fatal
            continue
        keys[str(entry.get("kid") or "")] = SigningKey(key.key, entry.get("alg"))
    return keys


class KeySet:
    """The issuer's verification keys, as the JWT verifier asks for them."""

    def __init__(self, config: AuthConfig, fetch: Fetch = fetch_json) -> None:
        self.config = config
        self._fetch = fetch
        self._keys: dict[str, SigningKey] = {}
        self._jwks_url = config.jwks_url
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = anyio.Lock()
        self.last_error: str | None = None

    @property
    def ready(self) -> bool:
        return self._fetched_at is not None

    async def _find_jwks_url(self) -> str:
        if self._jwks_url:
            return self._jwks_url
        problems = []
        for url in discovery_urls(self.config.issuer):
            try:
                document = await self._fetch(url)
            except Exception as exc:
                problems.append(_short(exc))
                continue
            if str(document.get("issuer", "")).rstrip("/") != self.config.issuer.rstrip("/"):
                problems.append(f"{url} names another issuer")
                continue
            jwks_uri = document.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                problems.append(f"{url} has no jwks_uri")
                continue
            from kitaru_mcp.auth.config import check_url

            self._jwks_url = check_url(jwks_uri, "the issuer's jwks_uri")
            return self._jwks_url
        raise KeysUnavailable("no authorization server metadata: " + "; ".join(problems))

    async def refresh(self) -> bool:
        """Fetch the keys now (one fetch at a time); True if a key set was loaded."""
        async with self._lock:
            if self.ready and not self._due(self._fetched_at, min(REFETCH_INTERVAL_S, 1.0)):
                return True  # fetched a moment ago, by the request that held the lock
            self._attempted_at = time.monotonic()
            try:
                url = await self._find_jwks_url()
                keys = _usable_keys(await self._fetch(url), self.config.algorithms)
            except Exception as exc:
                self.last_error = _short(exc)
                return False
            if not keys:
                self.last_error = "the JWKS holds no usable signing key"
                return False
            first = self._fetched_at is None
            self._keys, self._fetched_at, self.last_error = keys, time.monotonic(), None
        if first:
            print(
                f"kitaru-mcp: fetched {len(keys)} signing key(s) of {self.config.issuer}",
                file=sys.stderr,
            )
        return True

    def _due(self, since: float | None, interval: float) -> bool:
        return since is None or time.monotonic() - since >= interval

    async def key_for(self, kid: str | None) -> SigningKey | None:
        """The key with ``kid`` (or the only key, for a token without one); None if unknown.

        Raises KeysUnavailable while no key set could be fetched. A request never
        waits behind a fetch already under way (an issuer that does not answer must not
        stall every request): it is answered with what is known now.
        """
        if not self.ready:
            if self._due(self._attempted_at, RETRY_INTERVAL_S) and not self._lock.locked():
                await self.refresh()
            if not self.ready:
                raise KeysUnavailable(self.last_error or "the keys were not fetched yet")
        key = self._lookup(kid)
        if (
            key is None
            and kid
            and self._due(self._fetched_at, REFETCH_INTERVAL_S)
            and not self._lock.locked()
        ):
            await self.refresh()  # a rotated key: one refetch, then never again for a while
            key = self._lookup(kid)
        return key

    def _lookup(self, kid: str | None) -> SigningKey | None:
        if kid:
            return self._keys.get(kid)
        return next(iter(self._keys.values())) if len(self._keys) == 1 else None

    async def keep_trying(self) -> None:
        """At start: fetch the keys, retrying with backoff until it works (a background task)."""
        delay = 1.0
        told = False
        while not self.ready:
            if await self.refresh():
                return
            if not told:
                print(
                    f"kitaru-mcp: cannot fetch the signing keys of {self.config.issuer} yet "
                    f"({self.last_error}); every token gets 401 until they are fetched.",
                    file=sys.stderr,
                )
                told = True
            await anyio.sleep(delay)
            delay = min(delay * 2, BACKGROUND_RETRY_MAX_S)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
