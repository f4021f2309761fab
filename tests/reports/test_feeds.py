"""BI feeds over real HTTP: issue, serve the latest result, revoke; tokens scoped, hashed and never logged."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import logging
import uuid
from typing import Any, Final

import asyncpg
import httpx
import pytest

from gateway.reports.http.feeds import FeedTokenRedaction, redact
from tests.factories import make_user
from tests.reports.http_support import WEEK, Http, agent_week, http_fixture, other_tenant  # noqa: F401

FEEDS: Final = "/api/v1/feeds"


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == code, error
    found: dict[str, Any] = error
    return found


async def issue(http: Http, report_id: object, who: str = "admin", label: str = "Power BI") -> dict[str, Any]:
    response = await http.client.post(f"/api/v1/analytics/reports/{report_id}/feeds", json={"label": label},
                                      headers=http.auth(who))
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


def path_of(url: str) -> str:
    """A feed URL as the gateway handed it out, relative to the test client's base."""
    return url.split("127.0.0.1", 1)[1].split("/", 1)[1].join(["/", ""])


def agents(text: str) -> list[str]:
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    return [row[header.index("Agent")] for row in rows]


async def test_a_feed_serves_its_reports_latest_completed_result_as_csv_and_json(http: Http) -> None:
    # given: a saved report run twice, and a feed of it
    saved = await http.save(agent_week("Feed"))
    await http.run({"reportId": str(saved.id)})
    latest = await http.run({"reportId": str(saved.id), "format": "JSON"})
    feed = await issue(http, saved.id)
    token = feed["token"]
    assert token.startswith("cpf_")
    assert len(token) == 68
    assert set(feed["urls"]) == {"csv", "json"}
    # when: a BI tool reads both URLs, with no other credential
    as_csv = await http.client.get(path_of(feed["urls"]["csv"]))
    as_json = await http.client.get(path_of(feed["urls"]["json"]))
    # then: the latest run, as CSV and JSON
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["x-callpulse-execution"] == latest["id"]
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert agents(as_csv.text) == ["Ann", "Cat", "Ben", "Dex"]
    assert [r["agent"] for r in as_json.json()["rows"]] == ["Ann", "Cat", "Ben", "Dex"]
    assert as_csv.headers["cache-control"] == "private, no-cache"
    assert as_csv.headers["referrer-policy"] == "no-referrer"
    # and with the token in a header instead of the path
    by_header = await http.client.get(f"{FEEDS}/latest.csv", headers={"Authorization": f"Bearer {token}"})
    assert by_header.content == as_csv.content
    # a refresh with the ETag is 304 until a newer run completes
    unchanged = await http.client.get(f"{FEEDS}/{token}.csv", headers={"If-None-Match": as_csv.headers["etag"]})
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    newer = await http.run({"reportId": str(saved.id)})
    changed = await http.client.get(f"{FEEDS}/{token}.csv", headers={"If-None-Match": as_csv.headers["etag"]})
    assert (changed.status_code, changed.headers["x-callpulse-execution"]) == (200, newer["id"])


async def test_a_revoked_feed_is_refused_at_once_in_both_forms(http: Http) -> None:
    # given
    saved = await http.save(agent_week("Revoked feed"))
    await http.run({"reportId": str(saved.id)})
    feed = await issue(http, saved.id)
    token = feed["token"]
    assert (await http.client.get(f"{FEEDS}/{token}.csv")).status_code == 200
    # when
    revoked = await http.client.delete(f"/api/v1/analytics/feeds/{feed['id']}", headers=http.auth())
    # then
    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["active"], revoked.json()["revokedBy"]) == (False, str(http.floor.admin))
    for response in (await http.client.get(f"{FEEDS}/{token}.csv"),
                     await http.client.get(f"{FEEDS}/{token}.json"),
                     await http.client.get(f"{FEEDS}/latest.csv", headers={"Authorization": f"Bearer {token}"})):
        assert error_of(response, 401, "UNAUTHENTICATED")["extensions"]["reason"] == "revoked_token"
    # revoking again changes nothing; the list shows it revoked, and never a token
    again = await http.client.delete(f"/api/v1/analytics/feeds/{feed['id']}", headers=http.auth())
    assert again.json()["revokedAt"] == revoked.json()["revokedAt"]
    listed = await http.client.get(f"/api/v1/analytics/reports/{saved.id}/feeds", headers=http.auth())
    [entry] = listed.json()["feeds"]
    assert (entry["id"], entry["active"], entry["label"]) == (feed["id"], False, "Power BI")
    assert token not in listed.text
    assert "token" not in entry


async def test_a_feed_token_reads_its_own_report_only_and_never_another_tenants(http: Http) -> None:
    # given: two reports, each run and each with a feed
    first, second = await http.save(agent_week("First")), await http.save(agent_week("Second"))
    first_run = await http.run({"reportId": str(first.id)})
    second_run = await http.run({"reportId": str(second.id)})
    first_feed, second_feed = await issue(http, first.id), await issue(http, second.id)
    # then: each token serves its own report's run
    served = {feed["id"]: (await http.client.get(f"{FEEDS}/{feed['token']}.csv")).headers["x-callpulse-execution"]
              for feed in (first_feed, second_feed)}
    assert served == {first_feed["id"]: first_run["id"], second_feed["id"]: second_run["id"]}
    # a token whose secret is changed, or moved to another tenant, is no token
    raw = base64.urlsafe_b64decode(first_feed["token"][4:] + "==")
    for forged in (raw[:16] + raw[16:-1] + bytes([raw[-1] ^ 1]), other_tenant().bytes + raw[16:]):
        token = "cpf_" + base64.urlsafe_b64encode(forged).decode().rstrip("=")
        response = await http.client.get(f"{FEEDS}/{token}.csv")
        assert error_of(response, 401, "UNAUTHENTICATED")["extensions"]["reason"] == "invalid_token"
    for junk in ("cpf_short", "x" * 68, "latest"):
        response = await http.client.get(f"{FEEDS}/{junk}.csv")
        error_of(response, 401, "UNAUTHENTICATED")
    # a JWT is not a feed token either
    response = await http.client.get(f"{FEEDS}/latest.csv", headers=http.auth())
    assert error_of(response, 401, "UNAUTHENTICATED")["extensions"]["reason"] == "invalid_token"
    error_of(await http.client.get(f"{FEEDS}/{first_feed['token']}.pdf"), 400, "BAD_USER_INPUT")


async def test_the_database_holds_only_the_tokens_hash(http: Http) -> None:
    saved = await http.save(agent_week("Hashed"))
    feed = await issue(http, saved.id)
    token = feed["token"]
    stored = await http.sql("SELECT token_hash FROM report_feeds WHERE id = $1", uuid.UUID(feed["id"]))
    assert stored == hashlib.sha256(token.encode()).digest()
    secret = token[4:]
    found = await http.sql("SELECT count(*) FROM report_feeds f WHERE f::text LIKE '%' || $1 || '%' "
                           "OR encode(f.token_hash, 'escape') LIKE '%' || $1 || '%'", secret)
    assert found == 0


async def test_the_token_never_reaches_the_logs(http: Http, caplog: pytest.LogCaptureFixture) -> None:
    # given: logging at INFO, uvicorn's access log included (not the test client's own request log: a BI
    # tool's logs are its own business)
    caplog.set_level(logging.INFO)
    saved = await http.save(agent_week("Logged"))
    await http.run({"reportId": str(saved.id)})
    feed = await issue(http, saved.id)
    token = feed["token"]
    # when: the feed is read, refused, revoked and refused again
    await http.client.get(f"{FEEDS}/{token}.csv")
    await http.client.get(f"{FEEDS}/{token}.csv?bom=maybe")
    await http.client.delete(f"/api/v1/analytics/feeds/{feed['id']}", headers=http.auth())
    await http.client.get(f"{FEEDS}/{token}.json")
    # then: the access log has the requests, with the token redacted
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    messages = [r.getMessage() for r in ours]
    assert any(f"GET {FEEDS}/[redacted].csv HTTP/1.1" in m for m in messages), messages
    assert any(f"GET {FEEDS}/[redacted].json HTTP/1.1" in m for m in messages), messages
    assert not [m for m in messages if token in m or token[4:20] in m]


def test_the_redaction_rewrites_a_records_message_and_arguments() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", f"{FEEDS}/cpf_abc-_DEF.csv?bom=1", "1.1", 200), None)
    assert FeedTokenRedaction().filter(record)
    assert record.getMessage() == f'127.0.0.1:5 - "GET {FEEDS}/[redacted].csv?bom=1 HTTP/1.1" 200'
    assert redact("GET /api/v1/analytics/reports") == "GET /api/v1/analytics/reports"


async def test_feeds_are_managed_by_admins_and_the_reports_creator(http: Http) -> None:
    # given: the admin's report shared with managers, and Mia's own report
    admins = await http.save(agent_week("Admin's", shared_with_roles=("manager",)))
    mias = await http.save(agent_week("Mia's"), who="manager")
    # then: Mia sees the admin's report but may not issue or list its feeds; the agent does not see it at all
    path = f"/api/v1/analytics/reports/{admins.id}/feeds"
    error_of(await http.client.post(path, json={}, headers=http.auth("manager")), 403, "FORBIDDEN")
    error_of(await http.client.get(path, headers=http.auth("manager")), 403, "FORBIDDEN")
    error_of(await http.client.post(path, json={}, headers=http.auth("agent")), 404, "NOT_FOUND")
    error_of(await http.client.post(path, json={}, headers=http.auth("admin", tenant=other_tenant())), 404,
             "NOT_FOUND")
    error_of(await http.client.post(path, json={"label": 5}, headers=http.auth()), 400, "BAD_USER_INPUT")
    # Mia manages her own report's feeds; the admin may revoke them, another tenant may not
    feed = await issue(http, mias.id, who="manager")
    listed = (await http.client.get(f"/api/v1/analytics/reports/{mias.id}/feeds", headers=http.auth())).json()
    assert [f["id"] for f in listed["feeds"]] == [feed["id"]]
    assert listed["feeds"][0]["issuedBy"] == str(http.floor.mia)
    error_of(await http.client.delete(f"/api/v1/analytics/feeds/{feed['id']}",
                                      headers=http.auth("admin", tenant=other_tenant())), 404, "NOT_FOUND")
    error_of(await http.client.delete(f"/api/v1/analytics/feeds/{feed['id']}", headers=http.auth("agent")),
             404, "NOT_FOUND")
    assert (await http.client.delete(f"/api/v1/analytics/feeds/{feed['id']}", headers=http.auth())).status_code \
        == 200


async def test_a_feed_serves_only_runs_its_issuer_may_read_and_stops_with_the_issuers_role(http: Http) -> None:
    # given: a new manager of Red, her report and a feed she issued
    manager = await _new_manager(http)
    as_her = http.auth("manager", subject=str(manager))
    saved = await http.save(agent_week("Her report"), who="manager", user=manager)
    issued = await http.client.post(f"/api/v1/analytics/reports/{saved.id}/feeds", json={}, headers=as_her)
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    # then: before any run there is nothing to serve
    early = await http.client.get(f"{FEEDS}/{token}.csv")
    assert error_of(early, 409, "CONFLICT")["extensions"]["reason"] == "no_completed_run"
    # when: she runs it, then the admin does (a newer run, covering the whole tenant)
    generated = await http.client.post("/api/v1/analytics/reports", json={"reportId": str(saved.id)},
                                       headers=as_her)
    hers = await http.finished(generated.json()["id"])
    await http.run({"reportId": str(saved.id)})
    # then: the feed serves her run, not the admin's
    served = await http.client.get(f"{FEEDS}/{token}.csv")
    assert served.headers["x-callpulse-execution"] == hers["id"]
    assert agents(served.text) == ["Ann", "Ben"]
    # when: she leaves the directory, the feed stops serving
    await http.sql("DELETE FROM users WHERE id = $1 RETURNING id", manager)
    gone = await http.client.get(f"{FEEDS}/{token}.csv")
    assert error_of(gone, 403, "FORBIDDEN")["extensions"]["reason"] == "issuer_without_role"


async def _new_manager(http: Http) -> uuid.UUID:
    """A manager of team Red, in the directory."""
    conn = await asyncpg.connect(http.database.admin_dsn)
    try:
        user = await make_user(conn, http.floor.tenant, f"m{uuid.uuid4().hex[:6]}@reports.test", "manager")
        await conn.execute("INSERT INTO team_managers (tenant_id, team_id, user_id) VALUES ($1, $2, $3)",
                           http.floor.tenant, http.floor.red, user)
    finally:
        await conn.close()
    return user
