"""One-time codes about a space (the other parent's invitation, the young adult's claim): 128 bits of
randomness, shown once, stored hashed, expiring, used once. Wrong codes are counted per account;
past ``MAX_GUESSES`` in an hour, codes are refused for the rest of it (429)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from ens.core import clock, keyring
from ens.core.clock import aware
from ens.core.db import Row, as_uuid, fetch, fetch_one, one_of, serialise, write_transaction
from ens.core.errors import Conflict, NotFound, RateLimited
from ens.spaces.door import SPACE_REF_COLUMNS, SpaceRef, security_log, space_ref
from ens.spaces.tables import SpaceCode

MAX_GUESSES = 10
GUESS_WINDOW = timedelta(hours=1)
Purpose = Literal["invitation", "claim"]


def code_hash(secret_key: str, purpose: Purpose, code: str) -> str:
    return keyring.token_hash(secret_key, _hashed(purpose, code))


def _hashed(purpose: Purpose, code: str) -> str:
    return f"space-code:{purpose}:{code}"


# The maker of a code an operator issued: operators have no account (the row names them instead).
BY_AN_OPERATOR = UUID(int=0)


@dataclass(frozen=True)
class OperatorNote:
    """Who issued a code as an operator, and why (the identity they checked, and the reference)."""

    name: str
    reason: str


async def new_code(
    secret_key: str,
    *,
    space_id: UUID,
    purpose: Purpose,
    created_by: UUID,
    expires_at: datetime,
    operator: OperatorNote | None = None,
    idempotency_mark: str | None = None,
) -> str:
    code = secrets.token_urlsafe(16)  # 128 bits
    now = clock.now()
    await SpaceCode.insert(
        SpaceCode(
            id=uuid.uuid4(),
            space_id=space_id,
            purpose=purpose,
            code_hash=code_hash(secret_key, purpose, code),
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
            operator_name=operator.name if operator else None,
            operator_reason=operator.reason if operator else None,
            idempotency_mark=idempotency_mark,
        )
    )
    return code


async def space_of(space_id: UUID) -> SpaceRef:
    row = await fetch_one(f"SELECT {SPACE_REF_COLUMNS} FROM spaces WHERE id = {{}}", space_id)
    if row is None:
        raise NotFound("No such space.")
    return space_ref(row)


async def take_code(account_id: UUID, code: str, *, purpose: Purpose, secret_key: str) -> Row:
    """The live code's row; a wrong, used or expired code counts as a guess (404 alike).

    The count is read, the code compared and a wrong one counted one request of the account at a
    time: read first by each, 40 wrong codes sent together were all compared against a limit of 10
    (an outside audit of races). A right code is taken later, once (:func:`use_code`), in the
    transaction that acts on it."""
    # Under the current key, or one it replaced (a code given before ENS_SECRET_KEY changed).
    hashes = keyring.token_hashes(secret_key, _hashed(purpose, code))
    async with write_transaction():
        await serialise(f"code-guesses:{account_id}")
        await _check_guesses(account_id)
        row = await fetch_one(
            "SELECT id, space_id, created_by, expires_at, used_at FROM space_codes "
            f"WHERE {one_of('code_hash', hashes)} AND purpose = {{}}",
            *hashes,
            purpose,
        )
        wrong = row is None or row["used_at"] is not None or aware(row["expires_at"]) <= clock.now()
        if wrong:
            await _count_guess(account_id)
    if wrong or row is None:  # refused after the commit: raised inside, the count would roll back
        security_log.warning(
            "space code refused", extra={"event": f"{purpose}_code_refused", "account_id": str(account_id)}
        )
        raise NotFound("This code is unknown, used or expired.")
    if as_uuid(row["created_by"]) == account_id:
        raise Conflict("You created this code: give it to the person it is for.")
    return row


async def use_code(space_id: UUID, code_id: UUID, *, account_id: UUID) -> None:
    used = await fetch(
        "UPDATE space_codes SET used_at = {}, used_by = {} WHERE space_id = {} AND id = {} AND used_at IS NULL "
        "RETURNING id",
        clock.now(),
        account_id,
        space_id,
        code_id,
    )
    if not used:
        raise NotFound("This code is unknown, used or expired.")


async def _check_guesses(account_id: UUID) -> None:
    row = await fetch_one("SELECT window_start, failures FROM code_guesses WHERE account_id = {}", account_id)
    if row is None:
        return
    ends = aware(row["window_start"]) + GUESS_WINDOW
    if int(row["failures"]) >= MAX_GUESSES and ends > clock.now():
        raise RateLimited(
            "Too many wrong codes; try again later.", retry_after=int((ends - clock.now()).total_seconds()) + 1
        )


async def _count_guess(account_id: UUID) -> None:
    """One more wrong code, in one statement (concurrent guesses cannot overrun the limit)."""
    now = clock.now()
    await fetch(
        """INSERT INTO code_guesses (account_id, window_start, failures) VALUES ({}, {}, 1)
           ON CONFLICT (account_id) DO UPDATE SET
             failures = CASE WHEN code_guesses.window_start < {} THEN 1 ELSE code_guesses.failures + 1 END,
             window_start = CASE WHEN code_guesses.window_start < {} THEN {} ELSE code_guesses.window_start END""",
        account_id,
        now,
        now - GUESS_WINDOW,
        now - GUESS_WINDOW,
        now,
    )
