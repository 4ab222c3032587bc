"""A measure corrected by hand showed its new ``effectiveAt`` with the offset it was sent with
(``-05:00``) in the JSON every read serves (``body``), where a recorded one shows UTC (an outside
audit; the ``effective_at`` column was UTC all along, so lists, filters and summaries were right).
The bodies of the measures typed by hand and changed since are written again from their columns,
once; no index, no column."""

from ens.core.db import Index, Row, data_migration, fetch, in_key_order

ID = "2026-12-17T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "measures corrected by hand: their JSON gives effectiveAt in UTC"

INDEXES: list[Index] = []


async def rewrite_corrected_bodies() -> int:
    """Rewrite, from its columns, the body of each measure typed by hand and changed since, whose
    body is not what its columns make; how many were rewritten. A batch per transaction, by key."""
    from ens.vitals.representation import body_of_row

    async def rewrite(rows: list[Row]) -> int:
        rewritten = 0
        for row in rows:
            body = body_of_row(row)
            if body != row["body"]:
                await fetch(
                    "UPDATE vital_measurements SET body = {} WHERE space_id = {} AND id = {}",
                    body,
                    row["space_id"],
                    row["id"],
                )
                rewritten += 1
        return rewritten

    query = "SELECT * FROM vital_measurements WHERE source_kind = 'person' AND updated_at > created_at"
    return await in_key_order(query, handle=rewrite)


forwards = data_migration(ID, "vitals", description=DESCRIPTION, run=rewrite_corrected_bodies)
