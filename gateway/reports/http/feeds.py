"""BI feeds: a read-only URL serving one saved report's latest completed result, with a revocable token of its own.

    POST   /api/v1/analytics/reports/{id}/feeds   issue (admin, the report's creator): {"label"} → 201 with the
                                                   token, shown this once, and the feed's URLs
    GET    /api/v1/analytics/reports/{id}/feeds   the report's feeds (admin, the creator); never their tokens
    DELETE /api/v1/analytics/feeds/{feedId}       revoke (admin, the creator, the issuer): refused at once after
    GET    /api/v1/feeds/{token}.csv | .json      the latest completed result (?bom=1, ?header=keys for CSV)
    GET    /api/v1/feeds/latest.csv | .json       the same, the token in `Authorization: Bearer cpf_…`

Excel's and Power BI's web connectors take a plain URL and refresh it on their own, so the token goes in the
path; tools that can send a header should use the second form, which keeps the token out of URLs (proxy
logs, browser history). The gateway's own logs never hold it: FeedTokenRedaction rewrites the feed paths of
the access log (uvicorn.access) and of the error logs before any handler sees them.

A token is `cpf_` + base64url(tenant id, 16 bytes ‖ 32 random bytes): only its SHA-256 is stored. The tenant's
id in front lets the request path look the hash up under that tenant's row-level security, so a feed request
reads nothing of another tenant and the table needs no cross-tenant access; the 32 random bytes are the secret.
A feed reads as its issuer, with the issuer's current directory role (like scheduled runs): it serves the
newest completed execution of its report that the issuer may read (gateway/reports/http/visibility.py), and
stops serving when the issuer loses the role or the report. Unknown and revoked tokens are UNAUTHENTICATED (401,
reason `invalid_token` / `revoked_token`).

The functions (issue_feed, report_feeds, revoke_feed, open_feed) take a TenantSession and a Caller, so the
GraphQL API can expose them with a thin resolver each.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response

from gateway import clock
from gateway.auth import READERS
from gateway.db import TenantSession
from gateway.errors import BadUserInput, Conflict, Forbidden, NotFound, Unauthenticated
from gateway.loaders import Loaders
from gateway.reports import store
from gateway.reports.http._common import (
    authenticate,
    coded,
    json_body,
    json_response,
    parse_id,
    tenant_session,
)
from gateway.reports.http._json import FEEDS_PATH
from gateway.reports.http.exports import ExportOptions, export_format, export_response
from gateway.reports.http.visibility import Caller, OutputRules, caller_of
from gateway.reports.queue import RecordedPrincipal
from gateway.reports.render import ExportFormat
from gateway.reports.store import Execution, SavedReport

log = logging.getLogger(__name__)

TOKEN_PREFIX: Final = "cpf_"  # noqa: S105 - the prefix, not a token
SECRET_BYTES: Final = 32
# 16 bytes of tenant id and the secret, base64url without padding.
TOKEN_LENGTH: Final = len(TOKEN_PREFIX) + 64
MAX_LABEL: Final = 200
FEED_FORMATS: Final = (ExportFormat.CSV, ExportFormat.JSON)
# The path segment that takes its token from the Authorization header.
HEADER_FORM: Final = "latest"
# Completed executions looked through for the newest one the issuer may read.
SERVE_SCAN: Final = 50
FEED_CACHE: Final = "private, no-cache"

FEED_COLUMNS: Final = """tenant_id, id, report_id, label, issued_by, created_at, revoked_at, revoked_by,
last_used_at"""
INSERT_FEED: Final = f"""
INSERT INTO report_feeds (tenant_id, report_id, token_hash, label, issued_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING {FEED_COLUMNS}
"""  # noqa: S608 - constant columns
FEEDS_OF_REPORT: Final = f"""
SELECT {FEED_COLUMNS} FROM report_feeds WHERE tenant_id = $1 AND report_id = $2 ORDER BY created_at DESC, id DESC
"""  # noqa: S608 - constant columns
FEED_BY_ID: Final = f"SELECT {FEED_COLUMNS} FROM report_feeds WHERE tenant_id = $1 AND id = $2"  # noqa: S608
# Revoked once: a second revocation keeps the first one's time and author.
REVOKE_FEED: Final = f"""
UPDATE report_feeds SET revoked_at = coalesce(revoked_at, $3), revoked_by = coalesce(revoked_by, $4)
WHERE tenant_id = $1 AND id = $2
RETURNING {FEED_COLUMNS}
"""  # noqa: S608 - constant columns
# The feed a token's hash names, with its issuer's current directory role (NULL: not a directory user now).
FEED_BY_TOKEN: Final = f"""
SELECT {", ".join("f." + c.strip() for c in FEED_COLUMNS.split(","))}, u.role AS issuer_role
FROM report_feeds f
LEFT JOIN users u ON u.tenant_id = f.tenant_id AND u.id = (f.issued_by ->> 'user_id')::uuid
WHERE f.tenant_id = $1 AND f.token_hash = $2
"""  # noqa: S608 - constant columns
# Newest first, who each ran as: the whole row is read only for the one served.
COMPLETED_RUNS: Final = """
SELECT id, principal FROM report_executions
WHERE tenant_id = $1 AND report_id = $2 AND status = 'completed'
ORDER BY finished_at DESC, id DESC
LIMIT $3
"""
TOUCH_FEED: Final = """
UPDATE report_feeds SET last_used_at = $3
WHERE tenant_id = $1 AND id = $2
  AND (last_used_at IS NULL OR last_used_at < $3::timestamptz - interval '1 minute')
"""


# Tokens ---------------------------------------------------------------------------------------------------


def new_token(tenant_id: UUID) -> str:
    return TOKEN_PREFIX + base64.urlsafe_b64encode(tenant_id.bytes + secrets.token_bytes(SECRET_BYTES)
                                                   ).decode().rstrip("=")


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def token_tenant(token: str) -> UUID | None:
    """The tenant a well-formed token names; None for anything else."""
    if len(token) != TOKEN_LENGTH or not token.startswith(TOKEN_PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(token[len(TOKEN_PREFIX):] + "==")
    except (binascii.Error, ValueError):
        return None
    return UUID(bytes=raw[:16]) if len(raw) == 16 + SECRET_BYTES else None


# Feeds ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feed:
    tenant_id: UUID
    id: UUID
    report_id: UUID
    label: str
    issued_by: RecordedPrincipal
    created_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> Feed:
        return cls(tenant_id=row["tenant_id"], id=row["id"], report_id=row["report_id"], label=row["label"],
                   issued_by=RecordedPrincipal.from_json(row["issued_by"]), created_at=row["created_at"],
                   revoked_at=row["revoked_at"], revoked_by=row["revoked_by"], last_used_at=row["last_used_at"])

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class IssuedFeed:
    feed: Feed
    # Shown once, to whoever issued the feed; only its hash is stored.
    token: str


@dataclass(frozen=True)
class ServedFeed:
    feed: Feed
    execution: Execution


async def _managed_report(db: TenantSession, caller: Caller, report_id: UUID) -> SavedReport:
    """The report, if the caller may manage its feeds (those who may edit it: admins, the manager who created
    it); NOT_FOUND when it may not see it."""
    report = await store.report_by_id(db, db.tenant_id, report_id)
    if report is None or not store.can_see(report, caller.viewer):
        raise NotFound(f"no saved report {report_id}")
    if not caller.edits(report):
        raise Forbidden("only admins and the report's creator manage its feeds")
    return report


async def issue_feed(db: TenantSession, caller: Caller, report_id: UUID, label: str = "",
                     now: datetime | None = None) -> IssuedFeed:
    """A new feed of the report, reading as the caller; its token is in the answer and nowhere else."""
    if len(label) > MAX_LABEL:
        raise BadUserInput(f"a label has at most {MAX_LABEL} characters", argument="label")
    report = await _managed_report(db, caller, report_id)
    token = new_token(db.tenant_id)
    row = await db.fetchrow(INSERT_FEED, db.tenant_id, report.id, token_hash(token), label,
                            caller.recorded.to_json(), now or clock.now())
    feed = Feed.of(row)
    log.info("feed %s of report %s issued by %s", feed.id, report.id, caller.principal.user_id)
    return IssuedFeed(feed=feed, token=token)


async def report_feeds(db: TenantSession, caller: Caller, report_id: UUID) -> list[Feed]:
    """The report's feeds, newest first, revoked ones too."""
    report = await _managed_report(db, caller, report_id)
    return [Feed.of(r) for r in await db.fetch(FEEDS_OF_REPORT, db.tenant_id, report.id)]


async def revoke_feed(db: TenantSession, caller: Caller, feed_id: UUID, now: datetime | None = None) -> Feed:
    """Revokes the feed (again: no change); its token is refused from the commit on."""
    row = await db.fetchrow(FEED_BY_ID, db.tenant_id, feed_id)
    if row is None:
        raise NotFound(f"no feed {feed_id}")
    feed = Feed.of(row)
    if not caller.created(feed.issued_by):
        await _managed_report(db, caller, feed.report_id)
    revoked = Feed.of(await db.fetchrow(REVOKE_FEED, db.tenant_id, feed_id, now or clock.now(),
                                        caller.principal.user_id))
    log.info("feed %s of report %s revoked by %s", feed.id, feed.report_id, caller.principal.user_id)
    return revoked


def _issuer(feed: Feed, directory_role: str | None) -> Caller:
    """Who the feed reads as: its issuer, with the directory's current role when the issuer is a user."""
    issuer = feed.issued_by
    if issuer.user_id is not None:
        issuer = RecordedPrincipal(subject=issuer.subject, user_id=issuer.user_id,
                                   roles=(directory_role,) if directory_role is not None else ())
    return Caller(principal=issuer.principal(feed.tenant_id), user_id=issuer.user_id)


async def open_feed(db: TenantSession, token: str) -> ServedFeed:
    """The feed a token names and the execution it serves now; UNAUTHENTICATED for an unknown or revoked
    token, FORBIDDEN when its issuer may no longer read the report, CONFLICT before a run it may serve."""
    row = await db.fetchrow(FEED_BY_TOKEN, db.tenant_id, token_hash(token))
    if row is None:
        raise Unauthenticated("this feed token is not valid", reason="invalid_token")
    feed = Feed.of(row)
    if not feed.active:
        raise Unauthenticated("this feed has been revoked", reason="revoked_token")
    issuer = _issuer(feed, row["issuer_role"])
    if not issuer.principal.has(*READERS):
        raise Forbidden("the feed's issuer no longer holds a role that reads reports; issue a new feed",
                        reason="issuer_without_role")
    report = await store.report_by_id(db, db.tenant_id, feed.report_id)
    if report is None or not store.can_see(report, issuer.viewer):
        raise Forbidden("the feed's issuer may no longer see its report; issue a new feed",
                        reason="issuer_without_report")
    rules = OutputRules(db, issuer)
    for candidate in await db.fetch(COMPLETED_RUNS, db.tenant_id, report.id, SERVE_SCAN):
        if await rules.covers(RecordedPrincipal.from_json(candidate["principal"])):
            execution = await store.execution_by_id(db, db.tenant_id, candidate["id"])
            if execution is not None:
                return ServedFeed(feed=feed, execution=execution)
    raise Conflict("the report has no completed run this feed may serve yet", reason="no_completed_run")


async def touch(db: TenantSession, feed: Feed, now: datetime | None = None) -> None:
    await db.execute(TOUCH_FEED, db.tenant_id, feed.id, now or clock.now())


# Log redaction --------------------------------------------------------------------------------------------

_FEED_PATH: Final = re.compile(r"(/api/v1/feeds/)[^\s\"'?#/.]+")
REDACTED_LOGGERS: Final = ("uvicorn.access", "uvicorn.error", "gateway.http_errors")


def redact(text: str) -> str:
    """`/api/v1/feeds/cpf_….csv` → `/api/v1/feeds/[redacted].csv`."""
    return _FEED_PATH.sub(r"\1[redacted]", text) if "/api/v1/feeds/" in text else text


class FeedTokenRedaction(logging.Filter):
    """Rewrites feed paths in a record's message and arguments, for every handler that sees it afterwards."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install_token_redaction() -> None:
    """Adds the redaction to the loggers that write request paths: uvicorn's access and error logs, and the
    gateway's fault barrier (idempotent)."""
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, FeedTokenRedaction) for f in logger.filters):
            logger.addFilter(FeedTokenRedaction())


# Endpoints ------------------------------------------------------------------------------------------------


def feed_json(feed: Feed) -> dict[str, object]:
    return {"id": feed.id, "reportId": feed.report_id, "label": feed.label, "issuedBy": feed.issued_by.subject,
            "createdAt": feed.created_at, "lastUsedAt": feed.last_used_at, "revokedAt": feed.revoked_at,
            "revokedBy": feed.revoked_by, "active": feed.active, "url": f"/api/v1/analytics/feeds/{feed.id}"}


def feed_urls(request: Request, token: str) -> dict[str, str]:
    base = str(request.base_url).rstrip("/")
    return {f.value: f"{base}{FEEDS_PATH}/{token}.{f.value}" for f in FEED_FORMATS}


@coded
async def feeds_of_report(request: Request) -> Response:
    """POST issues a feed of the report, GET lists its feeds."""
    principal = await authenticate(request)
    report_id = parse_id(request.path_params["report"])
    body = await json_body(request) if request.method == "POST" else {}
    async with tenant_session(request, principal.tenant_id) as db:
        caller = await caller_of(Loaders.for_session(db), principal)
        if request.method == "GET":
            found = await report_feeds(db, caller, report_id)
            return json_response({"feeds": [feed_json(f) for f in found]})
        label = body.get("label", "")
        if not isinstance(label, str):
            raise BadUserInput("label is text", argument="label")
        issued = await issue_feed(db, caller, report_id, label)
    base = str(request.base_url).rstrip("/")
    answer = {**feed_json(issued.feed), "token": issued.token, "urls": feed_urls(request, issued.token),
              "headerUrls": {f.value: f"{base}{FEEDS_PATH}/{HEADER_FORM}.{f.value}" for f in FEED_FORMATS}}
    return json_response(answer, status=201, headers={"Location": str(answer["url"]),
                                                      "Cache-Control": "no-store"})


@coded
async def feed(request: Request) -> Response:
    """DELETE /api/v1/analytics/feeds/{feedId}: revokes the feed."""
    principal = await authenticate(request)
    feed_id = parse_id(request.path_params["feed"])
    async with tenant_session(request, principal.tenant_id) as db:
        revoked = await revoke_feed(db, await caller_of(Loaders.for_session(db), principal), feed_id)
    return json_response(feed_json(revoked))


def _token_of(request: Request, segment: str) -> str:
    if segment != HEADER_FORM:
        return segment
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthenticated(f"{FEEDS_PATH}/{HEADER_FORM}.csv takes the feed token in `Authorization: Bearer "
                              f"{TOKEN_PREFIX}…`", reason="missing_token")
    return credentials.strip()


@coded
async def serve(request: Request) -> Response:
    """GET /api/v1/feeds/{token}.{csv|json} (or latest.{csv|json} with the token in the header)."""
    segment, dot, extension = request.path_params["feed"].rpartition(".")
    if not dot:
        raise BadUserInput("a feed URL ends in .csv or .json", reason="unknown_format")
    fmt = export_format(extension)
    if fmt not in FEED_FORMATS:
        raise BadUserInput("feeds serve .csv and .json", reason="unknown_format")
    token = _token_of(request, segment)
    tenant = token_tenant(token)
    if tenant is None:
        raise Unauthenticated("this feed token is not valid", reason="invalid_token")
    options = ExportOptions.of(request.query_params)
    db = TenantSession(request.app.state.db.app, tenant)
    try:
        served = await open_feed(db, token)

        async def used(session: TenantSession) -> None:
            await touch(session, served.feed)

        return await export_response(db, served.execution, fmt, options,
                                     pdf_max_rows=request.app.state.settings.report_pdf_max_rows,
                                     if_none_match=request.headers.get("if-none-match"), cache=FEED_CACHE,
                                     on_complete=used)
    except BaseException:
        await db.close(commit=False)
        raise

