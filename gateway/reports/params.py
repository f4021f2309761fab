"""The typed parameters of a report, one shape for every type, and their JSON form (a saved report's `params`).

    {"range": {"from": "2026-03-02", "to": "2026-03-08"},      # or {"preset": "LAST_WEEK"}
     "teamIds": ["VGVhbTo…"], "campaignIds": [], "agentIds": [],  # global ids (plain UUIDs are accepted too)
     "grouping": "DAY",
     "metrics": ["CALLS_HANDLED", "SERVICE_LEVEL"], "customMetrics": ["revenue_per_call"],
     "rankBy": {"metric": "CSAT"}}                                # or {"customMetric": "revenue_per_call"}

Only `range` is required. Which keys a type takes, its groupings (the first is its default) and its default
metrics are in RULES; a key a type does not take is BAD_USER_INPUT naming it, as is any malformed value. Enum
values are written as the GraphQL API spells them (`LAST_WEEK`, `CALLS_HANDLED`, `DAY`) and read in any case;
a metric may also be given by its snake-case name (`average_handle_time_seconds`), as formulas spell it.
`params_from_json(type, params.to_json())` gives back equal parameters.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final, TypeVar
from uuid import UUID

from gateway.errors import BadUserInput
from gateway.formulas import FormulaError, validate_name
from gateway.ids import encode_id, uuid_or_global_id
from gateway.metrics import Metric
from gateway.periods import Granularity, Period, Preset, local_today, resolve

# Ids one filter may name; metrics and custom metrics one report may include (the graph's own limit).
MAX_FILTER_IDS: Final = 1000
MAX_METRICS: Final = 20


class ReportType(enum.Enum):
    """The report types; the value is the key stored with a saved report (`custom_reports.report_type`)."""

    LEAD = "lead"
    CALL = "call"
    CAMPAIGN = "campaign"
    AGENT_PERFORMANCE = "agent_performance"
    GAMIFICATION = "gamification"
    # The streaming export of single calls: its rows come from call_detail_rows, never held in memory.
    CALL_DETAIL = "call_detail"


class Grouping(enum.Enum):
    """What a report's main table has one row per; each type documents (RULES) which it takes."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    TEAM = "team"
    AGENT = "agent"
    CAMPAIGN = "campaign"
    SOURCE = "source"


# Groupings that are buckets of time, and the series granularity each reads.
TIME_GROUPINGS: Final[Mapping[Grouping, Granularity]] = {
    Grouping.HOUR: Granularity.HOUR, Grouping.DAY: Granularity.DAY, Grouping.WEEK: Granularity.WEEK,
    Grouping.MONTH: Granularity.MONTH,
}


@dataclass(frozen=True)
class ReportRange:
    """Tenant-local days, both ends included (`start` and `end`), or a preset: exactly one form, like DateRange."""

    start: date | None = None
    end: date | None = None
    preset: Preset | None = None

    def period(self, timezone: str) -> Period:
        """The days this range means now, in the tenant's calendar (a preset moves with the tenant's today)."""
        return resolve(self.start, self.end, self.preset, local_today(timezone))


@dataclass(frozen=True)
class MetricChoice:
    """One metric: a built-in `metric` or the name of a custom metric, exactly one."""

    metric: Metric | None = None
    custom: str | None = None


@dataclass(frozen=True)
class ReportParams:
    """What a report runs with. Empty filters mean no filter; `grouping` None means the type's default."""

    range: ReportRange
    team_ids: tuple[UUID, ...] = ()
    campaign_ids: tuple[UUID, ...] = ()
    agent_ids: tuple[UUID, ...] = ()
    grouping: Grouping | None = None
    metrics: tuple[Metric, ...] = ()
    custom_metrics: tuple[str, ...] = ()
    rank_by: MetricChoice | None = None

    def to_json(self) -> dict[str, object]:
        """The JSON form: `range` always, every other key only when it differs from its default."""
        if self.range.preset is not None:
            rng: dict[str, object] = {"preset": self.range.preset.name}
        else:
            rng = {"from": _iso(self.range.start), "to": _iso(self.range.end)}
        data: dict[str, object] = {"range": rng}
        for key, ids, type_name in (("teamIds", self.team_ids, "Team"), ("campaignIds", self.campaign_ids, "Campaign"),
                                    ("agentIds", self.agent_ids, "Agent")):
            if ids:
                data[key] = [encode_id(type_name, i) for i in ids]
        if self.grouping is not None:
            data["grouping"] = self.grouping.name
        if self.metrics:
            data["metrics"] = [m.name for m in self.metrics]
        if self.custom_metrics:
            data["customMetrics"] = list(self.custom_metrics)
        if self.rank_by is not None:
            data["rankBy"] = ({"metric": self.rank_by.metric.name} if self.rank_by.metric is not None
                              else {"customMetric": self.rank_by.custom})
        return data


@dataclass(frozen=True)
class ParamRules:
    """What one report type takes: its groupings (the first is the default), filters, metrics, a ranking."""

    groupings: tuple[Grouping, ...]
    filters: frozenset[str]
    default_metrics: tuple[Metric, ...] = ()
    metrics: bool = True
    rank_by: Metric | None = None

    @property
    def default_grouping(self) -> Grouping | None:
        return self.groupings[0] if self.groupings else None


_PEOPLE: Final = frozenset({"teamIds", "campaignIds", "agentIds"})

RULES: Final[Mapping[ReportType, ParamRules]] = {
    ReportType.LEAD: ParamRules(
        groupings=(Grouping.SOURCE, Grouping.CAMPAIGN, Grouping.TEAM, Grouping.AGENT, Grouping.DAY, Grouping.WEEK,
                   Grouping.MONTH),
        filters=_PEOPLE, metrics=False),
    ReportType.CALL: ParamRules(
        groupings=(Grouping.DAY, Grouping.HOUR, Grouping.WEEK, Grouping.MONTH, Grouping.TEAM, Grouping.AGENT,
                   Grouping.CAMPAIGN),
        filters=_PEOPLE,
        default_metrics=(Metric.CALLS_TOTAL, Metric.CALLS_HANDLED, Metric.AVERAGE_HANDLE_TIME,
                         Metric.AVERAGE_SPEED_OF_ANSWER, Metric.SERVICE_LEVEL, Metric.ABANDONMENT_RATE, Metric.CSAT)),
    ReportType.CAMPAIGN: ParamRules(
        groupings=(Grouping.CAMPAIGN, Grouping.DAY, Grouping.WEEK, Grouping.MONTH),
        filters=frozenset({"campaignIds"}),
        default_metrics=(Metric.LEADS_GENERATED, Metric.LEADS_CONVERTED, Metric.CONVERSION_RATE, Metric.REVENUE,
                         Metric.COST, Metric.ROI, Metric.COST_PER_LEAD)),
    ReportType.AGENT_PERFORMANCE: ParamRules(
        groupings=(Grouping.AGENT, Grouping.TEAM),
        filters=_PEOPLE,
        default_metrics=(Metric.CALLS_HANDLED, Metric.AVERAGE_HANDLE_TIME, Metric.CONVERSION_RATE, Metric.CSAT,
                         Metric.TASKS_COMPLETED, Metric.AVAILABLE_TIME, Metric.OCCUPANCY),
        rank_by=Metric.CALLS_HANDLED),
    # Points and badges belong to agents, not campaigns.
    ReportType.GAMIFICATION: ParamRules(groupings=(Grouping.AGENT, Grouping.TEAM),
                                        filters=frozenset({"teamIds", "agentIds"}), metrics=False),
    ReportType.CALL_DETAIL: ParamRules(groupings=(), filters=_PEOPLE, metrics=False),
}

_KEYS: Final = ("range", "teamIds", "campaignIds", "agentIds", "grouping", "metrics", "customMetrics", "rankBy")


def report_type_of(value: ReportType | str) -> ReportType:
    """A ReportType from its stored key (`agent_performance`) or GraphQL name (`AGENT_PERFORMANCE`)."""
    if isinstance(value, ReportType):
        return value
    found = _enum_member(ReportType, value)
    if found is None:
        known = ", ".join(t.value for t in ReportType)
        raise BadUserInput(f"unknown report type {value!r}; expected one of {known}", argument="reportType")
    return found


def params_from_json(report_type: ReportType | str, data: object) -> ReportParams:
    """Parameters from their JSON form, checked against the type's rules; BAD_USER_INPUT names the bad key."""
    kind = report_type_of(report_type)
    if not isinstance(data, Mapping):
        raise BadUserInput("report parameters are a JSON object", argument="params")
    for key in data:
        if key not in _KEYS:
            raise BadUserInput(f"unknown report parameter {key!r}; expected {', '.join(_KEYS)}", argument=str(key))
    if "range" not in data:
        raise BadUserInput("a report needs a range: {from, to} or {preset}", argument="range")
    params = ReportParams(
        range=_range(data["range"]),
        team_ids=_ids(data, "teamIds", "Team"),
        campaign_ids=_ids(data, "campaignIds", "Campaign"),
        agent_ids=_ids(data, "agentIds", "Agent"),
        grouping=_grouping(data.get("grouping")),
        metrics=tuple(_metric(v, "metrics") for v in _list(data, "metrics")),
        custom_metrics=tuple(_custom_name(v, "customMetrics") for v in _list(data, "customMetrics")),
        rank_by=_rank_by(data.get("rankBy")),
    )
    return validate(kind, params)


def validate(report_type: ReportType, params: ReportParams) -> ReportParams:
    """The parameters, if the type takes them (they may be built in code rather than read from JSON)."""
    rules = RULES[report_type]
    label = report_type.value.replace("_", " ")
    if params.range.preset is None:
        # The form of a from/to range is checked now, whatever day it is; a preset always resolves.
        resolve(params.range.start, params.range.end, None, date.today())
    elif params.range.start is not None or params.range.end is not None:
        raise BadUserInput("give either from/to or a preset, not both", argument="range")
    for key, ids in (("teamIds", params.team_ids), ("campaignIds", params.campaign_ids),
                     ("agentIds", params.agent_ids)):
        if ids and key not in rules.filters:
            raise BadUserInput(f"a {label} report does not take {key}", argument=key)
        if len(ids) > MAX_FILTER_IDS:
            raise BadUserInput(f"{key} names at most {MAX_FILTER_IDS} ids", argument=key)
    if params.grouping is not None and params.grouping not in rules.groupings:
        accepted = ", ".join(g.name for g in rules.groupings) or "none"
        raise BadUserInput(f"a {label} report groups by {accepted}, not {params.grouping.name}", argument="grouping")
    if not rules.metrics:
        for key, given in (("metrics", params.metrics), ("customMetrics", params.custom_metrics)):
            if given:
                raise BadUserInput(f"a {label} report has fixed columns and takes no {key}", argument=key)
    if len(params.metrics) + len(params.custom_metrics) > MAX_METRICS:
        raise BadUserInput(f"include at most {MAX_METRICS} metrics and custom metrics", argument="metrics")
    for name in params.custom_metrics:
        _custom_name(name, "customMetrics")
    if params.rank_by is not None:
        if rules.rank_by is None:
            raise BadUserInput(f"a {label} report takes no rankBy", argument="rankBy")
        if (params.rank_by.metric is None) == (params.rank_by.custom is None):
            raise BadUserInput("rankBy is one of {metric} and {customMetric}", argument="rankBy")
        if params.rank_by.custom is not None:
            _custom_name(params.rank_by.custom, "rankBy")
    return params


def grouping_of(report_type: ReportType, params: ReportParams) -> Grouping | None:
    """The grouping a run uses: the one asked for, else the type's default."""
    return params.grouping or RULES[report_type].default_grouping


# --- reading JSON values ---------------------------------------------------------------------------------------

E = TypeVar("E", bound=enum.Enum)


def _enum_member(kind: type[E], value: object) -> E | None:
    if not isinstance(value, str):
        return None
    for member in kind:
        if value.upper() == member.name or value == member.value:
            return member
    return None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _range(value: object) -> ReportRange:
    if not isinstance(value, Mapping):
        raise BadUserInput("range is an object: {from, to} or {preset}", argument="range")
    unknown = set(value) - {"from", "to", "preset"}
    if unknown:
        raise BadUserInput(f"range takes from, to or preset, not {', '.join(sorted(map(str, unknown)))}",
                           argument="range")
    preset = None
    if value.get("preset") is not None:
        preset = _enum_member(Preset, value["preset"])
        if preset is None:
            raise BadUserInput(f"unknown range preset {value['preset']!r}; expected one of "
                               f"{', '.join(p.name for p in Preset)}", argument="range")
    rng = ReportRange(start=_date(value.get("from")), end=_date(value.get("to")), preset=preset)
    if preset is None:
        resolve(rng.start, rng.end, None, date.today())
    elif rng.start is not None or rng.end is not None:
        raise BadUserInput("give either from/to or a preset, not both", argument="range")
    return rng


def _date(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise BadUserInput(f"{value!r} is not a day (YYYY-MM-DD)", argument="range")


def _list(data: Mapping[str, object], key: str) -> Sequence[object]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise BadUserInput(f"{key} is a list", argument=key)
    return value


def _ids(data: Mapping[str, object], key: str, type_name: str) -> tuple[UUID, ...]:
    """Global ids of `type_name` or plain UUIDs, in order, each once."""
    found: dict[UUID, None] = {}
    for value in _list(data, key):
        if not isinstance(value, str):
            raise BadUserInput(f"{key} holds ids (strings), not {value!r}", argument=key)
        try:
            found[uuid_or_global_id(value, type_name)] = None
        except BadUserInput as e:
            raise BadUserInput(f"{key}: {e.message}", argument=key) from None
    return tuple(found)


def _grouping(value: object) -> Grouping | None:
    if value is None:
        return None
    found = _enum_member(Grouping, value)
    if found is None:
        raise BadUserInput(f"unknown grouping {value!r}; expected one of {', '.join(g.name for g in Grouping)}",
                           argument="grouping")
    return found


def _metric(value: object, argument: str) -> Metric:
    found = _enum_member(Metric, value)
    if found is None:
        raise BadUserInput(f"unknown metric {value!r} (custom metrics go in customMetrics)", argument=argument)
    return found


def _custom_name(value: object, argument: str) -> str:
    if not isinstance(value, str):
        raise BadUserInput(f"{argument} holds custom metric names (strings), not {value!r}", argument=argument)
    try:
        return validate_name(value)
    except FormulaError as e:
        raise BadUserInput(f"{argument}: {e.detail}", argument=argument) from None


def _rank_by(value: object) -> MetricChoice | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) - {"metric", "customMetric"} or len(value) != 1:
        raise BadUserInput("rankBy is one of {metric} and {customMetric}", argument="rankBy")
    if "metric" in value:
        return MetricChoice(metric=_metric(value["metric"], "rankBy"))
    return MetricChoice(custom=_custom_name(value["customMetric"], "rankBy"))
