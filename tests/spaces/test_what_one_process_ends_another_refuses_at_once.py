"""Several server processes on one database (README, "Several processes"): what one ends, the next
request to another refuses, though that other has just served the same token and keeps it verified
in memory (``ens.auth.tokens``). Two apps here, each with its own token cache, rate limiter and
middlewares; what is module-wide in a process (the database pool, the history's group commit, the
keys) they share, which two live ``ens serve`` showed holds as well (an outside audit)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from ens.app import create_app
from ens.auth.tokens import AccessTokens, new_session_token
from ens.core.settings import Settings
from tests.helpers.asgi import asgi_client
from tests.helpers.carers import create_child_space, join_as_second_parent, live_representation_id
from tests.helpers.people import MakeAppToken, MakePerson
from tests.helpers.professionals import authorise, sign_in_pro


@asynccontextmanager
async def _two_processes(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with (
        asgi_client(create_app(settings), "http://testserver.local") as first,
        asgi_client(create_app(settings), "http://testserver.local") as second,
    ):
        yield first, second


async def test_a_session_revoked_on_one_is_refused_on_the_other(settings: Settings, make_person: MakePerson) -> None:
    person = await make_person()
    _, other_device = await new_session_token(
        AccessTokens(settings), person.account_id, client_id="ens-mobile", client_name="ENS", label="second phone"
    )
    async with _two_processes(settings) as (first, second):
        assert (await second.get("/v1/spaces/me", headers=person.headers)).status_code == 200
        revoked = await first.delete(
            f"/v1/me/sessions/{person.grant_id}", headers={"Authorization": f"Bearer {other_device}"}
        )
        assert revoked.status_code == 204, revoked.text
        for path in ("/v1/spaces/me", "/v1/me"):
            refused = await second.get(path, headers=person.headers)
            assert refused.status_code == 401 and refused.json()["type"] == "urn:ens:problem:grant-revoked"


async def test_an_app_disconnected_on_one_is_refused_on_the_other(
    settings: Settings, make_person: MakePerson, make_app_token: MakeAppToken
) -> None:
    person = await make_person()
    app = await make_app_token(person, ["vitals.body_weight:read"])
    async with _two_processes(settings) as (first, second):
        assert (await second.get("/v1/spaces/me/vitals", headers=app.headers)).status_code == 200
        assert (await first.delete(f"/v1/spaces/me/grants/{app.grant_id}", headers=person.headers)).status_code == 204
        assert (await second.get("/v1/spaces/me/vitals", headers=app.headers)).status_code == 401


async def test_a_professionals_authorisation_ended_on_one_is_refused_on_the_other(
    settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person()
    pro = await sign_in_pro(settings)
    async with _two_processes(settings) as (first, second):
        authorisation = await authorise(first, holder, pro)
        assert (await second.get(f"/v1/spaces/{holder.space_id}/vitals", headers=pro.headers)).status_code == 200
        ended = await first.delete(f"/v1/spaces/me/professionals/{authorisation['id']}", headers=holder.headers)
        assert ended.status_code == 204, ended.text
        assert (await second.get(f"/v1/spaces/{holder.space_id}/vitals", headers=pro.headers)).status_code == 404


async def test_a_parents_right_ended_on_one_is_refused_on_the_other(
    settings: Settings, make_person: MakePerson
) -> None:
    parent, other = await make_person(), await make_person()
    async with _two_processes(settings) as (first, second):
        child = await create_child_space(first, parent)
        assert (await join_as_second_parent(first, parent, other, child)).status_code == 200
        assert (await second.get(f"/v1/spaces/{child}", headers=other.headers)).status_code == 200
        own = await live_representation_id(child, other)
        left = await first.delete(f"/v1/spaces/{child}/representatives/{own}", headers=other.headers)
        assert left.status_code == 204, left.text
        assert (await second.get(f"/v1/spaces/{child}", headers=other.headers)).status_code == 404


async def test_a_space_closed_then_erased_on_one_is_so_on_the_other(
    settings: Settings, make_person: MakePerson
) -> None:
    person = await make_person()
    async with _two_processes(settings) as (first, second):
        assert (await second.get("/v1/spaces/me/vitals", headers=person.headers)).status_code == 200
        assert (await first.delete("/v1/spaces/me", headers=person.headers)).status_code == 204
        assert (await second.get("/v1/spaces/me/vitals", headers=person.headers)).status_code == 410
        erased = await second.delete("/v1/spaces/me", params={"erase": "true"}, headers=person.headers)
        assert erased.status_code == 204, erased.text
        assert (await first.get("/v1/spaces/me/vitals", headers=person.headers)).status_code == 404
