"""The home screen says what is filled in, and reminds the author to reread directives 3 years
after they were last written or confirmed — a reminder, never an expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ens.core import clock, db
from tests.helpers.people import Person
from tests.helpers.records import CONTACTS, DIRECTIVES, DOCTOR, TRUSTED_PERSON, VALID_RPPS, contact, structured, trusted

SPACE = "/v1/spaces/me"


async def _records(client: httpx.AsyncClient, person: Person) -> dict[str, Any]:
    records: dict[str, Any] = (await client.get(SPACE, headers=person.headers)).json()["records"]
    return records


async def _age_everything(person, *, days: int) -> None:
    """Move the space's directive versions and reviews ``days`` into the past."""
    for table, column in (("directive_versions", "created_at"), ("directive_reviews", "reviewed_at")):
        rows = await db.fetch(f"SELECT id, {column} AS at FROM {table} WHERE space_id = {{}}", person.space_id)
        for row in rows:
            moved = clock.aware(row["at"]) - timedelta(days=days)
            await db.fetch(
                f"UPDATE {table} SET {column} = {{}} WHERE space_id = {{}} AND id = {{}}",
                moved,
                person.space_id,
                row["id"],
            )


async def test_an_empty_space_says_nothing_is_filled_in(client, person):
    assert await _records(client, person) == {
        "directives": "none",
        "reviewDue": False,
        "directivesReviewedAt": None,
        "trustedPerson": False,
        "emergencyContacts": 0,
        "doctor": False,
        "profile": 0,
    }


async def test_the_summary_counts_what_is_filled_in(client, person):
    headers = person.headers
    written = await client.put(DIRECTIVES, json=structured(), headers=headers)
    await client.put(TRUSTED_PERSON, json=trusted(alsoEmergencyContact=True), headers=headers)
    await client.post(CONTACTS, json=contact(), headers=headers)
    await client.put(
        DOCTOR, json={"givenName": "Jacques", "familyName": "Lefèvre", "rpps": VALID_RPPS}, headers=headers
    )
    await client.post(f"{SPACE}/profile/allergies", json={"substance": "Latex"}, headers=headers)
    await client.post(f"{SPACE}/profile/conditions", json={"label": "Asthme"}, headers=headers)
    await client.post(
        f"{SPACE}/profile/family-history", json={"relative": "father", "condition": "AVC"}, headers=headers
    )
    summary = await _records(client, person)
    assert summary == {
        "directives": "active",
        "reviewDue": False,
        "directivesReviewedAt": written.json()["createdAt"],
        "trustedPerson": True,
        "emergencyContacts": 2,
        "doctor": True,
        "profile": 3,
    }
    # The trusted person designated after the version changed its representation
    # (trustedPersonChanged): the tag to match is the current one.
    current = await client.get(DIRECTIVES, headers=headers)
    assert current.json()["trustedPersonChanged"] is True and current.headers["etag"] != written.headers["etag"]
    await client.delete(DIRECTIVES, headers={**headers, "If-Match": current.headers["etag"]})
    revoked = await _records(client, person)
    assert (revoked["directives"], revoked["reviewDue"], revoked["directivesReviewedAt"]) == ("revoked", False, None)


async def test_review_due_after_3_years_then_confirmed_without_a_new_version(client, person):
    headers = person.headers
    await client.put(DIRECTIVES, json=structured(), headers=headers)
    await _age_everything(person, days=365 * 3 - 10)
    assert (await client.get(DIRECTIVES, headers=headers)).json()["reviewDue"] is False
    await _age_everything(person, days=20)
    current = await client.get(DIRECTIVES, headers=headers)
    body = current.json()
    assert body["reviewDue"] is True and body["status"] == "active"  # due for a review, still in force
    assert (await _records(client, person))["reviewDue"] is True

    stale = await client.post(f"{DIRECTIVES}/confirm", headers={**headers, "If-Match": '"old"'})
    assert stale.status_code == 412
    confirmed = await client.post(f"{DIRECTIVES}/confirm", headers={**headers, "If-Match": current.headers["etag"]})
    assert confirmed.status_code == 200, confirmed.text
    after = confirmed.json()
    assert after["reviewDue"] is False and after["version"] == 1 and after["lastConfirmedAt"] is not None
    assert after["lastReviewedAt"] == after["lastConfirmedAt"] > after["createdAt"]
    assert confirmed.headers["etag"] == (await client.get(DIRECTIVES, headers=headers)).headers["etag"]
    versions = (await client.get(f"{DIRECTIVES}/versions", headers=headers)).json()["items"]
    assert [v["version"] for v in versions] == [1]
    summary = await _records(client, person)
    assert summary["reviewDue"] is False and summary["directivesReviewedAt"] == after["lastConfirmedAt"]
    # Three more years after the confirmation, the reminder comes back.
    await _age_everything(person, days=365 * 3 + 1)
    assert (await client.get(DIRECTIVES, headers=headers)).json()["reviewDue"] is True


async def test_nothing_to_confirm(client, person):
    assert (await client.post(f"{DIRECTIVES}/confirm", headers=person.headers)).status_code == 404
    written = await client.put(DIRECTIVES, json=structured(), headers=person.headers)
    await client.delete(DIRECTIVES, headers={**person.headers, "If-Match": written.headers["etag"]})
    refused = await client.post(f"{DIRECTIVES}/confirm", headers=person.headers)
    assert refused.status_code == 409 and refused.json()["type"] == "urn:ens:problem:conflict"


async def test_the_wording_never_calls_directives_expired(openapi):
    schemas = openapi["components"]["schemas"]
    for description in (
        schemas["DirectivesRead"]["properties"]["reviewDue"]["description"],
        schemas["RecordsSummary"]["properties"]["reviewDue"]["description"],
    ):
        assert "never an expiry" in description.lower() and "no validity limit" in description
    assert "expired" not in str(schemas["DirectivesRead"]).lower()


async def _reviewed_at(client, person, at: datetime, timezone: str) -> None:
    """Directives written at ``at`` in a space whose time zone is ``timezone``."""
    await db.fetch("UPDATE spaces SET timezone = {} WHERE id = {}", timezone, person.space_id)
    assert (await client.put(DIRECTIVES, json=structured(), headers=person.headers)).status_code == 201
    await db.fetch("UPDATE directive_versions SET created_at = {} WHERE space_id = {}", at, person.space_id)


async def _due_at(client, person, now: datetime, monkeypatch) -> bool:
    monkeypatch.setattr(clock, "now", lambda: now)
    due = (await client.get(DIRECTIVES, headers=person.headers)).json()["reviewDue"]
    assert (await _records(client, person))["reviewDue"] is due
    return bool(due)


async def test_the_reminder_comes_on_the_day_three_years_later_where_the_author_lives(client, make_person, monkeypatch):
    """Three years are counted on the space's calendar. Written on 29 February 2024 at 02:00 in
    Kiritimati (UTC+14; still 28 February in UTC), the reminder comes on 28 February 2027 there;
    counted in UTC it came on 1 March. Written in Paris at 00:30 on 28 March 2023 (summer time;
    22:30 UTC on the 27th), it comes at 00:30 on 28 March 2026 (winter time), not at 23:30 the
    evening before."""
    kiritimati = await make_person()
    await _reviewed_at(client, kiritimati, datetime(2024, 2, 28, 12, 0, tzinfo=UTC), "Pacific/Kiritimati")
    assert await _due_at(client, kiritimati, datetime(2027, 2, 27, 9, 59, tzinfo=UTC), monkeypatch) is False
    assert await _due_at(client, kiritimati, datetime(2027, 2, 27, 12, 0, tzinfo=UTC), monkeypatch) is True

    paris = await make_person()
    await _reviewed_at(client, paris, datetime(2023, 3, 27, 22, 30, tzinfo=UTC), "Europe/Paris")
    assert await _due_at(client, paris, datetime(2026, 3, 27, 22, 45, tzinfo=UTC), monkeypatch) is False
    assert await _due_at(client, paris, datetime(2026, 3, 27, 23, 30, tzinfo=UTC), monkeypatch) is True


async def test_a_replaced_version_keeps_its_confirmation_in_the_list_and_the_export(client, person):
    """The versions' list and the export gave the confirmation of the current version only (an
    outside audit): once replaced, when its author last confirmed a version was nowhere to read."""
    headers = person.headers
    first = await client.put(DIRECTIVES, json=structured(), headers=headers)
    confirmed = await client.post(f"{DIRECTIVES}/confirm", headers={**headers, "If-Match": first.headers["etag"]})
    confirmed_at = confirmed.json()["lastConfirmedAt"]
    replaced = await client.put(
        DIRECTIVES,
        json=structured(wishes="Je veux rester chez moi."),
        headers={**headers, "If-Match": confirmed.headers["etag"]},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["lastConfirmedAt"] is None
    versions = (await client.get(f"{DIRECTIVES}/versions", headers=headers)).json()["items"]
    assert [(v["version"], v["lastConfirmedAt"]) for v in versions] == [(2, None), (1, confirmed_at)]
    bundle = (await client.get(f"{SPACE}/export", headers=headers)).json()
    consents = {
        entry["resource"]["id"]: entry["resource"].get("extension", [])
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Consent"
    }
    [stamp] = consents[first.json()["id"]]
    assert stamp["url"] == "urn:ens:fhir:directives-last-confirmed"
    assert datetime.fromisoformat(stamp["valueDateTime"]) == datetime.fromisoformat(confirmed_at)
    assert consents[replaced.json()["id"]] == []
