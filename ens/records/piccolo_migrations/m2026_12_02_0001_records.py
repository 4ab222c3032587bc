from ens.core.db import Index, ddl_migration

ID = "2026-12-02T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "records: advance directives and their reviews, trusted persons, emergency contacts, doctor, profile"

_PROFILE_END = """
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (space_id, id)
    )"""

STATEMENTS = [
    """CREATE TABLE directive_versions (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        version INTEGER NOT NULL,
        status VARCHAR(16) NOT NULL,
        form VARCHAR(16),
        content TEXT NOT NULL,
        author_given_name VARCHAR(255) NOT NULL,
        author_family_name VARCHAR(255) NOT NULL,
        author_birthdate DATE,
        author_birthplace VARCHAR(16),
        created_at TIMESTAMPTZ NOT NULL,
        created_by_account_id UUID NOT NULL,
        created_by_name TEXT,
        PRIMARY KEY (space_id, id)
    )""",
    # The current version is the highest; two writers can never both add the same number.
    "CREATE UNIQUE INDEX directive_versions_space_version ON directive_versions (space_id, version)",
    """CREATE TABLE directive_reviews (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        version INTEGER NOT NULL,
        reviewed_at TIMESTAMPTZ NOT NULL,
        reviewed_by_account_id UUID NOT NULL,
        PRIMARY KEY (space_id, id)
    )""",
    # The latest review of the current version.
    "CREATE INDEX directive_reviews_space_version ON directive_reviews (space_id, version, reviewed_at)",
    """CREATE TABLE trusted_persons (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        given_name VARCHAR(100) NOT NULL,
        family_name VARCHAR(100) NOT NULL,
        relationship VARCHAR(100),
        phone VARCHAR(20),
        email VARCHAR(254),
        address TEXT,
        birthdate DATE,
        accepted_at DATE,
        protection_authorisation TEXT,
        designated_at TIMESTAMPTZ NOT NULL,
        designated_by_account_id UUID NOT NULL,
        ended_at TIMESTAMPTZ,
        ended_by_account_id UUID,
        end_reason VARCHAR(16),
        PRIMARY KEY (space_id, id)
    )""",
    # One trusted person at most (L1111-6), whatever two devices send at once.
    "CREATE UNIQUE INDEX trusted_persons_current ON trusted_persons (space_id) WHERE ended_at IS NULL",
    # The history (former ones), newest first.
    "CREATE INDEX trusted_persons_space_ended ON trusted_persons (space_id, ended_at, id)",
    """CREATE TABLE emergency_contacts (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        priority INTEGER NOT NULL,
        trusted_person BOOLEAN NOT NULL DEFAULT FALSE,
        given_name VARCHAR(100),
        family_name VARCHAR(100),
        relationship VARCHAR(100),
        phones TEXT,
        email VARCHAR(254),
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (space_id, id)
    )""",
    "CREATE INDEX emergency_contacts_space_priority ON emergency_contacts (space_id, priority)",
    # The trusted person is listed once at most.
    """CREATE UNIQUE INDEX emergency_contacts_trusted_person ON emergency_contacts (space_id)
        WHERE trusted_person = TRUE""",
    """CREATE TABLE doctors (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        given_name VARCHAR(100) NOT NULL,
        family_name VARCHAR(100) NOT NULL,
        rpps VARCHAR(11),
        phone VARCHAR(20),
        address TEXT,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (space_id, id)
    )""",
    # One médecin traitant per space.
    "CREATE UNIQUE INDEX doctors_space ON doctors (space_id)",
    """CREATE TABLE profile_conditions (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        label VARCHAR(255) NOT NULL,
        since DATE,
        code VARCHAR(16),"""
    + _PROFILE_END,
    """CREATE TABLE profile_allergies (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        substance VARCHAR(255) NOT NULL,
        reaction VARCHAR(1000),
        severity VARCHAR(16),"""
    + _PROFILE_END,
    """CREATE TABLE profile_treatments (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        medication VARCHAR(255) NOT NULL,
        dose VARCHAR(255),
        since DATE,
        until DATE,"""
    + _PROFILE_END,
    """CREATE TABLE profile_family_history (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        relative VARCHAR(32) NOT NULL,
        condition VARCHAR(255) NOT NULL,"""
    + _PROFILE_END,
    # Each profile list in the order it was written (keyset on created_at, id).
    *(
        f"CREATE INDEX {table}_space_created ON {table} (space_id, created_at, id)"
        for table in ("profile_conditions", "profile_allergies", "profile_treatments", "profile_family_history")
    ),
]

PRIMARY_KEYS = {
    table: ("space_id", "id")
    for table in (
        "directive_versions",
        "directive_reviews",
        "trusted_persons",
        "emergency_contacts",
        "doctors",
        "profile_conditions",
        "profile_allergies",
        "profile_treatments",
        "profile_family_history",
    )
}

# The indexes these statements create (checked against the migrated database by a test).
INDEXES = [
    Index("directive_versions_space_version", "directive_versions", ("space_id", "version"), unique=True),
    Index("directive_reviews_space_version", "directive_reviews", ("space_id", "version", "reviewed_at")),
    Index("trusted_persons_current", "trusted_persons", ("space_id",), unique=True, partial=True),
    Index("trusted_persons_space_ended", "trusted_persons", ("space_id", "ended_at", "id")),
    Index("emergency_contacts_space_priority", "emergency_contacts", ("space_id", "priority")),
    Index("emergency_contacts_trusted_person", "emergency_contacts", ("space_id",), unique=True, partial=True),
    Index("doctors_space", "doctors", ("space_id",), unique=True),
    *(
        Index(f"{table}_space_created", table, ("space_id", "created_at", "id"))
        for table in ("profile_conditions", "profile_allergies", "profile_treatments", "profile_family_history")
    ),
]


forwards = ddl_migration(ID, "records", description=DESCRIPTION, statements=STATEMENTS)
