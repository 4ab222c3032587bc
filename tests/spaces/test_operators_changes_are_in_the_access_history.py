"""The person sees the full access history of their space, operators' changes included: the commands
that change who may reach a space from the operators' shell (``ens representatives add | end |
restore-parent``, ``ens claim-codes issue``) left no row there, only a line in the operators'
security log, so a holder never saw a tutor named for them, nor a parent the other parent's right
ended or given back. Each change now writes one row in that space's history, in its own transaction
(``ens.spaces.history.OperatorAction``): as an operator, with no account, and never the court
decision's reference nor the operator's reason. A refused command writes none; ``ens audit verify``
still verifies (and catches an operator's row changed: test_a_tampered_history_is_caught.py)."""

from __future__ import annotations

import subprocess
import uuid
from datetime import timedelta
from typing import Any

import httpx

from ens.core import db
from ens.core.settings import Settings
from tests.helpers.carers import create_child_space, join_as_second_parent, set_birthdate, today_in_paris, years_before
from tests.helpers.people import MakePerson, Person
from tests.helpers.server import run_ens

JUDGEMENT = "TJ Lyon, 12 mars 2026, RG 26/01234: altération des facultés (certificat du Dr Martin)"
ENDING = "TJ Lyon, 2 mars 2026: retrait de l'autorité parentale pour violences"
APPEAL = "CA Lyon, 14 octobre 2026, RG 26/07781: autorité parentale rétablie"
IDENTITY_CHECK = "Carte d'identité vue au guichet CPAM Lyon, ticket 2026-4411"


def _ens(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_ens(settings, *args)


def _printed(done: subprocess.CompletedProcess[str], key: str) -> str:
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    return lines[key]


async def _history(client: httpx.AsyncClient, space: uuid.UUID, who: Person, query: str = "") -> list[dict[str, Any]]:
    answer = await client.get(f"/v1/spaces/{space}/access-history?limit=100{query}", headers=who.headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def _operators(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in items if item["actingAs"] == "operator"]


async def _operator_rows(space: uuid.UUID) -> int:
    rows = await db.fetch("SELECT id FROM access_history WHERE space_id = {} AND acting_as = 'operator'", space)
    return len(rows)


def _verified(settings: Settings, space: uuid.UUID) -> None:
    done = _ens(settings, "audit", "verify", str(space))
    assert done.returncode == 0 and "1 spaces checked, 0 with a broken link" in done.stdout, done


def _add_measure(
    settings: Settings, holder: Person, tutor: Person, kind: str, *more: str
) -> subprocess.CompletedProcess[str]:
    """``ens representatives add``: ``tutor`` named by the court on ``holder``'s space since 12 March."""
    return _ens(
        settings,
        "representatives",
        "add",
        "--space",
        str(holder.space_id),
        "--account",
        str(tutor.account_id),
        "--kind",
        kind,
        "--court-reference",
        JUDGEMENT,
        "--since",
        "2026-03-12",
        *more,
    )


async def test_a_court_measure_recorded_and_ended_is_in_the_holders_and_the_tutors_history(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    holder = await make_person(given_name="Marie", family_name="Curie")
    tutor = await make_person(given_name="Paul", family_name="Langevin")
    added = _add_measure(settings, holder, tutor, "tutelle", "--operator", "  Agnès Roux ")
    measure = _printed(added, "representative_id")
    assert "court measure added" in added.stderr  # the operators' security log, as before
    expected = {
        "actor": None,
        "client": {"clientId": "ens-cli", "name": None},
        "actingAs": "operator",
        "actorKind": None,
        "action": "ens representatives add",
        "resourceType": "representatives",
        "resourceId": measure,
        "outcome": 201,
        "description": "Agnès Roux (opérateur du service) a enregistré une mesure de protection (tutelle) confiée "
        "à Paul Langevin, sur décision de justice.",
    }
    for reader in (holder, tutor):  # the holder, and the tutor now named
        rows = _operators(await _history(client, holder.space_id, reader))
        assert [{key: row[key] for key in expected} for row in rows] == [expected]
        assert "RG 26/01234" not in str(rows) and "certificat" not in str(rows)
    # The filters: the operators' rows, a change; not a representative's.
    assert [row["action"] for row in await _history(client, holder.space_id, holder, "&actor=operators")] == [
        "ens representatives add"
    ]
    assert "ens representatives add" in {
        row["action"] for row in await _history(client, holder.space_id, holder, "&action=change")
    }
    assert await _history(client, holder.space_id, holder, "&actor=operators&action=read") == []
    assert _operators(await _history(client, holder.space_id, holder, "&actor=representatives")) == []
    assert len(await _history(client, holder.space_id, holder, "&actor=operators&resource=representatives")) == 1

    # A refused command (the tutor is already named) writes nothing.
    again = _add_measure(settings, holder, tutor, "curatelle")
    assert again.returncode == 2 and "already represents" in again.stderr, again
    # A date no measure has (an outside review's 9999-12-31 was a traceback): one line, exit 2.
    for more in (("--until", "9999-12-31"), ("--until", "2046-03-13")):
        far = _add_measure(settings, holder, await make_person(), "curatelle", *more)
        assert far.returncode == 2 and "at most 20 years" in far.stderr and "Traceback" not in far.stderr, far
    assert await _operator_rows(holder.space_id) == 1

    # Ended, with no name given: "an operator", and not the reason.
    ended = _ens(settings, "representatives", "end", measure, "--space", str(holder.space_id), "--reason", ENDING)
    assert ended.returncode == 0, ended.stderr
    rows = _operators(await _history(client, holder.space_id, holder))
    assert [(row["action"], row["outcome"], row["resourceId"], row["description"]) for row in rows] == [
        (
            "ens representatives end",
            200,
            measure,
            "Un opérateur du service a mis fin à la mesure de protection (tutelle) confiée à Paul Langevin.",
        ),
        ("ens representatives add", 201, measure, expected["description"]),
    ]
    assert "violences" not in str(rows) and "retrait" not in str(rows)
    # The tutor ended sees nothing of the space any more, its history included.
    answer = await client.get(f"/v1/spaces/{holder.space_id}/access-history", headers=tutor.headers)
    assert answer.status_code == 404
    # Ending it again is refused, and writes nothing.
    refused = _ens(settings, "representatives", "end", measure, "--space", str(holder.space_id), "--reason", ENDING)
    assert refused.returncode == 2 and "No such live representation" in refused.stderr, refused
    assert await _operator_rows(holder.space_id) == 2
    _verified(settings, holder.space_id)


async def test_the_other_parent_sees_an_operator_end_and_restore_a_parents_right(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    parent = await make_person(given_name="Paul", family_name="Martin")
    other = await make_person(given_name="Marie", family_name="Durand")
    child = await create_child_space(client, parent)
    assert (await join_as_second_parent(client, parent, other, child)).status_code == 200
    theirs = await db.fetch_one(
        "SELECT id FROM representatives WHERE space_id = {} AND account_id = {} AND revoked_at IS NULL",
        child,
        other.account_id,
    )
    assert theirs is not None
    ended = _ens(
        settings,
        "representatives",
        "end",
        str(theirs["id"]),
        "--space",
        str(child),
        "--reason",
        ENDING,
        "--operator",
        "Agnès Roux",
    )
    assert ended.returncode == 0, ended.stderr
    rows = _operators(await _history(client, child, parent))
    assert [(row["action"], row["description"]) for row in rows] == [
        (
            "ens representatives end",
            "Agnès Roux (opérateur du service) a mis fin au droit de parent de Marie Durand, sur décision de justice.",
        )
    ]
    # A refused restoration (no court reference) writes nothing.
    blank = _ens(
        settings, "representatives", "restore-parent", "--space", str(child), "--account", str(other.account_id),
        "--court-reference", "  ",
    )  # fmt: skip
    assert blank.returncode == 2, blank
    assert await _operator_rows(child) == 1
    restored = _ens(
        settings, "representatives", "restore-parent", "--space", str(child), "--account", str(other.account_id),
        "--court-reference", APPEAL,
    )  # fmt: skip
    representative_id = _printed(restored, "representative_id")
    # Both parents read it, the one restored included; neither the reason nor the reference is there.
    for reader in (parent, other):
        rows = _operators(await _history(client, child, reader))
        assert [(row["action"], row["outcome"], row["resourceId"], row["description"]) for row in rows[:1]] == [
            (
                "ens representatives restore-parent",
                201,
                representative_id,
                "Un opérateur du service a rétabli le droit de parent de Marie Durand, sur décision de justice.",
            )
        ]
        assert len(rows) == 2 and "RG 26/07781" not in str(rows) and "violences" not in str(rows)
    # Restoring again is refused, and writes nothing.
    again = _ens(
        settings, "representatives", "restore-parent", "--space", str(child), "--account", str(other.account_id),
        "--court-reference", APPEAL,
    )  # fmt: skip
    assert again.returncode == 2 and "already represents" in again.stderr, again
    assert await _operator_rows(child) == 2
    _verified(settings, child)


async def test_the_young_adult_sees_that_an_operator_issued_their_claim_code(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    parent = await make_person()
    child = await create_child_space(client, parent, given_name="Inès")
    minor = await create_child_space(client, parent, given_name="Jules")
    adult = years_before(today_in_paris() - timedelta(days=122), 18)
    await set_birthdate(child, adult)
    # Refused (a minor's space: the parents make the code): no row.
    refused = _ens(
        settings, "claim-codes", "issue", "--space", str(minor), "--operator", "Agnès Roux", "--reason", IDENTITY_CHECK
    )
    assert refused.returncode == 2 and "minor" in refused.stderr, refused
    assert await _operator_rows(minor) == 0
    issued = _ens(
        settings, "claim-codes", "issue", "--space", str(child), "--operator", "Agnès Roux", "--reason", IDENTITY_CHECK
    )
    code = _printed(issued, "claim_code")
    assert await _operator_rows(child) == 1
    young = await make_person(given_name="Inès", birthdate=adult)
    assert (await client.post(f"/v1/claims/{code}/accept", headers=young.headers)).status_code == 200
    rows = _operators(await _history(client, child, young))
    assert [
        (row["action"], row["resourceType"], row["resourceId"], row["outcome"], row["description"]) for row in rows
    ] == [
        (
            "ens claim-codes issue",
            "representatives",
            None,
            201,
            "Agnès Roux (opérateur du service) a émis un code de reprise de l'espace à 18 ans, après vérification "
            "d'identité.",
        )
    ]
    assert "CPAM" not in str(rows) and "4411" not in str(rows) and code not in str(rows)
    _verified(settings, child)


async def test_a_name_too_long_for_the_history_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    holder, tutor = await make_person(), await make_person()
    done = _ens(
        settings, "representatives", "add", "--space", str(holder.space_id), "--account", str(tutor.account_id),
        "--kind", "tutelle", "--court-reference", JUDGEMENT, "--since", "2026-03-12", "--operator", "x" * 256,
    )  # fmt: skip
    assert done.returncode == 2 and "/operator" in done.stderr and "Traceback" not in done.stderr, done
    assert await db.fetch("SELECT id FROM representatives WHERE space_id = {}", holder.space_id) == []
    assert await _operator_rows(holder.space_id) == 0
