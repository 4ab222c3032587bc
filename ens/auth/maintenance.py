"""Purging login state nobody can use any more (``ens purge``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from ens.core.db import fetch, write_transaction
from ens.core.settings import Settings

# Used authorization codes are kept a day after they expire: a second use must still be
# recognised (it revokes what the first produced) for as long as a client might replay it.
CODE_KEPT_AFTER_EXPIRY = timedelta(days=1)
# E-mail codes older than the sending rate window serve neither login nor rate limiting.
EMAIL_CODE_KEPT_AFTER_EXPIRY = timedelta(hours=1)
# A second factor never confirmed is abandoned once the login attempt that began it has expired
# (``ens.auth.login.attempt.ATTEMPT_TTL``, 30 minutes); a day is well past that.
UNCONFIRMED_FACTOR_KEPT = timedelta(days=1)


async def purge_expired_login_state(settings: Settings, now: datetime) -> dict[str, int]:
    """Delete expired login attempts, codes and wrong-code budgets, refresh tokens of chains past
    their absolute lifetime (a rotated token must be kept until then, so that its reuse is
    detected), and the second factors nobody can use (never confirmed, or revoked) with their seeds."""
    chain_limit = now - timedelta(seconds=settings.refresh_token_max_age)
    statements = {
        "login attempts": ("DELETE FROM login_attempts WHERE expires_at < {} RETURNING id", now),
        "authorization codes": (
            "DELETE FROM authorization_codes WHERE expires_at < {} RETURNING code_hash",
            now - CODE_KEPT_AFTER_EXPIRY,
        ),
        "e-mail codes": (
            "DELETE FROM email_codes WHERE expires_at < {} RETURNING id",
            now - EMAIL_CODE_KEPT_AFTER_EXPIRY,
        ),
        # Each kept as long as its login attempt or session can live.
        "code budgets": ("DELETE FROM otp_budgets WHERE expires_at < {} RETURNING id", now),
        "refresh tokens": ("DELETE FROM refresh_tokens WHERE chain_started_at < {} RETURNING id", chain_limit),
        # Their encrypted seeds too: a factor never confirmed, or revoked (replaced), serves nothing.
        "second factors": (
            "DELETE FROM otp_factors WHERE status <> 'active' AND (status = 'revoked' OR created_at < {}) RETURNING id",
            now - UNCONFIRMED_FACTOR_KEPT,
        ),
    }
    removed: dict[str, int] = {}
    async with write_transaction():
        for label, (sql, limit) in statements.items():
            removed[label] = len(await fetch(sql, limit))
    return removed
