"""The space's local time: its zone, instants from query parameters, local midnights."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ens.core.errors import BadRequest, FieldError


@cache
def zone_of(name: str) -> ZoneInfo:
    """The space's time zone, falling back to Europe/Paris for a name this machine does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Paris")


def parse_instant(value: str | None, name: str, *, zone: ZoneInfo) -> datetime | None:
    """An RFC 3339 timestamp, or a date meaning its midnight in the space's time zone."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), zone).astimezone(UTC)
        # An unescaped "+" in a query string arrives as a space.
        parsed = datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise BadRequest(
            f"{name} must be an RFC 3339 timestamp with an offset, or a date.",
            [FieldError(f"/{name}", "expected an RFC 3339 timestamp with an offset (or YYYY-MM-DD)")],
        )
    return parsed.astimezone(UTC)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local day starts (DST days last 23 or 25 hours; the zone knows)."""
    return datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)
