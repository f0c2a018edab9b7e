"""The `DateTime` scalar, replacing Strawberry's: UTC in, ISO-8601 with `Z` out.

Input follows the REST rules (`params.INSTANT_HELP`): an offset is converted to UTC, a
date-time without one and a plain date (its midnight) are read as UTC. Output is
`2024-11-03T04:00:00Z`, as everywhere else in the API. Series columns hand the scalar
strings already formatted by `formats.column_values` (vectorized), which it passes
through: serializing 288 timestamps one `isoformat()` call at a time is what makes
GraphQL slow.
"""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry.exceptions import StrawberryInputCoercionError

from ..formats import iso_z

__all__ = ["DATETIME", "parse_datetime", "serialize_datetime"]


def serialize_datetime(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return iso_z(value)  # type: ignore[return-value]


def parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise StrawberryInputCoercionError(
            f"DateTime cannot represent {value!r}: expected an ISO-8601 string"
        )
    try:
        instant = datetime.fromisoformat(value.strip())
    except ValueError:
        raise StrawberryInputCoercionError(
            f"DateTime cannot represent {value!r}: expected ISO-8601 such as "
            "2024-11-03T04:00:00Z or 2024-11-03 (no offset means UTC)"
        ) from None
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    try:
        return instant.astimezone(UTC)
    except OverflowError:
        raise StrawberryInputCoercionError(
            f"DateTime cannot represent {value!r}: out of range in UTC"
        ) from None


DATETIME = strawberry.scalar(
    name="DateTime",
    description=(
        "An instant as ISO-8601. Output is always UTC with `Z`; input without an offset "
        "(or a plain date, meaning its midnight) is read as UTC."
    ),
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)
