"""``make run`` seeds the demo every time it starts (``ens demo``): the year of measures up to
today, whatever is there already. Its values typed by hand were keyed by their place in that
year's list, so on a later day "hand-3" named a height where a waist had been stored under it: the
record keeps its type, the batch was refused, and ``make run`` stopped the day after a first run."""

from __future__ import annotations

from datetime import timedelta

import httpx

from ens.auth.dev.identities import DEV_IDENTITIES, as_identity
from ens.auth.dev.token import dev_token
from ens.core import db
from ens.core.settings import Settings
from ens.demo import DEMO_IDENTITY, DEMO_SCALE_CLIENT, DEMO_SCALE_NAME, seed_demo
from ens.spaces.service import sign_in_identity
from tests.helpers.carers import today_in_paris
from tests.helpers.pages import every_item


async def test_the_demo_is_seeded_again_another_day(settings: Settings, migrated: None) -> None:
    today = today_in_paris()
    await seed_demo(settings, today=today - timedelta(days=40))
    await seed_demo(settings, today=today)
    await seed_demo(settings, today=today)  # and again the same day: nothing changes
    holder = await sign_in_identity(as_identity(DEV_IDENTITIES[DEMO_IDENTITY], settings.effective_oidc_issuer))
    typed_twice = await db.fetch(
        "SELECT type, effective_at, COUNT(*) AS copies FROM vital_measurements "
        "WHERE space_id = {} AND recording_method = 'manual' GROUP BY type, effective_at HAVING COUNT(*) > 1",
        holder.space_id,
    )
    assert typed_twice == []
    newest = await db.fetch_one(
        "SELECT MAX(effective_at) AS newest FROM vital_measurements WHERE space_id = {} AND type = 'steps_per_day'",
        holder.space_id,
    )
    assert newest is not None and str(newest["newest"])[:10] in (str(today), str(today - timedelta(days=1)))


async def test_the_demos_scale_app_is_in_the_catalogue_it_is_connected_from(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """The demo connected its scale app to the holder's space under a client id no app was
    registered with: the grants listed an app the catalogue (GET /v1/apps) did not have."""
    await seed_demo(settings)
    await seed_demo(settings)  # ``make run`` seeds at every start: registered once
    headers = {"Authorization": f"Bearer {await dev_token(settings, DEMO_IDENTITY)}"}
    grants = await client.get("/v1/spaces/me/grants", headers=headers)
    assert grants.status_code == 200, grants.text
    connected = {item["clientId"]: item for item in grants.json()["items"] if item["clientId"] != "ens-mobile"}
    assert set(connected) == {DEMO_SCALE_CLIENT}, grants.text
    catalogue = await every_item(client, "/v1/apps")
    [listed] = [app for app in catalogue if app["clientId"] == DEMO_SCALE_CLIENT]
    assert (listed["name"], listed["labelStatus"], listed["kind"]) == (DEMO_SCALE_NAME, "labelled", "device")
    # It may be granted what the demo's grant holds.
    assert set(connected[DEMO_SCALE_CLIENT]["scopes"]) <= set(listed["scopes"])
