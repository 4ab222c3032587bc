"""An app a representative connected to the space acts on their authority: it stops with their
right, and a later right of the same account does not bring it back (an outside security review:
after a guardianship ended, the app's refresh token still rotated, and a new court measure for the
same account made its old tokens work again). Its refresh is refused with the right:
tests/auth/test_a_representative_connects_an_app_for_the_person.py."""

from __future__ import annotations

from datetime import timedelta

import httpx

from ens.core import clock, db
from ens.core.settings import Settings
from ens.spaces.representatives import end_court_measure
from tests.helpers.carers import court_measure
from tests.helpers.people import MakePerson, Person, grant_app

SCOPES = ["vitals.body_weight:read"]


async def _connected_by(settings: Settings, holder: Person, by: Person) -> tuple[object, dict[str, str]]:
    app = await grant_app(settings, holder, SCOPES, client_id="app-scale", name="Balance", by=by)
    return app.grant_id, app.headers


async def test_ending_the_right_disconnects_the_apps_it_connected(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    holder, guardian = await make_person(), await make_person()
    measure = await court_measure(holder, guardian, "tutelle")
    grant_id, app = await _connected_by(settings, holder, guardian)
    assert (await client.get("/v1/spaces/me/vitals", headers=app)).status_code == 200
    await end_court_measure(holder.space_id, measure, reason="TJ Paris, mainlevée")
    row = await db.fetch_one("SELECT revoked_at FROM grants WHERE id = {}", grant_id)
    assert row is not None and row["revoked_at"] is not None
    assert (await client.get("/v1/spaces/me/vitals", headers=app)).status_code == 401
    # A new measure for the same account: the app stays disconnected.
    await court_measure(holder, guardian, "tutelle")
    assert (await client.get("/v1/spaces/me/vitals", headers=app)).status_code == 401
    grants = await client.get("/v1/spaces/me/grants", headers=holder.headers)
    assert grants.json()["items"] == []


async def test_a_later_right_does_not_bring_back_an_app_connected_under_an_earlier_one(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """A right that ended without an event (a parent's at the 18th birthday, a measure's last day)
    leaves the grant in place: the door tells the right the app was connected under from a later one."""
    holder, guardian = await make_person(), await make_person()
    measure = await court_measure(holder, guardian, "tutelle")
    _, app = await _connected_by(settings, holder, guardian)
    assert (await client.get("/v1/spaces/me/vitals", headers=app)).status_code == 200
    await db.fetch(
        "UPDATE representatives SET revoked_at = created_at WHERE space_id = {} AND id = {}",
        holder.space_id,
        measure,
    )  # ended as its last day would end it: nothing else happens
    assert (await client.get("/v1/spaces/me/vitals", headers=app)).status_code == 404
    await court_measure(holder, guardian, "tutelle")
    assert (await client.get("/v1/spaces/me/vitals", headers=app)).status_code == 404
    # Connected again under the new right, an app works.
    _, again = await _connected_by(settings, holder, guardian)
    assert (await client.get("/v1/spaces/me/vitals", headers=again)).status_code == 200


async def test_a_representative_connecting_an_app_leaves_the_holders_own_connection_of_it(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """One live connection of an app per space and person, not per space: a guardian approving an app
    the holder had connected revoked the holder's connection, silently (an outside security review)."""
    holder, guardian = await make_person(), await make_person()
    await court_measure(holder, guardian, "tutelle")
    holders_grant, holders_app = await _connected_by(settings, holder, holder)
    guardians_grant, guardians_app = await _connected_by(settings, holder, guardian)
    for app in (holders_app, guardians_app):
        assert (await client.get("/v1/spaces/me/vitals", headers=app)).status_code == 200
    listed = (await client.get("/v1/spaces/me/grants", headers=holder.headers)).json()["items"]
    assert {item["id"] for item in listed} == {str(holders_grant), str(guardians_grant)}
    # A person connecting the app again replaces their own connection only.
    _, holders_again = await _connected_by(settings, holder, holder)
    assert (await client.get("/v1/spaces/me/vitals", headers=holders_app)).status_code == 401
    assert (await client.get("/v1/spaces/me/vitals", headers=holders_again)).status_code == 200
    assert (await client.get("/v1/spaces/me/vitals", headers=guardians_app)).status_code == 200


async def test_the_holders_list_of_apps_leaves_out_one_whose_right_lapsed(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """A right that lapses by itself (a measure's last day, the 18th birthday) leaves the grant in
    place, refused at the door: the holder's list showed the app connected (an outside audit). It
    lists what the door lets in."""
    holder, guardian = await make_person(), await make_person()
    measure = await court_measure(holder, guardian, "tutelle")
    _, theirs = await _connected_by(settings, holder, guardian)
    own = await grant_app(settings, holder, SCOPES, client_id="app-cuff", name="Tensiomètre")

    async def listed() -> list[str]:
        answer = await client.get("/v1/spaces/me/grants", headers=holder.headers)
        assert answer.status_code == 200, answer.text
        return sorted(item["clientName"] for item in answer.json()["items"])

    assert await listed() == ["Balance", "Tensiomètre"]
    await db.fetch(
        "UPDATE representatives SET until = {} WHERE space_id = {} AND id = {}",
        clock.now() - timedelta(seconds=1),
        holder.space_id,
        measure,
    )  # its last day has passed: nothing else happens
    assert (await client.get("/v1/spaces/me/vitals", headers=theirs)).status_code == 404
    assert await listed() == ["Tensiomètre"]
    assert (await client.get("/v1/spaces/me/vitals", headers=own.headers)).status_code == 200
    # A later right of the same account does not bring it back, in the list either.
    await court_measure(holder, guardian, "tutelle")
    assert await listed() == ["Tensiomètre"]
