from ens.core.db import Index, ddl_migration

ID = "2026-11-23T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "vital measurements, tombstones, change-feed counters"

STATEMENTS = [
    """CREATE TABLE vital_measurements (
        id UUID PRIMARY KEY,
        space_id UUID NOT NULL REFERENCES spaces (id),
        type VARCHAR(32) NOT NULL,
        value DOUBLE PRECISION,
        systolic DOUBLE PRECISION,
        diastolic DOUBLE PRECISION,
        original_value TEXT NOT NULL,
        original_unit VARCHAR(16) NOT NULL,
        effective_at TIMESTAMPTZ NOT NULL,
        local_date DATE NOT NULL,
        recording_method VARCHAR(16) NOT NULL,
        writer VARCHAR(200) NOT NULL,
        source_kind VARCHAR(16) NOT NULL,
        source_client_id VARCHAR(128) NOT NULL,
        source_name VARCHAR(255) NOT NULL,
        client_record_id VARCHAR(128),
        client_record_version BIGINT NOT NULL DEFAULT 0,
        device_manufacturer VARCHAR(255),
        device_model VARCHAR(255),
        device_identifier VARCHAR(255),
        body_position VARCHAR(32),
        measurement_location VARCHAR(64),
        glucose_moment VARCHAR(32),
        note TEXT,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        seq BIGINT NOT NULL
    )""",
    # Idempotency of re-sends: the target of INSERT ... ON CONFLICT (NULL ids never collide).
    """CREATE UNIQUE INDEX vital_measurements_client_record
        ON vital_measurements (space_id, writer, client_record_id)""",
    # The list and the series, newest first, with or without a type filter; keyset on (effective_at, id).
    "CREATE INDEX vital_measurements_space_time ON vital_measurements (space_id, effective_at, id)",
    "CREATE INDEX vital_measurements_space_type_time ON vital_measurements (space_id, type, effective_at, id)",
    # The change feed.
    "CREATE UNIQUE INDEX vital_measurements_space_seq ON vital_measurements (space_id, seq)",
    """CREATE TABLE vital_tombstones (
        id UUID PRIMARY KEY,
        space_id UUID NOT NULL REFERENCES spaces (id),
        type VARCHAR(32) NOT NULL,
        seq BIGINT NOT NULL,
        deleted_at TIMESTAMPTZ NOT NULL
    )""",
    "CREATE UNIQUE INDEX vital_tombstones_space_seq ON vital_tombstones (space_id, seq)",
    # Maintenance only (`ens purge` sweeps every space at once); no request reads through it.
    "CREATE INDEX vital_tombstones_deleted_at ON vital_tombstones (deleted_at)",
    """CREATE TABLE vital_feed_counters (
        space_id UUID PRIMARY KEY REFERENCES spaces (id),
        last_seq BIGINT NOT NULL DEFAULT 0,
        purged_seq BIGINT NOT NULL DEFAULT 0
    )""",
]

# The indexes these statements create (checked against the migrated database by a test).
INDEXES = [
    Index(
        "vital_measurements_client_record",
        "vital_measurements",
        ("space_id", "writer", "client_record_id"),
        unique=True,
    ),
    Index("vital_measurements_space_time", "vital_measurements", ("space_id", "effective_at", "id")),
    Index("vital_measurements_space_type_time", "vital_measurements", ("space_id", "type", "effective_at", "id")),
    Index("vital_measurements_space_seq", "vital_measurements", ("space_id", "seq"), unique=True),
    Index("vital_tombstones_space_seq", "vital_tombstones", ("space_id", "seq"), unique=True),
    Index("vital_tombstones_deleted_at", "vital_tombstones", ("deleted_at",)),
]


forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
