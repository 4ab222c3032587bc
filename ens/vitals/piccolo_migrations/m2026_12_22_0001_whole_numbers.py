"""The types counted in whole units (heart rate, blood pressure, steps, pain) answered their values
as JSON floats, ``"value": 72.0``, which a phone app's decoder refuses for an integer field (Swift's
``Int``, Kotlin's). Their stored JSON (``body``) is written again from the row's columns, as
today's code writes it; no index, no column, and no change to the values themselves.

On PostgreSQL a batch's new bodies are written by one ``UPDATE`` (``unnest`` of three arrays): one
``UPDATE`` a row ran at 3,663 rows a second on a durable PostgreSQL (50,000 heart rates and blood
pressures among 100,000 rows), most of it round trips. Rewriting the numbers in SQL
(``regexp_replace``) cost PostgreSQL 19 to 69 us a row in its regular expressions, and only the
slower, member-anchored one leaves a note that quotes JSON untouched. SQLite (a development
database) takes one ``UPDATE`` a row."""

from ens.core.db import Index, Row, current, data_migration, execute, fetch, in_key_order, is_postgres

ID = "2026-12-22T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "whole-number measures: their JSON gives 72, not 72.0"

INDEXES: list[Index] = []


async def rewrite_whole_number_bodies() -> int:
    """Write again, from its columns, the body of each measure of a whole-number type that today's
    code writes otherwise; how many were rewritten. A batch per transaction, by key; a body changed
    meanwhile (a correction, a hide: today's code) is left as it is."""
    from ens.vitals.catalogue import VITAL_TYPES
    from ens.vitals.representation import body_of_row

    whole = [vital.code for vital in VITAL_TYPES if vital.precision == 0 and not vital.derived]
    postgres = is_postgres(current())

    async def rewrite(rows: list[Row]) -> int:
        changed = [(row, body) for row in rows if (body := body_of_row(row)) != row["body"]]
        if not changed:
            return 0
        if postgres:
            return await execute(
                "UPDATE vital_measurements AS m SET body = u.body "
                "FROM unnest(CAST({} AS uuid[]), CAST({} AS uuid[]), CAST({} AS text[]), CAST({} AS text[])) "
                "AS u (space_id, id, body, was) WHERE m.space_id = u.space_id AND m.id = u.id AND m.body = u.was",
                [row["space_id"] for row, _ in changed],
                [row["id"] for row, _ in changed],
                [body for _, body in changed],
                [row["body"] for row, _ in changed],
            )
        rewritten = 0
        for row, body in changed:
            done = await fetch(
                "UPDATE vital_measurements SET body = {} WHERE space_id = {} AND id = {} AND body = {} RETURNING id",
                body,
                row["space_id"],
                row["id"],
                row["body"],
            )
            rewritten += len(done)
        return rewritten

    types = ", ".join("{}" for _ in whole)
    return await in_key_order(f"SELECT * FROM vital_measurements WHERE type IN ({types})", *whole, handle=rewrite)


forwards = data_migration(ID, "vitals", description=DESCRIPTION, run=rewrite_whole_number_bodies)
