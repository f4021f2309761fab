"""Deterministic demo data: a few tenants' directory, leads, calls, tasks, presence and gamification.

    report = await seed_database(conn, SeedOptions(tenants=3, days=90, seed=42))

The same options (with the same end_date) always produce the same rows; the rollups are rebuilt from them in
the same transaction per tenant.
"""

from __future__ import annotations

from gateway.seed._load import seed_database
from gateway.seed._model import SeededTenant, SeedOptions, SeedReport

__all__ = ["SeedOptions", "SeedReport", "SeededTenant", "seed_database"]
