"""How one value is written: plainly for machines (CSV), or for people per its ColumnKind (PDF).

Plain values are what a spreadsheet or a BI tool parses back: numbers with a '.' decimal and no grouping,
ISO 8601 dates and datetimes, None as an empty cell. Display values are what a manager reads: 1,234,
12.5%, 4:05, 1,234.50.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Final

from gateway.reports.result import ColumnKind

# A cell starting with one of these is run as a formula by Excel, LibreOffice or Sheets (OWASP, "CSV
# Injection"): = + - @ tab and carriage return, and their full-width forms, which some locales' Excel
# also reads as formulas.
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def neutralise(text: str) -> str:
    """Text a spreadsheet shows as written: a leading single quote stops a formula from running."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def plain(value: object) -> str | int | float:
    """One CSV cell: numbers stay numbers (negative ones too), any text that could run as a formula is neutralised.

    ints and floats are handed to the csv module as they are (it writes them with repr, the shortest exact form).
    """
    kind = type(value)
    if kind is str:
        return neutralise(value)  # type: ignore[arg-type]
    if kind is int:
        return value  # type: ignore[return-value]
    if value is None:
        return ""
    if kind is float:
        return value if math.isfinite(value) else ""  # type: ignore[arg-type, return-value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return plain(int(value) if isinstance(value, int) else float(value))
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else ""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return plain(value.total_seconds())
    if isinstance(value, uuid.UUID):
        return str(value)
    return neutralise(str(value))


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return None


def _integer(number: float) -> str:
    return f"{round(number):,}"


def _decimal(number: float) -> str:
    # Up to two decimals, trailing zeros dropped: 3 → "3", 2.5 → "2.5", 1234.567 → "1,234.57".
    text = f"{number:,.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _ratio(number: float) -> str:
    return _decimal(number * 100) + "%"


def _seconds(number: float) -> str:
    """m:ss under an hour, h:mm:ss from an hour on: 245 → "4:05", 3725 → "1:02:05"."""
    sign = "-" if number < 0 else ""
    total = round(abs(number))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{seconds:02d}"
    return f"{sign}{minutes}:{seconds:02d}"


def _money(number: float) -> str:
    return f"{number:,.2f}"


_NUMERIC: Final[dict[ColumnKind, Callable[[float], str]]] = {
    ColumnKind.INTEGER: _integer,
    ColumnKind.NUMBER: _decimal,
    ColumnKind.RATIO: _ratio,
    ColumnKind.SECONDS: _seconds,
    ColumnKind.MONEY: _money,
}

NUMERIC_KINDS: Final = frozenset(_NUMERIC)


def display(value: object, kind: ColumnKind, missing: str = "—") -> str:
    """One value as a person reads it in the PDF; `missing` for None (and for a number that is not one)."""
    if value is None:
        return missing
    numeric = _NUMERIC.get(kind)
    if numeric is not None:
        number = _number(value)
        if number is not None:
            return numeric(number)
        # Text in a numeric column ("n/a") is shown as it is.
        return value if isinstance(value, str) else missing
    if isinstance(value, datetime):
        # Minutes are what a reader needs; the offset says which clock, when the value has one.
        text = value.strftime("%Y-%m-%d %H:%M")
        offset = value.strftime("%z")
        return f"{text} {offset[:3]}:{offset[3:]}" if offset else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float | Decimal):
        number = _number(value)
        return missing if number is None else _decimal(number)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def chart_number(value: object) -> float | None:
    """A value as a chart's y: None for anything that is not a finite number (drawn as a gap or no bar)."""
    return _number(value)
