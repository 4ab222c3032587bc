from ens.core.db import Index, ddl_migration

ID = "2026-12-01T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "carers: court measures, invitation and claim codes, guesses, notices; who acted as what"

STATEMENTS = [
    "ALTER TABLE representatives ADD COLUMN court_reference VARCHAR(255)",
    "ALTER TABLE representatives ADD COLUMN relates_to VARCHAR(16) NOT NULL DEFAULT 'person'",
    "ALTER TABLE representatives ADD COLUMN consent_until TIMESTAMPTZ",
    "ALTER TABLE representatives ADD COLUMN ended_reason VARCHAR(255)",
    # The door joins the caller's live representation: at most one per space and account.
    "CREATE UNIQUE INDEX representatives_live ON representatives (space_id, account_id) WHERE revoked_at IS NULL",
    "ALTER TABLE access_history ADD COLUMN actor_kind VARCHAR(32)",
    """CREATE TABLE space_codes (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        purpose VARCHAR(16) NOT NULL,
        code_hash VARCHAR(64) NOT NULL,
        created_by UUID NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        used_at TIMESTAMPTZ,
        used_by UUID,
        PRIMARY KEY (space_id, id)
    )""",
    # A code is looked up by its hash (the person entering it does not know the space).
    "CREATE UNIQUE INDEX space_codes_hash ON space_codes (code_hash)",
    """CREATE TABLE code_guesses (
        account_id UUID PRIMARY KEY,
        window_start TIMESTAMPTZ NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE space_notices (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        kind VARCHAR(32) NOT NULL,
        sent_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (space_id, id)
    )""",
    "CREATE UNIQUE INDEX space_notices_kind ON space_notices (space_id, kind)",
]

INDEXES = [
    Index("representatives_live", "representatives", ("space_id", "account_id"), unique=True, partial=True),
    Index("space_codes_hash", "space_codes", ("code_hash",), unique=True),
    Index("space_notices_kind", "space_notices", ("space_id", "kind"), unique=True),
]

PRIMARY_KEYS = {"space_codes": ("space_id", "id"), "space_notices": ("space_id", "id")}


forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
