"""The vaccine catalogue, loaded from the shipped list, and the booklet."""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from ens.core.db import Index, current, run_ddl

ID = "2026-12-02T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "vaccine catalogue (loaded from ens/vaccination/data/vaccines-fr.json), vaccination booklet"

STATEMENTS = [
    """CREATE TABLE vaccines (
        id UUID PRIMARY KEY,
        cis VARCHAR(16) NOT NULL,
        brand VARCHAR(255) NOT NULL,
        atc VARCHAR(16),
        diseases TEXT NOT NULL,
        marketed BOOLEAN NOT NULL,
        search_text TEXT NOT NULL,
        ordinal INTEGER NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
    )""",
    "CREATE UNIQUE INDEX vaccines_cis ON vaccines (cis)",
    # The catalogue in brand order, keyset-paginated.
    "CREATE INDEX vaccines_ordinal ON vaccines (ordinal, id)",
    """CREATE TABLE vaccinations (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        vaccine_id UUID REFERENCES vaccines (id),
        vaccine_name VARCHAR(255) NOT NULL,
        vaccine_key VARCHAR(300) NOT NULL,
        diseases TEXT NOT NULL,
        date_text VARCHAR(10) NOT NULL,
        date_precision VARCHAR(5) NOT NULL,
        earliest_on DATE NOT NULL,
        latest_on DATE NOT NULL,
        dose_number INTEGER,
        lot_number VARCHAR(64),
        administered_by VARCHAR(255),
        location VARCHAR(255),
        note TEXT,
        status VARCHAR(16) NOT NULL,
        recorded_by_role VARCHAR(16) NOT NULL,
        recorded_by_account_id UUID NOT NULL,
        recorded_by_client_id VARCHAR(128) NOT NULL,
        recorded_by_name VARCHAR(255),
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (space_id, id)
    )""",
    # The booklet newest first, keyset on (earliest_on, id).
    "CREATE INDEX vaccinations_space_date ON vaccinations (space_id, earliest_on, id)",
    # The same vaccine on the same full day is one entry (partial dates are never duplicates).
    """CREATE UNIQUE INDEX vaccinations_same_day ON vaccinations (space_id, vaccine_key, earliest_on)
        WHERE date_precision = 'day'""",
    """CREATE TABLE vaccination_booklets (
        space_id UUID PRIMARY KEY REFERENCES spaces (id),
        revision BIGINT NOT NULL DEFAULT 0
    )""",
]

INDEXES = [
    Index("vaccines_cis", "vaccines", ("cis",), unique=True),
    Index("vaccines_ordinal", "vaccines", ("ordinal", "id")),
    Index("vaccinations_space_date", "vaccinations", ("space_id", "earliest_on", "id")),
    Index(
        "vaccinations_same_day", "vaccinations", ("space_id", "vaccine_key", "earliest_on"), unique=True, partial=True
    ),
]

PRIMARY_KEYS = {"vaccinations": ("space_id", "id")}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="vaccination", description=DESCRIPTION)

    async def run(*_: Any) -> None:
        from ens.vaccination.catalogue import SHIPPED_VACCINES, load_vaccines

        await run_ddl(current(), STATEMENTS)
        await load_vaccines(SHIPPED_VACCINES)

    manager.add_raw(run)
    return manager
