"""Screen tokens over real HTTP and websockets: issued by admins only, reading as their owner and changing nothing,
renewed while their grant holds, refused everywhere at once when revoked or ended, never across tenants."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import ClientConnection

from gateway.auth import SCREEN_CLAIM, Principal, Role, principal_from_claims
from gateway.errors import Unauthenticated
from gateway.ids import encode_id
from gateway.live.signals import CHANNEL, REPORTS_CHANNEL
from gateway.loaders.screen import ScreenTokenRow
from gateway.screens import TOKEN_TTL_SECONDS, ScreenRevocations, Screens, ScreenSigner
from tests.conftest import TEST_JWT_SECRET, GatewayFactory, LiveGateway, TestDatabase
from tests.factories import make_user
from tests.resolvers.floor import Floor, build_floor
from tests.test_websocket import LEGACY, TRANSPORT, close_of, init, messages_until_closed, receive, socket, subscribe

SCREEN_FIELDS = """
fragment S on ScreenToken {
  id label user { id email } createdBy createdAt expiresAt revokedAt lastUsedAt active
}
"""
ISSUE = ("mutation($userId: ID!, $label: String!, $days: Int! = 30) { issueScreenToken(userId: $userId, label: $label, "
         "days: $days) { token tokenExpiresAt screenToken { ...S } } }" + SCREEN_FIELDS)
RENEW = "mutation { renewScreenToken { token tokenExpiresAt screenToken { ...S } } }" + SCREEN_FIELDS
REVOKE = "mutation($id: ID!) { revokeScreenToken(id: $id) { ...S } }" + SCREEN_FIELDS
LIST = "query($all: Boolean!) { screenTokens(includeInactive: $all) { ...S } }" + SCREEN_FIELDS
CREATE_WIDGET = ('mutation { createWidget(input: {title: "Calls", type: KPI, position: {x: 0, y: 0, w: 4, h: 2}, '
                 'config: {range: {preset: TODAY}, metrics: [CALLS_TOTAL]}}) { id title } }')
WIDGETS = "{ widgets { id title } }"
AGENTS = "{ agents { totalCount } }"
VIEWER = "{ viewer { subject roles user { email } } }"
HEARTBEAT = "subscription { heartbeat(intervalSeconds: 0.1) }"
COUNT_GRANTS = "SELECT count(*) FROM screen_tokens"
END_GRANT = """
UPDATE screen_tokens SET created_at = now() - interval '31 days', expires_at = now() - interval '1 day'
WHERE tenant_id = $1
"""


@pytest.fixture
async def floor(admin_conn: asyncpg.Connection) -> Floor:
    return await build_floor(admin_conn)


async def post(gateway: LiveGateway, token: str, query: str, **variables: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        return await client.post("/graphql", json={"query": query, "variables": variables},
                                 headers={"Authorization": f"Bearer {token}"})


async def graphql(gateway: LiveGateway, token: str, query: str, **variables: Any) -> dict[str, Any]:
    response = await post(gateway, token, query, **variables)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def data_of(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    first: dict[str, Any] = body["errors"][0]
    return first


def admin(gateway: LiveGateway, floor: Floor) -> str:
    return gateway.token(floor.tenant, str(floor.admin), roles=("admin",))


async def issue(gateway: LiveGateway, floor: Floor, owner: uuid.UUID, label: str = "Lobby wall",
                days: int | None = None) -> dict[str, Any]:
    days_given = {} if days is None else {"days": days}
    body = await graphql(gateway, admin(gateway, floor), ISSUE, userId=encode_id("User", owner), label=label,
                         **days_given)
    issued: dict[str, Any] = data_of(body)["issueScreenToken"]
    return issued


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, TEST_JWT_SECRET, algorithms=["HS256"])
    return claims


@asynccontextmanager
async def screen_socket(gateway: LiveGateway, token: str, protocol: str) -> AsyncIterator[ClientConnection]:
    async with socket(gateway, protocol) as ws:
        await ws.send(init(token))
        assert (await receive(ws))["type"] == "connection_ack"
        yield ws


# ---- issuing ---------------------------------------------------------------------------------------------------

async def test_an_admin_issues_a_screen_token_for_a_users_dashboard_and_its_jwt_names_the_grant(
        gateway: LiveGateway, floor: Floor) -> None:
    # when
    issued = await issue(gateway, floor, floor.manager, days=10)
    # then the grant
    grant = issued["screenToken"]
    assert grant["label"] == "Lobby wall"
    assert grant["user"] == {"id": encode_id("User", floor.manager), "email": "mia@floor.test"}
    assert grant["createdBy"] == str(floor.admin)
    assert (grant["active"], grant["revokedAt"], grant["lastUsedAt"]) == (True, None, None)
    created, ends = datetime.fromisoformat(grant["createdAt"]), datetime.fromisoformat(grant["expiresAt"])
    assert ends - created == timedelta(days=10)
    # and a short-lived token of the role `screen` for the owner, naming the grant
    claims = claims_of(issued["token"])
    assert claims["sub"] == str(floor.manager)
    assert claims["tenant_id"] == str(floor.tenant)
    assert claims["roles"] == ["screen"]
    assert encode_id("ScreenToken", uuid.UUID(claims[SCREEN_CLAIM])) == grant["id"]
    assert claims["exp"] - claims["iat"] == TOKEN_TTL_SECONDS
    assert datetime.fromisoformat(issued["tokenExpiresAt"]).timestamp() == claims["exp"]
    # and the admin's list shows it
    listed = data_of(await graphql(gateway, admin(gateway, floor), LIST, all=False))["screenTokens"]
    assert listed == [grant]


# What issuing refuses, and the argument it names.
BAD_ISSUES: list[tuple[dict[str, Any], str, str]] = [
    ({"days": 0}, "days", "BAD_USER_INPUT"),
    ({"days": 366}, "days", "BAD_USER_INPUT"),
    ({"label": "  "}, "label", "BAD_USER_INPUT"),
    ({"label": "x" * 201}, "label", "BAD_USER_INPUT"),
    ({"userId": encode_id("Agent", uuid.uuid4())}, "userId", "BAD_USER_INPUT"),
    ({"userId": encode_id("User", uuid.uuid4())}, "userId", "NOT_FOUND"),
]


async def test_issuing_is_for_admins_and_refuses_bad_arguments_naming_them_storing_nothing(
        gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection) -> None:
    # given
    manager = gateway.token(floor.tenant, str(floor.manager), roles=("manager",))
    stranger = await make_user(admin_conn, floor.other_tenant, "eve@elsewhere.test", "admin")
    mine: dict[str, Any] = {"userId": encode_id("User", floor.manager), "label": "Wall"}
    # when a manager issues or lists
    by_manager = await graphql(gateway, manager, ISSUE, **mine)
    listed = await graphql(gateway, manager, LIST, all=True)
    # then
    assert error_of(by_manager)["extensions"]["code"] == "FORBIDDEN"
    assert error_of(listed)["extensions"]["code"] == "FORBIDDEN"
    # when an admin sends bad arguments, or names a user of another tenant
    cases = [*BAD_ISSUES, ({"userId": encode_id("User", stranger)}, "userId", "NOT_FOUND")]
    for variables, argument, code in cases:
        body = await graphql(gateway, admin(gateway, floor), ISSUE, **{**mine, **variables})
        # then
        assert error_of(body)["extensions"] == {"code": code, "argument": argument}, variables
    # and renewal is for screens only
    renewal = await graphql(gateway, admin(gateway, floor), RENEW)
    assert error_of(renewal)["extensions"] == {"code": "FORBIDDEN", "reason": "not_a_screen"}
    assert await admin_conn.fetchval(COUNT_GRANTS) == 0


async def test_a_gateway_that_only_verifies_tokens_refuses_to_issue_screen_tokens(
        database: TestDatabase, gateway_factory: GatewayFactory, floor: Floor,
        admin_conn: asyncpg.Connection) -> None:
    # given a gateway with a public key and no secret: it cannot sign
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    gateway = await gateway_factory(database, CALLPULSE_JWT_SECRET="", CALLPULSE_JWT_PUBLIC_KEY=pem,
                                    CALLPULSE_JWT_ISSUER="https://idp.test/")
    now = int(time.time())
    token = jwt.encode({"sub": str(floor.admin), "tenant_id": str(floor.tenant), "roles": ["admin"],
                        "iss": "https://idp.test/", "iat": now, "exp": now + 600}, key, algorithm="RS256")
    # when
    body = await graphql(gateway, token, ISSUE, userId=encode_id("User", floor.manager), label="Wall")
    # then
    error = error_of(body)
    assert error["extensions"] == {"code": "FORBIDDEN", "reason": "no_signing_key"}
    assert "CALLPULSE_JWT_SECRET" in error["message"]
    assert await admin_conn.fetchval(COUNT_GRANTS) == 0


# ---- what a screen may do --------------------------------------------------------------------------------------

async def test_a_screen_reads_under_its_owners_role_over_http_and_websockets_and_sees_only_its_owners_widgets(
        gateway: LiveGateway, floor: Floor) -> None:
    # given widgets of the manager and of the admin
    manager = gateway.token(floor.tenant, str(floor.manager), roles=("manager",))
    mine = data_of(await graphql(gateway, manager, CREATE_WIDGET))["createWidget"]
    data_of(await graphql(gateway, admin(gateway, floor), CREATE_WIDGET))
    screen = (await issue(gateway, floor, floor.manager))["token"]
    # when
    widgets = data_of(await graphql(gateway, screen, WIDGETS))["widgets"]
    agents = data_of(await graphql(gateway, screen, AGENTS))["agents"]
    viewer = data_of(await graphql(gateway, screen, VIEWER))["viewer"]
    async with screen_socket(gateway, screen, TRANSPORT) as ws:
        await ws.send(subscribe("q", AGENTS))
        answered, _ = await receive(ws), await receive(ws)
        await ws.send(subscribe("beat", HEARTBEAT))
        beat = await receive(ws)
    # then: the manager's widgets, the manager's agents (team Red: A and B of three), as the manager
    assert widgets == [mine]
    assert agents == {"totalCount": 2}
    assert viewer == {"subject": str(floor.manager), "roles": ["MANAGER"], "user": {"email": "mia@floor.test"}}
    assert answered == {"id": "q", "type": "next", "payload": {"data": {"agents": {"totalCount": 2}}}}
    assert (beat["id"], beat["type"]) == ("beat", "next")


async def test_a_screen_runs_no_mutation_but_its_renewal_and_ingests_nothing(
        gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection) -> None:
    # given a screen of an admin's dashboard: the owner could write, the screen may not
    screen = (await issue(gateway, floor, floor.admin))["token"]
    # when
    created = await graphql(gateway, screen, CREATE_WIDGET)
    mixed = await graphql(gateway, screen, 'mutation { renewScreenToken { token } deleteCustomMetric(name: "x") }')
    issued = await graphql(gateway, screen, ISSUE, userId=encode_id("User", floor.admin), label="Another")
    listed = await graphql(gateway, screen, LIST, all=True)
    async with screen_socket(gateway, screen, TRANSPORT) as ws:
        await ws.send(subscribe("w", CREATE_WIDGET))
        over_socket = await receive(ws)
    # POST /api/v1/events verifies tokens without admitting screens: the role `screen` grants nothing there
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        ingest = await client.post("/api/v1/events", content="[]", headers={
            "Authorization": f"Bearer {screen}", "Content-Type": "application/json"})
    # then
    for body in (created, mixed, issued):
        assert error_of(body)["extensions"]["code"] == "FORBIDDEN"
        assert error_of(body)["extensions"]["reason"] == "read_only_screen"
        assert body["data"] is None
    assert error_of(listed)["extensions"] == {"code": "FORBIDDEN", "reason": "read_only_screen"}
    assert over_socket["type"] == "error"
    assert over_socket["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    assert ingest.status_code == 403
    assert ingest.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await admin_conn.fetchval("SELECT count(*) FROM dashboard_widgets") == 0
    assert await admin_conn.fetchval(COUNT_GRANTS) == 1


# ---- renewal ---------------------------------------------------------------------------------------------------

async def test_a_screen_renews_its_token_while_the_grant_holds_never_past_its_end_and_the_use_is_recorded(
        gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection) -> None:
    # given
    issued = await issue(gateway, floor, floor.manager)
    # when
    renewed = data_of(await graphql(gateway, issued["token"], RENEW))["renewScreenToken"]
    # then a token for the same grant and owner, which reads as the first did
    claims, first = claims_of(renewed["token"]), claims_of(issued["token"])
    assert (claims["sub"], claims[SCREEN_CLAIM], claims["roles"]) == (first["sub"], first[SCREEN_CLAIM], ["screen"])
    assert claims["exp"] >= first["exp"]
    assert renewed["screenToken"]["id"] == issued["screenToken"]["id"]
    assert renewed["screenToken"]["lastUsedAt"] is not None
    assert data_of(await graphql(gateway, renewed["token"], AGENTS))["agents"] == {"totalCount": 2}
    # and the admin sees the use
    [listed] = data_of(await graphql(gateway, admin(gateway, floor), LIST, all=False))["screenTokens"]
    assert listed["lastUsedAt"] == renewed["screenToken"]["lastUsedAt"]
    # when the grant ends in ten minutes
    await admin_conn.execute("UPDATE screen_tokens SET expires_at = now() + interval '10 minutes'")
    last = data_of(await graphql(gateway, renewed["token"], RENEW))["renewScreenToken"]
    # then the token ends with it
    ends = datetime.fromisoformat(last["screenToken"]["expiresAt"])
    assert claims_of(last["token"])["exp"] == int(ends.timestamp())
    assert datetime.fromisoformat(last["tokenExpiresAt"]) <= ends


# ---- revocation and the grant's end ----------------------------------------------------------------------------

async def test_a_revoked_screen_token_is_refused_at_http_at_renewal_and_at_connection_init(
        gateway: LiveGateway, floor: Floor) -> None:
    # given two grants
    token = admin(gateway, floor)
    issued = await issue(gateway, floor, floor.manager, label="First")
    other = (await issue(gateway, floor, floor.viewer, label="Second"))["screenToken"]
    screen, grant = issued["token"], issued["screenToken"]["id"]
    # when the first is revoked, twice
    revoked = data_of(await graphql(gateway, token, REVOKE, id=grant))["revokeScreenToken"]
    again = data_of(await graphql(gateway, token, REVOKE, id=grant))["revokeScreenToken"]
    query, renewal = await post(gateway, screen, AGENTS), await post(gateway, screen, RENEW)
    closes = []
    for protocol in (TRANSPORT, LEGACY):
        async with socket(gateway, protocol) as ws:
            await ws.send(init(screen))
            closes.append(await close_of(ws))
    # then
    assert (revoked["active"], revoked["revokedAt"] is not None) == (False, True)
    assert again["revokedAt"] == revoked["revokedAt"]
    for response in (query, renewal):
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert response.json()["errors"][0]["extensions"]["reason"] == "revoked_token"
    assert closes == [(4403, "Forbidden: revoked_token")] * 2
    # and the admin's list shows it only with the inactive ones, newest first
    active = data_of(await graphql(gateway, token, LIST, all=False))["screenTokens"]
    every = data_of(await graphql(gateway, token, LIST, all=True))["screenTokens"]
    assert active == [other]
    assert [g["label"] for g in every] == ["Second", "First"]


async def test_revoking_closes_the_screens_open_sockets_at_once_after_ending_their_operations(
        gateway: LiveGateway, floor: Floor) -> None:
    # given a screen streaming a subscription over each protocol; its token lives another hour
    issued = await issue(gateway, floor, floor.manager)
    async with screen_socket(gateway, issued["token"], TRANSPORT) as ws, \
            screen_socket(gateway, issued["token"], LEGACY) as legacy:
        await ws.send(subscribe("beat", HEARTBEAT, TRANSPORT))
        await legacy.send(subscribe("beat", HEARTBEAT, LEGACY))
        assert (await receive(ws))["id"] == (await receive(legacy))["id"] == "beat"
        # when an admin revokes it
        data_of(await graphql(gateway, admin(gateway, floor), REVOKE, id=issued["screenToken"]["id"]))
        _, close = await messages_until_closed(ws)
        messages, legacy_close = await messages_until_closed(legacy)
    # then
    assert close == legacy_close == (4403, "Forbidden: the screen token has been revoked")
    assert [m["type"] for m in messages[-2:]] == ["complete", "connection_error"]
    assert messages[-1]["payload"]["extensions"] == {"code": "UNAUTHENTICATED", "reason": "revoked_token"}


async def test_a_socket_whose_revocation_signal_was_missed_closes_at_the_listeners_recheck(
        gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection) -> None:
    # given an open screen socket, and a grant revoked behind the gateway's back (no signal)
    issued = await issue(gateway, floor, floor.manager)
    app: Any = gateway.server.config.app
    screens: Screens = app.state.screens
    async with screen_socket(gateway, issued["token"], TRANSPORT) as ws:
        await ws.send(subscribe("beat", HEARTBEAT))
        assert (await receive(ws))["id"] == "beat"
        await admin_conn.execute("UPDATE screen_tokens SET revoked_at = now()")
        # when the listener reconnects and rechecks
        await screens.revocations.recheck(app.state.db.app)
        _, close = await messages_until_closed(ws)
    # then
    assert close == (4403, "Forbidden: the screen token has been revoked")
    assert screens.revocations.sockets == 0


async def test_an_ended_grant_is_refused_at_http_at_renewal_and_at_connection_init(
        gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection) -> None:
    # given a grant whose end has passed (its token has not)
    screen = (await issue(gateway, floor, floor.manager))["token"]
    await admin_conn.execute(END_GRANT, floor.tenant)
    # when
    query, renewal = await post(gateway, screen, AGENTS), await post(gateway, screen, RENEW)
    async with socket(gateway, TRANSPORT) as ws:
        await ws.send(init(screen))
        close = await close_of(ws)
    listed = data_of(await graphql(gateway, admin(gateway, floor), LIST, all=True))["screenTokens"]
    # then
    for response in (query, renewal):
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["reason"] == "screen_expired"
    assert close == (4403, "Forbidden: screen_expired")
    assert [g["active"] for g in listed] == [False]
    assert data_of(await graphql(gateway, admin(gateway, floor), LIST, all=False))["screenTokens"] == []


# ---- tenants ---------------------------------------------------------------------------------------------------

async def test_another_tenants_screen_token_never_resolves_and_a_token_must_name_its_grants_owner(
        gateway: LiveGateway, floor: Floor, admin_conn: asyncpg.Connection) -> None:
    # given a grant of the floor's tenant, and an admin of another tenant
    issued = await issue(gateway, floor, floor.manager)
    grant = issued["screenToken"]["id"]
    claims = claims_of(issued["token"])
    stranger = await make_user(admin_conn, floor.other_tenant, "eve@elsewhere.test", "admin")
    other_admin = gateway.token(floor.other_tenant, str(stranger), roles=("admin",))
    # and tokens naming the grant for the other tenant, or for another user (as a holder of the key could mint)
    elsewhere = jwt.encode({**claims, "tenant_id": str(floor.other_tenant)}, TEST_JWT_SECRET, algorithm="HS256")
    someone = jwt.encode({**claims, "sub": str(floor.admin)}, TEST_JWT_SECRET, algorithm="HS256")
    # when
    revoked = await graphql(gateway, other_admin, REVOKE, id=grant)
    listed = data_of(await graphql(gateway, other_admin, LIST, all=True))["screenTokens"]
    used_elsewhere, used_by_someone = await post(gateway, elsewhere, AGENTS), await post(gateway, someone, AGENTS)
    # then
    assert error_of(revoked)["extensions"] == {"code": "NOT_FOUND", "argument": "id"}
    assert listed == []
    assert used_elsewhere.status_code == used_by_someone.status_code == 401
    assert used_elsewhere.json()["errors"][0]["extensions"]["reason"] == "revoked_token"
    assert used_by_someone.json()["errors"][0]["extensions"]["reason"] == "invalid_claims"
    # and the grant still holds in its own tenant
    assert data_of(await graphql(gateway, issued["token"], AGENTS))["agents"] == {"totalCount": 2}


# ---- the token itself (no database) ----------------------------------------------------------------------------

def _row(screen_id: uuid.UUID, user_id: uuid.UUID) -> ScreenTokenRow:
    now = datetime.fromisoformat("2026-03-02T12:00:00+00:00")
    return ScreenTokenRow(id=screen_id, user_id=user_id, label="Wall", created_by="admin", created_at=now,
                          expires_at=now + timedelta(days=30), revoked_at=None, last_used_at=None, active=True,
                          now_epoch=int(now.timestamp()))


def test_a_minted_screen_token_puts_its_claims_where_the_verifier_reads_them() -> None:
    # given a deployment reading the tenant and the roles at claim paths of its own
    signer = ScreenSigner("s" * 32, issuer="https://callpulse.test/", audience="callpulse",
                          tenant_claim="app_metadata.tenant", roles_claim="realm_access.roles")
    tenant, screen_id, owner = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # when
    minted = signer.mint(tenant, _row(screen_id, owner))
    claims = jwt.decode(minted.token, "s" * 32, algorithms=["HS256"], audience="callpulse",
                        options={"verify_exp": False})
    principal = principal_from_claims(claims, tenant_claim="app_metadata.tenant", roles_claim="realm_access.roles")
    # then
    assert (principal.tenant_id, principal.user_id, principal.roles, principal.screen_id) == (
        tenant, str(owner), frozenset({Role.SCREEN}), screen_id)
    assert claims["iss"] == "https://callpulse.test/"


@pytest.mark.parametrize("claims", [
    {"roles": ["screen"]},
    {"roles": ["screen"], SCREEN_CLAIM: "not-a-uuid"},
    {"roles": ["screen", "admin"], SCREEN_CLAIM: str(uuid.uuid4())},
])
def test_a_screen_role_needs_its_grant_and_nothing_else(claims: dict[str, Any]) -> None:
    with pytest.raises(Unauthenticated) as refused:
        principal_from_claims({"sub": "x", "tenant_id": str(uuid.uuid4()), "exp": 1, **claims})
    assert refused.value.reason == "invalid_claims"


def test_a_grant_claim_in_a_token_of_another_role_is_ignored() -> None:
    principal = principal_from_claims({"sub": "x", "tenant_id": str(uuid.uuid4()), "roles": ["viewer"],
                                       SCREEN_CLAIM: json.dumps({"something": "else"})})
    assert principal.screen_id is None


# ---- the revocation watch (no database) ------------------------------------------------------------------------

def _screen_principal(tenant: uuid.UUID, screen_id: uuid.UUID) -> Principal:
    return Principal(user_id=str(uuid.uuid4()), tenant_id=tenant, roles=frozenset({Role.MANAGER}),
                     screen_id=screen_id)


async def test_revocations_are_taken_off_the_change_channel_and_every_other_signal_passes_on() -> None:
    # given a socket watching its grant
    revocations, passed = ScreenRevocations(), list[tuple[str, str]]()
    deliver = revocations.ahead_of(lambda channel, payload: passed.append((channel, payload)))
    tenant, screen_id = uuid.uuid4(), uuid.uuid4()
    data = json.dumps({"tenant": str(tenant), "scopes": [], "from": "2026-03-02T00:00:00+00:00",
                       "to": "2026-03-02T00:00:00+00:00"})
    config = json.dumps({"tenant": str(tenant), "config": "directory"})
    revocation = json.dumps({"screen": str(screen_id), "tenant": str(tenant)})
    with revocations.watching(_screen_principal(tenant, screen_id)) as revoked:
        # when the channels carry changes, the revocation on another channel, one of another tenant, then its own
        deliver(CHANNEL, data)
        deliver(CHANNEL, config)
        deliver(REPORTS_CHANNEL, revocation)
        deliver(CHANNEL, json.dumps({"screen": str(screen_id), "tenant": str(uuid.uuid4())}))
        assert not revoked.is_set()
        deliver(CHANNEL, revocation)
        # then
        assert revoked.is_set()
    assert passed == [(CHANNEL, data), (CHANNEL, config), (REPORTS_CHANNEL, revocation)]
    assert revocations.sockets == 0


async def test_a_socket_that_starts_watching_just_after_its_grant_was_revoked_is_told() -> None:
    revocations = ScreenRevocations()
    tenant, screen_id = uuid.uuid4(), uuid.uuid4()
    revocations.revoked(tenant, screen_id)
    with revocations.watching(_screen_principal(tenant, screen_id)) as revoked:
        assert revoked.is_set()
