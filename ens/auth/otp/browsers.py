"""The browsers where a person has passed their second factor (a cookie, a ``known_browsers`` row).

A browser is remembered for an account once it has passed that account's second factor: its cookie
holds a random token (one per browser, whoever signs in there), and the row keeps the token's keyed
hash with the account, never the token. There, the account's wrong codes count on the browser's
own lock (:mod:`ens.auth.otp.lock`), not on the account's, which strangers' browsers meet alone. A
row lives :data:`BROWSER_KEPT` from its last login there; a lost factor replaced forgets every
browser of the account (a stolen phone's among them) but the one that replaced it.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from uuid import UUID

from ens.core import keyring
from ens.core.db import fetch, fetch_one, one_of
from ens.core.settings import Settings

# From its last login: a browser unused for half a year meets the account's lock as a stranger's.
BROWSER_KEPT = timedelta(days=180)
# What a token may look like (secrets.token_urlsafe(32)): a cookie of another shape is no browser of ours.
_TOKEN_LENGTH = 43


def _hashes(settings: Settings, account_id: UUID, token: str) -> tuple[str, ...]:
    """The row keys ``token`` has for this account: under the current key first, then each it replaced."""
    return keyring.token_hashes(settings.secret_key, f"{account_id}:{token}")


def _well_formed(token: str | None) -> bool:
    return token is not None and len(token) == _TOKEN_LENGTH and token.isascii()


async def known_browser(settings: Settings, account_id: UUID, token: str | None, *, now: datetime) -> str | None:
    """The row key of the browser holding ``token`` (its cookie) if it has passed this account's
    second factor within :data:`BROWSER_KEPT`, else None (a stranger's browser, to the account)."""
    if not _well_formed(token):
        return None
    assert token is not None
    hashes = _hashes(settings, account_id, token)
    row = await fetch_one(
        f"SELECT key_hash FROM known_browsers WHERE {one_of('key_hash', hashes)} AND account_id = {{}} "
        "AND expires_at > {} LIMIT 1",
        *hashes,
        account_id,
        now,
    )
    return str(row["key_hash"]) if row else None


async def remember_browser(settings: Settings, account_id: UUID, token: str | None, *, now: datetime) -> str:
    """This browser has just passed the account's second factor: remembered (again) for
    :data:`BROWSER_KEPT`. Its token, to set in its cookie: the one it holds, or a new one."""
    if not _well_formed(token):
        token = secrets.token_urlsafe(32)
    assert token is not None
    await fetch(
        "INSERT INTO known_browsers (key_hash, account_id, failures, expires_at) VALUES ({}, {}, 0, {}) "
        "ON CONFLICT (key_hash) DO UPDATE SET expires_at = excluded.expires_at",
        _hashes(settings, account_id, token)[0],
        account_id,
        now + BROWSER_KEPT,
    )
    return token


async def forget_browsers(account_id: UUID) -> None:
    """A lost factor replaced: no browser of the account is known any more (the phone that was lost
    among them); the one that replaced it is remembered again right after."""
    await fetch("DELETE FROM known_browsers WHERE account_id = {}", account_id)
