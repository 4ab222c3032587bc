"""A professional a representative authorised is authorised on that representative's authority: no
later than their right ends (a court measure's end, as a parent's the 18th birthday), and ended with
it when an operator ends it sooner; a later right of the same account brings nothing back. Before,
a guardian's authorisation ran its year after the measure ended: the adult who had regained their
rights found a professional reading them whom they never chose (a review). What the holder
decided themself is left as it is."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta

import httpx

from ens.core import clock, db
from ens.core.clock import aware
from ens.core.settings import Settings
from ens.spaces.representatives import end_court_measure
from tests.helpers.carers import court_measure, today_in_paris
from tests.helpers.people import MakePerson
from tests.helpers.professionals import authorise, sign_in_pro

MIGRATION = importlib.import_module(
    "ens.spaces.piccolo_migrations.m2026_12_21_1000_authorisations_end_with_their_deciders_right"
)


def _instant(text: object) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


async def _right_until(space_id: object, measure: object) -> datetime:
    [row] = await db.fetch("SELECT until FROM representatives WHERE space_id = {} AND id = {}", space_id, measure)
    return aware(row["until"])


async def _status(client: httpx.AsyncClient, holder_headers: dict[str, str], entry_id: str) -> dict[str, object]:
    answer = await client.get(f"/v1/spaces/me/professionals/{entry_id}", headers=holder_headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_a_guardians_authorisation_ends_no_later_than_the_measure(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    holder, guardian = await make_person(), await make_person()
    measure = await court_measure(holder, guardian, "tutelle", until=today_in_paris() + timedelta(days=90))
    pro = await sign_in_pro(settings)
    given = await authorise(client, guardian, pro, space=holder.space_id)
    assert given["status"] == "authorised"
    assert _instant(given["until"]) == await _right_until(holder.space_id, measure)
    # A renewal by the guardian is bound the same way; the holder's own is a year.
    renewed = await client.patch(
        f"/v1/spaces/{holder.space_id}/professionals/{given['id']}", json={"renew": True}, headers=guardian.headers
    )
    assert _instant(renewed.json()["until"]) == await _right_until(holder.space_id, measure)
    own = await client.patch(f"/v1/spaces/me/professionals/{given['id']}", json={"renew": True}, headers=holder.headers)
    assert _instant(own.json()["until"]) > clock.now() + timedelta(days=360)


async def test_ending_the_measure_ends_the_authorisations_given_under_it_and_a_new_one_brings_none_back(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    holder, guardian = await make_person(), await make_person()
    measure = await court_measure(holder, guardian, "habilitation_familiale")
    by_guardian, by_holder = await sign_in_pro(settings), await sign_in_pro(settings)
    given = await authorise(client, guardian, by_guardian, space=holder.space_id)
    chosen = await authorise(client, holder, by_holder)
    for pro in (by_guardian, by_holder):
        assert (await client.get(f"/v1/spaces/{holder.space_id}/vitals", headers=pro.headers)).status_code == 200
    await end_court_measure(holder.space_id, measure, reason="TJ Paris, mainlevée")
    assert (await client.get(f"/v1/spaces/{holder.space_id}/vitals", headers=by_guardian.headers)).status_code == 404
    assert (await _status(client, holder.headers, given["id"]))["status"] == "expired"
    # The holder's own choice runs on.
    assert (await client.get(f"/v1/spaces/{holder.space_id}/vitals", headers=by_holder.headers)).status_code == 200
    assert (await _status(client, holder.headers, chosen["id"]))["status"] == "authorised"
    # A new measure for the same account: the professional stays out until authorised again.
    await court_measure(holder, guardian, "habilitation_familiale")
    assert (await client.get(f"/v1/spaces/{holder.space_id}/vitals", headers=by_guardian.headers)).status_code == 404
    again = await authorise(client, guardian, by_guardian, space=holder.space_id)
    assert again["status"] == "authorised"
    assert (await client.get(f"/v1/spaces/{holder.space_id}/vitals", headers=by_guardian.headers)).status_code == 200


async def test_the_migration_bounds_the_authorisations_given_before(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    holder, ended_guardian = await make_person(), await make_person()
    other_holder, running_guardian = await make_person(), await make_person()
    ended = await court_measure(holder, ended_guardian, "tutelle")
    running = await court_measure(
        other_holder, running_guardian, "tutelle", until=today_in_paris() + timedelta(days=60)
    )
    first, second, own = [await sign_in_pro(settings) for _ in range(3)]
    a = await authorise(client, ended_guardian, first, space=holder.space_id)
    b = await authorise(client, running_guardian, second, space=other_holder.space_id)
    c = await authorise(client, holder, own)
    # As given before the rule: a year each, and the first measure ended without touching them.
    year = clock.now() + timedelta(days=365)
    for space_id, entry in ((holder.space_id, a), (other_holder.space_id, b)):
        await db.fetch(
            "UPDATE space_professionals SET until = {} WHERE space_id = {} AND id = {}", year, space_id, entry["id"]
        )
    await db.fetch(
        "UPDATE representatives SET revoked_at = {} WHERE space_id = {} AND id = {}",
        clock.now(),
        holder.space_id,
        ended,
    )
    assert await MIGRATION.bound_to_their_deciders_right() >= 2
    assert (await _status(client, holder.headers, a["id"]))["status"] == "expired"
    assert (await client.get(f"/v1/spaces/{holder.space_id}/vitals", headers=first.headers)).status_code == 404
    bounded = await _status(client, other_holder.headers, b["id"])
    assert bounded["status"] == "authorised"
    assert _instant(str(bounded["until"])) == await _right_until(other_holder.space_id, running)
    assert (await _status(client, holder.headers, c["id"]))["until"] == c["until"]  # the holder's own
