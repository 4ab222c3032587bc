"""``make run`` seeds the demo every time it starts (``ens demo``): the year of measures up to
today, whatever is there already. Its values typed by hand were keyed by their place in that
year's list, so on a later day "hand-3" named a height where a waist had been stored under it: the
record keeps its type, the batch was refused, and ``make run`` stopped the day after a first run."""

from __future__ import annotations

from datetime import timedelta

from ens.auth.dev.identities import DEV_IDENTITIES, as_identity
from ens.core import db
from ens.core.settings import Settings
from ens.demo import DEMO_IDENTITY, seed_demo
from ens.spaces.service import sign_in_identity
from tests.helpers.carers import today_in_paris


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
