"""Health professionals: who they are, the holder's authorisations, emergency accesses, access
requests; the space's emergency switch; the access history names a professional's profession and
emergency reason."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-03T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "professionals, their authorisations, emergency accesses and access requests"

STATEMENTS = [
    "ALTER TABLE spaces ADD COLUMN emergency_access BOOLEAN NOT NULL DEFAULT TRUE",
    "ALTER TABLE access_history ADD COLUMN profession VARCHAR(8)",
    "ALTER TABLE access_history ADD COLUMN emergency_reason TEXT",
    # The id is also the accounts row's (the subject of the professional's grants and tokens).
    """CREATE TABLE professionals (
        id UUID PRIMARY KEY REFERENCES accounts (id),
        national_id VARCHAR(32) NOT NULL,
        id_type VARCHAR(8) NOT NULL,
        given_name VARCHAR(255) NOT NULL,
        family_name VARCHAR(255) NOT NULL,
        profession_code VARCHAR(8) NOT NULL,
        exercises TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
    )""",
    "CREATE UNIQUE INDEX professionals_national_id ON professionals (national_id)",
    """CREATE TABLE space_professionals (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        professional_id UUID NOT NULL REFERENCES professionals (id),
        status VARCHAR(16) NOT NULL,
        since TIMESTAMPTZ,
        until TIMESTAMPTZ,
        decided_by UUID,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        last_access_at TIMESTAMPTZ,
        PRIMARY KEY (space_id, id)
    )""",
    # The door joins the caller's row on (space_id, professional_id): one per space and professional.
    "CREATE UNIQUE INDEX space_professionals_professional ON space_professionals (space_id, professional_id)",
    # GET /v1/pro/patients: the spaces a professional is authorised for.
    "CREATE INDEX space_professionals_patients ON space_professionals (professional_id, status)",
    """CREATE TABLE emergency_accesses (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        professional_id UUID NOT NULL REFERENCES professionals (id),
        reason TEXT NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        ends_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (space_id, id)
    )""",
    # The door's subquery: the professional's live emergency access on this space.
    "CREATE INDEX emergency_accesses_live ON emergency_accesses (space_id, professional_id, ends_at)",
    """CREATE TABLE access_requests (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        professional_id UUID NOT NULL REFERENCES professionals (id),
        status VARCHAR(16) NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        decided_at TIMESTAMPTZ,
        decided_by UUID,
        PRIMARY KEY (space_id, id)
    )""",
    # One pending request per space and professional: asking again changes nothing.
    "CREATE UNIQUE INDEX access_requests_pending ON access_requests (space_id, professional_id) "
    "WHERE status = 'pending'",
    "CREATE INDEX access_requests_space ON access_requests (space_id, created_at)",
    # An access request names the person by identity traits: candidates are found by birthdate.
    "CREATE INDEX spaces_birthdate ON spaces (birthdate)",
]

INDEXES = [
    Index("professionals_national_id", "professionals", ("national_id",), unique=True),
    Index("space_professionals_professional", "space_professionals", ("space_id", "professional_id"), unique=True),
    Index("space_professionals_patients", "space_professionals", ("professional_id", "status")),
    Index("emergency_accesses_live", "emergency_accesses", ("space_id", "professional_id", "ends_at")),
    Index("access_requests_pending", "access_requests", ("space_id", "professional_id"), unique=True, partial=True),
    Index("access_requests_space", "access_requests", ("space_id", "created_at")),
    Index("spaces_birthdate", "spaces", ("birthdate",)),
]

PRIMARY_KEYS = {
    "space_professionals": ("space_id", "id"),
    "emergency_accesses": ("space_id", "id"),
    "access_requests": ("space_id", "id"),
}


forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
