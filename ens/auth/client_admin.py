"""An operator's commands on the registered apps (``ens apps list | disable | enable | new-secret |
new-keys``).

An app whose label is withdrawn, whose secret leaked or whose publisher misbehaves is **disabled**:
from that moment it signs no one in and takes no token (``find_client`` ignores it, the catalogue no
longer lists it), and every connection it holds ends at once: each live grant of the app is revoked,
so its access tokens stop on their next request (the door reads the grant with the space) and its
refresh tokens are refused. Each space an app was connected to gets a row in its access history
("a déconnecté l'application …"), the operator's name if they gave one, never their reason (text
typed by hand: it goes to the operators' security log, as every operator command's). The grants are
ended in batches, one transaction each, found through a partial index of live grants by client
(``grants_live_by_client``): a run cut short is finished by running it again.

The service's own phone app (``ens-mobile``) is not a registered app and cannot be disabled.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ens.auth.client_keys import public_key_set
from ens.auth.clients import MOBILE_CLIENT_ID
from ens.core import clock, keyring
from ens.core.clock import aware
from ens.core.db import Row, as_uuid, fetch, fetch_one, row_lock, write_transaction
from ens.core.errors import Invalid, NotFound
from ens.spaces.history import OperatorAction, operator_name, operator_text_refused

security_log = logging.getLogger("ens.security")

# Grants ended per transaction: each takes its spaces' rows and writes one history row per space.
BATCH = 500


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    name: str
    kind: str
    label_status: str
    confidential: bool
    disabled_at: datetime | None
    signs: bool = False  # authenticates with its registered keys (client_keys), not a secret


async def list_clients() -> list[RegisteredClient]:
    """Every registered app, disabled ones too, by name (a few hundred at most: labelled apps)."""
    rows = await fetch(
        "SELECT client_id, name, kind, label_status, confidential, disabled_at, jwks IS NOT NULL AS signs "
        "FROM oauth_clients "
        "ORDER BY name, client_id"
    )
    return [
        RegisteredClient(
            client_id=str(row["client_id"]),
            name=str(row["name"]),
            kind=str(row["kind"]),
            label_status=str(row["label_status"]),
            confidential=bool(row["confidential"]),
            disabled_at=aware(row["disabled_at"]) if row["disabled_at"] is not None else None,
            signs=bool(row["signs"]),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Disabled:
    name: str
    newly: bool  # False: it was disabled already (a run that finishes an earlier one)
    connections_ended: int


async def disable_client(client_id: str, *, reason: str, operator: str | None = None) -> Disabled:
    """Disable the app and end every connection it holds (module doc). ``reason`` is required and
    goes to the security log only."""
    noted = OperatorAction("ens apps disable", operator_name(operator))
    refused = operator_text_refused("/reason", reason.strip())
    if refused is not None:
        raise Invalid("Say why the app is disabled (its label withdrawn, a leaked secret...).", [refused])
    name, newly = await _disable(client_id)
    fields = {
        "client_id": client_id,
        "operator": noted.operator,
        "reason": reason.strip(),
        "request_id": noted.request_id,
    }
    if newly:
        security_log.warning("app disabled by an operator", extra={"event": "app_disabled", **fields})
    ended, found = 0, True
    while found:
        found, batch = await _end_connections(client_id, name, noted)
        ended += batch
    security_log.warning("app's connections ended", extra={"event": "app_connections_ended", "count": ended, **fields})
    return Disabled(name=name, newly=newly, connections_ended=ended)


async def _disable(client_id: str) -> tuple[str, bool]:
    """The app's name, and whether this call disabled it."""
    _refuse_own_app(client_id)
    async with write_transaction():
        row = await _held_client(client_id)
        if row["disabled_at"] is not None:
            return str(row["name"]), False
        await fetch("UPDATE oauth_clients SET disabled_at = {} WHERE client_id = {}", clock.now(), client_id)
        return str(row["name"]), True


async def _end_connections(client_id: str, name: str, noted: OperatorAction) -> tuple[bool, int]:
    """End up to ``BATCH`` live grants of the app in one transaction, each space's row first (the
    lock order every write follows: an erasure takes the space, then its grants), then a history
    row in each space. Whether there were any left, and how many this call ended."""
    async with write_transaction():
        # Enabled again meanwhile (ens apps enable): the connections made since are the people's.
        still = await fetch_one(
            "SELECT 1 AS disabled FROM oauth_clients WHERE client_id = {} AND disabled_at IS NOT NULL"
            + row_lock("SHARE"),
            client_id,
        )
        if still is None:
            return False, 0
        live = await fetch(
            "SELECT id, space_id FROM grants WHERE client_id = {} AND revoked_at IS NULL "
            f"AND client_id <> '{MOBILE_CLIENT_ID}' ORDER BY id LIMIT {BATCH}",
            client_id,
        )
        if not live:
            return False, 0
        spaces = sorted({str(row["space_id"]) for row in live if row["space_id"] is not None})
        if spaces:
            await fetch(
                f"SELECT id FROM spaces WHERE id IN ({', '.join(['{}'] * len(spaces))}) ORDER BY id"
                + row_lock("KEY SHARE"),
                *[UUID(space) for space in spaces],
            )
        ids = [as_uuid(row["id"]) for row in live]
        # A grant revoked or erased meanwhile is not ended twice, nor told twice.
        ended = await fetch(
            f"UPDATE grants SET revoked_at = {{}} WHERE id IN ({', '.join(['{}'] * len(ids))}) "
            "AND revoked_at IS NULL RETURNING id, space_id",
            clock.now(),
            *ids,
        )
        for row in ended:
            if row["space_id"] is not None:  # a professional software's session names no space
                await noted.record(
                    as_uuid(row["space_id"]),
                    outcome=204,
                    resource_type="grants",
                    resource_id=as_uuid(row["id"]),
                    subject_name=name,
                    subject_kind="app",
                )
        return True, len(ended)


async def enable_client(client_id: str, *, operator: str | None = None) -> tuple[str, bool]:
    """Let a disabled app sign people in again (its ended connections stay ended: each person
    connects it again). Its name, and whether it was disabled (an enabled app is left as it is)."""
    _refuse_own_app(client_id)
    async with write_transaction():
        row = await _held_client(client_id)
        if row["disabled_at"] is None:
            return str(row["name"]), False
        await fetch("UPDATE oauth_clients SET disabled_at = NULL WHERE client_id = {}", client_id)
    security_log.warning(
        "app enabled by an operator",
        extra={"event": "app_enabled", "client_id": client_id, "operator": operator_name(operator)},
    )
    return str(row["name"]), True


async def new_client_secret(secret_key: str, client_id: str, *, operator: str | None = None) -> str:
    """A new secret for a confidential app, returned once (stored hashed); the old one stops at once,
    and so do the app's registered keys if it had keys instead (``new-keys`` gives them back).
    Its connections stay: they are the people's, not the secret's."""
    _refuse_own_app(client_id)
    secret = secrets.token_urlsafe(32)
    async with write_transaction():
        row = await _held_client(client_id)
        if not row["confidential"]:
            raise Invalid(f"{client_id!r} is a public client: it has no secret to replace.")
        await fetch(
            "UPDATE oauth_clients SET secret_hash = {}, jwks = NULL WHERE client_id = {}",
            keyring.token_hash(secret_key, "client:" + secret),
            client_id,
        )
    security_log.warning(
        "app secret replaced by an operator",
        extra={"event": "app_secret_replaced", "client_id": client_id, "operator": operator_name(operator)},
    )
    return secret


async def new_client_keys(client_id: str, jwks: str, *, operator: str | None = None) -> int:
    """A confidential app's public keys (a JWK Set's JSON) replace the ones it had, or its secret,
    which stops at once (:mod:`ens.auth.client_keys`): from now on it authenticates with a JWT
    signed by one of them. To rotate without a gap, register the old key and the new one together,
    then the new one alone. Its connections stay. How many keys it now has."""
    _refuse_own_app(client_id)
    key_set = public_key_set(jwks)
    async with write_transaction():
        row = await _held_client(client_id)
        if not row["confidential"]:
            raise Invalid(f"{client_id!r} is a public client: it cannot authenticate with keys.")
        await fetch("UPDATE oauth_clients SET jwks = {}, secret_hash = NULL WHERE client_id = {}", key_set, client_id)
    security_log.warning(
        "app keys replaced by an operator",
        extra={"event": "app_keys_replaced", "client_id": client_id, "operator": operator_name(operator)},
    )
    return len(json.loads(key_set)["keys"])


async def _held_client(client_id: str) -> Row:
    """The app's row, held until the transaction ends (a change to it waits for this one's)."""
    row = await fetch_one(
        "SELECT name, disabled_at, confidential FROM oauth_clients WHERE client_id = {}" + row_lock("UPDATE"), client_id
    )
    if row is None:
        raise NotFound(f"No registered app {client_id!r} (ens apps list names them).")
    return row


def _refuse_own_app(client_id: str) -> None:
    if client_id == MOBILE_CLIENT_ID:
        raise Invalid(f"{MOBILE_CLIENT_ID} is the service's own phone app, not a registered app.")
