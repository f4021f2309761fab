"""Deterministic demo data: a few tenants' directory, leads, calls, tasks, presence, gamification and tracking.

    report = await seed_database(conn, SeedOptions(tenants=3, days=90, seed=42))

Each tenant's world runs up to the present in its own zone (today's partial day included) and never past it;
with an explicit end date that is over, it ends with that day. The same options (and end date, or `now`)
always produce the same rows; the rollups are rebuilt from them in the same transaction per tenant, and the
loaded tables are analyzed afterwards.
"""

from __future__ import annotations

from gateway.seed._load import seed_database
from gateway.seed._model import SeededTenant, SeedOptions, SeedReport

__all__ = ["SeedOptions", "SeedReport", "SeededTenant", "seed_database"]
