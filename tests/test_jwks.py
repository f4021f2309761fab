"""Keys from an identity provider's JWKS, served for real over HTTP on this machine: kids, rotation, outages."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway.auth import verifier_for
from gateway.errors import ConfigurationError
from gateway.jwks import parse_jwks
from gateway.settings import Settings
from tests.conftest import TEST_JWT_SECRET, GatewayFactory, LiveGateway, TestDatabase, free_port

QUERY = {"query": "{ viewer { subject roles } }"}
TENANT = uuid.uuid4()


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
                                   "exp": int(time.time()) + 300, **overrides}
        return jwt.encode(payload, self.private, algorithm=self.algorithm, headers={"kid": kid or self.kid})


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKeyPair]:
    return {
        "old": SigningKeyPair("2024-old", "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "new": SigningKeyPair("2025-new", "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "ec": SigningKeyPair("ec-1", "ES256", ec.generate_private_key(ec.SECP256R1())),
    }


@dataclass
class JwksServer:
    """A provider's JWKS endpoint in a thread of its own, so a gateway that blocked its loop would show."""

    url: str
    keys: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    body: bytes | None = None
    delay_seconds: float = 0.0
    requests: int = 0
    asked: threading.Event = field(default_factory=threading.Event)
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
            time.sleep(state.delay_seconds)
            body = state.body if state.body is not None else json.dumps({"keys": state.keys}).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    state.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    state.thread = threading.Thread(target=state.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    state.thread.start()
    yield state
    state.stop()


async def jwks_gateway(database: TestDatabase, gateway_factory: GatewayFactory, url: str,
                       **env: str) -> LiveGateway:
    return await gateway_factory(database, CALLPULSE_JWT_JWKS_URL=url, **env)


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
        hs = jwt.encode({"sub": "svc", "tenant_id": str(TENANT), "roles": ["service"], "exp": time.time() + 60},
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
    payload = json.dumps({"sub": "x", "tenant_id": str(TENANT), "roles": ["admin"],
                          "exp": int(time.time()) + 60}).encode()
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


async def test_the_key_set_is_fetched_again_when_the_cache_time_has_passed(
    database: TestDatabase, gateway_factory: GatewayFactory, jwks_server: JwksServer,
    keys: dict[str, SigningKeyPair]
) -> None:
    jwks_server.serve(keys["old"])
    gateway = await jwks_gateway(database, gateway_factory, jwks_server.url, CALLPULSE_JWT_JWKS_CACHE_SECONDS="1",
                                 CALLPULSE_JWT_JWKS_REFRESH_SECONDS="0")
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        assert (await ask(client, keys["old"].token())).status_code == 200
        # the provider revokes the key; no token names an unknown kid, yet after the cache time it is gone
        jwks_server.serve(keys["new"])
        await asyncio.sleep(1.1)
        assert_refused(await ask(client, keys["old"].token()), "unknown_key")
    assert jwks_server.requests == 2


async def test_unknown_kids_refetch_at_most_once_per_interval_and_concurrent_requests_share_one_fetch(
    database: TestDatabase, gateway_factory: GatewayFactory, jwks_server: JwksServer,
    keys: dict[str, SigningKeyPair]
) -> None:
    # given a slow provider, and at most one fetch a second
    jwks_server.serve(keys["old"])
    jwks_server.delay_seconds = 0.5
    gateway = await jwks_gateway(database, gateway_factory, jwks_server.url, CALLPULSE_JWT_JWKS_REFRESH_SECONDS="1")
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        # when twenty requests arrive together before any key is known
        responses = await asyncio.gather(*(ask(client, keys["old"].token()) for _ in range(20)))
        # then one fetch served them all
        assert [r.status_code for r in responses] == [200] * 20
        assert jwks_server.requests == 1
        # when tokens name kids nobody published (a rotation we missed, or someone probing) right away
        jwks_server.delay_seconds = 0.0
        assert_refused(await ask(client, keys["old"].token(kid="made-up")), "unknown_key")
        # then no fetch: the last one is less than the interval ago
        assert jwks_server.requests == 1
        # when they keep coming once the interval has passed
        await asyncio.sleep(1.1)
        for i in range(5):
            assert_refused(await ask(client, keys["old"].token(kid=f"made-up-{i}")), "unknown_key")
        # then the first one refetched, the others wait for the interval to pass again
        assert jwks_server.requests == 2
        assert (await ask(client, keys["old"].token())).status_code == 200


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
    jwks_server.delay_seconds = 1.5
    gateway = await jwks_gateway(database, gateway_factory, jwks_server.url)
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        # given a request waiting for the key set
        waiting = asyncio.create_task(ask(client, keys["old"].token()))
        assert await asyncio.to_thread(jwks_server.asked.wait, 5)
        # when another request arrives meanwhile
        started = time.monotonic()
        health = await client.get("/healthz")
        # then it is answered at once, while the fetch still waits
        assert health.status_code == 200
        assert time.monotonic() - started < 0.5
        assert not waiting.done()
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


@pytest.mark.parametrize("mistake", [
    "both a public key and a JWKS", "plain http to another host", "not a URL", "a zero timeout",
    "a public key that is none", "a public key on another curve"])
def test_configuration_mistakes_are_caught_at_start_up(keys: dict[str, SigningKeyPair], mistake: str) -> None:
    def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
        return key.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    env = {
        "both a public key and a JWKS": {"CALLPULSE_JWT_PUBLIC_KEY": pem(keys["old"].private),
                                         "CALLPULSE_JWT_JWKS_URL": JWKS_URL},
        "plain http to another host": {"CALLPULSE_JWT_JWKS_URL": "http://idp.example/jwks"},
        "not a URL": {"CALLPULSE_JWT_JWKS_URL": "idp.example/jwks"},
        "a zero timeout": {"CALLPULSE_JWT_JWKS_URL": JWKS_URL, "CALLPULSE_JWT_JWKS_TIMEOUT_SECONDS": "0"},
        "a public key that is none": {"CALLPULSE_JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\nnope\n"},
        "a public key on another curve": {"CALLPULSE_JWT_PUBLIC_KEY": pem(ec.generate_private_key(ec.SECP384R1()))},
    }[mistake]
    with pytest.raises(ConfigurationError):
        verifier_for(Settings.from_env({**BASE_ENV, **env}))


@pytest.mark.parametrize("url", [JWKS_URL, "http://localhost:8080/realms/acme/protocol/openid-connect/certs"])
def test_https_and_http_to_this_machine_are_accepted_jwks_urls(url: str) -> None:
    verifier = verifier_for(Settings.from_env({**BASE_ENV, "CALLPULSE_JWT_JWKS_URL": url}))
    assert {"RS256", "ES256"} <= {a for s in verifier.sources for a in s.algorithms}


async def test_a_static_es256_public_key_verifies_es256_tokens(
    database: TestDatabase, gateway_factory: GatewayFactory, keys: dict[str, SigningKeyPair]
) -> None:
    pem = keys["ec"].private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    gateway = await gateway_factory(database, CALLPULSE_JWT_PUBLIC_KEY=pem)
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        assert (await ask(client, keys["ec"].token())).status_code == 200
        assert_refused(await ask(client, keys["old"].token()), "unsupported_algorithm")
