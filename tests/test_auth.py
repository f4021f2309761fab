"""Every bad token is answered 401 with a GraphQL-shaped error and a stable code, over real HTTP."""

from __future__ import annotations

import base64
import json
import logging
import re
import stat
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from asyncpg.connection import LoggedQuery
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.auth import (
    DEV_SECRET_FILE,
    LEEWAY_SECONDS,
    TokenVerifier,
    claim_at,
    dev_secret,
    mint_token,
    principal_from_claims,
    signing_secret,
    verifier_for,
)
from gateway.errors import ConfigurationError, Unauthenticated
from gateway.ids import encode_id
from gateway.settings import Settings
from tests.conftest import TEST_JWT_SECRET, GatewayFactory, LiveGateway, TestDatabase
from tests.factories import make_user
from tests.resolvers.floor import Floor, build_floor

QUERY = {"query": "{ viewer { subject roles } }"}
TENANT = uuid.uuid4()


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"sub": "u-1", "tenant_id": str(TENANT), "roles": ["admin"],
                            "exp": int(time.time()) + 300}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def signed(**overrides: Any) -> dict[str, str]:
    """Authorization headers with an HS256 token of claims() with `overrides`."""
    return {"Authorization": "Bearer " + jwt.encode(claims(**overrides), TEST_JWT_SECRET, algorithm="HS256")}


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
    # pyjwt alone takes "9999999999" for a date: a string exp would never expire.
    "exp a string": (lambda: signed(exp=str(int(time.time()) + 300)), "invalid_claims"),
    "exp a boolean": (lambda: signed(exp=True), "invalid_claims"),
    "exp infinite": (lambda: signed(exp=float("inf")), "invalid_claims"),
    "exp beyond any date": (lambda: signed(exp=10**400), "invalid_claims"),
    "nbf a string": (lambda: signed(nbf=str(int(time.time()) - 60)), "invalid_claims"),
    "iat a string": (lambda: signed(iat=str(int(time.time()))), "invalid_claims"),
    "nbf in the future": (lambda: signed(nbf=int(time.time()) + 600), "invalid_claims"),
    "iat in the future": (lambda: signed(iat=int(time.time()) + 600), "invalid_claims"),
    "expired with a float exp": (lambda: signed(exp=time.time() - 3600.5), "expired_token"),
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


async def test_numeric_dates_may_be_fractional_and_nbf_within_the_leeway_is_accepted(gateway: LiveGateway) -> None:
    now = time.time()
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.post("/graphql", json=QUERY,
                                     headers=signed(exp=now + 300.5, nbf=now + 10, iat=now + 10.25))
    assert response.status_code == 200, response.text


def test_principal_carries_the_tokens_expiry() -> None:
    principal = principal_from_claims(claims(exp=1_900_000_000))
    assert principal.expires_at == 1_900_000_000.0


# Where the identity providers put things (claims as their tokens carry them, besides sub and exp).
PROVIDER_CLAIMS: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "Auth0 namespaced claims": (
        {"CALLPULSE_JWT_TENANT_CLAIM": "https://callpulse.example/tenant_id",
         "CALLPULSE_JWT_ROLES_CLAIM": "https://callpulse.example/roles"},
        {"https://callpulse.example/tenant_id": str(TENANT), "https://callpulse.example/roles": ["manager"]}),
    "Auth0 app_metadata": (
        {"CALLPULSE_JWT_TENANT_CLAIM": "app_metadata.tenant", "CALLPULSE_JWT_ROLES_CLAIM": "app_metadata.roles"},
        {"app_metadata": {"tenant": str(TENANT), "roles": ["manager"]}}),
    "namespaced object, nested inside": (
        {"CALLPULSE_JWT_TENANT_CLAIM": "https://callpulse.example/claims.tenant",
         "CALLPULSE_JWT_ROLES_CLAIM": "https://callpulse.example/claims.roles"},
        {"https://callpulse.example/claims": {"tenant": str(TENANT), "roles": ["manager"]}}),
    "Keycloak realm roles": (
        {"CALLPULSE_JWT_ROLES_CLAIM": "realm_access.roles"},
        {"tenant_id": str(TENANT),
         "realm_access": {"roles": ["offline_access", "uma_authorization", "manager"]}}),
    "Keycloak client roles": (
        {"CALLPULSE_JWT_ROLES_CLAIM": "resource_access.callpulse-web.roles"},
        {"tenant_id": str(TENANT), "resource_access": {"callpulse-web": {"roles": ["manager"]},
                                                       "account": {"roles": ["admin"]}}}),
    "Cognito groups and custom attribute": (
        {"CALLPULSE_JWT_TENANT_CLAIM": "custom:tenant_id", "CALLPULSE_JWT_ROLES_CLAIM": "cognito:groups"},
        {"custom:tenant_id": str(TENANT), "cognito:groups": ["manager", "eu-west-staff"]}),
    "Entra app roles, tenant from an optional claim with a dot": (
        {"CALLPULSE_JWT_TENANT_CLAIM": "extn.callpulse_tenant"},
        {"extn.callpulse_tenant": str(TENANT), "roles": ["manager"],
         "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47"}),
}


@pytest.mark.parametrize("provider", list(PROVIDER_CLAIMS))
async def test_tenant_and_roles_are_read_where_the_configured_claim_paths_say(
    database: TestDatabase, gateway_factory: GatewayFactory, admin_conn: asyncpg.Connection, provider: str
) -> None:
    env, provider_claims = PROVIDER_CLAIMS[provider]
    await admin_conn.execute("INSERT INTO tenants (id, name, timezone) VALUES ($1, 'Acme', 'UTC')", TENANT)
    gateway = await gateway_factory(database, **env)
    token = jwt.encode({"sub": "auth0|5f3c", "exp": int(time.time()) + 300, **provider_claims},
                       TEST_JWT_SECRET, algorithm="HS256")
    # The default places say nothing here: the configured paths are what is read.
    default_places = jwt.encode(claims(), TEST_JWT_SECRET, algorithm="HS256")
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.post("/graphql", json={"query": "{ viewer { subject roles tenant { name } } }"},
                                     headers={"Authorization": f"Bearer {token}"})
        other = await client.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {default_places}"})
    assert response.status_code == 200, response.text
    viewer = response.json()["data"]["viewer"]
    assert viewer["subject"] == "auth0|5f3c"
    assert viewer["roles"] == ["MANAGER"]
    assert viewer["tenant"] == {"name": "Acme"}
    if "CALLPULSE_JWT_TENANT_CLAIM" in env:
        assert_unauthenticated(other, "missing_tenant")
        assert env["CALLPULSE_JWT_TENANT_CLAIM"] in other.json()["errors"][0]["message"]
    else:
        assert_unauthenticated(other, "invalid_claims")


@pytest.mark.parametrize(("path", "expected"), [
    ("tenant_id", "top"),
    ("https://idp.example/tenant_id", "namespaced"),
    ("a.b", "the whole key wins"),
    ("a.c", "nested"),
    ("x.y.z", "deepest"),
    ("x.y.w", "shorter prefix after a longer one has no w"),
    ("https://idp.example/claims.tenant", "namespaced object"),
    ("missing", None),
    ("a.c.deeper", None),
    ("tenant_id.more", None),
])
def test_claim_paths_try_the_whole_key_then_dotted_prefixes_longest_first(path: str, expected: str | None) -> None:
    token_claims = {
        "tenant_id": "top",
        "https://idp.example/tenant_id": "namespaced",
        "a.b": "the whole key wins",
        "a": {"b": "shadowed", "c": "nested"},
        "x.y": {"z": "deepest"},
        "x": {"y": {"w": "shorter prefix after a longer one has no w", "z": "shadowed"}},
        "https://idp.example/claims": {"tenant": "namespaced object"},
    }
    assert claim_at(token_claims, path) == expected


BASE_ENV = {"DATABASE_URL": "postgresql://x@127.0.0.1/x"}


@pytest.mark.parametrize(("secret", "accepted"), [
    ("x" * 31, False), ("correct horse battery staple", False), ("x" * 32, True), ("é" * 16, True)])
def test_an_hs256_secret_shorter_than_32_bytes_is_refused_for_verifying_and_minting(secret: str,
                                                                                    accepted: bool) -> None:
    settings = Settings.from_env({**BASE_ENV, "CALLPULSE_JWT_SECRET": secret})
    if accepted:
        assert verifier_for(settings).sources
        assert signing_secret(settings) == secret
        return
    for use in (verifier_for, signing_secret):
        with pytest.raises(ConfigurationError, match=r"CALLPULSE_JWT_SECRET is \d+ bytes; .* at least 32"):
            use(settings)


def test_a_public_key_without_an_issuer_is_accepted_with_a_warning(
    rsa_keys: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    _, public = rsa_keys
    with caplog.at_level(logging.WARNING, logger="gateway.auth"):
        verifier_for(Settings.from_env({**BASE_ENV, "CALLPULSE_JWT_PUBLIC_KEY": public}))
        assert "without CALLPULSE_JWT_ISSUER" in caplog.text
        caplog.clear()
        verifier_for(Settings.from_env({**BASE_ENV, "CALLPULSE_JWT_PUBLIC_KEY": public,
                                        "CALLPULSE_JWT_ISSUER": "https://idp.example"}))
        assert caplog.text == ""


def test_the_development_secret_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    first = dev_secret(tmp_path / "data")
    assert len(first.encode()) >= 32
    assert dev_secret(tmp_path / "data") == first
    path = tmp_path / "data" / DEV_SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # nothing staged is left behind
    assert [p.name for p in (tmp_path / "data").iterdir()] == [DEV_SECRET_FILE]


def test_concurrent_first_runs_all_read_the_same_development_secret(tmp_path: Path) -> None:
    # given many processes' first runs at once (threads here: the file system is what they share)
    runs = 16
    start = threading.Barrier(runs)
    secrets: list[str] = []

    def first_run() -> None:
        start.wait()
        secrets.append(dev_secret(tmp_path / "data"))

    threads = [threading.Thread(target=first_run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then every one read the one secret that was kept, never an empty or partial one
    assert len(secrets) == runs
    assert len(set(secrets)) == 1
    assert secrets[0] == (tmp_path / "data" / DEV_SECRET_FILE).read_text()
    assert len(secrets[0]) >= 32


def test_an_empty_development_secret_is_refused_not_used_as_a_key(tmp_path: Path) -> None:
    # given the file an older gateway left behind when stopped between creating and writing it
    (tmp_path / DEV_SECRET_FILE).touch(mode=0o600)
    settings = Settings.from_env({"CALLPULSE_DATA_DIR": str(tmp_path)})
    for use in (dev_secret, lambda _: verifier_for(settings), lambda _: signing_secret(settings)):
        with pytest.raises(ConfigurationError, match="is empty; delete it"):
            use(tmp_path)


EXTERNAL_VIEW = """
query($me: ID!) {
  viewer { subject roles user { email agent { name } } }
  teams { edges { node { name } } }
  agents { edges { node { name } } }
  me: node(id: $me) { id }
}
"""
NODE_ID = "query($id: ID!) { node(id: $id) { id } }"


@pytest.fixture
async def floor(admin_conn: asyncpg.Connection) -> Floor:
    """The role tests' floor; mia (manager of Red) and ada (agent A) also known by identity-provider subjects."""
    floor = await build_floor(admin_conn)
    await admin_conn.execute("UPDATE users SET external_subject = 'auth0|5f1mia' WHERE tenant_id = $1 AND id = $2",
                             floor.tenant, floor.manager)
    # Keycloak's subjects are UUIDs too, just not ours.
    await admin_conn.execute("UPDATE users SET external_subject = $3 WHERE tenant_id = $1 AND id = $2",
                             floor.tenant, floor.ada, str(KEYCLOAK_ADA))
    return floor


KEYCLOAK_ADA = uuid.UUID("0b9e2f8c-6a43-4d0e-9a59-5c1f3f1a7d11")


async def ask(gateway: LiveGateway, token: str, query: str, **variables: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.post("/graphql", json={"query": query, "variables": variables},
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def names(body: dict[str, Any], root: str) -> list[str]:
    assert "errors" not in body, body
    return [e["node"]["name"] for e in body["data"][root]["edges"]]


@pytest.mark.parametrize(("subject", "role", "email", "agent", "teams", "agents", "own"), [
    ("auth0|5f1mia", "manager", "mia@floor.test", None, ["Red"], ["A", "B"], "manager"),
    (str(KEYCLOAK_ADA), "agent", "ada@floor.test", {"name": "A"}, ["Red"], ["A"], "ada"),
])
async def test_a_subject_known_only_as_external_subject_acts_as_its_directory_user(
    gateway: LiveGateway, floor: Floor, subject: str, role: str, email: str, agent: dict[str, str] | None,
    teams: list[str], agents: list[str], own: str
) -> None:
    token = gateway.token(floor.tenant, subject, roles=(role,))
    own_id = encode_id("User", getattr(floor, own))
    # when
    body = await ask(gateway, token, EXTERNAL_VIEW, me=own_id)
    # then the provider's subject is shown, and the mapped user decides what is readable
    assert body["data"]["viewer"] == {"subject": subject, "roles": [role.upper()],
                                      "user": {"email": email, "agent": agent}}
    assert names(body, "teams") == teams
    assert names(body, "agents") == agents
    assert body["data"]["me"] == {"id": own_id}
    other = await ask(gateway, token, NODE_ID, id=encode_id("User", floor.admin))
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_directory_id_wins_over_another_users_external_subject(
    gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection
) -> None:
    # given a user whose external subject is, oddly, mia's own id
    await admin_conn.execute("UPDATE users SET external_subject = $3 WHERE tenant_id = $1 AND id = $2",
                             floor.tenant, floor.viewer, str(floor.manager))
    token = gateway.token(floor.tenant, str(floor.manager), roles=("manager",))
    body = await ask(gateway, token, EXTERNAL_VIEW, me=encode_id("User", floor.manager))
    assert body["data"]["viewer"]["user"]["email"] == "mia@floor.test"
    assert names(body, "teams") == ["Red"]


async def test_an_external_subject_maps_only_within_the_tokens_tenant(
    gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection
) -> None:
    # given eve, a manager of the other tenant known as 'auth0|eve'
    eve = await make_user(admin_conn, floor.other_tenant, "eve@elsewhere.test", "manager")
    await admin_conn.execute("UPDATE users SET external_subject = 'auth0|eve' WHERE tenant_id = $1 AND id = $2",
                             floor.other_tenant, eve)
    for tenant, subject in ((floor.tenant, "auth0|eve"), (floor.other_tenant, "auth0|5f1mia"),
                            (floor.tenant, "auth0|nobody")):
        token = gateway.token(tenant, subject, roles=("manager",))
        # when
        body = await ask(gateway, token, "{ viewer { subject user { email } } teams { edges { node { name } } } }")
        # then nobody is found, and a manager managing nothing reads no team
        assert body["data"]["viewer"] == {"subject": subject, "user": None}, (tenant, subject)
        assert names(body, "teams") == []


# The statements that look a subject up (by id or external subject): ACCESS_FACTS and USERS_BY_SUBJECT.
SUBJECT_LOOKUP = re.compile(r"\bexternal_subject\s*=", re.IGNORECASE)


@pytest.mark.parametrize(("who", "role"), [
    ("auth0|5f1mia", "manager"), ("manager", "manager"), (str(KEYCLOAK_ADA), "agent"), ("admin", "admin")])
async def test_the_subjects_user_is_looked_up_once_per_operation(
    database: TestDatabase, gateway_factory: GatewayFactory, floor: Floor, who: str, role: str
) -> None:
    statements: list[str] = []

    def log(query: LoggedQuery) -> None:
        statements.append(query.query)

    gateway = await gateway_factory(database, query_logger=log)
    subject = str(getattr(floor, who)) if hasattr(floor, who) else who
    token = gateway.token(floor.tenant, subject, roles=(role,))
    own_id = encode_id("User", floor.admin if who == "admin" else floor.ada if role == "agent" else floor.manager)
    await ask(gateway, token, EXTERNAL_VIEW, me=own_id)  # warms asyncpg's type cache
    statements.clear()
    # when
    body = await ask(gateway, token, EXTERNAL_VIEW, me=own_id)
    # then
    assert "errors" not in body, body
    assert body["data"]["viewer"]["user"] is not None
    assert len([s for s in statements if SUBJECT_LOOKUP.search(s)]) == 1, statements


class _RotatingSecret:
    """A key source whose HS256 secret can be replaced, as a JWKS rotation replaces a key."""

    algorithms = frozenset({"HS256"})

    def __init__(self, secret: str) -> None:
        self.secret = secret

    async def key(self, algorithm: str, kid: str | None) -> str:
        return self.secret

    async def aclose(self) -> None:
        return None


A_SECRET = "a" * 40
ANOTHER_SECRET = "b" * 40


async def test_a_token_verified_before_is_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = TokenVerifier((_RotatingSecret(A_SECRET),), None, None)
    token = mint_token(A_SECRET, tenant_id=uuid.uuid4(), user_id="u", roles=["admin"], ttl_seconds=60)
    first = await verifier.verify(token)
    assert await verifier.verify(token) == first
    later = time.time() + 60 + LEEWAY_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Unauthenticated, match="expired"):
        await verifier.verify(token)


async def test_a_token_verified_before_is_verified_again_when_its_key_changes() -> None:
    source = _RotatingSecret(A_SECRET)
    verifier = TokenVerifier((source,), None, None)
    token = mint_token(A_SECRET, tenant_id=uuid.uuid4(), user_id="u", roles=["admin"])
    await verifier.verify(token)
    source.secret = ANOTHER_SECRET
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(token)
    assert refused.value.reason == "invalid_signature"
