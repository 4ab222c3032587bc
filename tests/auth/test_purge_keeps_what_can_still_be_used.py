"""``ens purge``: expired login state goes, what can still be used stays."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

from ens.auth.maintenance import purge_expired_login_state
from ens.core import db
from tests.helpers.login import FakeLogin


async def test_expired_login_attempts_and_old_chains_are_purged(fake_login, fake_settings):
    expired: FakeLogin = fake_login()
    await expired.start()
    live: FakeLogin = fake_login()
    await live.start()
    attempts = await db.fetch("SELECT id FROM login_attempts ORDER BY created_at DESC LIMIT 2")
    old_id, live_id = attempts[1]["id"], attempts[0]["id"]
    now = datetime.now(UTC)
    await db.fetch("UPDATE login_attempts SET expires_at = {} WHERE id = {}", now - timedelta(minutes=1), old_id)
    removed = await purge_expired_login_state(fake_settings, now)
    assert removed["login attempts"] >= 1
    remaining = {row["id"] for row in await db.fetch("SELECT id FROM login_attempts")}
    assert old_id not in remaining and live_id in remaining


async def test_refresh_tokens_are_kept_until_their_chain_expires(fake_settings, person):
    from ens.spaces.service import create_session_grant

    grant_id = await create_session_grant(person.account_id, "ens-mobile", client_name="ENS", label="maintenance test")
    now = datetime.now(UTC)
    max_age = timedelta(seconds=fake_settings.refresh_token_max_age)
    ids = {"old": uuid.uuid4(), "young": uuid.uuid4()}
    for label, started in (("old", now - max_age - timedelta(hours=1)), ("young", now - max_age + timedelta(hours=1))):
        await db.fetch(
            """INSERT INTO refresh_tokens (id, token_hash, grant_id, account_id, client_id, kind, scopes,
                                           chain_started_at, created_at, rotated_at)
               VALUES ({}, {}, {}, {}, 'ens-mobile', 'session', 'space', {}, {}, {})""",
            ids[label],
            uuid.uuid4().hex,
            grant_id,
            person.account_id,
            started,
            started,
            started,
        )
    await purge_expired_login_state(fake_settings, now)
    left = {row["id"] for row in await db.fetch("SELECT id FROM refresh_tokens WHERE grant_id = {}", grant_id)}
    assert left == {ids["young"]}


def test_ens_purge_command_reports_each_kind(settings, migrated):
    env = {**os.environ, "ENS_ENV": "dev", "ENS_DATABASE_URL": settings.database_url}
    done = subprocess.run(
        [sys.executable, "-m", "ens.cli", "purge"], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    for label in (
        "tombstones",
        "idempotency keys",
        "login attempts",
        "code budgets",
        "known browsers",
        "refresh tokens",
        "second factors",
    ):
        assert label in done.stdout


async def test_second_factors_nobody_can_use_go_with_their_seeds(fake_settings, person):
    """A factor never confirmed (its login gave up) and a revoked one (replaced after a lost phone)
    kept their encrypted seeds for ever; the active one, and an enrolment under way, stay."""
    from ens.auth import otp

    ids = {label: await otp.start_enrolment(fake_settings, person.account_id) for label in ("old", "young", "gone")}
    await otp.activate_factor(person.account_id, ids["gone"], replacing=True)
    active = await otp.start_enrolment(fake_settings, person.account_id)
    assert await otp.activate_factor(person.account_id, active, replacing=True) is True  # "gone" is revoked
    now = datetime.now(UTC)
    await db.fetch("UPDATE otp_factors SET created_at = {} WHERE id = {}", now - timedelta(days=2), ids["old"])
    removed = await purge_expired_login_state(fake_settings, now)
    assert removed["second factors"] >= 2
    left = await db.fetch("SELECT id, status FROM otp_factors WHERE account_id = {}", person.account_id)
    assert {row["id"]: row["status"] for row in left} == {ids["young"]: "pending", active: "active"}


async def test_a_phone_sessions_grant_goes_once_its_refresh_chain_has_ended(fake_settings, person, make_app_token):
    """Each login made a session grant, kept for ever: at tens of millions of logins a day the
    table grew by as many rows a day, and an account's session list walked every session it ever
    had (an outside audit). Past its refresh chain's lifetime and its last access token's, it goes
    with its tokens; a younger session and an app's consent, however old, stay."""
    from ens.spaces.service import create_session_grant

    now = datetime.now(UTC)
    max_age = timedelta(seconds=fake_settings.refresh_token_max_age)
    grants = {
        label: await create_session_grant(person.account_id, "ens-mobile", client_name="ENS", label=label)
        for label in ("ended", "young")
    }
    begun = {"ended": now - max_age - timedelta(days=2), "young": now - max_age + timedelta(hours=1)}
    for label, grant_id in grants.items():
        await db.fetch("UPDATE grants SET created_at = {} WHERE id = {}", begun[label], grant_id)
        await db.fetch(
            """INSERT INTO refresh_tokens (id, token_hash, grant_id, account_id, client_id, kind, scopes,
                                           chain_started_at, created_at)
               VALUES ({}, {}, {}, {}, 'ens-mobile', 'session', 'space', {}, {})""",
            uuid.uuid4(),
            uuid.uuid4().hex,
            grant_id,
            person.account_id,
            begun[label],
            begun[label],
        )
    await make_app_token(person, ["vitals.body_weight:read"])
    app = await db.fetch("SELECT id FROM grants WHERE account_id = {} AND kind <> 'session'", person.account_id)
    await db.fetch(
        "UPDATE grants SET created_at = {} WHERE account_id = {} AND kind <> 'session'",
        begun["ended"],
        person.account_id,
    )

    removed = await purge_expired_login_state(fake_settings, now)

    left = {row["id"] for row in await db.fetch("SELECT id FROM grants WHERE account_id = {}", person.account_id)}
    assert grants["ended"] not in left
    assert removed["ended sessions"] >= 1
    assert grants["young"] in left
    assert app and {row["id"] for row in app} <= left
