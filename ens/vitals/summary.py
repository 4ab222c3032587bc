"""Summaries of one type: count, min, max and mean per day, week or month in the space's time zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from msgspec import UNSET

from ens.core import clock
from ens.core.api import check_span
from ens.core.db import current, fetch, is_postgres
from ens.core.errors import BadRequest, FieldError
from ens.core.local_time import local_midnight, parse_instant, zone_of
from ens.spaces.door import SpaceAccess, visible_to
from ens.vitals.catalogue import BLOOD_GLUCOSE, BLOOD_PRESSURE, BY_CODE, STEPS_PER_DAY
from ens.vitals.reads import readable_types
from ens.vitals.rules import CLOCK_SKEW
from ens.vitals.schemas import Bucket, ComponentsRead, GlucoseMoment, Summary, SummaryItem

MAX_BUCKETS = 1100
# A day's step count is the highest of that day's counts, one per app that counts them: a phone
# and a watch count the same steps, so their mean was no day's count (and a week's mean, of both,
# half of it for a walker who wears the watch). The summary is of days, ``count`` their number.
_DAYS = "SELECT MAX(m.value) AS value, MIN(m.effective_at) AS effective_at FROM"
# Without ``since``, a summary covers this much before ``until`` (at most ~366 buckets).
DEFAULT_SPANS = {"day": timedelta(days=366), "week": timedelta(weeks=260), "month": timedelta(days=365 * 20)}


def first_start(bucket: Bucket, since: datetime, *, zone: ZoneInfo) -> date:
    """The local calendar start of the bucket holding ``since`` (weeks start on Monday)."""
    first = since.astimezone(zone).date()
    if bucket == "week":
        return first - timedelta(days=first.weekday())
    if bucket == "month":
        return first.replace(day=1)
    return first


def bucket_count(bucket: Bucket, first: date, *, until: datetime, zone: ZoneInfo) -> int:
    """How many buckets from the one starting on ``first`` to the one holding ``until``."""
    last = until.astimezone(zone).date()
    if bucket == "day":
        return (last - first).days + 1
    if bucket == "week":
        return (last - first).days // 7 + 1
    return (last.year - first.year) * 12 + last.month - first.month + 1


def nth_start(bucket: Bucket, first: date, n: int) -> date:
    """The local first day of the ``n``-th bucket after the one starting on ``first``."""
    if bucket == "day":
        return first + timedelta(days=n)
    if bucket == "week":
        return first + timedelta(weeks=n)
    months = first.month - 1 + n
    return date(first.year + months // 12, months % 12 + 1, 1)


async def summarize(
    access: SpaceAccess,
    type_: str | None,
    *,
    bucket: Bucket,
    since: str | None,
    until: str | None,
    glucose_moment: GlucoseMoment | None = None,
) -> Summary:
    """count, min, max and mean per day, week or month in the space's time zone, computed in SQL.

    Bucket boundaries are the space's local midnights: made by the statement on PostgreSQL, here
    on SQLite (which knows no time zones); the database aggregates the span read with the
    (space_id, type, effective_at) index.
    """
    if type_ is None:
        raise BadRequest("type is required: the summary is of one type.", [FieldError("/type", "required")])
    readable_types(access, type_)
    if glucose_moment is not None and type_ != BLOOD_GLUCOSE:
        raise BadRequest(
            "glucoseMoment is the moment of a blood glucose measure: a summary of another type has none.",
            [FieldError("/glucoseMoment", "only with type=blood_glucose")],
        )
    vital = BY_CODE[type_]
    zone = zone_of(access.space.timezone)
    now = clock.now()
    # By default up to the latest instant a measure may be taken at (the clocks' skew a measure is
    # accepted with): one taken a few minutes ahead was listed and on the home screen, but in no
    # summary (an outside audit).
    until_at = parse_instant(until, "until", zone=zone) or now + CLOCK_SKEW
    # Without since, the default span before until. Only buckets holding measures are listed, so
    # starting at the type's first measure (one more statement, its MIN) listed the same.
    since_at = parse_instant(since, "since", zone=zone) or until_at - DEFAULT_SPANS[bucket]
    check_span(since_at, until_at)
    first = first_start(bucket, since_at, zone=zone)
    count = bucket_count(bucket, first, until=until_at, zone=zone)
    if count > MAX_BUCKETS:
        # A query parameter out of bounds, as a limit above its maximum: 400 like every one.
        raise BadRequest(
            f"At most {MAX_BUCKETS} buckets per summary; narrow since and until or take a larger bucket.",
            [FieldError("/since", f"more than {MAX_BUCKETS} {bucket} buckets")],
        )
    if vital.code == BLOOD_PRESSURE:
        aggregates = (
            "MIN(m.systolic) AS min_s, MAX(m.systolic) AS max_s, AVG(m.systolic) AS mean_s, "
            "MIN(m.diastolic) AS min_d, MAX(m.diastolic) AS max_d, AVG(m.diastolic) AS mean_d"
        )
    else:
        aggregates = "MIN(m.value) AS min_v, MAX(m.value) AS max_v, AVG(m.value) AS mean_v"
    visible = visible_to(access, alias="m")
    # One moment of a glucose: its rows alone, from the index of the measures that have a moment
    # (vital_measurements_glucose_moments, PostgreSQL; which ``glucose_moment = $n`` implies, so a
    # generic plan reads it too). Among the type's, a heap visit each, a sensor's 288 readings a day
    # were all read for one fasting glucose a day (a scale audit).
    moment = ""
    moment_args: list[Any] = []
    if glucose_moment is not None:
        moment, moment_args = " AND m.glucose_moment = {}", [glucose_moment]
    # The type's rows of [since, until) (space, type, since, until); steps, one a local day.
    span_rows = (
        "vital_measurements m WHERE m.space_id = {} AND m.type = {} AND m.effective_at >= {} "
        f"AND m.effective_at < {{}}{moment}{visible}"
    )
    by_day = f"({_DAYS} {span_rows} GROUP BY m.local_date) AS m"
    if is_postgres(current()):
        # One range scan of the (space_id, type, effective_at) index over [since, until), each row
        # put in its bucket by a binary search over the buckets' starts (width_bucket). Joining the
        # rows to a list of ranges instead compared every row with every bucket: 19.7 ms for a
        # year of daily weights (307 rows x 366 days, EXPLAIN ANALYZE), growing with both. The
        # starts are the local midnights of the calendar's days, weeks or months, made once by the
        # statement (generate_series, AT TIME ZONE): built in Python, a year of days cost the
        # server ~0.35 ms. A row before the first start (since falls inside the first bucket) is
        # kept out by the range.
        step = {"day": "1 day", "week": "1 week", "month": "1 month"}[bucket]
        # Where clocks go back an hour at midnight (Atlantic/Azores in October, America/Havana in
        # November), midnight happens twice and AT TIME ZONE gives the later instant; a day starts
        # at the first one (as in Python, fold=0), an hour earlier.
        starts_sql = (
            "ARRAY(SELECT CASE WHEN (t - interval '1 hour') AT TIME ZONE {} >= d THEN t - interval '1 hour' "
            "ELSE t END FROM (SELECT d, d AT TIME ZONE {} AS t FROM generate_series(CAST({} AS timestamp), "
            f"CAST({{}} AS timestamp), interval '{step}') AS d) AS local_starts ORDER BY d)"
        )
        measures = by_day if vital.code == STEPS_PER_DAY else span_rows
        sql = f"SELECT width_bucket(m.effective_at, {starts_sql}) - 1 AS k, COUNT(*) AS n, {aggregates} FROM {measures}"
        sql += " GROUP BY 1 ORDER BY 1"
        # The first and last starts as local wall-clock times (timestamp without time zone).
        span = [datetime.combine(day, time()) for day in (first, nth_start(bucket, first, count - 1))]
        rows = await fetch(sql, zone.key, zone.key, *span, access.space_id, type_, since_at, until_at, *moment_args)
    else:
        # SQLite (one person's development database, no time zones): each row joined to its
        # bucket's range, the local midnights made here.
        values: list[str] = []
        args: list[Any] = []
        for index in range(count):
            low = max(local_midnight(nth_start(bucket, first, index), zone), since_at)
            high = min(local_midnight(nth_start(bucket, first, index + 1), zone), until_at)
            values.append("(CAST({} AS INTEGER), {}, {})")
            args += [index, low, high]
        if vital.code == STEPS_PER_DAY:
            args += [access.space_id, type_, since_at, until_at]
            measures = f"{by_day} ON m.effective_at >= b.lo AND m.effective_at < b.hi"
        else:
            args += [access.space_id, type_, *moment_args]
            measures = (
                "vital_measurements m ON m.space_id = {} AND m.type = {} "
                f"AND m.effective_at >= b.lo AND m.effective_at < b.hi{moment}{visible}"
            )
        sql = (
            f"WITH buckets (k, lo, hi) AS (VALUES {', '.join(values)}) "
            f"SELECT b.k AS k, COUNT(*) AS n, {aggregates} FROM buckets b JOIN {measures} GROUP BY b.k ORDER BY b.k"
        )
        rows = await fetch(sql, *args)
    mean_digits = vital.precision + 1
    items: list[SummaryItem] = []
    for row in rows:
        start = nth_start(bucket, first, int(row["k"]))
        if vital.code == BLOOD_PRESSURE:
            items.append(
                SummaryItem(
                    start=start,
                    count=int(row["n"]),
                    min=ComponentsRead(
                        systolic=vital.shown(float(row["min_s"])), diastolic=vital.shown(float(row["min_d"]))
                    ),
                    max=ComponentsRead(
                        systolic=vital.shown(float(row["max_s"])), diastolic=vital.shown(float(row["max_d"]))
                    ),
                    mean=ComponentsRead(
                        systolic=round(float(row["mean_s"]), mean_digits),
                        diastolic=round(float(row["mean_d"]), mean_digits),
                    ),
                )
            )
        else:
            items.append(
                SummaryItem(
                    start=start,
                    count=int(row["n"]),
                    min=vital.shown(float(row["min_v"])),
                    max=vital.shown(float(row["max_v"])),
                    mean=round(float(row["mean_v"]), mean_digits),
                )
            )
    return Summary(
        type=type_,
        bucket=bucket,
        unit=vital.unit,
        time_zone=zone.key,
        items=items,
        glucose_moment=UNSET if glucose_moment is None else glucose_moment,
    )
