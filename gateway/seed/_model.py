"""What a seed is asked for and what it reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

# Agents share 16 bits of the queue simulation's heap entries with their free-at time.
MAX_AGENTS = 65_535


@dataclass(frozen=True)
class SeedOptions:
    """Sizes of the demo world; the same options (and end_date) always produce the same rows."""

    tenants: int = 3
    days: int = 90
    agents: int = 60  # per tenant
    calls_per_day: int = 3000  # per tenant, on an average weekday
    seed: int = 42
    # Last seeded day (tenant-local); None = each tenant's local today. Data covers [end_date - days + 1,
    # end_date], and never goes past `now`: today's partial day is seeded up to that moment.
    end_date: date | None = None
    # The present moment, which nothing seeded starts (or ends) after; None = when seed_database starts.
    # Ignored for determinism whenever the end date's day is over by then: the world ends with that day.
    now: datetime | None = None

    def __post_init__(self) -> None:
        if self.tenants < 1:
            raise ValueError(f"tenants must be at least 1, got {self.tenants}")
        if self.days < 1:
            raise ValueError(f"days must be at least 1, got {self.days}")
        if not 1 <= self.agents <= MAX_AGENTS:
            raise ValueError(f"agents must be between 1 and {MAX_AGENTS}, got {self.agents}")
        if self.calls_per_day < 0:
            raise ValueError(f"calls_per_day must not be negative, got {self.calls_per_day}")
        if self.now is not None and self.now.tzinfo is None:
            raise ValueError("now must be an aware datetime")


@dataclass(frozen=True)
class SeededTenant:
    id: UUID
    name: str
    timezone: str
    admin_user_id: UUID


@dataclass(frozen=True)
class SeedReport:
    tenants: list[SeededTenant]
    rows: dict[str, int]  # table -> rows inserted, in load order
    seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds > 0 else 0.0
