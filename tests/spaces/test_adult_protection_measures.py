"""Adult protection measures come from the court: an operator records and ends them with
``ens representatives add|end`` (issue 12, point 3); what each kind may do is the table of rights
(the matrix test); here, the command itself, a property-only measure, the curator's consent, and who
may erase."""

from __future__ import annotations

import email.policy
import subprocess
import uuid
from datetime import timedelta
from email import message_from_string
from pathlib import Path

import httpx
import pytest

from ens.core import clock, db
from ens.core.errors import NotFound
from ens.core.settings import Settings
from ens.spaces.representatives import _end as end_representation
from tests.helpers.carers import court_measure, create_child_space, join_as_second_parent, today_in_paris
from tests.helpers.people import MakePerson
from tests.helpers.server import run_ens


def _ens(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_ens(settings, "representatives", *args)


async def test_an_operator_adds_lists_and_ends_a_tutelle(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    holder, tutor = await make_person(given_name="Marie"), await make_person(given_name="Paul")
    since = today_in_paris() - timedelta(days=10)
    added = _ens(
        settings,
        "add",
        "--space", str(holder.space_id),
        "--account", str(tutor.account_id),
        "--kind", "tutelle",
        "--court-reference", "TJ Lyon, 12 mars 2026, RG 26/01234",
        "--since", since.isoformat(),
        "--until", (today_in_paris() + timedelta(days=365)).isoformat(),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    representative_id = added.stdout.strip().removeprefix("representative_id: ")
    uuid.UUID(representative_id)
    listed = _ens(settings, "list", "--space", str(holder.space_id), "--operator", "Agnès Roux")
    assert representative_id in listed.stdout and "RG 26/01234" in listed.stdout and "tutelle" in listed.stdout
    # Who read the representatives' names and decisions is said in the space's history.
    operators = await client.get("/v1/spaces/me/access-history?actor=operators", headers=holder.headers)
    assert operators.json()["items"][0]["description"] == (
        "Agnès Roux (opérateur du service) a consulté la liste des représentants légaux, pour une demande "
        "traitée par le service."
    )
    # The guardian sees the space in their /v1/me, with the kind and the end; and reads, and writes.
    spaces = {s["id"]: s for s in (await client.get("/v1/me", headers=tutor.headers)).json()["spaces"]}
    mine = spaces[str(holder.space_id)]
    assert (mine["role"], mine["representativeKind"]) == ("representative", "tutelle")
    assert mine["representativeUntil"] is not None
    read = await client.get(f"/v1/spaces/{holder.space_id}/representatives", headers=tutor.headers)
    assert read.json()["items"][0]["courtReference"] == "TJ Lyon, 12 mars 2026, RG 26/01234"
    # The operator ends it, citing the decision: the right stops at once.
    ended = _ens(
        settings,
        "end",
        representative_id,
        "--space",
        str(holder.space_id),
        "--reason",
        "TJ Lyon, mainlevée du 1er décembre 2026",
    )
    assert ended.returncode == 0, ended.stderr
    assert (await client.get(f"/v1/spaces/{holder.space_id}", headers=tutor.headers)).status_code == 404


async def test_the_command_refuses_what_is_not_a_court_measure(make_person: MakePerson, settings: Settings) -> None:
    holder, other = await make_person(), await make_person()
    base = ["add", "--space", str(holder.space_id), "--account", str(other.account_id), "--since", "2026-01-01"]
    cases = [
        ([*base, "--kind", "parent", "--court-reference", "x"], "invalid choice"),
        ([*base, "--kind", "tutelle", "--court-reference", "  "], "reference"),
        # Longer than its column: a database error on PostgreSQL, kept whole on SQLite, before.
        ([*base, "--kind", "tutelle", "--court-reference", "RG " + "1" * 253], "255 characters at most"),
        ([*base, "--kind", "tutelle", "--court-reference", "RG 1", "--until", "2025-01-01"], "end after"),
        (["add", "--space", str(holder.space_id), "--account", str(holder.account_id), "--since", "2026-01-01",
          "--kind", "tutelle", "--court-reference", "RG 1"], "themself"),
        (["end", str(uuid.uuid4()), "--space", str(holder.space_id), "--reason", "RG 2"], "No such"),
        (["end", str(uuid.uuid4()), "--space", str(holder.space_id), "--reason", "R" * 256], "255 characters at most"),
    ]  # fmt: skip
    for args, words in cases:
        done = _ens(settings, *args)
        assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr, done


async def test_a_measure_relating_only_to_property_opens_nothing(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    holder, curator = await make_person(), await make_person()
    await court_measure(holder, curator, "curatelle", relates_to="property")
    assert (await client.get(f"/v1/spaces/{holder.space_id}", headers=curator.headers)).status_code == 404
    spaces = (await client.get("/v1/me", headers=curator.headers)).json()["spaces"]
    assert str(holder.space_id) not in {s["id"] for s in spaces}


async def test_a_curator_reads_only_while_the_holders_consent_lasts(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    holder, curator = await make_person(), await make_person()
    measure = await court_measure(holder, curator, "curatelle")
    space = f"/v1/spaces/{holder.space_id}"
    # Without consent: the space is listed (they know it exists) but nothing can be read.
    listed = {s["id"]: s for s in (await client.get("/v1/me", headers=curator.headers)).json()["spaces"]}
    assert listed[str(holder.space_id)]["rights"] == []
    assert (await client.get(space, headers=curator.headers)).status_code == 403
    # The holder consents until a day; then the curator reads (and still writes nothing).
    until = (today_in_paris() + timedelta(days=30)).isoformat()
    consented = await client.put(
        f"{space}/representatives/{measure}/consent", json={"until": until}, headers=holder.headers
    )
    assert consented.status_code == 200, consented.text
    assert (await client.get(space, headers=curator.headers)).status_code == 200
    write = await client.post(
        f"{space}/vitals",
        json={
            "measurements": [{"type": "body_weight", "value": 60, "unit": "kg", "effectiveAt": "2026-02-01T08:00:00Z"}]
        },
        headers=curator.headers,
    )
    assert write.status_code == 403
    # Only the holder records consent; a past day is refused; withdrawing ends it at once.
    assert (
        await client.put(f"{space}/representatives/{measure}/consent", json={"until": until}, headers=curator.headers)
    ).status_code == 403
    past = await client.put(
        f"{space}/representatives/{measure}/consent",
        json={"until": (today_in_paris() - timedelta(days=1)).isoformat()},
        headers=holder.headers,
    )
    assert past.status_code == 422
    withdrawn = await client.put(
        f"{space}/representatives/{measure}/consent", json={"until": None}, headers=holder.headers
    )
    assert withdrawn.status_code == 200
    assert (await client.get(space, headers=curator.headers)).status_code == 403


async def test_only_the_holder_or_a_minors_parent_erases_and_the_other_parent_is_told(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    refused = await client.delete(f"/v1/spaces/{holder.space_id}?erase=true", headers=tutor.headers)
    assert refused.status_code == 403 and "erase" in refused.json()["detail"]
    assert (await client.get(f"/v1/spaces/{holder.space_id}", headers=holder.headers)).status_code == 200
    # A minor who holds their own space (signed in with their own identity) cannot erase it either.
    teenager = await make_person(birthdate=today_in_paris().replace(year=today_in_paris().year - 16, day=1))
    assert (await client.delete("/v1/spaces/me?erase=true", headers=teenager.headers)).status_code == 403
    # A parent erases a child's space: the other parent is told, without any health data.
    parent, other = await make_person(given_name="Sami"), await make_person()
    child = await create_child_space(client, parent, given_name="Nour")
    assert (await join_as_second_parent(client, parent, other, child)).status_code == 200
    outbox = Path(settings.var_dir) / "outbox"
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    assert (await client.delete(f"/v1/spaces/{child}?erase=true", headers=parent.headers)).status_code == 204
    assert (await client.get(f"/v1/spaces/{child}", headers=other.headers)).status_code == 404
    told = [p.read_text() for p in set(outbox.glob("*.eml")) - before]
    assert len(told) == 1 and f"{other.family_name.lower()}@" in told[0]
    assert "Nour" in told[0] and "supprim" in told[0] and "aucune donn" in told[0]
    record = await db.fetch_one("SELECT acting_as FROM space_erasures WHERE erased_space_id = {}", child)
    assert record is not None and record["acting_as"] == "parent"


async def test_a_measure_past_its_last_day_opens_nothing_and_can_be_renewed(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    holder, tutor = await make_person(), await make_person()
    await court_measure(
        holder,
        tutor,
        "tutelle",
        since=today_in_paris() - timedelta(days=800),
        until=today_in_paris() - timedelta(days=1),
    )
    assert (await client.get(f"/v1/spaces/{holder.space_id}", headers=tutor.headers)).status_code == 404
    # Its last day is included: a measure ending today still opens the space today.
    renewed = await court_measure(holder, tutor, "tutelle", since=today_in_paris(), until=today_in_paris())
    assert (await client.get(f"/v1/spaces/{holder.space_id}", headers=tutor.headers)).status_code == 200
    rows = await db.fetch(
        "SELECT id, ended_reason FROM representatives WHERE space_id = {} ORDER BY created_at", holder.space_id
    )
    assert [(row["ended_reason"]) for row in rows] == ["expired", None] and rows[1]["id"] == renewed


async def test_the_list_shows_who_represents_the_holder_now_or_later_not_who_did(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    holder, former, coming = await make_person(), await make_person(), await make_person()
    today = today_in_paris()
    await court_measure(holder, former, "tutelle", since=today - timedelta(days=800), until=today - timedelta(days=1))
    await court_measure(holder, coming, "habilitation_familiale", since=today + timedelta(days=10))
    listed = await client.get("/v1/spaces/me/representatives", headers=holder.headers)
    assert listed.status_code == 200, listed.text
    assert [item["accountId"] for item in listed.json()["items"]] == [str(coming.account_id)]


async def test_ending_a_representation_that_ended_meanwhile_keeps_its_reason(make_person: MakePerson) -> None:
    """A parent leaving, or an operator ending a measure, at the moment another end commits: the
    first end's date and reason (a court's reference) stay, and the late one is told 404."""
    holder, tutor = await make_person(), await make_person()
    representation = await court_measure(holder, tutor, "tutelle")
    await db.fetch(
        "UPDATE representatives SET revoked_at = {}, ended_reason = 'jugement du 1er décembre' "
        "WHERE space_id = {} AND id = {}",
        clock.now(),
        holder.space_id,
        representation,
    )
    with pytest.raises(NotFound):
        await end_representation(holder.space_id, representation, reason="withdrew", by_operator=False)
    row = await db.fetch_one(
        "SELECT ended_reason FROM representatives WHERE space_id = {} AND id = {}", holder.space_id, representation
    )
    assert row is not None and row["ended_reason"] == "jugement du 1er décembre"


async def test_consent_runs_no_longer_than_the_measure(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    """An outside review's ``{"until": "9999-12-31"}`` was a 500 (the day after it cannot be stored)."""
    holder, curator, other = await make_person(), await make_person(), await make_person()
    url = f"/v1/spaces/{holder.space_id}/representatives"
    ends = today_in_paris() + timedelta(days=400)
    measure = await court_measure(holder, curator, "curatelle", until=ends)
    for day, status in (("9999-12-31", 422), ((ends + timedelta(days=1)).isoformat(), 422), (ends.isoformat(), 200)):
        answer = await client.put(f"{url}/{measure}/consent", json={"until": day}, headers=holder.headers)
        assert answer.status_code == status, answer.text
        if status == 422:
            assert answer.json()["errors"][0]["pointer"] == "/until"
    # A measure without an end: consent for at most 20 years.
    open_ended = await court_measure(holder, other, "curatelle")
    far = await client.put(f"{url}/{open_ended}/consent", json={"until": "9999-12-31"}, headers=holder.headers)
    assert far.status_code == 422 and far.headers["content-type"].startswith("application/problem+json")


async def test_the_holders_erasure_is_told_to_whom_represents_them_and_to_no_one_else(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """README's table of rights said the other representatives are e-mailed when a space is
    erased; only a parent's erasure told them (an outside audit: a tutor's next request was a 404,
    nothing said). The holder's now tells whom their measures open the space to, a curator
    without consent too (they know the space exists); not a measure relating only to property,
    one ended, or one not begun: those opened nothing."""
    holder = await make_person(given_name="Hélène")
    tutor, curator, property_only, ended, later = [await make_person() for _ in range(5)]
    await court_measure(holder, tutor, "tutelle")
    await court_measure(holder, curator, "curatelle")
    await court_measure(holder, property_only, "habilitation_familiale", relates_to="property")
    today = today_in_paris()
    await court_measure(holder, ended, "tutelle", since=today - timedelta(days=90), until=today - timedelta(days=5))
    await court_measure(holder, later, "tutelle", since=today + timedelta(days=5))
    outbox = Path(settings.var_dir) / "outbox"
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    assert (await client.delete("/v1/spaces/me?erase=true", headers=holder.headers)).status_code == 204
    told = {p.read_text() for p in set(outbox.glob("*.eml")) - before}
    to = [[t for t in told if f"{whom.family_name.lower()}@" in t] for whom in (tutor, curator)]
    assert len(told) == 2 and all(len(mails) == 1 for mails in to), told
    for [mail] in to:
        mail = message_from_string(mail, policy=email.policy.default).get_content()
        assert "Hélène a supprimé définitivement son espace santé" in mail and "aucune donn" in mail
    assert (await client.get(f"/v1/spaces/{holder.space_id}", headers=tutor.headers)).status_code == 404
