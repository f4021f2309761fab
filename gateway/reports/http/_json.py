"""The REST bodies: saved reports, executions and feeds in camelCase, enums spelled as the GraphQL API does."""

from __future__ import annotations

from typing import Any, Final

from gateway.reports.render import ExportFormat
from gateway.reports.store import Execution, SavedReport

REPORTS_PATH: Final = "/api/v1/analytics/reports"
EXECUTIONS_PATH: Final = "/api/v1/analytics/executions"
FEEDS_PATH: Final = "/api/v1/feeds"


def execution_urls(execution_id: object) -> dict[str, object]:
    base = f"{EXECUTIONS_PATH}/{execution_id}"
    return {"statusUrl": base, "downloadUrls": {f.name.lower(): f"{base}.{f.value}" for f in ExportFormat}}


def execution_json(e: Execution, *, outputs: bool) -> dict[str, Any]:
    """An execution's status; its outputs (row count, file) only when the caller may read them (`outputs`)."""
    error = None if e.error_code is None and e.error is None else {"code": e.error_code, "message": e.error}
    return {
        "id": e.id,
        "reportId": e.report_id,
        "reportType": e.report_type.upper(),
        "format": e.output_format.upper(),
        "status": e.status.upper(),
        "parameters": e.params,
        "runAs": {"subject": e.principal.subject, "roles": list(e.principal.roles)},
        "attempt": e.attempt,
        "maxAttempts": e.max_attempts,
        "scheduledFor": e.scheduled_slot,
        "canReadOutputs": outputs,
        "rowCount": e.row_count if outputs else None,
        "fileName": e.file_name if outputs else None,
        "fileBytes": e.file_bytes if outputs else None,
        "error": error,
        "createdAt": e.created_at,
        "startedAt": e.started_at,
        "finishedAt": e.finished_at,
        **execution_urls(e.id),
    }


def report_json(r: SavedReport, *, editor: bool) -> dict[str, Any]:
    """A saved report; recipients and sharing only for those who may edit it (a webhook URL may hold a token)."""
    d = r.definition
    return {
        "id": r.id,
        "name": d.name,
        "description": d.description,
        "reportType": d.report_type.upper(),
        "format": d.output_format.upper(),
        "parameters": dict(d.params),
        "schedule": d.schedule_cron,
        "deliveryMode": d.delivery_mode.upper(),
        "recipients": ([{"channel": x.channel.upper(), "address": x.address} for x in d.recipients]
                       if editor else None),
        "sharedWith": ({"users": list(d.shared_with_users), "roles": [x.upper() for x in d.shared_with_roles]}
                       if editor else None),
        "createdBy": r.created_by.subject,
        "createdAt": r.created_at,
        "updatedAt": r.updated_at,
        "nextRunAt": r.next_run_at,
        "url": f"{REPORTS_PATH}/{r.id}",
    }
