"""Recovery codes: ten single-use codes, shown once and stored hashed."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from uuid import UUID

from ens.auth.otp.lock import _now
from ens.auth.tables import RecoveryCode
from ens.core import keyring
from ens.core.db import fetch, one_of, serialise, write_transaction
from ens.core.settings import Settings

RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: codes are copied by hand
RECOVERY_CODE_LENGTH = 10


def _recovery_hash(settings: Settings, account_id: UUID, *, code: str) -> str:
    return keyring.token_hash(settings.secret_key, _hashed(account_id, code))


def _hashed(account_id: UUID, code: str) -> str:
    return f"recovery:{account_id}:{code}"


async def issue_recovery_codes(settings: Settings, account_id: UUID, *, now: datetime | None = None) -> list[str]:
    """Ten new single-use codes (shown once, stored hashed); the previous ones die."""
    at = _now(now)
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH)) for _ in range(10)]
    async with write_transaction():
        # Two renewals at once: each deletes only what it can see, so the second waits for the first.
        await serialise(f"recovery:{account_id}")
        await fetch("DELETE FROM recovery_codes WHERE account_id = {}", account_id)
        await RecoveryCode.insert(
            *[
                RecoveryCode(
                    id=uuid.uuid4(),
                    account_id=account_id,
                    code_hash=_recovery_hash(settings, account_id, code=code),
                    created_at=at,
                )
                for code in codes
            ]
        )
    return [f"{code[:5]}-{code[5:]}" for code in codes]


async def _use_recovery_code(settings: Settings, account_id: UUID, *, code: str, now: datetime) -> bool:
    # Under the current key, or one it replaced (codes issued before ENS_SECRET_KEY changed).
    hashes = keyring.token_hashes(settings.secret_key, _hashed(account_id, code))
    used = await fetch(
        f"UPDATE recovery_codes SET used_at = {{}} WHERE account_id = {{}} AND {one_of('code_hash', hashes)} "
        "AND used_at IS NULL RETURNING id",
        now,
        account_id,
        *hashes,
    )
    return bool(used)
