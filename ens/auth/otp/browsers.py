"""The browsers where a person has passed their second factor (a cookie, ``known_browsers`` rows).

A browser is remembered for an account once it has passed that account's second factor: its cookie
holds a random token of that account's (a browser shared by a family holds one per person, at most
:data:`TOKENS_PER_BROWSER`, dot-separated), and the row keeps the token's keyed hash with the
account, never the token. Each token is marked with its account (a short keyed hash of the
account's id with the token, :func:`_marks`), so that a login replaces its own account's token, a
dead one too (its row gone: a factor replaced elsewhere, the expiry, the cap), and never pushes
another person's live token out of the cookie (a re-review); with the token in it, a person's marks
differ from one browser to the next, and link nothing (a review). There, the account's wrong
codes count on the browser's own lock (:mod:`ens.auth.otp.lock`), not on the account's, which
strangers' browsers meet alone. A token is only ever made here: one a browser presents that is not
already this account's is never adopted (else whoever planted a cookie in the person's browser
would hold a known browser). A row lives :data:`BROWSER_KEPT` from its last login there, an account
keeps its :data:`BROWSERS_PER_ACCOUNT` most recent, those that came back after their first login
before the others (a client that keeps no cookie makes one a login, never seen again); a lost
factor replaced forgets every browser of the account (a stolen phone's among them) but the one
that replaced it, which gets a new token.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from ens.auth.otp.lock import _hold_guard
from ens.core import keyring
from ens.core.db import fetch, fetch_one, one_of, write_transaction
from ens.core.settings import Settings

# From its last login: a browser unused for half a year meets the account's lock as a stranger's.
BROWSER_KEPT = timedelta(days=180)
# The tokens a browser's cookie holds, one per account that passed its second factor there, newest first.
TOKENS_PER_BROWSER = 5
# The rows an account keeps: the browser just used, those seen again, then the most recent once-seen
# (a client that keeps no cookie makes one a login).
BROWSERS_PER_ACCOUNT = 20
# The account's mark before each token: 11 base64url characters (66 bits) of a keyed hash of its id
# and the token.
_MARK_LENGTH = 11
# What a cookie's part looks like, the mark then the token (secrets.token_urlsafe(32)): a part of
# another shape is no token of ours.
_PART = re.compile(r"([A-Za-z0-9_-]{11})([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class KnownBrowser:
    """This browser, known to the account: the row's key, and the cookie's token it was found by."""

    key: str
    token: str


def tokens_of(cookie: str | None) -> list[tuple[str, str]]:
    """The well-formed parts of a known-browser cookie, each its account's mark and its token, in
    the cookie's order, at most :data:`TOKENS_PER_BROWSER`."""
    if not cookie:
        return []
    parts = (_PART.fullmatch(part) for part in cookie.split("."))
    return [(found[1], found[2]) for found in parts if found][:TOKENS_PER_BROWSER]


def _marks(settings: Settings, account_id: UUID, token: str) -> tuple[str, ...]:
    """The marks ``token`` bears if it is this account's: under the current key first, then each it replaced."""
    hashes = keyring.token_hashes(settings.secret_key, f"known-browser-mark:{account_id}:{token}")
    return tuple(h[:_MARK_LENGTH] for h in hashes)


def _accounts_tokens(settings: Settings, account_id: UUID, cookie: str | None) -> list[str]:
    """The tokens of the cookie marked as this account's (live or dead)."""
    return [token for mark, token in tokens_of(cookie) if mark in _marks(settings, account_id, token)]


def _hashes(settings: Settings, account_id: UUID, token: str) -> tuple[str, ...]:
    """The row keys ``token`` has for this account: under the current key first, then each it replaced."""
    return keyring.token_hashes(settings.secret_key, f"{account_id}:{token}")


async def known_browser(
    settings: Settings, account_id: UUID, cookie: str | None, *, now: datetime
) -> KnownBrowser | None:
    """This browser if one of its cookie's tokens has passed this account's second factor within
    :data:`BROWSER_KEPT` (the row under the current key's hash first), else None: a stranger's."""
    wanted = {
        h: (token, rank)
        for token in _accounts_tokens(settings, account_id, cookie)
        for rank, h in enumerate(_hashes(settings, account_id, token))
    }
    if not wanted:
        return None
    keys = list(wanted)
    rows = await fetch(
        f"SELECT key_hash FROM known_browsers WHERE {one_of('key_hash', keys)} AND account_id = {{}} "
        "AND expires_at > {}",
        *keys,
        account_id,
        now,
    )
    if not rows:
        return None
    key = min((str(row["key_hash"]) for row in rows), key=lambda h: wanted[h][1])
    return KnownBrowser(key=key, token=wanted[key][0])


async def remember_browser(
    settings: Settings,
    account_id: UUID,
    cookie: str | None,
    *,
    known: KnownBrowser | None,
    attempt_id: UUID,
    now: datetime,
) -> str | None:
    """This browser has just passed the account's second factor in login attempt ``attempt_id``:
    remembered (again) for :data:`BROWSER_KEPT`, by the token it was ``known`` by (the try's
    :func:`known_browser`), else a new one. The cookie to set (this account's token first, the other
    accounts' after it), or None when the attempt was superseded meanwhile: a factor replaced (its
    transaction forgets the account's browsers under the person's guard row, taken here too) must
    not be followed by the lost phone's login remembering it again (a review)."""
    token = known.token if known is not None else secrets.token_urlsafe(32)
    current = _hashes(settings, account_id, token)[0]
    async with write_transaction():
        await _hold_guard(account_id)
        attempt = await fetch_one("SELECT step FROM login_attempts WHERE id = {}", attempt_id)
        if attempt is not None and attempt["step"] == "superseded":
            return None
        if known is not None and known.key != current:
            # Found under a key since replaced: the row takes the current key's hash, its count and lock
            # kept (an upsert beside it gave the browser a second row, with 30 codes of its own).
            await fetch(
                "UPDATE known_browsers SET key_hash = {} WHERE key_hash = {} "
                "AND NOT EXISTS (SELECT 1 FROM known_browsers k WHERE k.key_hash = {})",
                current,
                known.key,
                current,
            )
        await fetch(
            "INSERT INTO known_browsers (key_hash, account_id, failures, expires_at, seen_again) "
            "VALUES ({}, {}, 0, {}, FALSE) "
            "ON CONFLICT (key_hash) DO UPDATE SET expires_at = excluded.expires_at, seen_again = TRUE",
            current,
            account_id,
            now + BROWSER_KEPT,
        )
        # The cap keeps this browser, then those seen again, then the most recent once-seen rows.
        await fetch(
            "DELETE FROM known_browsers WHERE account_id = {} AND key_hash NOT IN "
            "(SELECT key_hash FROM known_browsers WHERE account_id = {} "
            "ORDER BY CASE WHEN key_hash = {} THEN 0 ELSE 1 END, seen_again DESC, expires_at DESC LIMIT {})",
            account_id,
            account_id,
            current,
            BROWSERS_PER_ACCOUNT,
        )
    own = set(_accounts_tokens(settings, account_id, cookie))
    others = [mark + held for mark, held in tokens_of(cookie) if held not in own]
    return ".".join([_marks(settings, account_id, token)[0] + token, *others][:TOKENS_PER_BROWSER])


async def forget_browsers(account_id: UUID) -> None:
    """A lost factor replaced: no browser of the account is known any more (the phone that was lost
    among them); the one that replaced it is remembered again right after."""
    await fetch("DELETE FROM known_browsers WHERE account_id = {}", account_id)
