"""A stored measure as the API shows it, built by the database as JSON.

Every answer that shows measures (the list, one measure, the change feed, a correction) takes them
from :func:`measurement_json`, so they are the same bytes everywhere. The database builds them:
turning each row into Python objects (a UUID, three aware datetimes, a dozen strings) and then into
JSON cost ~8 µs a measure, most of a 100-item page's time; PostgreSQL's ``json_build_object``
costs a fraction of that, and the server only joins the pieces.

The shape is :class:`ens.vitals.schemas.MeasurementRead` (camelCase, absent fields omitted, never
``null``); a test decodes every representation strictly into it. Instants are RFC 3339 in UTC
(``+00:00``): the PostgreSQL connections run with ``TimeZone=UTC`` (``ens.core.db``).
"""

from __future__ import annotations

from functools import cache

from ens.vitals.catalogue import BLOOD_PRESSURE, VITAL_TYPES


def _text(value: str, *, postgres: bool) -> str:
    """A SQL string literal for catalogue text (never user input). Braces, as in the UCUM unit
    ``{score}``, are spelt with their character codes: statements use ``{}`` as placeholders."""
    char = "chr" if postgres else "char"
    parts = value.replace("{", "\0{\0").replace("}", "\0}\0").split("\0")
    pieces = [f"{char}({ord(part)})" if part in ("{", "}") else f"'{part}'" for part in parts if part]
    return " || ".join(pieces)


def _unit_case(*, postgres: bool) -> str:
    # The canonical unit of each type, from the catalogue.
    whens = " ".join(f"WHEN '{vital.code}' THEN {_text(vital.unit, postgres=postgres)}" for vital in VITAL_TYPES)
    return f"CASE m.type {whens} END"


@cache
def measurement_json(postgres: bool) -> str:
    """The SQL expression of one measure's JSON (the table is aliased ``m``)."""
    if postgres:
        obj, strip, raw, instant = "json_build_object", "json_strip_nulls({})", "m.{}::json", "m.{}"
    else:
        # SQLite: json_patch onto an empty object drops null members at every depth (RFC 7396);
        # piccolo stores instants as 'YYYY-MM-DD HH:MM:SS[.ffffff]+00:00'. (No literal braces:
        # statements use ``{}`` as their placeholders.)
        obj, strip, raw = "json_object", "json_patch(json_object(), {})", "json(m.{})"
        instant = "replace(m.{}, ' ', 'T')"
    pressure = f"m.type = '{BLOOD_PRESSURE}'"
    members = [
        ("id", "m.id"),
        ("type", "m.type"),
        ("unit", _unit_case(postgres=postgres)),
        ("value", f"CASE WHEN NOT {pressure} THEN m.value END"),
        ("components", f"CASE WHEN {pressure} THEN {obj}('systolic', m.systolic, 'diastolic', m.diastolic) END"),
        ("originalValue", raw.format("original_value")),
        ("originalUnit", "m.original_unit"),
        ("effectiveAt", instant.format("effective_at")),
        ("recordingMethod", "m.recording_method"),
        ("source", f"{obj}('clientId', m.source_client_id, 'name', m.source_name)"),
        (
            "device",
            "CASE WHEN COALESCE(m.device_manufacturer, m.device_model, m.device_identifier) IS NOT NULL THEN "
            f"{obj}('manufacturer', m.device_manufacturer, 'model', m.device_model, "
            "'identifier', m.device_identifier) END",
        ),
        ("bodyPosition", "m.body_position"),
        ("measurementLocation", "m.measurement_location"),
        ("glucoseMoment", "m.glucose_moment"),
        ("note", "m.note"),
        ("createdAt", instant.format("created_at")),
        ("updatedAt", instant.format("updated_at")),
    ]
    return strip.format(f"{obj}(" + ", ".join(f"'{name}', {sql}" for name, sql in members) + ")")
