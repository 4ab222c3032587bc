"""The records an app sent that someone deleted, so that re-sending them does not bring them back.

An outside audit: an app's measure deleted by the holder came back as a new measure when the app
re-sent it unchanged (same ``clientRecordId``, same version), as a device app's routine re-sync
does. A deleted record is now kept by (space, writer, ``clientRecordId``) with the highest version
deleted: a re-send at that version or lower is ``unchanged``; a higher one is a new measure.
Keyed by its space first on PostgreSQL, as the measures are."""

from ens.core.db import Index, PostgresOnly, ddl_migration

ID = "2026-12-16T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "vital_deleted_records"

STATEMENTS = [
    """CREATE TABLE vital_deleted_records (
        id UUID PRIMARY KEY,
        space_id UUID NOT NULL REFERENCES spaces (id),
        writer VARCHAR(200) NOT NULL,
        client_record_id VARCHAR(128) NOT NULL,
        client_record_version BIGINT NOT NULL,
        deleted_at TIMESTAMPTZ NOT NULL
    )""",
    # The ingestion's lookup, and the target of the deletion's upsert.
    """CREATE UNIQUE INDEX vital_deleted_records_record
        ON vital_deleted_records (space_id, writer, client_record_id)""",
    PostgresOnly(
        "ALTER TABLE vital_deleted_records DROP CONSTRAINT vital_deleted_records_pkey, ADD PRIMARY KEY (space_id, id)"
    ),
]

INDEXES = [
    Index(
        "vital_deleted_records_record",
        "vital_deleted_records",
        ("space_id", "writer", "client_record_id"),
        unique=True,
    )
]
POSTGRES_PRIMARY_KEYS = {"vital_deleted_records": ("space_id", "id")}

forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
