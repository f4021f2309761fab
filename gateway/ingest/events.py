"""The event contract (docs/events.md): envelope, types, fields, and validation of one event at a time."""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any, Final
from uuid import UUID

import orjson

from gateway.errors import ErrorCode

# Events further from now than this are refused as out of range (clock bugs, not late data).
MAX_FUTURE_SECONDS: Final = 7 * 24 * 3600
EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
STAGES: Final = ("new", "contacted", "qualified", "proposal", "won", "lost")


class Invalid(Exception):
    """One field of one event is wrong."""

    def __init__(self, field: str, reason: str, code: ErrorCode = ErrorCode.BAD_USER_INPUT) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.code = code


Parser = Callable[[str, Any], Any]

# The form str(UUID) gives: most clients send exactly this, and matching it is five times cheaper than parsing.
_CANONICAL_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").fullmatch


def _uuid(field: str, value: Any) -> str:
    """A UUID in its canonical text form (ids travel to PostgreSQL as text and are compared as such)."""
    if not isinstance(value, str):
        raise Invalid(field, f"{field} must be a UUID string")
    if _CANONICAL_UUID(value) is not None:
        return value
    try:
        return str(UUID(value))
    except ValueError:
        raise Invalid(field, f"{field} is not a valid UUID: {value!r}") from None


def _text(max_length: int) -> Parser:
    def parse(field: str, value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(field, f"{field} must be a string")
        if not 1 <= len(value) <= max_length:
            raise Invalid(field, f"{field} must be 1 to {max_length} characters long")
        return value
    return parse


def _choice(*allowed: str) -> Parser:
    def parse(field: str, value: Any) -> str:
        if value not in allowed:
            raise Invalid(field, f"{field} must be one of {', '.join(allowed)}; got {value!r}")
        return str(value)
    return parse


def _int(low: int, high: int) -> Parser:
    def parse(field: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(field, f"{field} must be an integer")
        if not low <= value <= high:
            raise Invalid(field, f"{field} must be between {low} and {high}; got {value}")
        return value
    return parse


def _money(high: Decimal) -> Parser:
    def parse(field: str, value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise Invalid(field, f"{field} must be a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise Invalid(field, f"{field} must be finite")
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise Invalid(field, f"{field} must be a number") from None
        if not amount.is_finite() or not Decimal(0) <= amount <= high:
            raise Invalid(field, f"{field} must be between 0 and {high}; got {value}")
        return amount.quantize(Decimal("0.0001"))
    return parse


def _bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(field, f"{field} must be true or false")
    return value


def timestamp(field: str, value: Any) -> datetime:
    """An RFC 3339 timestamp with an offset (naive times are ambiguous and refused)."""
    if not isinstance(value, str):
        raise Invalid(field, f"{field} must be an RFC 3339 timestamp string")
    try:
        # fromisoformat reads a trailing 'Z' itself; only a lowercase 'z' needs the slower rewrite.
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise Invalid(field, f"{field} is not an RFC 3339 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise Invalid(field, f"{field} needs a UTC offset (e.g. 'Z' or '+02:00')")
    if parsed < EARLIEST or parsed.timestamp() > time.time() + MAX_FUTURE_SECONDS:
        raise Invalid(field, f"{field} is out of range: {value}")
    return parsed.astimezone(UTC)


def _date(field: str, value: Any) -> date:
    if not isinstance(value, str):
        raise Invalid(field, f"{field} must be a date string YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(field, f"{field} is not a date YYYY-MM-DD: {value!r}") from None


def _object(field: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(field, f"{field} must be a JSON object")
    return value


def _uuid_list(field: str, value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > 100:
        raise Invalid(field, f"{field} must be a list of at most 100 UUIDs")
    return [_uuid(f"{field}[{i}]", v) for i, v in enumerate(value)]


@dataclass(frozen=True)
class Field:
    name: str
    parse: Parser
    required: bool = True
    # The directory kind this field references ('agent', 'team', 'campaign', 'lead', 'user', 'call').
    references: str | None = None


_ID = _uuid
_NAME = _text(200)
_AMOUNT = _money(Decimal("1000000000"))

# Every event type and its `data` fields. Unknown fields are ignored (and kept in the raw record).
EVENT_TYPES: Final[Mapping[str, tuple[Field, ...]]] = {
    "team.upserted": (Field("id", _ID), Field("name", _NAME)),
    "agent.upserted": (
        Field("id", _ID), Field("name", _NAME), Field("kind", _choice("human", "ai")),
        Field("team_id", _ID, False, "team"), Field("status", _choice("active", "inactive", "on_leave"), False),
        Field("email", _text(320), False), Field("hired_on", _date, False),
    ),
    "user.upserted": (
        Field("id", _ID), Field("email", _text(320)), Field("display_name", _NAME),
        Field("role", _choice("admin", "manager", "agent", "viewer")), Field("agent_id", _ID, False, "agent"),
        Field("managed_team_ids", _uuid_list, False, "team"),
    ),
    "campaign.upserted": (
        Field("id", _ID), Field("name", _NAME),
        Field("channel", _choice("phone", "email", "sms", "web", "social", "referral"), False),
        Field("status", _choice("draft", "active", "paused", "completed"), False),
        Field("budget", _AMOUNT, False), Field("starts_on", _date, False), Field("ends_on", _date, False),
    ),
    "campaign.spend_recorded": (
        Field("campaign_id", _ID, True, "campaign"), Field("day", _date), Field("amount", _AMOUNT),
    ),
    "call.ended": (
        Field("call_id", _ID), Field("direction", _choice("inbound", "outbound")),
        Field("agent_id", _ID, False, "agent"), Field("lead_id", _ID, False, "lead"),
        Field("campaign_id", _ID, False, "campaign"),
        Field("started_at", timestamp), Field("answered_at", timestamp, False), Field("ended_at", timestamp),
        Field("talk_seconds", _int(0, 86400), False), Field("hold_seconds", _int(0, 86400), False),
        Field("wrap_up_seconds", _int(0, 86400), False), Field("abandoned", _bool, False),
        Field("transferred", _bool, False), Field("first_contact_resolution", _bool, False),
        Field("outcome", _choice("connected", "no_answer", "busy", "voicemail", "abandoned", "failed")),
        Field("disposition", _choice("converted", "interested", "callback", "not_interested", "resolved",
                                     "escalated", "wrong_number"), False),
        Field("csat_rating", _int(1, 5), False), Field("cost", _money(Decimal(100000)), False),
    ),
    "lead.created": (
        Field("lead_id", _ID), Field("source", _choice("inbound_call", "web_form", "referral", "import", "social",
                                                      "email", "partner")),
        Field("campaign_id", _ID, False, "campaign"), Field("owner_agent_id", _ID, False, "agent"),
        Field("name", _NAME, False), Field("score", _int(0, 100), False), Field("value", _AMOUNT, False),
    ),
    "lead.stage_changed": (
        Field("lead_id", _ID, True, "lead"), Field("stage", _choice(*STAGES)),
        Field("agent_id", _ID, False, "agent"), Field("value", _AMOUNT, False),
    ),
    "lead.score_changed": (Field("lead_id", _ID, True, "lead"), Field("score", _int(0, 100))),
    "task.completed": (
        Field("task_id", _ID), Field("agent_id", _ID, True, "agent"), Field("title", _text(500), False),
        Field("lead_id", _ID, False, "lead"), Field("due_at", timestamp, False),
    ),
    "csat.submitted": (Field("call_id", _ID, True, "call"), Field("rating", _int(1, 5))),
    "agent.status_changed": (
        Field("agent_id", _ID, True, "agent"), Field("status", _choice("available", "busy", "wrap_up", "offline")),
    ),
    "points.awarded": (
        Field("agent_id", _ID, True, "agent"), Field("points", _int(-100000, 100000)), Field("reason", _text(200)),
    ),
    "badge.earned": (
        Field("agent_id", _ID, True, "agent"), Field("badge_code", _text(100)), Field("badge_name", _NAME, False),
    ),
    "notification.delivered": (
        Field("notification_id", _ID), Field("channel", _choice("email", "sms", "whatsapp", "push", "in_app")),
    ),
    "notification.failed": (
        Field("notification_id", _ID), Field("channel", _choice("email", "sms", "whatsapp", "push", "in_app")),
        Field("error", _text(1000), False),
    ),
    "track": (
        Field("name", _text(200)), Field("category", _choice("page_view", "action", "conversion")),
        Field("user_id", _ID, False), Field("properties", _object, False),
    ),
}


# Per type, (name, "data.<name>", parser, required) of each field: the validation loop's shape, built once.
_SPECS: Final[Mapping[str, tuple[tuple[str, str, Parser, bool], ...]]] = {
    t: tuple((f.name, f"data.{f.name}", f.parse, f.required) for f in fields) for t, fields in EVENT_TYPES.items()
}

# Per type, the fields that reference directory rows.
REFERENCING: Final[Mapping[str, tuple[Field, ...]]] = {
    t: tuple(f for f in fields if f.references is not None) for t, fields in EVENT_TYPES.items()
}


@dataclass(frozen=True)
class Event:
    """One validated event."""

    index: int
    id: str
    type: str
    occurred_at: datetime
    data: Mapping[str, Any]
    raw: Mapping[str, Any]
    sha256: bytes

    @cached_property
    def references(self) -> list[tuple[str, str, str]]:
        """(field, kind, id) of every directory row this event points at."""
        found: list[tuple[str, str, str]] = []
        for f in REFERENCING[self.type]:
            value = self.data.get(f.name)
            kind = f.references
            if value is not None and kind is not None:
                found.extend((f.name, kind, v) for v in (value if isinstance(value, list) else [value]))
        return found


@dataclass(frozen=True)
class Rejection:
    """Why one event of a batch was not stored."""

    index: int
    id: str | None
    code: ErrorCode
    reason: str
    field: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"index": self.index, "id": self.id, "code": self.code.value, "reason": self.reason,
                "field": self.field}


def payload_hash(raw: Mapping[str, Any]) -> bytes:
    """What a retry must repeat exactly: the whole event, canonically encoded."""
    return hashlib.sha256(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS, default=str)).digest()


def parse_event(index: int, raw: Any) -> Event | Rejection:
    """Validates one event of a batch; the tenant is never read from it."""
    if not isinstance(raw, dict):
        return Rejection(index, None, ErrorCode.BAD_USER_INPUT, "an event must be a JSON object")
    raw_id = raw.get("id")
    shown_id = raw_id if isinstance(raw_id, str) else None
    try:
        _check_storable(raw)
        event_id = _uuid("id", raw_id)
        event_type = raw.get("type")
        if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
            raise Invalid("type", f"unknown event type {event_type!r}")
        occurred_at = timestamp("occurred_at", raw.get("occurred_at"))
        body = raw.get("data", {})
        if not isinstance(body, dict):
            raise Invalid("data", "data must be a JSON object")
        data: dict[str, Any] = {}
        for name, label, parse, required in _SPECS[event_type]:
            value = body.get(name)
            if value is None:
                if required:
                    raise Invalid(label, f"{label} is required for {event_type}")
                data[name] = None
                continue
            data[name] = parse(label, value)
        _check_consistency(event_type, data)
    except Invalid as e:
        return Rejection(index, shown_id, e.code, e.reason, e.field)
    # The hash covers the normalised envelope, so the same event sent over HTTP or GraphQL matches itself.
    canonical = {"id": event_id, "type": event_type, "occurred_at": occurred_at.isoformat(), "data": body}
    return Event(index, event_id, event_type, occurred_at, data, raw, payload_hash(canonical))


def _check_storable(raw: dict[str, Any]) -> None:
    """PostgreSQL text and jsonb hold neither NUL characters nor lone surrogates: refuse them per event."""
    try:
        encoded = orjson.dumps(raw, default=str)
    except (orjson.JSONEncodeError, TypeError):
        raise Invalid("data", "the event holds text that is not valid Unicode") from None
    if b"\\u0000" in encoded:
        raise Invalid("data", "the event holds a NUL character (\\u0000), which cannot be stored")


def _check_consistency(event_type: str, data: dict[str, Any]) -> None:
    if event_type == "call.ended":
        if data["ended_at"] < data["started_at"]:
            raise Invalid("data.ended_at", "data.ended_at is before data.started_at")
        answered = data["answered_at"]
        if answered is not None and not data["started_at"] <= answered <= data["ended_at"]:
            raise Invalid("data.answered_at", "data.answered_at must lie between started_at and ended_at")
        if data["abandoned"] and answered is not None:
            raise Invalid("data.abandoned", "an abandoned call cannot have been answered")
    elif event_type == "campaign.upserted":
        if data["starts_on"] and data["ends_on"] and data["ends_on"] < data["starts_on"]:
            raise Invalid("data.ends_on", "data.ends_on is before data.starts_on")
    elif event_type == "user.upserted" and data["role"] == "agent" and data["agent_id"] is None:
        raise Invalid("data.agent_id", "a user with role agent needs data.agent_id")
