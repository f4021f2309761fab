"""The seeded tables, in an order that satisfies their foreign keys, with the columns the seeder writes."""

from __future__ import annotations

from typing import Final

# Every column is written explicitly (created_at and updated_at included) so that no value comes from now().
TABLE_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "tenants": (
        "id", "name", "timezone", "service_level_threshold_seconds", "created_at", "updated_at",
    ),
    "teams": ("tenant_id", "id", "name", "created_at", "updated_at"),
    "agents": (
        "tenant_id", "id", "team_id", "name", "email", "kind", "status", "hired_on", "created_at", "updated_at",
    ),
    "users": ("tenant_id", "id", "email", "display_name", "role", "agent_id", "created_at", "updated_at"),
    "team_managers": ("tenant_id", "team_id", "user_id", "created_at"),
    "campaigns": (
        "tenant_id", "id", "name", "channel", "status", "budget", "starts_on", "ends_on", "created_by",
        "created_at", "updated_at",
    ),
    "campaign_spend": ("tenant_id", "campaign_id", "day", "amount", "created_at", "updated_at"),
    "badges": ("tenant_id", "id", "code", "name", "description", "points", "created_at"),
    "leads": (
        "tenant_id", "id", "campaign_id", "owner_agent_id", "name", "source", "stage", "score", "value",
        "converted_at", "created_at", "updated_at", "score_updated_at",
    ),
    "lead_stage_history": (
        "tenant_id", "id", "lead_id", "stage", "entered_at", "exited_at", "next_stage", "agent_id", "value",
    ),
    "calls": (
        "tenant_id", "id", "direction", "agent_id", "lead_id", "campaign_id", "started_at", "answered_at",
        "ended_at", "talk_seconds", "hold_seconds", "wrap_up_seconds", "abandoned", "transferred",
        "first_contact_resolution", "outcome", "disposition", "csat_rating", "cost", "created_at",
        "csat_submitted_at",
    ),
    "tasks": (
        "tenant_id", "id", "assignee_agent_id", "lead_id", "title", "status", "due_at", "completed_at",
        "created_by", "created_at", "updated_at",
    ),
    "agent_status_intervals": ("tenant_id", "agent_id", "status", "started_at", "ended_at"),
    "agent_badges": ("tenant_id", "agent_id", "badge_id", "awarded_at"),
    "points_ledger": ("tenant_id", "id", "agent_id", "points", "reason", "awarded_at"),
    # Generic `track` events as the ingestion path records them: the raw event and its id in the ledger.
    "analytics_events": (
        "tenant_id", "id", "occurred_at", "received_at", "event_type", "name", "category", "user_id", "payload",
    ),
    "analytics_event_ids": ("tenant_id", "id", "occurred_at", "payload_sha256", "received_at"),
}

# Identity columns the seeder fills itself (COPY accepts explicit values for GENERATED ALWAYS columns), so that
# ids do not depend on which connection loaded which tenant first.
IDENTITY_TABLES: Final = ("lead_stage_history", "points_ledger")
