from ens.core.db import Index, ddl_migration

ID = "2026-12-01T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the operators' record of each erased space (kept outside the space)"

STATEMENTS = [
    """CREATE TABLE space_erasures (
        id UUID PRIMARY KEY,
        erased_space_id UUID NOT NULL,
        erased_by_account_id UUID NOT NULL,
        erased_by_client_id VARCHAR(128) NOT NULL,
        acting_as VARCHAR(16) NOT NULL,
        request_id VARCHAR(64) NOT NULL,
        erased_at TIMESTAMPTZ NOT NULL
    )""",
    "CREATE INDEX space_erasures_space ON space_erasures (erased_space_id)",
]

INDEXES = [Index("space_erasures_space", "space_erasures", ("erased_space_id",))]


forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
