"""Every bad token is answered 401 with a GraphQL-shaped error and a stable code, over real HTTP."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import TEST_JWT_SECRET, GatewayFactory, LiveGateway, TestDatabase

QUERY = {"query": "{ viewer { subject roles } }"}
TENANT = uuid.uuid4()


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"sub": "u-1", "tenant_id": str(TENANT), "roles": ["admin"],
                            "exp": int(time.time()) + 300}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def part(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def unsigned(payload: dict[str, Any]) -> str:
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def with_header(header: dict[str, Any], payload: dict[str, Any]) -> str:
    """A token with a hand-made header, which pyjwt itself would refuse to produce."""
    return f"{part(header)}.{part(payload)}.c2lnbmF0dXJl"


BAD_HEADERS: dict[str, tuple[Callable[[], dict[str, str]], str]] = {
    "missing header": (lambda: {}, "missing_token"),
    "not a bearer scheme": (lambda: {"Authorization": "Basic dXNlcjpwYXNz"}, "malformed_token"),
    "malformed token": (lambda: {"Authorization": "Bearer not.a.jwt"}, "malformed_token"),
    "expired": (lambda: {"Authorization": "Bearer " + jwt.encode(
        claims(exp=int(time.time()) - 3600), TEST_JWT_SECRET, algorithm="HS256")}, "expired_token"),
    "wrongly signed": (lambda: {"Authorization": "Bearer " + jwt.encode(
        claims(), "another-secret-another-secret-another-secret", algorithm="HS256")}, "invalid_signature"),
    "alg none": (lambda: {"Authorization": "Bearer " + unsigned(claims())}, "unsupported_algorithm"),
    "no tenant": (lambda: {"Authorization": "Bearer " + jwt.encode(
        claims(tenant_id=None), TEST_JWT_SECRET, algorithm="HS256")}, "missing_tenant"),
    "no exp": (lambda: {"Authorization": "Bearer " + jwt.encode(
        claims(exp=None), TEST_JWT_SECRET, algorithm="HS256")}, "invalid_claims"),
    "unknown roles only": (lambda: {"Authorization": "Bearer " + jwt.encode(
        claims(roles=["superhero"]), TEST_JWT_SECRET, algorithm="HS256")}, "invalid_claims"),
    "header kid not a string": (lambda: {"Authorization": "Bearer " + with_header(
        {"alg": "HS256", "kid": 5}, claims())}, "malformed_token"),
    "tenant not a uuid": (lambda: {"Authorization": "Bearer " + jwt.encode(
        claims(tenant_id="acme"), TEST_JWT_SECRET, algorithm="HS256")}, "invalid_claims"),
}


def assert_unauthenticated(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["extensions"]["reason"] == reason
    assert "Traceback" not in response.text
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("case", list(BAD_HEADERS))
async def test_bad_token_gets_401_with_code_and_reason(gateway: LiveGateway, case: str) -> None:
    make_headers, reason = BAD_HEADERS[case]
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.post("/graphql", json=QUERY, headers=make_headers())
    assert_unauthenticated(response, reason)


async def test_get_query_without_token_is_refused_too(gateway: LiveGateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.get("/graphql", params=QUERY)
    assert_unauthenticated(response, "missing_token")


async def test_valid_token_is_accepted_and_its_claims_win(gateway: LiveGateway) -> None:
    token = jwt.encode(claims(roles=["viewer", "manager"]), TEST_JWT_SECRET, algorithm="HS256")
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["data"]["viewer"] == {"subject": "u-1", "roles": ["MANAGER", "VIEWER"]}


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


async def test_rs256_with_issuer_and_audience_checks(
    database: TestDatabase, gateway_factory: GatewayFactory, rsa_keys: tuple[str, str]
) -> None:
    private, public = rsa_keys
    gateway = await gateway_factory(database, CALLPULSE_JWT_PUBLIC_KEY=public, CALLPULSE_JWT_SECRET="",
                                    CALLPULSE_JWT_ISSUER="https://idp.example", CALLPULSE_JWT_AUDIENCE="callpulse")
    good = jwt.encode(claims(iss="https://idp.example", aud="callpulse"), private, algorithm="RS256")
    wrong_issuer = jwt.encode(claims(iss="https://evil.example", aud="callpulse"), private, algorithm="RS256")
    wrong_audience = jwt.encode(claims(iss="https://idp.example", aud="other"), private, algorithm="RS256")
    # The classic key-confusion attack: HS256 "signed" with the public key as the secret.
    confused = jwt.api_jws.PyJWS().encode(
        json.dumps(claims(iss="https://idp.example", aud="callpulse")).encode(), b"x" * 64, algorithm="HS256")
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        async def ask(token: str) -> httpx.Response:
            return await client.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"})

        assert (await ask(good)).status_code == 200
        assert_unauthenticated(await ask(wrong_issuer), "invalid_claims")
        assert_unauthenticated(await ask(wrong_audience), "invalid_claims")
        assert_unauthenticated(await ask(confused), "unsupported_algorithm")


async def test_graphiql_page_is_served_without_a_token_and_with_local_assets(gateway: LiveGateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert "GraphiQL" in page.text
        assert "unpkg.com" not in page.text
        assert "cdn" not in page.text.lower()
        for asset in ("/static/graphiql/graphiql.min.js", "/static/graphiql/graphiql.min.css",
                      "/static/graphiql/react.production.min.js"):
            assert (await client.get(asset)).status_code == 200, asset
