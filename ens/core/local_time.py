"""The space's local time: its zone, instants from query parameters, local midnights."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ens.core import clock
from ens.core.errors import BadRequest, FieldError


@cache
def zone_of(name: str) -> ZoneInfo:
    """The space's time zone, falling back to Europe/Paris for a name this machine does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Paris")


# Instants a query may name. Outside, a local midnight or a conversion to UTC could leave the
# calendar Python knows (year 1 to 9999): refused, not clamped, so a client learns of its mistake.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2199

# Where today's date is furthest ahead (Kiribati's Line Islands, UTC+14).
_FURTHEST_AHEAD = ZoneInfo("Etc/GMT-14")


def today_furthest_ahead() -> date:
    """The latest date it is anywhere now: no one's real birthdate is after it."""
    return clock.now().astimezone(_FURTHEST_AHEAD).date()


def parse_instant(value: str | None, name: str, *, zone: ZoneInfo) -> datetime | None:
    """An RFC 3339 timestamp, or a date meaning its midnight in the space's time zone."""
    if value is None:
        return None
    try:
        # An unescaped "+" in a query string arrives as a space.
        parsed = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError:
        parsed = None
    if parsed is None or (isinstance(parsed, datetime) and parsed.tzinfo is None):
        raise BadRequest(
            f"{name} must be an RFC 3339 timestamp with an offset, or a date.",
            [FieldError(f"/{name}", "expected an RFC 3339 timestamp with an offset (or YYYY-MM-DD)")],
        )
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise BadRequest(
            f"{name} must fall between the years {EARLIEST_YEAR} and {LATEST_YEAR}.",
            [FieldError(f"/{name}", f"outside the years {EARLIEST_YEAR}-{LATEST_YEAR}")],
        )
    if isinstance(parsed, datetime):
        return parsed.astimezone(UTC)
    return datetime.combine(parsed, datetime.min.time(), zone).astimezone(UTC)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local day starts (DST days last 23 or 25 hours; the zone knows)."""
    return datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)
