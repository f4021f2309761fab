"""Keys from an identity provider's JWKS, served for real over HTTP on this machine: kids, rotation, outages.

No test waits for real time to pass: JwksKeys takes a clock, and a slow provider is one whose answers wait for
the test to open its gate.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import importlib
import json
import select
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway.auth import verifier_for
from gateway.errors import ConfigurationError, Unauthenticated
from gateway.jwks import JwksKeys, parse_jwks
from gateway.settings import Settings
from tests.conftest import TEST_JWT_SECRET, GatewayFactory, LiveGateway, TestDatabase, free_port

QUERY = {"query": "{ viewer { subject roles } }"}
TENANT = uuid.uuid4()
# Who issues the tokens, and for whom: required with a JWKS.
ISSUER = "https://idp.example/"
AUDIENCE = "https://callpulse.example/api"
PINNED = {"CALLPULSE_JWT_ISSUER": ISSUER, "CALLPULSE_JWT_AUDIENCE": AUDIENCE}
# How long a test waits for something that must happen (a fetch reaching the provider, a hang-up) before
# failing; never a measure of speed, only a bound on a test that would otherwise hang.
EVENTUALLY_SECONDS = 10.0
# A fetch timeout no test reaches: a fetch a test lets wait ends because the test opens the gate or closes it.
NEVER_SECONDS = 120.0


@dataclass
class SigningKeyPair:
    kid: str
    algorithm: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @property
    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        as_dict = (RSAAlgorithm.to_jwk(public, as_dict=True) if isinstance(public, rsa.RSAPublicKey)
                   else ECAlgorithm.to_jwk(public, as_dict=True))
        return {**as_dict, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def token(self, kid: str | None = None, **overrides: Any) -> str:
        payload: dict[str, Any] = {"sub": "auth0|5f3c", "tenant_id": str(TENANT), "roles": ["admin"],
                                   "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300, **overrides}
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, self.private, algorithm=self.algorithm, headers={"kid": kid or self.kid})


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKeyPair]:
    return {
        "old": SigningKeyPair("2024-old", "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "new": SigningKeyPair("2025-new", "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "ec": SigningKeyPair("ec-1", "ES256", ec.generate_private_key(ec.SECP256R1())),
    }


def opened() -> threading.Event:
    gate = threading.Event()
    gate.set()
    return gate


@dataclass
class JwksServer:
    """A provider's JWKS endpoint in a thread of its own, so a gateway that blocked its loop would show."""

    url: str
    keys: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    body: bytes | None = None
    requests: int = 0
    # Set when a request arrives (clear it to see the next one).
    asked: threading.Event = field(default_factory=threading.Event)
    # Cleared, the provider is slow: requests wait until it is set again, or until their client hangs up.
    gate: threading.Event = field(default_factory=opened)
    # Set when a client hung up on a request still waiting at the gate.
    hung_up: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = field(default=None, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    def serve(self, *pairs: SigningKeyPair) -> None:
        self.keys = [p.jwk for p in pairs]

    def stop(self) -> None:
        """The provider goes away: its port refuses connections."""
        if self.server is not None and self.thread is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()
            self.server = None


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    port = free_port()
    state = JwksServer(url=f"http://127.0.0.1:{port}/.well-known/jwks.json")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests += 1
            state.asked.set()
            while not state.gate.wait(0.01):
                if self.client_gone():
                    state.hung_up.set()
                    return
            body = state.body if state.body is not None else json.dumps({"keys": state.keys}).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def client_gone(self) -> bool:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            try:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
            except ConnectionError:
                return True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    state.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    state.thread = threading.Thread(target=state.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    state.thread.start()
    yield state
    state.gate.set()
    state.stop()


async def happened(event: threading.Event) -> bool:
    """Whether `event` is set, waiting for it (off the loop) up to EVENTUALLY_SECONDS."""
    return await asyncio.to_thread(event.wait, EVENTUALLY_SECONDS)


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


KeySourceFactory = Callable[..., JwksKeys]


@pytest.fixture
async def key_source(jwks_server: JwksServer) -> AsyncIterator[KeySourceFactory]:
    """`make(clock=…, cache_seconds=…, refresh_seconds=…)`: a JwksKeys on the test provider, closed afterwards."""
    made: list[JwksKeys] = []

    def make(clock: Callable[[], float], cache_seconds: float = 600, refresh_seconds: float = 30) -> JwksKeys:
        source = JwksKeys(jwks_server.url, cache_seconds=cache_seconds, refresh_seconds=refresh_seconds,
                          timeout_seconds=NEVER_SECONDS, clock=clock)
        made.append(source)
        return source

    yield make
    jwks_server.gate.set()
    for source in made:
        await source.aclose()


async def refused(source: JwksKeys, kid: str, algorithm: str = "RS256") -> str:
    """The reason `source` refuses a token naming `kid`."""
    with pytest.raises(Unauthenticated) as refusal:
        await source.key(algorithm, kid)
    return str(refusal.value.reason)


async def jwks_gateway(database: TestDatabase, gateway_factory: GatewayFactory, url: str,
                       **env: str) -> LiveGateway:
    return await gateway_factory(database, **{"CALLPULSE_JWT_JWKS_URL": url, **PINNED, **env})


async def ask(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"})


def part(obj: dict[str, Any]) -> str:
    return part_bytes(json.dumps(obj).encode())


def part_bytes(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def assert_refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["extensions"] == {
        "code": "UNAUTHENTICATED", "reason": reason, "requestId": response.headers["x-request-id"]}


async def test_each_token_is_verified_with_the_key_its_kid_names(
    database: TestDatabase, gateway_factory: GatewayFactory, jwks_server: JwksServer,
    keys: dict[str, SigningKeyPair]
) -> None:
    # given a provider publishing two RSA keys and a P-256 key
    jwks_server.serve(keys["old"], keys["new"], keys["ec"])
    gateway = await jwks_gateway(database, gateway_factory, jwks_server.url)
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        # when / then
        for name in ("old", "new", "ec"):
            response = await ask(client, keys[name].token())
            assert response.status_code == 200, (name, response.text)
            assert response.json()["data"]["viewer"]["subject"] == "auth0|5f3c"
        # signed by one key but naming another
        assert_refused(await ask(client, keys["old"].token(kid=keys["new"].kid)), "invalid_signature")
        # the header's alg must be the algorithm of the key it names
        forged = jwt.encode({"sub": "x", "tenant_id": str(TENANT), "roles": ["admin"], "exp": time.time() + 60},
                            keys["ec"].private, algorithm="ES256", headers={"kid": keys["old"].kid})
        assert_refused(await ask(client, forged), "unsupported_algorithm")
        no_kid = jwt.encode({"sub": "x", "tenant_id": str(TENANT), "roles": ["admin"], "exp": time.time() + 60},
                            keys["old"].private, algorithm="RS256")
        assert_refused(await ask(client, no_kid), "unknown_key")
        # HS256 tokens still verify with the configured secret, and only with it
        hs = jwt.encode({"sub": "svc", "tenant_id": str(TENANT), "roles": ["service"], "exp": time.time() + 60,
                         "iss": ISSUER, "aud": AUDIENCE},
                        TEST_JWT_SECRET, algorithm="HS256", headers={"kid": keys["old"].kid})
        assert (await ask(client, hs)).status_code == 200
    # the key set was fetched once, and cached
    assert jwks_server.requests == 1


async def test_without_a_secret_hs256_and_none_are_refused_even_with_the_providers_public_key(
    database: TestDatabase, gateway_factory: GatewayFactory, jwks_server: JwksServer,
    keys: dict[str, SigningKeyPair]
) -> None:
    jwks_server.serve(keys["old"])
    gateway = await jwks_gateway(database, gateway_factory, jwks_server.url, CALLPULSE_JWT_SECRET="")
    public_pem = keys["old"].private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    payload = json.dumps({"sub": "x", "tenant_id": str(TENANT), "roles": ["admin"], "iss": ISSUER,
                          "aud": AUDIENCE, "exp": int(time.time()) + 60}).encode()
    # The key-confusion attack: HS256 "signed" with the published public key as the secret (pyjwt refuses to
    # sign with a PEM, so the HMAC is computed by hand).
    signing_input = f"{part({'alg': 'HS256', 'kid': keys['old'].kid})}.{part_bytes(payload)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    confused = f"{signing_input}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"
    unsigned = f"{part({'alg': 'none', 'kid': keys['old'].kid})}.{part_bytes(payload)}."
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        assert (await ask(client, keys["old"].token())).status_code == 200
        for token in (confused, unsigned):
            assert_refused(await ask(client, token), "unsupported_algorithm")


async def test_a_rotated_key_is_accepted_without_restart_and_a_removed_one_refused_after_the_refresh(
    database: TestDatabase, gateway_factory: GatewayFactory, jwks_server: JwksServer,
    keys: dict[str, SigningKeyPair]
) -> None:
    jwks_server.serve(keys["old"])
    gateway = await jwks_gateway(database, gateway_factory, jwks_server.url, CALLPULSE_JWT_JWKS_REFRESH_SECONDS="0")
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        assert (await ask(client, keys["old"].token())).status_code == 200
        # when the provider rotates: it now publishes only the new key
        jwks_server.serve(keys["new"])
        # then the old key still works until the key set is fetched again (it is cached) ...
        assert (await ask(client, keys["old"].token())).status_code == 200
        assert jwks_server.requests == 1
        # ... a token naming the new kid makes us fetch it, and is accepted ...
        assert (await ask(client, keys["new"].token())).status_code == 200
        assert jwks_server.requests == 2
        # ... and from then on the removed key is refused
        assert_refused(await ask(client, keys["old"].token()), "unknown_key")
        assert (await ask(client, keys["new"].token())).status_code == 200


async def test_a_cached_kid_is_answered_at_once_when_the_cache_is_stale_and_the_key_set_refetched_behind_it(
    jwks_server: JwksServer, key_source: KeySourceFactory, keys: dict[str, SigningKeyPair]
) -> None:
    clock = Clock()
    jwks_server.serve(keys["old"])
    source = key_source(clock, cache_seconds=600, refresh_seconds=30)
    assert await source.key("RS256", keys["old"].kid) == keys["old"].private.public_key()
    # given: the cache time has passed, the provider has revoked the old key, and it is slow to answer
    clock.advance(601)
    jwks_server.serve(keys["new"])
    jwks_server.gate.clear()
    jwks_server.asked.clear()
    # when a token naming the cached kid arrives
    key = await source.key("RS256", keys["old"].kid)
    # then it is answered from the cache, not after the provider (still held at the gate) ...
    assert key == keys["old"].private.public_key()
    # ... and the key set is being fetched again behind it
    assert await happened(jwks_server.asked)
    # when the provider answers (a token naming the new kid joins the fetch in flight)
    joining = asyncio.create_task(source.key("RS256", keys["new"].kid))
    jwks_server.gate.set()
    assert await joining == keys["new"].private.public_key()
    # then the revoked key is refused from then on, and that one refetch was all it took
    assert await refused(source, keys["old"].kid) == "unknown_key"
    assert jwks_server.requests == 2


async def test_a_stale_cache_is_refetched_at_most_once_per_refresh_interval_when_the_provider_fails(
    jwks_server: JwksServer, key_source: KeySourceFactory, keys: dict[str, SigningKeyPair]
) -> None:
    clock = Clock()
    jwks_server.serve(keys["old"])
    source = key_source(clock, cache_seconds=600, refresh_seconds=30)
    await source.key("RS256", keys["old"].kid)
    # given a stale cache and a provider that fails
    clock.advance(601)
    jwks_server.status = 503
    # when the refetch that the first token starts has failed (a token naming an unknown kid waits for it)
    await source.key("RS256", keys["old"].kid)
    assert await refused(source, "unknown-kid") == "unknown_key"
    assert jwks_server.requests == 2
    # then the cached key keeps answering, and no token starts another fetch before the interval has passed
    for _ in range(5):
        assert await source.key("RS256", keys["old"].kid) == keys["old"].private.public_key()
    assert await refused(source, "unknown-kid") == "unknown_key"
    assert jwks_server.requests == 2
    # when it has passed, the provider is back
    clock.advance(30)
    jwks_server.status = 200
    jwks_server.serve(keys["old"], keys["new"])
    # then the next token starts a refetch, which the next unknown kid joins
    await source.key("RS256", keys["old"].kid)
    assert await source.key("RS256", keys["new"].kid) == keys["new"].private.public_key()
    assert jwks_server.requests == 3


async def test_unknown_kids_refetch_at_most_once_per_interval_and_concurrent_requests_share_one_fetch(
    jwks_server: JwksServer, key_source: KeySourceFactory, keys: dict[str, SigningKeyPair]
) -> None:
    # given a slow provider, and at most one fetch a second
    clock = Clock()
    jwks_server.serve(keys["old"])
    jwks_server.gate.clear()
    source = key_source(clock, refresh_seconds=1)
    # when twenty tokens arrive together before any key is known
    waiting = [asyncio.create_task(source.key("RS256", keys["old"].kid)) for _ in range(20)]
    assert await happened(jwks_server.asked)
    # (all twenty are waiting for the provider, which answers only once the gate opens)
    assert not any(task.done() for task in waiting)
    jwks_server.gate.set()
    # then one fetch served them all
    assert await asyncio.gather(*waiting) == [keys["old"].private.public_key()] * 20
    assert jwks_server.requests == 1
    # when tokens name kids nobody published (a rotation we missed, or someone probing) right away
    clock.advance(0.5)
    assert await refused(source, "made-up") == "unknown_key"
    # then no fetch: the last one is less than the interval ago
    assert jwks_server.requests == 1
    # when they keep coming once the interval has passed
    clock.advance(0.5)
    for i in range(5):
        assert await refused(source, f"made-up-{i}") == "unknown_key"
    # then the first one refetched, the others wait for the interval to pass again
    assert jwks_server.requests == 2
    assert await source.key("RS256", keys["old"].kid) == keys["old"].private.public_key()


async def test_closing_the_key_source_gives_up_its_fetch_and_starts_no_other(
    jwks_server: JwksServer, key_source: KeySourceFactory, keys: dict[str, SigningKeyPair]
) -> None:
    jwks_server.serve(keys["old"])
    jwks_server.gate.clear()
    source = key_source(Clock(), refresh_seconds=0)
    waiting = asyncio.create_task(source.key("RS256", keys["old"].kid))
    assert await happened(jwks_server.asked)
    # when the app shuts down while a fetch waits for the provider
    await source.aclose()
    # then the fetch hangs up, the token waiting for it is refused, and no later token fetches again
    assert await happened(jwks_server.hung_up)
    with pytest.raises(Unauthenticated) as refusal:
        await waiting
    assert refusal.value.reason == "unknown_key"
    jwks_server.gate.set()
    assert await refused(source, keys["old"].kid) == "unknown_key"
    assert jwks_server.requests == 1


async def test_a_stopping_gateway_gives_up_the_key_set_fetch_it_runs_in_the_background(
    database: TestDatabase, gateway_factory: GatewayFactory, jwks_server: JwksServer,
    keys: dict[str, SigningKeyPair]
) -> None:
    # given a gateway whose cache is always due, so every token starts a refetch behind it
    jwks_server.serve(keys["old"])
    gateway = await jwks_gateway(database, gateway_factory, jwks_server.url, CALLPULSE_JWT_JWKS_CACHE_SECONDS="0",
                                 CALLPULSE_JWT_JWKS_REFRESH_SECONDS="0",
                                 CALLPULSE_JWT_JWKS_TIMEOUT_SECONDS=str(NEVER_SECONDS))
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        assert (await ask(client, keys["old"].token())).status_code == 200
        jwks_server.gate.clear()
        jwks_server.asked.clear()
        # a token naming the cached kid is answered while its refetch waits for the slow provider
        assert (await ask(client, keys["old"].token())).status_code == 200
        assert await happened(jwks_server.asked)
    # when the gateway stops
    gateway.server.should_exit = True
    await gateway.task
    # then its shutdown hung up on that fetch instead of leaving it running
    assert await happened(jwks_server.hung_up)


@pytest.mark.parametrize("outage", ["unreachable", "http 503", "not json", "not a jwks", "no usable key"])
async def test_when_the_jwks_cannot_be_fetched_tokens_get_401_and_cached_keys_keep_working(
    database: TestDatabase, gateway_factory: GatewayFactory, jwks_server: JwksServer,
    keys: dict[str, SigningKeyPair], outage: str
) -> None:
    jwks_server.serve(keys["old"])
    gateway = await jwks_gateway(database, gateway_factory, jwks_server.url, CALLPULSE_JWT_JWKS_REFRESH_SECONDS="0")
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        assert (await ask(client, keys["old"].token())).status_code == 200
        # when the provider breaks
        if outage == "unreachable":
            jwks_server.stop()
        elif outage == "http 503":
            jwks_server.status = 503
        elif outage == "not json":
            jwks_server.body = b"<html>maintenance</html>"
        elif outage == "not a jwks":
            jwks_server.body = b'{"issuer": "https://idp.example"}'
        else:
            jwks_server.body = json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "hs"}]}).encode()
        # then a token naming a new kid is refused, not an error of ours ...
        assert_refused(await ask(client, keys["new"].token()), "unknown_key")
        # ... and the keys we had still verify
        assert (await ask(client, keys["old"].token())).status_code == 200


async def test_a_gateway_that_cannot_reach_its_jwks_at_all_answers_401(
    database: TestDatabase, gateway_factory: GatewayFactory, keys: dict[str, SigningKeyPair]
) -> None:
    gateway = await jwks_gateway(database, gateway_factory, f"http://127.0.0.1:{free_port()}/jwks",
                                 CALLPULSE_JWT_JWKS_TIMEOUT_SECONDS="0.5")
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        assert_refused(await ask(client, keys["old"].token()), "unknown_key")


async def test_a_slow_jwks_fetch_does_not_block_other_requests(
    database: TestDatabase, gateway_factory: GatewayFactory, jwks_server: JwksServer,
    keys: dict[str, SigningKeyPair]
) -> None:
    jwks_server.serve(keys["old"])
    jwks_server.gate.clear()
    gateway = await jwks_gateway(database, gateway_factory, jwks_server.url,
                                 CALLPULSE_JWT_JWKS_TIMEOUT_SECONDS=str(NEVER_SECONDS))
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        # given a request waiting for the key set, which the provider holds back until the gate opens
        waiting = asyncio.create_task(ask(client, keys["old"].token()))
        assert await happened(jwks_server.asked)
        # when another request arrives meanwhile
        health = await client.get("/healthz")
        # then it is answered while the fetch still waits (a fetch blocking the loop would hold it back)
        assert health.status_code == 200
        assert not waiting.done()
        jwks_server.gate.set()
        assert (await waiting).status_code == 200


def test_jwks_entries_we_cannot_use_are_skipped(keys: dict[str, SigningKeyPair]) -> None:
    rsa_jwk = keys["old"].jwk
    usable = parse_jwks({"keys": [
        rsa_jwk,
        {**keys["new"].jwk, "use": "enc"},  # an encryption key (Keycloak publishes one)
        {**keys["new"].jwk, "alg": "RSA-OAEP", "kid": "enc-2"},
        {**keys["ec"].jwk, "crv": "P-384", "kid": "ec-384"},
        {**keys["ec"].jwk, "alg": "RS256", "kid": "ec-says-rs"},
        {k: v for k, v in keys["new"].jwk.items() if k != "kid"},
        {**{k: v for k, v in rsa_jwk.items() if k != "n"}, "kid": "no-modulus"},
        {**rsa_jwk, "n": 12345, "kid": "modulus-not-a-string"},
        "not an object",
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hs"},
        keys["ec"].jwk,
    ]})
    assert {kid: k.algorithm for kid, k in usable.items()} == {"2024-old": "RS256", "ec-1": "ES256"}


BASE_ENV = {"DATABASE_URL": "postgresql://x@127.0.0.1/x"}
JWKS_URL = "https://idp.example/.well-known/jwks.json"


@pytest.mark.parametrize(("mistake", "message"), [
    ("both a public key and a JWKS", "not both"),
    ("plain http to another host", "must be an https URL"),
    ("not a URL", "must be an https URL"),
    ("a zero timeout", "timeout > 0"),
    ("a public key that is none", "not a PEM public key"),
    ("a public key on another curve", "P-256"),
    ("a JWKS without an issuer", "CALLPULSE_JWT_JWKS_URL needs CALLPULSE_JWT_ISSUER:"),
    ("a JWKS without an audience", "CALLPULSE_JWT_JWKS_URL needs CALLPULSE_JWT_AUDIENCE:"),
    ("a JWKS without either", "needs CALLPULSE_JWT_ISSUER and CALLPULSE_JWT_AUDIENCE"),
])
def test_configuration_mistakes_are_caught_at_start_up(keys: dict[str, SigningKeyPair], mistake: str,
                                                       message: str) -> None:
    def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
        return key.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    jwks = {"CALLPULSE_JWT_JWKS_URL": JWKS_URL, **PINNED}
    env = {
        "both a public key and a JWKS": {"CALLPULSE_JWT_PUBLIC_KEY": pem(keys["old"].private), **jwks},
        "plain http to another host": {**jwks, "CALLPULSE_JWT_JWKS_URL": "http://idp.example/jwks"},
        "not a URL": {**jwks, "CALLPULSE_JWT_JWKS_URL": "idp.example/jwks"},
        "a zero timeout": {**jwks, "CALLPULSE_JWT_JWKS_TIMEOUT_SECONDS": "0"},
        "a public key that is none": {"CALLPULSE_JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\nnope\n"},
        "a public key on another curve": {"CALLPULSE_JWT_PUBLIC_KEY": pem(ec.generate_private_key(ec.SECP384R1()))},
        "a JWKS without an issuer": {**jwks, "CALLPULSE_JWT_ISSUER": ""},
        "a JWKS without an audience": {**jwks, "CALLPULSE_JWT_AUDIENCE": ""},
        "a JWKS without either": {"CALLPULSE_JWT_JWKS_URL": JWKS_URL, "CALLPULSE_JWT_SECRET": TEST_JWT_SECRET},
    }[mistake]
    with pytest.raises(ConfigurationError, match=message):
        verifier_for(Settings.from_env({**BASE_ENV, **env}))


@pytest.mark.parametrize("url", [JWKS_URL, "http://localhost:8080/realms/acme/protocol/openid-connect/certs"])
def test_https_and_http_to_this_machine_are_accepted_jwks_urls(url: str) -> None:
    verifier = verifier_for(Settings.from_env({**BASE_ENV, "CALLPULSE_JWT_JWKS_URL": url, **PINNED}))
    assert {"RS256", "ES256"} <= {a for s in verifier.sources for a in s.algorithms}


# Claims of tokens signed with the provider's own key: what `iss` and `aud` (or `client_id`) say decides.
PINNING_CASES: dict[str, tuple[dict[str, Any], bool]] = {
    "ours": ({}, True),
    "ours, among other audiences": ({"aud": ["https://other.example", AUDIENCE]}, True),
    # Entra signs every directory's tokens with the same keys: someone else's directory, our tenant claim.
    "another directory of the same provider": ({"iss": "https://idp.example/attacker-directory/"}, False),
    "no issuer": ({"iss": None}, False),
    "for another application": ({"aud": "https://other.example"}, False),
    "an audience that is no string": ({"aud": 5}, False),
    # Cognito's access tokens: no aud, the app client id in client_id.
    "no aud, our client_id": ({"aud": None, "client_id": AUDIENCE}, True),
    "no aud, another client_id": ({"aud": None, "client_id": "another-app-client"}, False),
    "no aud, no client_id": ({"aud": None}, False),
    "another aud, our client_id": ({"aud": "https://other.example", "client_id": AUDIENCE}, False),
}


@pytest.mark.parametrize("case", list(PINNING_CASES))
async def test_with_a_jwks_only_tokens_from_our_issuer_for_our_audience_are_accepted(
    jwks_server: JwksServer, keys: dict[str, SigningKeyPair], case: str
) -> None:
    overrides, accepted = PINNING_CASES[case]
    jwks_server.serve(keys["old"])
    verifier = verifier_for(Settings.from_env({**BASE_ENV, "CALLPULSE_JWT_JWKS_URL": jwks_server.url, **PINNED}))
    try:
        token = keys["old"].token(**overrides)
        if accepted:
            assert (await verifier.verify(token)).tenant_id == TENANT
        else:
            with pytest.raises(Unauthenticated) as refusal:
                await verifier.verify(token)
            assert refusal.value.reason == "invalid_claims"
    finally:
        await verifier.aclose()


@pytest.mark.parametrize("module", ["gateway.jwks", "gateway.cors", "gateway.auth"])
def test_module_constants_marked_final_cannot_be_changed_at_run_time(module: str) -> None:
    loaded: ModuleType = importlib.import_module(module)
    mutable = [name for name, annotation in loaded.__annotations__.items()
               if "Final" in str(annotation) and isinstance(getattr(loaded, name), dict | list | set | bytearray)]
    assert not mutable, f"{module}: Final but mutable: {mutable}"


async def test_a_static_es256_public_key_verifies_es256_tokens(
    database: TestDatabase, gateway_factory: GatewayFactory, keys: dict[str, SigningKeyPair]
) -> None:
    pem = keys["ec"].private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    gateway = await gateway_factory(database, CALLPULSE_JWT_PUBLIC_KEY=pem)
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        assert (await ask(client, keys["ec"].token())).status_code == 200
        assert_refused(await ask(client, keys["old"].token()), "unsupported_algorithm")
