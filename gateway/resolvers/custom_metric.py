"""Custom metrics: defining and deleting them (admin), listing them, and resolving what a client asks for."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from gateway.auth import Role
from gateway.context import Context
from gateway.errors import BadUserInput
from gateway.formulas import Formula, parse, validate_name
from gateway.live.signals import ConfigChange, signal_config
from gateway.loaders import custom_metric as custom_sql
from gateway.loaders.custom_metric import CustomMetricByNameLoader
from gateway.metric_specs import MetricSpec
from gateway.metrics import Metric
from gateway.schema.custom_metric import CustomMetric

MAX_DESCRIPTION = 1000
# Metrics one field may ask for at once (series, compare); checked before anything reaches the database.
MAX_ASKED = 20


@functools.lru_cache(maxsize=1024)
def _stored(formula: str) -> Formula:
    """A stored formula's tree: parsed once per process, not per entity of every request."""
    return parse(formula)


async def custom_metrics(context: Context) -> list[CustomMetric]:
    await context.access()
    return [CustomMetric(row=r) for r in await custom_sql.custom_metrics(context.db)]


async def define(context: Context, name: str, formula: str, description: str,
                 higher_is_better: bool) -> CustomMetric:
    principal = context.require(Role.ADMIN)
    validate_name(name)
    parsed = parse(formula)
    if len(description) > MAX_DESCRIPTION:
        raise BadUserInput(f"the description is longer than {MAX_DESCRIPTION} characters", argument="description")
    # Serialises concurrent definitions of one tenant, so the cap holds.
    await custom_sql.lock_tenant(context.db)
    if await custom_sql.others_count(context.db, name) >= custom_sql.MAX_CUSTOM_METRICS:
        raise BadUserInput(f"a tenant has at most {custom_sql.MAX_CUSTOM_METRICS} custom metrics", argument="name")
    now = datetime.now(UTC)
    row = custom_sql.CustomMetricRow(name=name, formula=str(parsed), description=description,
                                     higher_is_better=higher_is_better, created_by=principal.user_id,
                                     created_at=now, updated_at=now)
    saved = await custom_sql.upsert(context.db, row)
    await signal_config(context.db, principal.tenant_id, ConfigChange.CUSTOM_METRIC)
    return CustomMetric(row=saved)


async def delete(context: Context, name: str) -> bool:
    """True when it existed; dashboards asking for it afterwards get BAD_USER_INPUT."""
    principal = context.require(Role.ADMIN)
    deleted = await custom_sql.delete(context.db, validate_name(name))
    if deleted:
        await signal_config(context.db, principal.tenant_id, ConfigChange.CUSTOM_METRIC)
    return deleted


async def spec(context: Context, metric: Metric | None, custom: str | None) -> MetricSpec:
    """The one metric asked for: exactly one of a built-in `metric` or a `customMetric` name."""
    if (metric is None) == (custom is None):
        raise BadUserInput("give exactly one of metric and customMetric", argument="metric")
    if metric is not None:
        return MetricSpec.of(metric)
    return (await specs(context, [], [custom] if custom is not None else []))[0]


async def specs(context: Context, metrics: list[Metric], custom: list[str]) -> list[MetricSpec]:
    """Built-in metrics first, then the custom ones, each in the order asked: 1 to MAX_ASKED of them; unknown
    names are BAD_USER_INPUT."""
    return await specs_from(context.loaders.custom_metric_by_name, metrics, custom)


async def specs_from(by_name: CustomMetricByNameLoader, metrics: list[Metric], custom: list[str]) -> list[MetricSpec]:
    """specs() for callers outside a GraphQL operation (a report run), with the session's own loader."""
    if not 1 <= len(metrics) + len(custom) <= MAX_ASKED:
        raise BadUserInput(f"ask for 1 to {MAX_ASKED} metrics and custom metrics", argument="metrics")
    for name in custom:
        validate_name(name)
    rows = await by_name.load_many(custom)
    unknown = [name for name, row in zip(custom, rows, strict=True) if row is None]
    if unknown:
        raise BadUserInput(f"no custom metric named {', '.join(map(repr, unknown))}", argument="customMetrics")
    return [MetricSpec.of(m) for m in metrics] + [
        MetricSpec(name=r.name, formula=_stored(r.formula), higher_is_better=r.higher_is_better)
        for r in rows if r is not None]
