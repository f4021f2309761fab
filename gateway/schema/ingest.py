"""Types of the trackEvents mutation."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from gateway.errors import ErrorCode

# Registers the one list of error codes as a GraphQL enum (strawberry.enum marks the class in place).
strawberry.enum(ErrorCode, name="ErrorCode",
                description="Stable values of `extensions.code`, also used in ingestion reports.")


@strawberry.input(description="One event, as documented in docs/events.md.")
class EventInput:
    id: strawberry.ID = strawberry.field(description="Client-chosen UUID; resending it is harmless.")
    type: str = strawberry.field(description="Event type, e.g. `call.ended` or `track`.")
    occurred_at: str = strawberry.field(description="RFC 3339 timestamp with an offset.")
    # Optional without a default value: `{}` as a default cannot be printed as a GraphQL literal, which broke
    # standard introspection. Omitted (UNSET) means `{}`; an explicit null is refused as over HTTP.
    data: JSON | None = strawberry.field(description="The type's fields (an object); omitted means `{}`.",
                                         default=strawberry.UNSET)


@strawberry.type(description="Why one event of the batch was not stored.")
class RejectedEvent:
    index: int = strawberry.field(description="Position of the event in the batch, from 0.")
    id: str | None = strawberry.field(description="The event's id, when it had a readable one.")
    code: ErrorCode = strawberry.field(description="BAD_USER_INPUT, NOT_FOUND (unknown reference) or CONFLICT.")
    reason: str = strawberry.field(description="What is wrong, for a person.")
    field: str | None = strawberry.field(description="The offending field, e.g. `data.agent_id`.")


@strawberry.type(description="What became of a batch of events.")
class IngestReport:
    accepted: int = strawberry.field(description="Events stored by this request.")
    duplicates: int = strawberry.field(description="Events already stored (retries), ignored.")
    rejected: list[RejectedEvent] = strawberry.field(description="Events not stored, with reasons.")
