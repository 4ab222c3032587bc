"""What the adult holder decided themself about who may read them — a document hidden from
professionals, a professional blocked, emergency access forbidden — a representative (guardian,
family representative) does not undo; they may tighten it, and undo what they set themselves (an
outside review, 2026-12-02: a family representative showed professionals a document the person had
hidden from them, and a guardian allowed again the emergency access the person had forbidden)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx
import pytest

from ens.core import clock, db
from ens.core.settings import Settings
from ens.spaces.representatives import end_court_measure
from tests.helpers.carers import court_measure, today_in_paris
from tests.helpers.documents import pdf, uploaded
from tests.helpers.people import MakePerson, Person
from tests.helpers.professionals import GP, NURSE, authorise, sign_in_pro

KINDS = ["tutelle", "habilitation_familiale"]


async def _represented(make_person: MakePerson, kind: str) -> tuple[Person, Person]:
    """An adult holder and the carer a court named for them (``kind``)."""
    holder, carer = await make_person(), await make_person()
    await court_measure(holder, carer, kind)  # type: ignore[arg-type]
    return holder, carer


@pytest.mark.parametrize("kind", KINDS)
async def test_emergency_access_the_holder_forbade_stays_forbidden(
    client: httpx.AsyncClient, make_person: MakePerson, kind: str
) -> None:
    holder, carer = await _represented(make_person, kind)
    url = f"/v1/spaces/{holder.space_id}/emergency-access"

    async def put(by: dict[str, str], allowed: bool) -> httpx.Response:
        return await client.put(url, json={"allowed": allowed}, headers=by)

    assert (await put(holder.headers, False)).status_code == 200
    refused = await put(carer.headers, True)
    assert refused.status_code == 403 and "themself" in refused.json()["detail"], refused.text
    assert (await client.get(url, headers=holder.headers)).json() == {"allowed": False}
    # Forbidding it again changes nothing of whose choice it is.
    assert (await put(carer.headers, False)).status_code == 200
    assert (await put(carer.headers, True)).status_code == 403
    # The holder allows it; what the representative forbids, they may allow again.
    assert (await put(holder.headers, True)).status_code == 200
    assert (await put(carer.headers, False)).status_code == 200
    assert (await put(carer.headers, True)).status_code == 200


@pytest.mark.parametrize("kind", KINDS)
async def test_the_holders_running_authorisation_is_not_the_representatives_to_renew(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings, kind: str
) -> None:
    """Renewed by a guardian, the holder's year became the guardian's: cut to their measure's 30
    days left, and ended with it (an outside audit). While it runs, only the holder renews it."""
    holder, carer = await make_person(), await make_person()
    measure = await court_measure(holder, carer, kind, until=today_in_paris() + timedelta(days=30))  # type: ignore[arg-type]
    base = f"/v1/spaces/{holder.space_id}/professionals"
    doctor, nurse = await sign_in_pro(settings, GP), await sign_in_pro(settings, NURSE)
    chosen = await authorise(client, holder, doctor)
    renewed = await client.patch(f"{base}/{chosen['id']}", json={"renew": True}, headers=carer.headers)
    assert renewed.status_code == 403 and "themself" in renewed.json()["detail"], renewed.text
    assert (await client.get(f"{base}/{chosen['id']}", headers=holder.headers)).json()["until"] == chosen["until"]
    # What the representative authorised, they renew (within their right).
    theirs = await authorise(client, carer, nurse, space=holder.space_id)
    again = await client.patch(f"{base}/{theirs['id']}", json={"renew": True}, headers=carer.headers)
    assert again.status_code == 200, again.text
    # The holder's own choice outlives the measure; the representative's ends with it.
    await end_court_measure(holder.space_id, measure, reason="TJ Paris, mainlevée")
    assert (await client.get(f"/v1/spaces/{holder.space_id}/vitals", headers=doctor.headers)).status_code == 200
    assert (await client.get(f"/v1/spaces/{holder.space_id}/vitals", headers=nurse.headers)).status_code == 404


async def test_the_holders_expired_authorisation_the_representative_may_renew(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """Expired, it runs no more: renewing it is the representative's decision, bounded by their right."""
    holder, carer = await make_person(), await make_person()
    end = today_in_paris() + timedelta(days=30)
    await court_measure(holder, carer, "tutelle", until=end)
    doctor = await sign_in_pro(settings, GP)
    chosen = await authorise(client, holder, doctor)
    await db.fetch(
        "UPDATE space_professionals SET until = {} WHERE space_id = {} AND id = {}",
        clock.now() - timedelta(days=1),
        holder.space_id,
        uuid.UUID(chosen["id"]),
    )
    url = f"/v1/spaces/{holder.space_id}/professionals/{chosen['id']}"
    assert (await client.get(url, headers=holder.headers)).json()["status"] == "expired"
    renewed = await client.patch(url, json={"renew": True}, headers=carer.headers)
    assert renewed.status_code == 200 and renewed.json()["status"] == "authorised", renewed.text
    assert date.fromisoformat(renewed.json()["until"][:10]) <= end + timedelta(days=1)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_professional_the_holder_blocked_is_authorised_again_only_by_the_holder(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings, kind: str
) -> None:
    holder, carer = await _represented(make_person, kind)
    base = f"/v1/spaces/{holder.space_id}/professionals"
    doctor, nurse = await sign_in_pro(settings, GP), await sign_in_pro(settings, NURSE)
    blocked = await authorise(client, holder, doctor)
    assert (await client.post(f"{base}/{blocked['id']}/block", headers=holder.headers)).status_code == 200
    again = await client.post(base, json={"nationalId": doctor.national_id}, headers=carer.headers)
    assert again.status_code == 403 and "themself" in again.json()["detail"], again.text
    # Blocking them once more first does not make the block the representative's to lift (it did:
    # an outside audit, the professional then read the holder's hidden entries).
    assert (await client.post(f"{base}/{blocked['id']}/block", headers=carer.headers)).status_code == 200
    again = await client.post(base, json={"nationalId": doctor.national_id}, headers=carer.headers)
    assert again.status_code == 403 and "themself" in again.json()["detail"], again.text
    assert (await client.get(f"{base}/{blocked['id']}", headers=holder.headers)).json()["status"] == "blocked"
    # A professional the representative blocked, the representative may authorise again.
    entry = await authorise(client, carer, nurse, space=holder.space_id)
    assert (await client.post(f"{base}/{entry['id']}/block", headers=carer.headers)).status_code == 200
    assert (await authorise(client, carer, nurse, space=holder.space_id))["status"] == "authorised"
    # The holder may authorise whom they blocked.
    assert (await authorise(client, holder, doctor))["status"] == "authorised"


@pytest.mark.parametrize("kind", KINDS)
async def test_a_document_the_holder_hid_from_professionals_stays_hidden(
    client: httpx.AsyncClient, make_person: MakePerson, kind: str
) -> None:
    holder, carer = await _represented(make_person, kind)
    space = holder.space_id
    hidden_at_upload = await uploaded(
        client,
        holder.headers,
        pdf(seed=1),
        space=space,
        meta={"typeCode": "11488-4", "title": "CR", "date": "2026-01-05"},
    )
    shown = await uploaded(client, holder.headers, pdf(seed=2), space=space)
    hidden_later = await uploaded(client, holder.headers, pdf(seed=3), space=space)
    url = f"/v1/spaces/{space}/documents"
    hide = {"hiddenFromProfessionals": True}
    show = {"hiddenFromProfessionals": False}
    assert (await client.patch(f"{url}/{hidden_at_upload['id']}", json=hide, headers=holder.headers)).status_code == 200
    assert (await client.patch(f"{url}/{hidden_later['id']}", json=hide, headers=holder.headers)).status_code == 200
    for document in (hidden_at_upload, hidden_later):
        refused = await client.patch(f"{url}/{document['id']}", json=show, headers=carer.headers)
        assert refused.status_code == 403 and "themself" in refused.json()["detail"], refused.text
        # Hiding it again is no change of whose choice it is.
        assert (await client.patch(f"{url}/{document['id']}", json=hide, headers=carer.headers)).status_code == 200
        assert (await client.patch(f"{url}/{document['id']}", json=show, headers=carer.headers)).status_code == 403
        read = (await client.get(f"{url}/{document['id']}", headers=holder.headers)).json()
        assert read["hiddenFromProfessionals"] is True
    # What the representative hid, they may show again; the holder shows what they hid.
    assert (await client.patch(f"{url}/{shown['id']}", json=hide, headers=carer.headers)).status_code == 200
    assert (await client.patch(f"{url}/{shown['id']}", json=show, headers=carer.headers)).status_code == 200
    assert (await client.patch(f"{url}/{hidden_later['id']}", json=show, headers=holder.headers)).status_code == 200


async def test_hidden_by_the_holder_when_adding_it(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    holder, carer = await _represented(make_person, "tutelle")
    meta = {"typeCode": "11488-4", "title": "CR", "date": "2026-01-05", "hiddenFromProfessionals": True}
    document = await uploaded(client, holder.headers, pdf(seed=4), space=holder.space_id, meta=meta)
    assert document["hiddenFromProfessionals"] is True
    refused = await client.patch(
        f"/v1/spaces/{holder.space_id}/documents/{document['id']}",
        json={"hiddenFromProfessionals": False},
        headers=carer.headers,
    )
    assert refused.status_code == 403
    # Nor removed by them, then added again unhidden: the same choice undone in two requests (an
    # outside audit); the holder removes it.
    path = f"/v1/spaces/{holder.space_id}/documents/{document['id']}"
    removed = await client.delete(path, headers=carer.headers)
    assert removed.status_code == 403 and "themself" in removed.json()["detail"], removed.text
    assert (await client.get(path, headers=holder.headers)).status_code == 200
    shown = await uploaded(client, holder.headers, pdf(seed=5), space=holder.space_id)
    assert (
        await client.delete(f"/v1/spaces/{holder.space_id}/documents/{shown['id']}", headers=carer.headers)
    ).status_code == 204
    assert (await client.delete(path, headers=holder.headers)).status_code == 204
