"""Dashboard widget rows: by id (batched), a user's grid, and their writes; the typed config they store."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from uuid import UUID

import asyncpg

from gateway.db import TenantSession
from gateway.loaders._base import TenantLoader, in_key_order
from gateway.metrics import Metric, Scope
from gateway.periods import Granularity, Period, Preset, resolve

# Widgets one user may have: more do not fit a screen, and each costs its figures on every read of the grid.
MAX_WIDGETS: Final = 100

_COLUMNS: Final = ("id, user_id, widget_type, title, position_x, position_y, width, height, config, created_at, "
                   "updated_at")

WIDGETS_BY_ID: Final = f"""
SELECT {_COLUMNS} FROM dashboard_widgets WHERE tenant_id = $1 AND id = any($2::uuid[])
"""  # noqa: S608 - constant columns

# A user's grid in reading order: top to bottom, left to right (index dashboard_widgets_user).
WIDGETS_OF_USER: Final = f"""
SELECT {_COLUMNS} FROM dashboard_widgets
WHERE tenant_id = $1 AND user_id = $2
ORDER BY position_y, position_x, created_at, id
"""  # noqa: S608 - constant columns

# Serialises one user's widget creations, so that the cap holds; FOR NO KEY UPDATE leaves the foreign-key
# checks of other writes referencing the user (FOR KEY SHARE) alone.
LOCK_OWNER: Final = "SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE"

# The id is derived from the transaction (its id and start time) and the number of widgets it has created for
# the user so far, not drawn at random: a transaction that runs an operation twice from one savepoint (the
# test suite's shadow executor rolls its reference run back) gets the same ids both times. Unique all the same:
# no two transactions share an id and a start time. Nothing is inserted when the user has MAX_WIDGETS already.
INSERT_WIDGET: Final = f"""
WITH mine AS (
    SELECT count(*) AS widgets, count(*) FILTER (WHERE created_at = now()) AS created_now
    FROM dashboard_widgets
    WHERE tenant_id = $1 AND user_id = $2
)
INSERT INTO dashboard_widgets (tenant_id, id, user_id, widget_type, title, position_x, position_y, width, height,
                               config)
SELECT $1,
       md5(concat_ws(':', $1::text, pg_current_xact_id()::text, extract(epoch FROM now())::text,
                     mine.created_now))::uuid,
       $2, $3, $4, $5, $6, $7, $8, $9::jsonb
FROM mine
WHERE mine.widgets < $10
RETURNING {_COLUMNS}
"""  # noqa: S608 - constant columns

# The row an update starts from, locked until the operation commits: a concurrent update waits, then merges
# its own fields into this one's result instead of overwriting it.
WIDGET_FOR_UPDATE: Final = f"""
SELECT {_COLUMNS} FROM dashboard_widgets
WHERE tenant_id = $1 AND id = $2 AND user_id = $3
FOR NO KEY UPDATE
"""  # noqa: S608 - constant columns

UPDATE_WIDGET: Final = f"""
UPDATE dashboard_widgets
SET widget_type = $4, title = $5, position_x = $6, position_y = $7, width = $8, height = $9, config = $10::jsonb,
    updated_at = now()
WHERE tenant_id = $1 AND id = $2 AND user_id = $3
RETURNING {_COLUMNS}
"""  # noqa: S608 - constant columns

# Several positions in one statement: the moves as parallel arrays.
MOVE_WIDGETS: Final = """
UPDATE dashboard_widgets d
SET position_x = m.x, position_y = m.y, width = m.w, height = m.h, updated_at = now()
FROM unnest($3::uuid[], $4::int[], $5::int[], $6::int[], $7::int[]) AS m (id, x, y, w, h)
WHERE d.tenant_id = $1 AND d.user_id = $2 AND d.id = m.id
RETURNING d.id, d.user_id, d.widget_type, d.title, d.position_x, d.position_y, d.width, d.height, d.config,
          d.created_at, d.updated_at
"""

DELETE_WIDGET: Final = "DELETE FROM dashboard_widgets WHERE tenant_id = $1 AND id = $2 AND user_id = $3"


class WidgetType(enum.Enum):
    """What a widget draws; the value is what dashboard_widgets.widget_type stores."""

    KPI = "kpi"
    TIME_SERIES = "time_series"
    LEADERBOARD = "leaderboard"
    FUNNEL = "funnel"
    TABLE = "table"


@dataclass(frozen=True)
class DayRange:
    """A widget's range as it was given: `preset`, or `start` and `end` (resolved against today at each read)."""

    start: date | None = None
    end: date | None = None
    preset: Preset | None = None

    def period(self, today: date) -> Period:
        return resolve(self.start, self.end, self.preset, today)


@dataclass(frozen=True)
class WidgetConfig:
    """What a widget measures: metrics (built-in, then custom by name) of a scope over a range."""

    scope_kind: Scope
    scope_id: UUID | None
    range: DayRange
    granularity: Granularity | None = None
    metrics: tuple[Metric, ...] = ()
    custom_metrics: tuple[str, ...] = ()
    # LEADERBOARD: how many agents it shows.
    first: int | None = None

    def to_json(self) -> dict[str, Any]:
        rng: dict[str, str] = {}
        if self.range.preset is not None:
            rng["preset"] = self.range.preset.value
        if self.range.start is not None:
            rng["from"] = self.range.start.isoformat()
        if self.range.end is not None:
            rng["to"] = self.range.end.isoformat()
        scope: dict[str, str] = {"kind": self.scope_kind.value}
        if self.scope_id is not None:
            scope["id"] = str(self.scope_id)
        return {"scope": scope, "range": rng, "metrics": [m.value for m in self.metrics],
                "customMetrics": list(self.custom_metrics),
                "granularity": self.granularity.value if self.granularity is not None else None,
                "first": self.first}

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> WidgetConfig:
        scope, rng = stored["scope"], stored["range"]
        granularity = stored.get("granularity")
        return cls(
            scope_kind=Scope(scope["kind"]),
            scope_id=UUID(scope["id"]) if scope.get("id") else None,
            range=DayRange(start=date.fromisoformat(rng["from"]) if "from" in rng else None,
                           end=date.fromisoformat(rng["to"]) if "to" in rng else None,
                           preset=Preset(rng["preset"]) if "preset" in rng else None),
            granularity=Granularity(granularity) if granularity is not None else None,
            metrics=tuple(Metric(m) for m in stored.get("metrics", ())),
            custom_metrics=tuple(stored.get("customMetrics", ())),
            first=stored.get("first"),
        )


@dataclass(frozen=True)
class GridPosition:
    """Column x (0-23) and row y of the top left cell, width w (columns) and height h (rows)."""

    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class WidgetRow:
    id: UUID
    user_id: UUID
    type: WidgetType
    title: str
    position: GridPosition
    config: WidgetConfig
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: asyncpg.Record) -> WidgetRow:
        return cls(id=record["id"], user_id=record["user_id"], type=WidgetType(record["widget_type"]),
                   title=record["title"],
                   position=GridPosition(record["position_x"], record["position_y"], record["width"],
                                         record["height"]),
                   config=WidgetConfig.from_json(record["config"]), created_at=record["created_at"],
                   updated_at=record["updated_at"])


class WidgetByIdLoader(TenantLoader[UUID, WidgetRow | None]):
    """Widgets of the tenant by id, whoever owns them: the resolvers check the owner."""

    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[WidgetRow | None]:
        rows = await self.db.fetch(WIDGETS_BY_ID, self.db.tenant_id, list(keys))
        return in_key_order(keys, (WidgetRow.of(r) for r in rows), lambda w: w.id)


async def widgets_of(db: TenantSession, user_id: UUID) -> list[WidgetRow]:
    return [WidgetRow.of(r) for r in await db.fetch(WIDGETS_OF_USER, db.tenant_id, user_id)]


async def insert(db: TenantSession, user_id: UUID, widget_type: WidgetType, title: str, position: GridPosition,
                 config: WidgetConfig) -> WidgetRow | None:
    """The new widget; None when the user has MAX_WIDGETS already."""
    await db.execute(LOCK_OWNER, db.tenant_id, user_id)
    row = await db.fetchrow(INSERT_WIDGET, db.tenant_id, user_id, widget_type.value, title, position.x, position.y,
                            position.w, position.h, config.to_json(), MAX_WIDGETS)
    return WidgetRow.of(row) if row is not None else None


async def for_update(db: TenantSession, widget_id: UUID, user_id: UUID) -> WidgetRow | None:
    row = await db.fetchrow(WIDGET_FOR_UPDATE, db.tenant_id, widget_id, user_id)
    return WidgetRow.of(row) if row is not None else None


async def update(db: TenantSession, row: WidgetRow) -> WidgetRow | None:
    saved = await db.fetchrow(UPDATE_WIDGET, db.tenant_id, row.id, row.user_id, row.type.value, row.title,
                              row.position.x, row.position.y, row.position.w, row.position.h, row.config.to_json())
    return WidgetRow.of(saved) if saved is not None else None


async def move(db: TenantSession, user_id: UUID, moves: Sequence[tuple[UUID, GridPosition]]) -> list[WidgetRow]:
    """The moved widgets of the user (in no particular order); ids of no widget of theirs are left out."""
    rows = await db.fetch(MOVE_WIDGETS, db.tenant_id, user_id, [i for i, _ in moves], [p.x for _, p in moves],
                          [p.y for _, p in moves], [p.w for _, p in moves], [p.h for _, p in moves])
    return [WidgetRow.of(r) for r in rows]


async def delete(db: TenantSession, widget_id: UUID, user_id: UUID) -> bool:
    return await db.execute(DELETE_WIDGET, db.tenant_id, widget_id, user_id) == "DELETE 1"
