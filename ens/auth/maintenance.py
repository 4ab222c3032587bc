"""Purging login state nobody can use any more (``ens purge``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from ens.core.db import delete_in_batches, execute
from ens.core.settings import Settings

# Used authorization codes are kept a day after they expire: a second use must still be
# recognised (it revokes what the first produced) for as long as a client might replay it.
CODE_KEPT_AFTER_EXPIRY = timedelta(days=1)
# E-mail codes older than the sending rate window serve neither login nor rate limiting.
EMAIL_CODE_KEPT_AFTER_EXPIRY = timedelta(hours=1)
# A second factor never confirmed is abandoned once the login attempt that began it has expired
# (``ens.auth.login.attempt.ATTEMPT_TTL``, 30 minutes); a day is well past that.
UNCONFIRMED_FACTOR_KEPT = timedelta(days=1)
# A phone session's grant outlives its refresh chain (begun with it, ``refresh_token_max_age``) by
# its last access token's life at most (a day at most, ``access_token_ttl``): past both it can do
# nothing, and is no device signed in (``ens.spaces.service.grants.list_sessions``).
ENDED_SESSION_KEPT = timedelta(days=1)


async def purge_expired_login_state(settings: Settings, now: datetime) -> dict[str, int]:
    """Delete expired login attempts, codes and wrong-code budgets, refresh tokens of chains past
    their absolute lifetime (a rotated token must be kept until then, so that its reuse is
    detected), the phone sessions' grants those chains ended, and the second factors nobody can use
    (never confirmed, or revoked) with their seeds."""
    chain_limit = now - timedelta(seconds=settings.refresh_token_max_age)
    # Each: (table, the column its rows expire by, the bound): those below it go.
    batched = {
        "login attempts": ("login_attempts", "expires_at", now),
        "authorization codes": ("authorization_codes", "expires_at", now - CODE_KEPT_AFTER_EXPIRY),
        "e-mail codes": ("email_codes", "expires_at", now - EMAIL_CODE_KEPT_AFTER_EXPIRY),
        # Each kept as long as its login attempt or session can live.
        "code budgets": ("otp_budgets", "expires_at", now),
        # A browser unused for BROWSER_KEPT meets the account's lock as a stranger's.
        "known browsers": ("known_browsers", "expires_at", now),
        # Each signed client assertion's jti, kept until it expires (none is taken twice).
        "client assertions": ("client_assertions", "expires_at", now),
        "refresh tokens": ("refresh_tokens", "chain_started_at", chain_limit),
    }
    # In batches, each committed (ens.core.db.delete_in_batches): a day of the country's sessions
    # rotates tens of millions of refresh tokens, each kept until its chain expires. They were
    # deleted in one transaction with the rest and read back id by id to be counted.
    removed = {
        label: await delete_in_batches(table, column, bound) for label, (table, column, bound) in batched.items()
    }
    # After their refresh tokens (which reference them; a chain begins with its session, so none
    # should be left, and one that is keeps its grant): each login made one, kept for ever before
    # (an outside audit: tens of millions of logins a day, none of them ever deleted).
    removed["ended sessions"] = await delete_in_batches(
        "grants",
        "created_at",
        chain_limit - ENDED_SESSION_KEPT,
        where="kind = 'session' AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.grant_id = grants.id)",
    )
    # Their encrypted seeds too: a factor never confirmed, or revoked (replaced), serves nothing
    # (a person's factors are few, and these rarer: one statement, counted).
    removed["second factors"] = await execute(
        "DELETE FROM otp_factors WHERE status <> 'active' AND (status = 'revoked' OR created_at < {})",
        now - UNCONFIRMED_FACTOR_KEPT,
    )
    return removed
