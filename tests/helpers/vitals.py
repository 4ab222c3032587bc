"""Measures as a phone or a device app sends them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

VITALS = "/v1/spaces/me/vitals"


def at(minutes_ago: float = 0, base: datetime | None = None) -> str:
    """An RFC 3339 instant ``minutes_ago`` before ``base`` (now by default)."""
    moment = (base or datetime.now(UTC)) - timedelta(minutes=minutes_ago)
    return moment.isoformat().replace("+00:00", "Z")


def weight(value: float = 72.5, unit: str = "kg", minutes_ago: float = 10, **extra: Any) -> dict[str, Any]:
    return {"type": "body_weight", "value": value, "unit": unit, "effectiveAt": at(minutes_ago), **extra}


def pressure(systolic: float = 120, diastolic: float = 80, minutes_ago: float = 10, **extra: Any) -> dict[str, Any]:
    return {
        "type": "blood_pressure",
        "components": {"systolic": systolic, "diastolic": diastolic},
        "unit": "mm[Hg]",
        "effectiveAt": at(minutes_ago),
        **extra,
    }
