"""Column values in the cheapest shape binary COPY accepts: asyncpg UUIDs, integer seconds, pre-encoded numerics.

Timestamps travel as integer seconds since 2000-01-01 UTC (PostgreSQL's epoch) and numerics as their binary wire
form; `_load` installs the matching codecs on the connection for the duration of the seed. Building a datetime or
a Decimal per value and letting asyncpg encode it costs about 2 µs each, a third of the whole budget per call.
"""

from __future__ import annotations

import functools
import struct
from datetime import UTC, date, datetime, timedelta
from random import Random
from typing import Final
from uuid import UUID

from asyncpg.pgproto.pgproto import UUID as WireUUID

_PG_EPOCH_ORDINAL: Final = date(2000, 1, 1).toordinal()
_PG_EPOCH: Final = datetime(2000, 1, 1, tzinfo=UTC)
DAY: Final = 86_400
HOUR: Final = 3_600
MINUTE: Final = 60
_SECOND: Final = timedelta(seconds=1)

# The bits uuid.UUID(..., version=4) overwrites: the version nibble and the RFC 4122 variant.
_V4_KEEP: Final = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_V4_SET: Final = (4 << 76) | (0x8000 << 48)


def uuid4(rng: Random) -> UUID:
    """Equal to uuid.UUID(int=rng.getrandbits(128), version=4), built as asyncpg's own UUID type.

    asyncpg's UUID subclasses uuid.UUID, is five times cheaper to build and is written to the wire as is.
    """
    return WireUUID(((rng.getrandbits(128) & _V4_KEEP) | _V4_SET).to_bytes(16, "big"))


def day_number(day: date) -> int:
    """Days since 2000-01-01."""
    return day.toordinal() - _PG_EPOCH_ORDINAL


def seconds_of(moment: datetime) -> int:
    """Whole seconds since 2000-01-01 UTC (rounded down) of an aware datetime."""
    return (moment - _PG_EPOCH) // _SECOND


def encode_timestamp(seconds: int) -> tuple[int]:
    """The 'tuple' form of asyncpg's timestamptz codec: microseconds since 2000-01-01 UTC."""
    return (seconds * 1_000_000,)


def decode_timestamp(value: tuple[int]) -> int:
    """The inverse of encode_timestamp (asyncpg wants a decoder too; the seeder reads no timestamps)."""
    return value[0] // 1_000_000


@functools.cache
def numeric(units: int, scale: int) -> bytes:
    """PostgreSQL's binary numeric for units / 10**scale (units >= 0, scale <= 4).

    Cached: call costs are rounded to whole seconds of a few rates, so a few thousand values cover a million rows.
    """
    # Base-10000 digits aligned on the decimal point: widen the fraction to exactly four decimal digits.
    integer, fraction = divmod(units * 10 ** (4 - scale), 10_000)
    digits: list[int] = []
    while integer:
        integer, digit = divmod(integer, 10_000)
        digits.append(digit)
    digits.reverse()
    weight = len(digits) - 1
    digits.append(fraction)
    while digits and digits[-1] == 0:
        digits.pop()
    if not digits:
        weight = 0
    return struct.pack(f">hhHh{len(digits)}H", len(digits), weight, 0, scale, *digits)


def money(cents: int) -> bytes:
    """A numeric(14, 2) amount."""
    return numeric(cents, 2)
