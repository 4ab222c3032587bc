"""Every statement the product ran on a table of health data names its space (issue 16, point 7):
the condition that lets the tables be partitioned and distributed by ``space_id`` (docs/scale.md).

Run by ``make test`` after the suite and the fuzzing on PostgreSQL, whose server keeps
``pg_stat_statements`` for it (``PG_STAT_STATEMENTS=1`` in scripts/with-postgres): what was run by
every route, every fuzzed input, every command the suite drove. A table of health data is one with
a ``space_id`` column that may not be null, read from the database's catalogue, so a new table is
covered the day it appears (a nullable ``space_id`` marks the login's bookkeeping — attempts,
codes, refresh tokens, sessions' grants — looked up by their own keys). A statement reading,
changing or deleting rows of such a table must name ``space_id`` in a condition; inserts are placed by their
values. The few statements that work across spaces on purpose are listed below with why. The
suite's own statements obey the rule too: the list is of everything run on the server.
"""

from __future__ import annotations

import os
import re

import asyncpg
import pytest

pytestmark = pytest.mark.statements

# Statements that cross spaces on purpose, each with its reason (matched on the text).
ACROSS_SPACES: dict[str, str] = {
    # ens purge, daily: tombstones past the retention, wherever they are (on partitions, the same
    # statement runs on each; on Citus, on each shard in parallel).
    "DELETE FROM vital_tombstones WHERE deleted_at <": "the daily purge of old deletion tombstones",
    # ... and the hides of the measures deleted hidden, with their tombstones (ens.vitals.feed).
    "DELETE FROM vital_hides WHERE deleted_at <": "the daily purge of the hides of measures deleted hidden",
    # ... oldest first, a batch at a time: where a batch ends (ens.vitals.feed.purge_tombstones).
    "SELECT deleted_at AS edge FROM vital_tombstones WHERE deleted_at <": "where a batch of the purge ends",
    # ens purge, daily: document objects a dead process left a day ago, wherever they are (the
    # ledger is small: an entry lives from an upload's start to its commit).
    "FROM document_pending_objects WHERE since <": "the daily settling of objects a dead process left",
    # ens notify, daily: documents held back from their holder until a day that has come, or whose
    # notice the mail server failed for or whose claimant stopped, wherever they are (a partial
    # index holds only those still due; ens.spaces.owed_notices).
    "FROM documents d WHERE d.release_notice_due AND": "the daily notice of documents shown today",
    # ens notify, daily: emergency accesses whose notice the mail server failed for or whose
    # claimant stopped, wherever they are (a partial index holds only those still owed).
    "WHERE e.notice_due AND": "the daily notice of emergency accesses not told yet",
    # A migration's backfill walks the whole table once, in batches (ens.core.db.in_key_order).
    "SELECT * FROM vital_measurements WHERE body =": "the one-time backfill of the stored representation",
    "FROM vital_measurements WHERE source_kind =": "the one-time rewrite of corrected measures' bodies",
    "FROM vital_measurements WHERE type IN (": "the one-time rewrite of whole-number measures' bodies",
    "FROM vaccinations WHERE vaccine_id IS NULL AND diseases =": "the one-time naming of brands typed before",
    "FROM documents WHERE length(sealed) =": "the one-time sealing of the documents' words stored in clear",
    # A migration marks the representations operators ended before the mark existed, once.
    "UPDATE representatives SET ended_by_operator =": "the one-time marking of operators' ends",
    # A migration starts the vitals feed's sequence above every change number handed out before.
    "SELECT setval($1, GREATEST($2, (SELECT MAX(last_seq) FROM vital_feed_counters)": "the feed sequence's start",
    # Whoever enters an invitation or claim code does not know its space: the code's hash finds it
    # (space_codes is unique by that hash across spaces, so it is not partitioned: docs/scale.md).
    "FROM space_codes WHERE code_hash =": "a code found by its hash, by someone who does not know its space",
    # ... by its hash under each key while ENS_PREVIOUS_SECRET_KEYS names the keys ENS_SECRET_KEY replaced.
    "FROM space_codes WHERE code_hash IN (": "a code found by its hash under each key, after a change of key",
    # ens keys rotate, once after a change of ENS_SECRET_KEY: every space's data key, in key order, a
    # batch at a time (each rewrapped by its space_id).
    "SELECT space_id, wrapped FROM document_keys": "the rotation's walk over every space's document key",
    # ens audit seal, every few minutes: the newest range of the history's ids, whatever the space
    # (the BRIN index on id; on partitions, each partition's range).
    "SELECT space_id, id, mac, at FROM access_history WHERE id >": "the sealer's range",
    "SELECT MAX(id) AS top FROM access_history WHERE id >": "the sealer notes the newest row past the last noted",
    # An account's own representations: the spaces GET /v1/me lists, a parent's children (by
    # account_id, index representatives_account; under Citus a per-account table: docs/scale.md).
    "FROM representatives r JOIN spaces s ON s.id = r.space_id WHERE r.account_id =": "an account's representations",
    # GET /v1/pro/patients: the spaces a professional is authorised for, by professional_id (the
    # same shape as an account's representations).
    "FROM space_professionals sp JOIN spaces s ON s.id = sp.space_id WHERE sp.professional_id =": "patients",
}

_NOT_PRODUCT = re.compile(r"pg_stat_statements|pg_catalog|information_schema|pg_class|pg_namespace|pg_index")


# space_id in a condition: ``space_id = $1``, ``m.space_id IN (...)``, ``(m.space_id, m.id) < (...)``,
# or a join on it (``r.space_id = s.id``) — not merely in the list of columns read.
_NAMES_SPACE = re.compile(
    r"\b(WHERE|ON|AND)\b[^;]*?((\b\w+\.)?space_id\s*(=|IN\b|BETWEEN\b)|\(\s*(\w+\.)?space_id\s*,[^()]*\)\s*[<>=])",
    re.IGNORECASE | re.DOTALL,
)


def _touches(query: str, table: str) -> bool:
    return re.search(rf"\b(FROM|JOIN|UPDATE)\s+{re.escape(table)}\b", query, re.IGNORECASE) is not None


async def test_every_statement_on_health_data_names_its_space() -> None:
    url = os.environ.get("ENS_DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("pg_stat_statements is PostgreSQL's")
    connection = await asyncpg.connect(url)
    try:
        # The library records from the server's start; the extension adds the view that reads it.
        await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        tables = [
            row["table_name"]
            for row in await connection.fetch(
                "SELECT table_name FROM information_schema.columns WHERE column_name = 'space_id' "
                "AND table_schema = 'public' AND is_nullable = 'NO'"
            )
        ]
        queries = [
            row["query"]
            for row in await connection.fetch(
                "SELECT query FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = "
                "current_database())"
            )
        ]
    finally:
        await connection.close()
    assert len(queries) > 100, "pg_stat_statements saw too little: was the suite run on this server?"
    unnamed = []
    for query in (" ".join(q.split()) for q in queries):
        if _NOT_PRODUCT.search(query) or query.lstrip().upper().startswith(("CREATE", "ALTER", "DROP", "INSERT")):
            continue
        touched = [table for table in tables if _touches(query, table)]
        if touched and not _NAMES_SPACE.search(query) and not any(key in query for key in ACROSS_SPACES):
            unnamed.append(f"{', '.join(touched)}: {query[:300]}")
    assert not unnamed, "statements on health data that do not name their space:\n" + "\n".join(sorted(unnamed))
