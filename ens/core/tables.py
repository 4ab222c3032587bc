"""Tables every capability shares (idempotency keys, rate counters)."""

from __future__ import annotations

from piccolo.columns import UUID, BigInt, Bytea, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class IdempotencyKey(Table, tablename="idempotency_keys"):
    id = UUID(primary_key=True)
    caller = Varchar(length=200)
    key = Varchar(length=255)
    request_hash = Varchar(length=64)
    state = Varchar(length=16)
    status = Integer(null=True, default=None)
    headers = Text(null=True, default=None)
    body = Bytea(null=True, default=None)
    space_id = UUID(null=True, default=None)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    # A running claim is taken over by a retry once this has passed (its process died).
    lease_until = Timestamptz(null=True, default=None)
    # What the first request's access-history row named as the item it created: a replay's row
    # names it too (ens.app.doors.name_what_the_first_request_created).
    created_item = UUID(null=True, default=None)


class RateCounter(Table, tablename="rate_counters"):
    """Requests counted for a key (``account:<id>``, ``grant:<id>``, ``address:<ip>``) in one
    minute, over every process (ens.core.limits). Primary key (key, window_start)."""

    key = Varchar(length=64, primary_key=True)
    window_start = BigInt()
    hits = Integer()
