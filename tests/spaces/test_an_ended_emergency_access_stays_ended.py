"""Forbidding emergency access, blocking or revoking the professional ends a running emergency
access: it does not come back when the holder allows emergencies again or authorises the
professional anew (an outside review, 2026-12-02: it was only hidden by the door, and came back with
its old reason). An authorised professional needs no emergency access, and one that runs is not
opened twice (each would e-mail the holder again)."""

from __future__ import annotations

import httpx

from ens.core import clock, db
from ens.core.settings import Settings
from tests.helpers.people import MakePerson, Person
from tests.helpers.professionals import MIDWIFE, NURSE, Pro, authorise, open_emergency, sign_in_pro


async def _reads(client: httpx.AsyncClient, pro: Pro, holder: Person) -> int:
    return (await client.get(f"/v1/spaces/{holder.space_id}/vitals", headers=pro.headers)).status_code


async def _running(holder: Person, pro: Pro) -> int:
    rows = await db.fetch(
        "SELECT ends_at FROM emergency_accesses WHERE space_id = {} AND professional_id = {}",
        holder.space_id,
        pro.professional_id,
    )
    return sum(1 for row in rows if clock.aware(row["ends_at"]) > clock.now())


async def test_forbidding_emergencies_ends_the_running_one_for_good(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person()
    space = f"/v1/spaces/{holder.space_id}"
    nurse = await sign_in_pro(settings, NURSE)
    assert (await open_emergency(mail_client, nurse, holder.space_id)).status_code == 201
    assert await _reads(mail_client, nurse, holder) == 200
    for allowed in (False, True):
        changed = await mail_client.put(f"{space}/emergency-access", json={"allowed": allowed}, headers=holder.headers)
        assert changed.status_code == 200
    assert await _running(holder, nurse) == 0
    assert await _reads(mail_client, nurse, holder) == 404
    listed = (await mail_client.get(f"{space}/professionals", headers=holder.headers)).json()["items"]
    assert [entry["emergencyUntil"] for entry in listed] == [None]
    # Allowed again: a new emergency access, with its own reason, may be opened.
    assert (await open_emergency(mail_client, nurse, holder.space_id, "Nouvelle urgence")).status_code == 201
    assert await _reads(mail_client, nurse, holder) == 200


async def test_blocking_or_revoking_ends_the_professionals_emergency_access(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person()
    space = f"/v1/spaces/{holder.space_id}"
    midwife, nurse = await sign_in_pro(settings, MIDWIFE), await sign_in_pro(settings, NURSE)
    for pro in (midwife, nurse):
        assert (await open_emergency(mail_client, pro, holder.space_id)).status_code == 201
    entries = {
        entry["professionalId"]: entry["id"]
        for entry in (await mail_client.get(f"{space}/professionals", headers=holder.headers)).json()["items"]
    }
    # Blocked, then authorised again and revoked: the emergency access does not come back.
    blocked = await mail_client.post(
        f"{space}/professionals/{entries[str(midwife.professional_id)]}/block", headers=holder.headers
    )
    assert blocked.status_code == 200 and blocked.json()["emergencyUntil"] is None
    # Only the blocked professional's access ended.
    assert await _running(holder, midwife) == 0 and await _running(holder, nurse) == 1
    entry = await authorise(mail_client, holder, midwife)
    assert (await mail_client.delete(f"{space}/professionals/{entry['id']}", headers=holder.headers)).status_code == 204
    assert await _reads(mail_client, midwife, holder) == 404
    # Revoking the one who came in through an emergency ends their access too.
    revoked = await mail_client.delete(
        f"{space}/professionals/{entries[str(nurse.professional_id)]}", headers=holder.headers
    )
    assert revoked.status_code == 204
    assert await _running(holder, nurse) == 0 and await _reads(mail_client, nurse, holder) == 404


async def test_no_emergency_access_for_an_authorised_professional_nor_a_second_one_at_once(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person()
    space = f"/v1/spaces/{holder.space_id}"
    midwife, nurse = await sign_in_pro(settings, MIDWIFE), await sign_in_pro(settings, NURSE)
    await authorise(mail_client, holder, midwife)
    authorised = await open_emergency(mail_client, midwife, holder.space_id)
    assert authorised.status_code == 409 and "authorised" in authorised.json()["detail"]
    assert authorised.headers["content-type"].startswith("application/problem+json")
    assert (await open_emergency(mail_client, nurse, holder.space_id)).status_code == 201
    again = await open_emergency(mail_client, nurse, holder.space_id, "Autre motif")
    assert again.status_code == 409 and "runs until" in again.json()["detail"]
    assert await _running(holder, nurse) == 1
    # Each attempt is in the holder's history, with its outcome.
    rows = (await mail_client.get(f"{space}/access-history", headers=holder.headers)).json()["items"]
    attempts = [row for row in rows if row["action"] == "POST /v1/pro/emergency-access"]
    assert sorted(row["outcome"] for row in attempts) == [201, 409, 409]
    # A refused attempt opened nothing: its sentence does not say the professional was in one.
    for row in attempts:
        assert ("en accès d'urgence) a ouvert" in row["description"]) == (row["outcome"] == 201), row
    # Reading the switch is said as such, not as reading the professionals.
    assert (await mail_client.get(f"{space}/emergency-access", headers=holder.headers)).status_code == 200
    [read] = (await mail_client.get(f"{space}/access-history?limit=1", headers=holder.headers)).json()["items"]
    assert "a consulté l'autorisation d'accès d'urgence" in read["description"], read
