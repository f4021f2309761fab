"""Signing keys published by an identity provider as a JWKS (RFC 7517), fetched, cached and refreshed.

The key set is fetched on first use and again when it is older than the cache time, or when a token names a
`kid` it does not hold (the provider rotated its keys) — but at most once per refresh interval, so tokens with
made-up kids cannot make us hammer the provider, and only one fetch runs at a time. A token whose kid is cached
is verified at once even when the set is due: the refetch runs behind it. Only a token naming an unknown kid
waits for a fetch. A fetch that fails keeps the keys we have; tokens whose key is not among them get 401
`unknown_key`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import jwt
import orjson
from jwt.algorithms import AllowedPublicKeys

from gateway.errors import ConfigurationError, Unauthenticated

RS256: Final = "RS256"
ES256: Final = "ES256"
# The algorithms a JWKS key may verify, by its key type; a key's `alg`, when present, must agree.
ALGORITHM_BY_KEY_TYPE: Final = MappingProxyType({"RSA": RS256, "EC": ES256})
JWKS_ALGORITHMS: Final = frozenset(ALGORITHM_BY_KEY_TYPE.values())
# A key set is a few kilobytes; anything far larger is not one, and must not fill our memory.
MAX_JWKS_BYTES: Final = 1024 * 1024
# Plain HTTP would let anyone on the path hand us keys, and so mint any token: only for this machine.
LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})

log = logging.getLogger(__name__)


class JwksError(Exception):
    """The key set could not be fetched or is not a usable JWKS."""


@dataclass(frozen=True)
class SigningKey:
    """One verifying key of the set: its id, the one algorithm it verifies, and the key itself."""

    kid: str
    algorithm: str
    key: AllowedPublicKeys


def _algorithm_of(entry: Mapping[str, Any]) -> str | None:
    """The algorithm a JWK verifies, None for keys we do not use (encryption keys, other types or curves)."""
    expected = ALGORITHM_BY_KEY_TYPE.get(str(entry.get("kty")))
    if expected is None or entry.get("use", "sig") != "sig":
        return None
    if expected == ES256 and entry.get("crv") != "P-256":
        return None
    alg = entry.get("alg")
    return expected if alg is None or alg == expected else None


def parse_jwks(document: object) -> dict[str, SigningKey]:
    """The usable signing keys of a JWKS document by kid; entries we cannot use are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksError("the document is not a JWKS (an object with a 'keys' list)")
    keys: dict[str, SigningKey] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict):
            continue
        kid = entry.get("kid")
        algorithm = _algorithm_of(entry)
        if not isinstance(kid, str) or not kid or algorithm is None or kid in keys:
            continue
        try:
            key = jwt.PyJWK(entry, algorithm).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as e:
            log.warning("skipping JWKS key %r: %s", kid, e)
            continue
        keys[kid] = SigningKey(kid=kid, algorithm=algorithm, key=key)
    return keys


def check_jwks_url(url: str) -> None:
    """Refuse URLs that would not give keys we can trust: https, or http to this machine only."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return
    raise ConfigurationError(f"CALLPULSE_JWT_JWKS_URL must be an https URL (http only to localhost), got {url!r}")


class JwksKeys:
    """A key source over a JWKS URL; one per gateway process, created in the app's lifespan."""

    algorithms: Final = JWKS_ALGORITHMS

    def __init__(self, url: str, *, cache_seconds: float, refresh_seconds: float, timeout_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        check_jwks_url(url)
        if cache_seconds < 0 or refresh_seconds < 0 or timeout_seconds <= 0:
            raise ConfigurationError("the JWKS cache and refresh times must be >= 0 and its timeout > 0")
        self.url = url
        self.cache_seconds = cache_seconds
        self.refresh_seconds = refresh_seconds
        self.timeout_seconds = timeout_seconds
        self._clock = clock
        # Loading the CA bundle takes tens of milliseconds of CPU: once, here, never on the event loop per fetch.
        self._tls: ssl.SSLContext | None = httpx.create_ssl_context() if url.startswith("https:") else None
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._inflight: asyncio.Task[None] | None = None
        self._closed = False

    async def key(self, algorithm: str, kid: str | None) -> AllowedPublicKeys:
        """The key the token's `kid` names, if it verifies `algorithm`; fetches the key set when due."""
        if kid is None:
            raise Unauthenticated("the token does not name its signing key (no 'kid' header)", reason="unknown_key")
        found = self._keys.get(kid)
        if found is None:
            # Perhaps the provider rotated its keys: worth waiting for, joining the fetch in flight if any.
            if self._may_fetch():
                self._start_fetch()
            if self._inflight is not None:
                # Not cancelled with this request (asyncio.wait leaves it running): others may wait for it too.
                await asyncio.wait((self._inflight,))
            found = self._keys.get(kid)
        elif self._stale() and self._may_fetch():
            # The cached key answers now; waiting here would stall every request for up to the timeout.
            self._start_fetch()
        if found is None:
            raise Unauthenticated(f"the token's signing key {kid[:100]!r} is not one of the identity provider's keys",
                                  reason="unknown_key")
        if found.algorithm != algorithm:
            raise Unauthenticated(f"the key {kid[:100]!r} verifies {found.algorithm}, the token says {algorithm!r}",
                                  reason="unsupported_algorithm")
        return found.key

    async def aclose(self) -> None:
        """Cancels a fetch in flight and starts no more; called when the app shuts down."""
        self._closed = True
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            inflight.cancel()
            # wait(), not `await inflight`: its CancelledError is expected, ours (if the shutdown is cut short) not.
            await asyncio.wait((inflight,))

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self.cache_seconds

    def _may_fetch(self) -> bool:
        """No fetch in flight, and the last one began at least a refresh interval ago."""
        if self._closed or self._inflight is not None:
            return False
        return self._attempted_at is None or self._clock() - self._attempted_at >= self.refresh_seconds

    def _start_fetch(self) -> None:
        self._attempted_at = self._clock()
        # Held in self._inflight until it ends, so the task is neither collected early nor left behind at close.
        self._inflight = asyncio.get_running_loop().create_task(self._fetch_and_store(), name=f"JWKS {self.url}")

    async def _fetch_and_store(self) -> None:
        try:
            keys = await self._fetch()
        except JwksError as e:
            log.warning("keeping the %d cached JWKS keys: %s (%s)", len(self._keys), e, self.url)
        except Exception:
            log.exception("keeping the %d cached JWKS keys: fetching %s failed", len(self._keys), self.url)
        else:
            self._keys = keys
            self._fetched_at = self._clock()
            log.info("fetched %d JWKS keys from %s: %s", len(keys), self.url, ", ".join(keys))
        finally:
            if self._inflight is asyncio.current_task():
                self._inflight = None

    async def _fetch(self) -> dict[str, SigningKey]:
        body = bytearray()
        try:
            async with (
                asyncio.timeout(self.timeout_seconds),
                httpx.AsyncClient(timeout=self.timeout_seconds, verify=self._tls or True) as client,
                client.stream("GET", self.url, headers={"Accept": "application/json"}) as response,
            ):
                if response.status_code != 200:
                    raise JwksError(f"the JWKS URL answered HTTP {response.status_code}")
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise JwksError(f"the JWKS is larger than {MAX_JWKS_BYTES} bytes")
        except TimeoutError:
            raise JwksError(f"no JWKS within {self.timeout_seconds} s") from None
        except httpx.HTTPError as e:
            raise JwksError(f"fetching the JWKS failed: {e!r}") from None
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            raise JwksError(f"the JWKS is not JSON: {e}") from None
        keys = parse_jwks(document)
        if not keys:
            raise JwksError("the JWKS holds no usable signing key (RSA for RS256 or P-256 for ES256, with a kid)")
        return keys
