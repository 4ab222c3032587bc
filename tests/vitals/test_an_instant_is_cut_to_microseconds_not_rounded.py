"""Instants are kept to the microsecond. One sent with more digits (a .NET DateTime has 7, its
ticks) was rounded by the JSON reader: 23:59:59.9999999, the last tick of a day that such a client
stamps a day's step count with, became the next day's midnight, and the count that day's. It is
cut, not rounded, on both doors for measures."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ens.vitals.schemas import to_microseconds
from tests.helpers.vitals import VITALS
from tests.vitals.test_fhir_intake import steps, transaction

PARIS = ZoneInfo("Europe/Paris")


def _last_tick(days_ago: int) -> tuple[str, datetime]:
    """The last 100 ns tick of a past day in Paris, as a .NET client writes it; the instant kept."""
    day = datetime.now(UTC).astimezone(PARIS).date() - timedelta(days=days_ago)
    end = datetime.combine(day, time(23, 59, 59, 999999), PARIS)
    text = end.isoformat()  # 2026-12-03T23:59:59.999999+01:00
    return text.replace(".999999", ".9999999"), end


async def test_the_last_tick_of_a_day_stays_on_that_day(client, person, make_app_token):
    app = await make_app_token(person, ["vitals.steps_per_day:write"])
    sent, kept = _last_tick(2)
    item = {"type": "steps_per_day", "value": 8421, "unit": "1/(24.h)", "effectiveAt": sent}
    answer = await client.post(VITALS, json={"measurements": [item]}, headers=app.headers)
    assert answer.status_code == 201, answer.text
    fhir_sent, fhir_kept = _last_tick(3)
    bundle = transaction(steps(9000, "s1", effectiveDateTime=fhir_sent), with_device=False)
    answer = await client.post("/fhir", json=bundle, headers=app.headers)
    assert answer.status_code == 200, answer.text
    items = (await client.get(VITALS, headers=person.headers)).json()["items"]
    assert {m["value"]: datetime.fromisoformat(m["effectiveAt"]) for m in items} == {8421: kept, 9000: fhir_kept}
    summary = await client.get(
        f"{VITALS}/summary?type=steps_per_day&bucket=day&since={fhir_kept.date()}", headers=person.headers
    )
    days = {datetime.fromisoformat(b["start"]).date(): b["max"] for b in summary.json()["items"]}
    assert days == {kept.date(): 8421, fhir_kept.date(): 9000}


async def test_a_correction_by_hand_cuts_it_too(client, person):
    typed = {"type": "body_weight", "value": 72.4, "unit": "kg", "effectiveAt": _last_tick(3)[0]}
    answer = await client.post(VITALS, json={"measurements": [typed]}, headers=person.headers)
    assert answer.status_code == 201, answer.text
    url = f"{VITALS}/{answer.json()['items'][0]['id']}"
    current = await client.get(url, headers=person.headers)
    sent, kept = _last_tick(2)
    corrected = await client.patch(
        url, json={"effectiveAt": sent}, headers={**person.headers, "If-Match": current.headers["etag"]}
    )
    assert corrected.status_code == 200, corrected.text
    assert datetime.fromisoformat(corrected.json()["effectiveAt"]) == kept


@pytest.mark.parametrize("separator", ["T", "t", " "])
def test_every_separator_msgspec_reads_is_cut_too(separator: str) -> None:
    sent = {"effectiveAt": f"2026-12-03{separator}23:59:59.9999999+01:00", "value": 1}
    assert to_microseconds(sent) == {"effectiveAt": f"2026-12-03{separator}23:59:59.999999+01:00", "value": 1}


@given(
    at=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    separator=st.sampled_from(["T", "t", " "]),
    extra=st.text(alphabet="0123456789", max_size=6),
    offset=st.sampled_from(["Z", "z", "+01:00", "-09:30", "+00:00"]),
)
@settings(max_examples=500, deadline=None)
def test_any_instant_reads_as_its_microseconds_cut(at: datetime, separator: str, extra: str, offset: str) -> None:
    """Whatever its separator, offset and count of digits beyond the sixth, an instant reads as the
    instant of its first six digits (the check before the expression skips none that has more)."""
    text = at.strftime(f"%Y-%m-%d{separator}%H:%M:%S.%f") + extra + offset
    kept = msgspec.convert(to_microseconds({"effectiveAt": text})["effectiveAt"], datetime)
    zone = {"Z": UTC, "z": UTC, "+00:00": UTC}.get(offset) or datetime.strptime(offset, "%z").tzinfo
    assert kept == at.replace(tzinfo=zone)
