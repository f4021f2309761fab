"""Rows made from records without their dataclass's __init__ are the rows that __init__ makes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

import asyncpg
import pytest

from gateway.loaders._rows import rows_of
from gateway.loaders.call import CALLS_PAGE, CallOrder, CallRow

RECORDS: Final = """
SELECT n AS id, 'name ' || n AS name, n % 2 = 0 AS even, n * 10 AS sort_key FROM generate_series(1, 3) AS n
"""
PARENT_FIRST: Final = "SELECT 7 AS parent_id, n AS id, 'name ' || n AS name, n % 2 = 0 AS even, n AS sort_key " \
    "FROM generate_series(1, 2) AS n"


@dataclass(frozen=True)
class Row:
    id: int
    name: str
    even: bool


@dataclass(frozen=True)
class Checked:
    id: int
    name: str
    even: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.upper())


@dataclass
class OwnInit:
    id: int
    name: str
    even: bool

    def __init__(self, id: int, name: str, even: bool) -> None:
        self.id, self.name, self.even = id + 100, name, even


@dataclass(frozen=True, slots=True)
class Slotted:
    id: int
    name: str
    even: bool


async def test_rows_from_records_equal_the_rows_the_dataclass_makes(admin_conn: asyncpg.Connection) -> None:
    # given
    records = await admin_conn.fetch(RECORDS)
    # when
    rows = rows_of(Row, records, {"sort_key"})
    # then
    assert rows == [Row(**{k: v for k, v in r.items() if k != "sort_key"}) for r in records]
    assert [vars(r) for r in rows] == [{"id": 1, "name": "name 1", "even": False},
                                       {"id": 2, "name": "name 2", "even": True},
                                       {"id": 3, "name": "name 3", "even": False}]
    assert rows[0] == Row(1, "name 1", False)
    assert hash(rows[0]) == hash(Row(1, "name 1", False))


async def test_leading_and_trailing_statement_columns_are_left_out(admin_conn: asyncpg.Connection) -> None:
    records = await admin_conn.fetch(PARENT_FIRST)
    assert rows_of(Row, records, {"parent_id", "sort_key"}) == [Row(1, "name 1", False), Row(2, "name 2", True)]


async def test_row_types_whose_init_does_more_are_made_by_their_init(admin_conn: asyncpg.Connection) -> None:
    records = await admin_conn.fetch(RECORDS)
    for make in (Checked, OwnInit, Slotted):
        assert rows_of(make, records, {"sort_key"}) == [
            make(**{k: v for k, v in r.items() if k != "sort_key"}) for r in records], make


async def test_columns_that_are_not_the_fields_are_refused_as_the_init_refuses_them(
        admin_conn: asyncpg.Connection) -> None:
    records = await admin_conn.fetch(RECORDS)
    with pytest.raises(TypeError, match="sort_key"):
        rows_of(Row, records)  # sort_key is not a field
    assert rows_of(Row, []) == []


def test_a_call_page_statement_selects_the_call_row_fields_in_order() -> None:
    # The direct path needs the columns in field order; a statement that differs only loses the speed.
    columns = CALLS_PAGE[CallOrder.STARTED_AT_DESC].split(" FROM ", 1)[0].removeprefix("SELECT ")
    names = [c.strip().split()[-1] for c in columns.split(",")]
    assert names == [f.name for f in dataclasses.fields(CallRow)] + ["sort_key"]
