"""The one clock and the one conversion of stored times.

SQLite hands timestamps back as text or as naive datetimes (in UTC, as they were written);
PostgreSQL as aware datetimes. Everything above ``core.db`` sees aware datetimes only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def now() -> datetime:
    """The time now, aware, in UTC."""
    return datetime.now(UTC)


def aware(value: object) -> datetime:
    """A stored timestamp as an aware datetime (naive values are UTC, as they were written)."""
    result = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return result if result.tzinfo else result.replace(tzinfo=UTC)


def aware_or_none(value: object) -> datetime | None:
    return None if value is None else aware(value)


def as_date(value: object) -> date | None:
    """A stored date (SQLite may give text); ``None`` stays ``None``."""
    if value is None or isinstance(value, date):
        return value if not isinstance(value, datetime) else value.date()
    return date.fromisoformat(str(value))
