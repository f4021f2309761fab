"""The original REST API of reports, for clients that do not speak GraphQL; the same rules as the graph.

    POST /api/v1/analytics/reports        generate: {"type", "parameters", "format"} or {"reportId"[, "format"]}
                                          → 202 with the pending execution, its status URL (Location) and
                                          download URLs; it runs as the caller, and delivers to no one
    GET  /api/v1/analytics/reports        the saved reports the caller may see, by name: ?first=1..100 (50),
                                          ?after=<endCursor>
    GET  /api/v1/analytics/reports/{id}   one saved report and its latest execution (its outputs for those
                                          who may read them)

Any role that reads people's data may generate (admin, manager, agent, viewer): a run reads as its requester,
so its rows follow the requester's role rules. Parameters are checked before anything is enqueued: a bad
definition is BAD_USER_INPUT naming the key, with nothing stored.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from gateway import clock
from gateway.cursors import decode_cursor, encode_cursor
from gateway.errors import BadUserInput, NotFound
from gateway.loaders import Loaders
from gateway.reports import queue, store
from gateway.reports.http._common import (
    authenticate,
    coded,
    enum_value,
    json_body,
    json_response,
    parse_id,
    tenant_session,
)
from gateway.reports.http._json import execution_json, report_json
from gateway.reports.http.exports import TENANT_EXPORT_FORMAT
from gateway.reports.http.visibility import OutputRules, caller_of
from gateway.reports.params import params_from_json, report_type_of
from gateway.reports.queue import FORMATS, NewExecution

DEFAULT_PAGE: Final = 50
MAX_PAGE: Final = 100
GENERATE_KEYS: Final = frozenset({"type", "parameters", "format", "reportId"})


@coded
async def reports(request: Request) -> Response:
    return await (generate(request) if request.method == "POST" else list_reports(request))


async def generate(request: Request) -> Response:
    principal = await authenticate(request)
    body = await json_body(request)
    unknown = sorted(set(body) - GENERATE_KEYS)
    if unknown:
        raise BadUserInput(f"unknown field {unknown[0]!r}; a request is {{type, parameters, format}} or "
                           "{reportId, format}", argument=unknown[0])
    settings = request.app.state.settings
    async with tenant_session(request, principal.tenant_id) as db:
        caller = await caller_of(Loaders.for_session(db), principal)
        report_id = None
        if body.get("reportId") is not None:
            if "type" in body or "parameters" in body:
                raise BadUserInput("give either reportId or a definition (type, parameters), not both",
                                   argument="reportId")
            if not isinstance(body["reportId"], str):
                raise BadUserInput("reportId is an id", argument="reportId")
            report = await store.report_by_id(db, db.tenant_id, parse_id(body["reportId"], "reportId"))
            if report is None or not store.can_see(report, caller.viewer):
                raise NotFound(f"no saved report {body['reportId']}")
            report_id = report.id
            kind = report_type_of(report.definition.report_type)
            raw_params: object = dict(report.definition.params)
            default_format = report.definition.output_format
        else:
            if body.get("type") is None:
                raise BadUserInput("a report request names its type (or the reportId of a saved report)",
                                   argument="type")
            kind = report_type_of(str(body["type"]))
            raw_params = body.get("parameters")
            if raw_params is None:
                raise BadUserInput("a report needs its parameters, at least {\"range\": …}", argument="parameters")
            default_format = await db.fetchval(TENANT_EXPORT_FORMAT, db.tenant_id)
        params = params_from_json(kind, raw_params)
        fmt = default_format if body.get("format") is None else enum_value(body["format"], FORMATS, "format")
        execution_id = await queue.enqueue(db, NewExecution(
            tenant_id=db.tenant_id, report_type=kind.value, output_format=fmt, principal=caller.recorded,
            params=params.to_json(), report_id=report_id), max_attempts=settings.report_max_attempts, now=clock.now())
        execution = await store.execution_by_id(db, db.tenant_id, execution_id)
    assert execution is not None
    answer = execution_json(execution, outputs=True)
    return json_response(answer, status=202, headers={"Location": str(answer["statusUrl"])})


def _page_size(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise BadUserInput(f"first is a whole number from 1 to {MAX_PAGE}", argument="first")
    return int(raw)


async def list_reports(request: Request) -> Response:
    principal = await authenticate(request)
    first = _page_size(request.query_params.get("first"))
    after = None
    if request.query_params.get("after"):
        name, key = decode_cursor(request.query_params["after"], 2)
        if not isinstance(name, str) or not isinstance(key, str):
            raise BadUserInput("the cursor is malformed", argument="after")
        after = (name, parse_id(key, "after"))
    async with tenant_session(request, principal.tenant_id) as db:
        caller = await caller_of(Loaders.for_session(db), principal)
        found = await store.visible_reports(db, caller.viewer, limit=first + 1, after=after)
    page = found[:first]
    end = encode_cursor([page[-1].definition.name, str(page[-1].id)]) if page else None
    return json_response({"reports": [report_json(r, editor=caller.edits(r)) for r in page],
                          "pageInfo": {"hasNextPage": len(found) > first, "endCursor": end}})


@coded
async def report(request: Request) -> Response:
    principal = await authenticate(request)
    report_id = parse_id(request.path_params["report"])
    async with tenant_session(request, principal.tenant_id) as db:
        loaders = Loaders.for_session(db)
        caller = await caller_of(loaders, principal)
        saved = await store.report_by_id(db, db.tenant_id, report_id)
        if saved is None or not store.can_see(saved, caller.viewer):
            raise NotFound(f"no saved report {request.path_params['report']}")
        newest = await store.executions(db, db.tenant_id, limit=1, report_id=saved.id)
        latest = newest[0] if newest else None
        outputs = latest is not None and await OutputRules(db, caller, loaders).covers(latest.principal)
    body: dict[str, Any] = report_json(saved, editor=caller.edits(saved))
    body["latestExecution"] = None if latest is None else execution_json(latest, outputs=outputs)
    return json_response(body)
