"""The access history as the person reads it: who acted, for whom, as what, in a sentence of plain
French; filtered by actor, action and date; reading it is itself recorded (issue 12, points 7-8)."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ens.core import clock, db
from ens.spaces import history
from ens.spaces.describe import RESOURCE_WORDS
from tests.helpers.carers import court_measure, create_child_space, join_as_second_parent, today_in_paris
from tests.helpers.people import MakeAppToken, MakePerson
from tests.helpers.plans import Statements
from tests.helpers.vitals import weight


async def test_filters_and_sentences(
    client: httpx.AsyncClient, make_person: MakePerson, make_app_token: MakeAppToken
) -> None:
    holder = await make_person(given_name="Marie", family_name="Curie")
    tutor = await make_person(given_name="Paul", family_name="Langevin")
    await court_measure(holder, tutor, "tutelle")
    app = await make_app_token(holder, ["vitals.body_weight:write"], name="Balance Connectée")
    space = f"/v1/spaces/{holder.space_id}"
    assert (await client.get(space, headers=holder.headers)).status_code == 200
    assert (await client.get(f"{space}/vitals", headers=tutor.headers)).status_code == 200
    assert (
        await client.post(f"{space}/vitals", json={"measurements": [weight()]}, headers=tutor.headers)
    ).status_code == 201
    assert (
        await client.post("/v1/spaces/me/vitals", json={"measurements": [weight()]}, headers=app.headers)
    ).status_code == 201
    assert (await client.delete(f"{space}?erase=true", headers=tutor.headers)).status_code == 403
    # OPTIONS passes the door as a read: the app's valid token is taken, not a 401 (an outside audit).
    options = await client.options("/v1/spaces/me/vitals", headers=app.headers)
    assert options.status_code == 204 and "GET" in options.headers["allow"], options.text
    assert (await client.options("/v1/spaces/me/vitals")).status_code == 401
    assert (await client.options("/v1/me")).status_code == 401
    # A public address answers OPTIONS without a token, as before (a review).
    for public in ("/health", "/v1/vital-types", "/v1/vaccines", "/fhir/metadata"):
        assert (await client.options(public)).status_code == 204, public
    # Disconnecting one app says so, not "removed the connected apps" (an outside audit).
    other = await make_app_token(holder, ["vitals.body_weight:write"], name="Tensiomètre")
    assert (await client.delete(f"{space}/grants/{other.grant_id}", headers=holder.headers)).status_code == 204
    history = f"{space}/access-history"

    async def items(query: str = "", who: dict[str, str] | None = None) -> list[dict[str, Any]]:
        answer = await client.get(f"{history}{query}", headers=who or holder.headers)
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()["items"]
        return found

    everything = await items()
    sentences = [item["description"] for item in everything]
    assert "Paul Langevin (tuteur) a tenté de fermer ou supprimer l'espace : refusé (droits insuffisants)." in sentences
    assert "L'application Balance Connectée a ajouté les mesures." in sentences
    assert "Paul Langevin (tuteur) a ajouté les mesures." in sentences
    assert "Paul Langevin (tuteur) a consulté les mesures." in sentences
    assert "Marie Curie (titulaire) a consulté l'espace." in sentences
    assert "Marie Curie (titulaire) a déconnecté une application." in sentences
    assert "L'application Balance Connectée a accédé à l'espace." in sentences  # its OPTIONS
    by_tutor = [item for item in everything if item["actingAs"] == "representative"]
    assert {item["actorKind"] for item in by_tutor} == {"tutelle"}
    # By actor.
    assert {item["actingAs"] for item in await items("?actor=representatives")} == {"representative"}
    assert [item["client"]["name"] for item in await items("?actor=apps")] == ["Balance Connectée"] * 2
    mine = await items("?actor=me")
    assert mine and {item["actor"]["accountId"] for item in mine} == {str(holder.account_id)}
    # By action.
    # (The operator who recorded the tutelle changed who may reach the space: ens.spaces.history.OperatorAction.)
    assert {item["action"].split()[0] for item in await items("?action=change")} == {"POST", "ens"}
    assert [item["outcome"] for item in await items("?action=refused")] == [403]
    assert all(item["action"].startswith("GET ") for item in await items("?action=read"))
    # Combined, and by resource.
    assert len(await items("?actor=representatives&action=change&resource=vitals")) == 1
    # By date: nothing tomorrow, everything since yesterday.
    # Days as the space counts them (Paris): in UTC, from 23:00 "tomorrow" was already today there.
    tomorrow = (today_in_paris() + timedelta(days=1)).isoformat()
    yesterday = (today_in_paris() - timedelta(days=1)).isoformat()
    assert await items(f"?since={tomorrow}") == []
    assert len(await items(f"?since={yesterday}&limit=100")) >= len(everything)
    # Reading the history is itself recorded.
    latest = (await items("?limit=1"))[0]
    assert latest["action"] == "GET /v1/spaces/{space}/access-history" and latest["resourceType"] == "access-history"
    assert latest["description"] == "Marie Curie (titulaire) a consulté l'historique des accès."
    # The representative reads the same history (they may read the space).
    assert (await client.get(history, headers=tutor.headers)).status_code == 200


async def test_bad_filters_are_clear_4xx(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    holder = await make_person()
    for query in (
        "?actor=neighbours",
        "?action=everything",
        "?since=yesterday",
        "?resource=VITALS",
        "?until=2026-13-01",
        # Inverted or equal bounds are a mistake told as one, as on every read with a span.
        "?since=2026-12-05T00:00:00Z&until=2026-12-01T00:00:00Z",
        "?since=2026-12-01&until=2026-12-01",
    ):
        answer = await client.get(f"/v1/spaces/me/access-history{query}", headers=holder.headers)
        assert answer.status_code == 400, (query, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    inverted = await client.get(
        "/v1/spaces/me/access-history?since=2026-12-05&until=2026-12-01", headers=holder.headers
    )
    assert inverted.json()["errors"] == [{"pointer": "/since", "detail": "must be before until"}]
    # A cursor from one filter does not page another.
    for _ in range(3):
        await client.get("/v1/spaces/me", headers=holder.headers)
    first = (await client.get("/v1/spaces/me/access-history?limit=1&action=read", headers=holder.headers)).json()
    other = await client.get(
        f"/v1/spaces/me/access-history?limit=1&action=change&cursor={first['nextCursor']}", headers=holder.headers
    )
    assert other.status_code == 400


@pytest.mark.skipif(not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's plan")
async def test_a_filter_on_rare_rows_reads_those_rows_not_the_whole_history(
    client: httpx.AsyncClient, make_person: MakePerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the partial indexes (migrations m2026_12_08_0001 and m2026_12_09_0001), a filter on
    rows that are few walked the space's whole history newest first (26 ms for a professional's
    among 300,000, 23.6 ms for the directives)."""
    holder = await make_person()
    # An app's request, a refusal, a deletion and new directives, then 3,000 of the holder's own reads.
    columns = "space_id, at, actor_account_id, client_id, acting_as, action, resource_type, outcome, request_id, mac"
    rare = [("app", "POST /v1/spaces/{space}/vitals", 201), ("holder", "GET /v1/spaces/{space}/vitals", 403)]
    rare.append(("holder", "DELETE /v1/spaces/{space}/vitals/{id}", 204))
    rare.append(("holder", "PUT /v1/spaces/{space}/directives", 200))
    placeholders = "{}, {}, {}, 'c', {}, {}, {}, {}, {}, 'x'"
    for n, (acting_as, action, outcome) in enumerate(rare):
        await db.fetch(
            f"INSERT INTO access_history ({columns}) VALUES ({placeholders})",
            holder.space_id,
            clock.now() - timedelta(days=2),
            holder.account_id,
            acting_as,
            action,
            action.split("/")[4],
            outcome,
            f"rare-{n}",
        )
    await db.fetch(
        f"INSERT INTO access_history ({columns}) SELECT {{}}, now() - interval '1 day' + g * interval '1 second', "
        "{}, 'c', 'holder', 'GET /v1/spaces/{space}/vitals', 'vitals', 200, 'r' || g, 'x' "
        "FROM generate_series(1, 3000) AS g",
        holder.space_id,
        holder.account_id,
    )
    await db.fetch("ANALYZE access_history")
    statements = Statements(monkeypatch, history)
    filters = [("actor=apps", 1), ("actor=professionals", 0), ("actor=operators", 0), ("action=refused", 1)]
    filters += [("action=delete", 1)]
    filters += [("resource=directives", 1), ("resource=documents", 0), ("resource=vitals", 20)]
    for query, found in filters:
        statements.made.clear()
        answer = await client.get(f"/v1/spaces/me/access-history?{query}&limit=20", headers=holder.headers)
        assert answer.status_code == 200 and len(answer.json()["items"]) == found, query
        # Not the 3,000 rows of the holder's reads (the rows of this test's own requests are newer).
        assert await statements.most_rows_looked_at("FROM access_history") <= 21 + len(filters), query


@pytest.mark.skipif(not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's plan")
async def test_my_own_accesses_on_a_space_i_do_not_hold_read_only_mine(
    client: httpx.AsyncClient, make_person: MakePerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parent asking a child's busy space for their own requests (``actor=me``): without the
    partial index by actor (migration m2026_12_10_0001) the other parent's 3,000 newer rows were
    walked first."""
    parent, other = await make_person(), await make_person()
    child = await create_child_space(client, parent)
    assert (await join_as_second_parent(client, parent, other, child)).status_code == 200
    columns = "space_id, at, actor_account_id, client_id, acting_as, action, resource_type, outcome, request_id, mac"
    await db.fetch(
        f"INSERT INTO access_history ({columns}) SELECT {{}}, now() - interval '1 day' + g * interval '1 second', "
        "{}, 'c', 'representative', 'GET /v1/spaces/{space}/vitals', 'vitals', 200, 'r' || g, 'x' "
        "FROM generate_series(1, 3000) AS g",
        child,
        other.account_id,
    )
    await db.fetch("ANALYZE access_history")
    statements = Statements(monkeypatch, history)
    answer = await client.get(f"/v1/spaces/{child}/access-history?actor=me&limit=20", headers=parent.headers)
    assert answer.status_code == 200
    mine = answer.json()["items"]
    assert mine and {item["actor"]["accountId"] for item in mine} == {str(parent.account_id)}
    assert await statements.most_rows_looked_at("FROM access_history") <= 25
    # In their own space, the holder's "me" is every row of theirs, as before.
    assert (await client.get("/v1/spaces/me/vitals", headers=parent.headers)).status_code == 200
    own = await client.get("/v1/spaces/me/access-history?actor=me&limit=5", headers=parent.headers)
    assert [item["actingAs"] for item in own.json()["items"]] == ["holder"]


async def test_a_representative_is_not_shown_the_rows_about_what_is_hidden_from_them(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """The holder adds and reads an allergy hidden from the representatives: those rows name it, and
    the tutor's history leaves them out (it showed them, the hidden item's id with them, before a
    review found it); the holder's history keeps every row."""
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    space = f"/v1/spaces/{holder.space_id}"
    allergies = f"{space}/profile/allergies"
    hidden = await client.post(
        allergies, json={"substance": "Latex", "hiddenFromRepresentatives": True}, headers=holder.headers
    )
    shown = await client.post(allergies, json={"substance": "Pollen"}, headers=holder.headers)
    assert hidden.status_code == 201 and shown.status_code == 201, hidden.text
    hidden_id, shown_id = hidden.json()["id"], shown.json()["id"]
    assert (await client.get(f"{allergies}/{hidden_id}", headers=holder.headers)).status_code == 200
    assert (await client.get(f"{allergies}/{shown_id}", headers=holder.headers)).status_code == 200

    def about(items: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
        return [(item["action"].split()[0], item["resourceId"]) for item in items if item["resourceType"] == "profile"]

    holders = (await client.get(f"{space}/access-history?limit=50", headers=holder.headers)).json()["items"]
    assert set(about(holders)) == {("POST", hidden_id), ("POST", shown_id), ("GET", hidden_id), ("GET", shown_id)}
    tutors = (await client.get(f"{space}/access-history?limit=50", headers=tutor.headers)).json()["items"]
    assert set(about(tutors)) == {("POST", shown_id), ("GET", shown_id)}
    assert hidden_id not in str(tutors)
    # Shown to the representatives again, its rows are theirs to see.
    unhidden = await client.patch(
        f"{allergies}/{hidden_id}", json={"hiddenFromRepresentatives": False}, headers=holder.headers
    )
    assert unhidden.status_code == 200, unhidden.text
    tutors = (await client.get(f"{space}/access-history?limit=50", headers=tutor.headers)).json()["items"]
    assert ("GET", hidden_id) in about(tutors)


async def test_an_item_removed_while_hidden_stays_out_of_a_representatives_history(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """Removed while hidden, an allergy's rows (added, read, removed) came back into the tutor's
    history, its id with them (a review of this session's change): its removal now leaves its id
    with the hidden ones. A measure removed while hidden: its tombstone says so."""
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    space = f"/v1/spaces/{holder.space_id}"
    hidden = await client.post(
        f"{space}/profile/allergies",
        json={"substance": "Latex", "hiddenFromRepresentatives": True},
        headers=holder.headers,
    )
    item = f"{space}/profile/allergies/{hidden.json()['id']}"
    assert (await client.get(item, headers=holder.headers)).status_code == 200
    assert (await client.delete(item, headers=holder.headers)).status_code == 204
    typed = await client.post(f"{space}/vitals", json={"measurements": [weight()]}, headers=holder.headers)
    measure = typed.json()["items"][0]["id"]
    hid = await client.patch(
        f"{space}/vitals/{measure}", json={"hiddenFromRepresentatives": True}, headers=holder.headers
    )
    assert hid.status_code == 200, hid.text
    removed = await client.delete(f"{space}/vitals/{measure}", headers={**holder.headers, "If-Match": "*"})
    assert removed.status_code == 204, removed.text
    tutors = (await client.get(f"{space}/access-history?limit=100", headers=tutor.headers)).json()["items"]
    assert hidden.json()["id"] not in str(tutors) and measure not in str(tutors)
    # The tutor's own tries stay in their history, on a hidden item as on one that never was: the
    # two were told apart by which of them were missing (an outside audit).
    shown = await client.post(f"{space}/profile/allergies", json={"substance": "Pollen"}, headers=holder.headers)
    secret = await client.post(
        f"{space}/profile/allergies",
        json={"substance": "Arachide", "hiddenFromRepresentatives": True},
        headers=holder.headers,
    )
    nowhere = "5f1c6f4e-1c3e-4e55-8d0e-0a1b2c3d4e5f"
    for target in (secret.json()["id"], nowhere):
        assert (await client.get(f"{space}/profile/allergies/{target}", headers=tutor.headers)).status_code == 404
    tutors = (await client.get(f"{space}/access-history?limit=100", headers=tutor.headers)).json()["items"]
    own = {item["resourceId"] for item in tutors if item["outcome"] == 404}
    assert {secret.json()["id"], nowhere} <= own
    # Others' rows about the hidden item stay out (the holder's addition of it).
    assert not [i for i in tutors if i["resourceId"] == secret.json()["id"] and i["outcome"] != 404]
    assert shown.json()["id"] in str(tutors)
    holders = (await client.get(f"{space}/access-history?limit=100", headers=holder.headers)).json()["items"]
    assert hidden.json()["id"] in str(holders) and measure in str(holders)


async def test_directives_confirmed_or_revoked_and_a_trusted_person_removed_say_so(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """A confirmation read "a ajouté les directives anticipées" and a revocation "a supprimé" (an
    outside audit): directives are confirmed and revoked (a version says so), never deleted."""
    from tests.helpers.records import DIRECTIVES, TRUSTED_PERSON, structured, trusted

    holder = await make_person(given_name="Marie", family_name="Curie")
    written = await client.put(DIRECTIVES, json=structured(), headers=holder.headers)
    assert written.status_code == 201, written.text
    confirmed = await client.post(
        f"{DIRECTIVES}/confirm", headers={**holder.headers, "If-Match": written.headers["etag"]}
    )
    assert confirmed.status_code == 200, confirmed.text
    current = (await client.get(DIRECTIVES, headers=holder.headers)).headers["etag"]
    assert (await client.delete(DIRECTIVES, headers={**holder.headers, "If-Match": current})).status_code in (200, 204)
    designated = await client.put(TRUSTED_PERSON, json=trusted(), headers=holder.headers)
    removed = await client.delete(TRUSTED_PERSON, headers={**holder.headers, "If-Match": designated.headers["etag"]})
    assert removed.status_code == 204
    # The former versions read: not "a consulté la personne de confiance", as the current one.
    assert (await client.get(f"{TRUSTED_PERSON}/history", headers=holder.headers)).status_code == 200
    assert (await client.get(f"{DIRECTIVES}/versions", headers=holder.headers)).status_code == 200
    history = await client.get("/v1/spaces/me/access-history?limit=20", headers=holder.headers)
    sentences = [item["description"] for item in history.json()["items"]]
    assert "Marie Curie (titulaire) a confirmé les directives anticipées." in sentences
    assert "Marie Curie (titulaire) a révoqué les directives anticipées." in sentences
    assert "Marie Curie (titulaire) a mis fin à la désignation de la personne de confiance." in sentences
    assert "Marie Curie (titulaire) a consulté les personnes de confiance désignées auparavant." in sentences
    assert "Marie Curie (titulaire) a consulté les versions des directives anticipées." in sentences
    assert not [s for s in sentences if "a supprimé les directives" in s or "a ajouté les directives" in s]


async def test_the_former_versions_read_with_head_say_so_too(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """HEAD reads as GET does (its row is recorded): the sentences for the former trusted persons
    and the directives' versions named GET alone, so a HEAD of either still read as a look at the
    current one (a review of the merged sentences)."""
    from tests.helpers.records import DIRECTIVES, TRUSTED_PERSON, structured

    holder = await make_person(given_name="Marie", family_name="Curie")
    assert (await client.put(DIRECTIVES, json=structured(), headers=holder.headers)).status_code == 201
    assert (await client.head(f"{TRUSTED_PERSON}/history", headers=holder.headers)).status_code == 200
    assert (await client.head(f"{DIRECTIVES}/versions", headers=holder.headers)).status_code == 200
    history = await client.get("/v1/spaces/me/access-history?limit=20", headers=holder.headers)
    sentences = [item["description"] for item in history.json()["items"]]
    assert "Marie Curie (titulaire) a consulté les personnes de confiance désignées auparavant." in sentences
    assert "Marie Curie (titulaire) a consulté les versions des directives anticipées." in sentences
    assert "Marie Curie (titulaire) a consulté la personne de confiance." not in sentences, sentences


async def test_one_emergency_contact_or_profile_entry_changed_is_said_as_one(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """Removing one allergy read "a supprimé le profil médical", one contact "a supprimé les
    contacts d'urgence" (an outside audit): the holder reading their history took the whole list
    for gone. A route about one item says one item; reading a list still names the list."""
    holder = await make_person(given_name="Marie", family_name="Curie")
    contacts = "/v1/spaces/me/emergency-contacts"
    allergies = "/v1/spaces/me/profile/allergies"
    contact = await client.post(
        contacts,
        json={"givenName": "Paul", "familyName": "Langevin", "relationship": "ami", "phones": ["0611223344"]},
        headers=holder.headers,
    )
    allergy = await client.post(allergies, json={"substance": "Pénicilline"}, headers=holder.headers)
    assert contact.status_code == allergy.status_code == 201, (contact.text, allergy.text)
    for url, item in ((contacts, contact.json()), (allergies, allergy.json())):
        assert (await client.get(f"{url}/{item['id']}", headers=holder.headers)).status_code == 200
        assert (await client.head(f"{url}/{item['id']}", headers=holder.headers)).status_code == 200
        assert (await client.patch(f"{url}/{item['id']}", json={}, headers=holder.headers)).status_code == 200
        assert (await client.delete(f"{url}/{item['id']}", headers=holder.headers)).status_code == 204
        assert (await client.get(url, headers=holder.headers)).status_code == 200
    history = await client.get("/v1/spaces/me/access-history?limit=30", headers=holder.headers)
    sentences = [item["description"] for item in history.json()["items"]]
    assert sum("a consulté un contact d'urgence" in s for s in sentences) == 2  # GET and HEAD
    for one in ("un contact d'urgence", "une entrée du profil médical"):
        for verb in ("a ajouté", "a consulté", "a modifié", "a supprimé"):
            assert f"Marie Curie (titulaire) {verb} {one}." in sentences, sentences
    assert "Marie Curie (titulaire) a consulté les contacts d'urgence." in sentences
    assert "Marie Curie (titulaire) a consulté le profil médical." in sentences
    assert not [s for s in sentences if "supprimé le profil" in s or "supprimé les contacts" in s]


async def test_the_words_resource_takes_are_declared_for_a_generated_client(client: httpx.AsyncClient) -> None:
    """``resource`` was a free string in the OpenAPI document: a client generated from it could not
    offer the words, only learn them from a 400. It declares them, the history's own."""
    document = (await client.get("/schema/openapi.json")).json()
    parameters = document["paths"]["/v1/spaces/{space}/access-history"]["get"]["parameters"]
    [resource] = [p for p in parameters if p["name"] == "resource"]
    assert resource["schema"]["type"] == "string"
    assert {"vitals", "documents", "professionals"} <= set(resource["schema"]["enum"]) <= set(RESOURCE_WORDS)
