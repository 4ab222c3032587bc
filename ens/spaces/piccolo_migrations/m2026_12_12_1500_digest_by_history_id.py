"""The daily digest follows the access history by its ids, not by its rows' times.

A digest covered the rows whose ``at`` fell between the last run and this one. But a row's ``at``
is when its request came in, and a write's row commits with its data, at the request's end: an
import that received its Bundle for half an hour, then wrote it, committed a row dated before the
run that had just read that span, and no digest ever showed it. ``digest_sent_upto`` is the id of
the last row of the space a digest covered: the next covers the ids above it, which are the rows
committed since, whenever their requests began (``ens.spaces.notifications.send_digests``). Null
until the first digest under this rule, which starts, as before, from ``digest_sent_until``."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-12T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notification_preferences.digest_sent_upto: the last access-history id a digest covered"

STATEMENTS = [
    "ALTER TABLE notification_preferences ADD COLUMN digest_sent_upto BIGINT",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
