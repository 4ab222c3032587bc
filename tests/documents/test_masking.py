"""Who sees which document: hidden from professionals (the holder's choice), from representatives
(the holder's alone), from the holder until a professional releases it or its day comes. One
function decides (``ens.documents.visibility``); every read path goes through it. Professionals: see
test_professionals_and_documents.py."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from ens.core import db
from ens.documents import service as service_module
from ens.documents.keys import key_of_documents
from tests.helpers.carers import court_measure, today_in_paris
from tests.helpers.documents import metadata, pdf, upload, uploaded
from tests.helpers.professionals import GP, authorise, sign_in_pro

DOCS = "/v1/spaces/{}/documents"


async def _ids(client, headers, space) -> list[str]:
    answer = await client.get(DOCS.format(space), headers=headers)
    assert answer.status_code == 200, answer.text
    return [d["id"] for d in answer.json()["items"]]


async def _patch(client, headers, space, document_id, body: dict[str, Any]):
    return await client.patch(f"{DOCS.format(space)}/{document_id}", json=body, headers=headers)


async def _published_by_a_professional(space_id: uuid.UUID, document_id: str, *, until=None) -> None:
    """What a professional's publication leaves (issue 13 brings their role): held back from the holder."""
    await db.fetch(
        "UPDATE documents SET hidden_from_holder = TRUE, hidden_from_holder_until = {}, author_account_id = {} "
        "WHERE space_id = {} AND id = {}",
        until,
        uuid.uuid4(),
        space_id,
        uuid.UUID(document_id),
    )


async def test_the_holder_hides_a_document_from_professionals_and_shows_it_again(client, person):
    doc = await uploaded(client, person.headers, pdf(800))
    hidden = await _patch(client, person.headers, "me", doc["id"], {"hiddenFromProfessionals": True})
    assert hidden.status_code == 200, hidden.text
    assert hidden.json()["hiddenFromProfessionals"] is True
    read = await client.get(f"{DOCS.format('me')}/{doc['id']}", headers=person.headers)
    assert read.json() == hidden.json() and read.headers["etag"] == hidden.headers["etag"]
    stale = await _patch(
        client, {**person.headers, "If-Match": '"stale"'}, "me", doc["id"], {"hiddenFromProfessionals": False}
    )
    assert stale.status_code == 412
    shown = await _patch(
        client,
        {**person.headers, "If-Match": read.headers["etag"]},
        "me",
        doc["id"],
        {"hiddenFromProfessionals": False},
    )
    assert shown.json()["hiddenFromProfessionals"] is False
    added_hidden = await uploaded(client, person.headers, pdf(900, seed=2), meta=metadata(hiddenFromProfessionals=True))
    assert added_hidden["hiddenFromProfessionals"] is True


async def test_the_holder_does_not_see_a_document_held_back_until_it_is_released(client, person, make_app_token):
    kept = await uploaded(client, person.headers, pdf(100, seed=1))
    held = await uploaded(client, person.headers, pdf(100, seed=2), meta=metadata(title="Résultats à expliquer"))
    await _published_by_a_professional(person.space_id, held["id"])
    assert await _ids(client, person.headers, "me") == [kept["id"]]
    assert (await client.get(f"{DOCS.format('me')}/{held['id']}", headers=person.headers)).status_code == 404
    assert (await client.get(held["contentUrl"], headers=person.headers)).status_code == 404
    assert (
        await _patch(client, person.headers, "me", held["id"], {"hiddenFromProfessionals": True})
    ).status_code == 404
    assert (await client.delete(f"{DOCS.format('me')}/{held['id']}", headers=person.headers)).status_code == 404
    app = await make_app_token(person, ["documents:read"])
    assert await _ids(client, app.headers, "me") == [kept["id"]]
    summary = (await client.get("/v1/spaces/me", headers=person.headers)).json()
    assert summary["documents"]["count"] == 1

    # Held until a day: from that day (in the space's time zone) the holder sees it.
    tomorrow = today_in_paris() + timedelta(days=1)
    await _published_by_a_professional(person.space_id, held["id"], until=tomorrow)
    assert held["id"] not in await _ids(client, person.headers, "me")
    await _published_by_a_professional(person.space_id, held["id"], until=today_in_paris() - timedelta(days=1))
    released = await client.get(f"{DOCS.format('me')}/{held['id']}", headers=person.headers)
    assert released.status_code == 200
    assert released.json()["hiddenFromHolder"] is False
    assert released.json()["hiddenFromHolderUntil"] is None


async def test_only_a_professional_may_hold_a_document_back_from_the_holder(client, person, make_person):
    doc = await uploaded(client, person.headers, pdf(100))
    for body in ({"hiddenFromHolder": True}, {"hiddenFromHolder": False}, {"hiddenFromHolderUntil": "2030-01-01"}):
        refused = await _patch(client, person.headers, "me", doc["id"], body)
        assert refused.status_code == 403, body
    refused_upload = await upload(client, person.headers, pdf(100, seed=4), meta=metadata(hiddenFromHolder=True))
    assert refused_upload.status_code == 403


async def test_a_representative_sees_what_the_holder_sees_less_what_the_holder_hid_from_them(
    client, person, make_person, make_app_token
):
    tutor = await make_person("Tuteur")
    await court_measure(person, tutor, "tutelle")
    space = person.space_id
    open_doc = await uploaded(client, person.headers, pdf(100, seed=1))
    secret = await uploaded(client, person.headers, pdf(100, seed=2), meta=metadata(hiddenFromRepresentatives=True))
    held = await uploaded(client, person.headers, pdf(100, seed=3))
    await _published_by_a_professional(space, held["id"])

    assert await _ids(client, tutor.headers, space) == [open_doc["id"]]
    for path in (f"{DOCS.format(space)}/{secret['id']}", secret["contentUrl"].replace("/me/", f"/{space}/")):
        assert (await client.get(path, headers=tutor.headers)).status_code == 404
    summary = (await client.get(f"/v1/spaces/{space}", headers=tutor.headers)).json()
    assert summary["documents"]["count"] == 1
    assert set(await _ids(client, person.headers, "me")) == {open_doc["id"], secret["id"]}

    # The representative may hide from professionals (the holder's choice, made for them), never
    # from representatives; nor may an app do either, nor remove.
    assert (
        await _patch(client, tutor.headers, space, open_doc["id"], {"hiddenFromProfessionals": True})
    ).status_code == 200
    assert (
        await _patch(client, tutor.headers, space, open_doc["id"], {"hiddenFromRepresentatives": True})
    ).status_code == 403
    assert (
        await _patch(client, tutor.headers, space, open_doc["id"], {"hiddenFromRepresentatives": False})
    ).status_code == 403
    refused = await upload(
        client, tutor.headers, pdf(100, seed=9), space=space, meta=metadata(hiddenFromRepresentatives=True)
    )
    assert refused.status_code == 403
    added = await uploaded(client, tutor.headers, pdf(100, seed=10), space=space)
    assert added["addedBy"]["role"] == "representative"

    app = await make_app_token(person, ["documents:read", "documents:write"])
    assert set(await _ids(client, app.headers, "me")) == {open_doc["id"], secret["id"], added["id"]}
    assert (
        await _patch(client, app.headers, "me", open_doc["id"], {"hiddenFromProfessionals": False})
    ).status_code == 403
    assert (await client.delete(f"{DOCS.format('me')}/{open_doc['id']}", headers=app.headers)).status_code == 403
    by_app = await uploaded(client, app.headers, pdf(100, seed=11))
    assert by_app["addedBy"] == {"role": "app", "name": "Test app", "clientId": app.client_id}
    assert by_app["author"] == "Test app"
    by_lab = await uploaded(client, app.headers, pdf(100, seed=12), meta=metadata(author="Laboratoire Biomed"))
    assert by_lab["author"] == "Laboratoire Biomed"

    # The holder shows it again: the representative sees it.
    assert (
        await _patch(client, person.headers, "me", secret["id"], {"hiddenFromRepresentatives": False})
    ).status_code == 200
    assert secret["id"] in await _ids(client, tutor.headers, space)


async def test_a_vitals_app_has_no_door_to_documents(client, person, make_app_token):
    app = await make_app_token(person, ["vitals.body_weight:read", "vitals.body_weight:write"])
    assert (await client.get("/v1/spaces/me/documents", headers=app.headers)).status_code == 403
    assert (await upload(client, app.headers, pdf(100))).status_code == 403
    reader = await make_app_token(person, ["documents:read"])
    assert (await upload(client, reader.headers, pdf(100))).status_code == 403


async def test_the_access_history_names_no_document_held_back_from_the_holder(client, make_person):
    """The history showed a held-back document's upload by its id ("a doctor added a document") to
    the holder and to every representative (an outside review): what the hold-back is there to let
    them learn in person. Its rows come back with the document, once released."""
    holder, guardian = await make_person(), await make_person()
    await court_measure(holder, guardian, "tutelle")
    held = await uploaded(client, holder.headers, pdf(100, seed=7), meta=metadata(title="Résultats à annoncer"))
    await _published_by_a_professional(holder.space_id, held["id"])
    assert (await client.get(f"{DOCS.format('me')}/{held['id']}", headers=holder.headers)).status_code == 404
    history = f"/v1/spaces/{holder.space_id}/access-history?limit=500"

    async def named(person) -> list[int]:
        answer = await client.get(history, headers=person.headers)
        assert answer.status_code == 200, answer.text
        return [row["outcome"] for row in answer.json()["items"] if row["resourceId"] == held["id"]]

    assert await named(holder) == [] and await named(guardian) == []
    # Held until a day: still left out before it, shown from it (the space's time zone).
    await _published_by_a_professional(holder.space_id, held["id"], until=today_in_paris() + timedelta(days=1))
    assert await named(holder) == []
    await _published_by_a_professional(holder.space_id, held["id"], until=today_in_paris())
    assert await named(holder) == [404, 201] and await named(guardian) == [404, 201]


async def test_a_retried_upload_names_its_document_in_the_history_as_the_first_did(client, settings, make_person):
    """A retry with the same Idempotency-Key is answered with the first answer, and its own history
    row named no document: a professional's upload held back from the holder, retried, showed the
    holder "Claire Bernard (médecin) a ajouté un document." before its release, and the holder's
    upload hidden from their representatives, retried, showed it to them (an outside audit)."""
    holder, guardian = await make_person(), await make_person()
    await court_measure(holder, guardian, "tutelle")
    gp = await sign_in_pro(settings, GP)
    await authorise(client, holder, gp)
    space = holder.space_id
    history = f"/v1/spaces/{space}/access-history?limit=500"

    async def uploads_seen(reader, *, by) -> list[dict[str, Any]]:
        answer = await client.get(history, headers=reader.headers)
        assert answer.status_code == 200, answer.text
        return [
            row
            for row in answer.json()["items"]
            if row["action"] == "POST /v1/spaces/{space}/documents" and row["actor"]["accountId"] == str(by)
        ]

    held_meta = metadata(title="Résultats à annoncer", hiddenFromHolder=True)
    for _ in range(2):
        first = await upload(
            client, gp.headers, pdf(200, seed=41), space=space, meta=held_meta, extra_headers={"Idempotency-Key": "k1"}
        )
        assert first.status_code == 201, first.text
    assert await uploads_seen(holder, by=gp.professional_id) == []
    # Nor does the holder's list of professionals show that the doctor acted.
    listed = (await client.get("/v1/spaces/me/professionals", headers=holder.headers)).json()["items"]
    assert [entry["lastAccessAt"] for entry in listed] == [None]

    hidden_meta = metadata(hiddenFromRepresentatives=True)
    for _ in range(2):
        mine = await upload(
            client, holder.headers, pdf(200, seed=42), meta=hidden_meta, extra_headers={"Idempotency-Key": "k2"}
        )
        assert mine.status_code == 201, mine.text
    assert await uploads_seen(guardian, by=holder.account_id) == []
    # Both rows are there for who may see the document, each naming it.
    assert [row["resourceId"] for row in await uploads_seen(holder, by=holder.account_id)] == [mine.json()["id"]] * 2


async def test_two_changes_sent_with_the_same_if_match_cannot_both_win(client, person, monkeypatch):
    """On PostgreSQL, two PATCHes (or a PATCH and a DELETE) sent at once with the same If-Match
    both passed it: the document's row was read unlocked, so each checked the version before the
    other's change (an outside audit: 4 of 6 concurrent PATCHes answered 200). One waits for the
    other now, then is checked against what it wrote. Each request here, its row read, waits a
    moment for the others to have read theirs (a lock makes them wait before: they never come)."""
    arrived: list[uuid.UUID] = []

    async def once_the_others_have_read(space_id: uuid.UUID, secret: str) -> Any:
        arrived.append(space_id)
        for _ in range(20):  # half a second at most: locked out, the other never comes
            if len(arrived) >= 2:
                break
            await asyncio.sleep(0.025)
        return await key_of_documents(space_id, secret)

    doc = await uploaded(client, person.headers, pdf(100, seed=51))
    url = f"{DOCS.format('me')}/{doc['id']}"
    read = await client.get(url, headers=person.headers)
    tag = {**person.headers, "If-Match": read.headers["etag"]}
    monkeypatch.setattr(service_module, "key_of_documents", once_the_others_have_read)
    one, other = await asyncio.gather(
        client.patch(url, json={"hiddenFromProfessionals": True}, headers=tag),
        client.patch(url, json={"hiddenFromRepresentatives": True}, headers=tag),
    )
    assert sorted([one.status_code, other.status_code]) == [200, 412], (one.text, other.text)
    winner = one if one.status_code == 200 else other
    assert (await client.get(url, headers=person.headers)).json() == winner.json()

    read = await client.get(url, headers=person.headers)
    tag = {**person.headers, "If-Match": read.headers["etag"]}
    arrived.clear()
    changed, removed = await asyncio.gather(
        client.patch(url, json={"hiddenFromProfessionals": False}, headers=tag), client.delete(url, headers=tag)
    )
    assert sorted([changed.status_code, removed.status_code]) in ([200, 412], [204, 404]), (changed, removed)
