from ens.core.db import Index, ddl_migration

ID = "2026-11-23T12:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "accounts, spaces, representatives, grants, access history"

STATEMENTS = [
    """CREATE TABLE accounts (
        id UUID PRIMARY KEY,
        issuer VARCHAR(255) NOT NULL,
        sub VARCHAR(255) NOT NULL,
        given_name VARCHAR(255) NOT NULL,
        family_name VARCHAR(255) NOT NULL,
        birthdate DATE,
        gender VARCHAR(16),
        birthplace VARCHAR(16),
        email VARCHAR(320),
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
    )""",
    "CREATE UNIQUE INDEX accounts_issuer_sub ON accounts (issuer, sub)",
    """CREATE TABLE spaces (
        id UUID PRIMARY KEY,
        holder_account_id UUID REFERENCES accounts (id),
        given_name VARCHAR(255) NOT NULL,
        family_name VARCHAR(255) NOT NULL,
        birthdate DATE,
        sex VARCHAR(16),
        timezone VARCHAR(64) NOT NULL DEFAULT 'Europe/Paris',
        status VARCHAR(16) NOT NULL DEFAULT 'open',
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        closed_at TIMESTAMPTZ
    )""",
    # One own space per person.
    "CREATE UNIQUE INDEX spaces_holder ON spaces (holder_account_id) WHERE holder_account_id IS NOT NULL",
    """CREATE TABLE representatives (
        id UUID PRIMARY KEY,
        space_id UUID NOT NULL REFERENCES spaces (id),
        account_id UUID NOT NULL REFERENCES accounts (id),
        kind VARCHAR(32) NOT NULL,
        since TIMESTAMPTZ NOT NULL,
        until TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL,
        revoked_at TIMESTAMPTZ
    )""",
    "CREATE INDEX representatives_space ON representatives (space_id, account_id)",
    "CREATE INDEX representatives_account ON representatives (account_id)",
    """CREATE TABLE grants (
        id UUID PRIMARY KEY,
        kind VARCHAR(16) NOT NULL,
        account_id UUID NOT NULL REFERENCES accounts (id),
        client_id VARCHAR(128) NOT NULL,
        client_name VARCHAR(255) NOT NULL,
        space_id UUID REFERENCES spaces (id),
        scopes TEXT NOT NULL,
        label VARCHAR(255),
        created_at TIMESTAMPTZ NOT NULL,
        last_used_at TIMESTAMPTZ,
        revoked_at TIMESTAMPTZ
    )""",
    "CREATE INDEX grants_account ON grants (account_id, kind)",
    "CREATE INDEX grants_space ON grants (space_id, client_id)",
    """CREATE TABLE access_history (
        id {bigserial_pk},
        space_id UUID NOT NULL REFERENCES spaces (id),
        at TIMESTAMPTZ NOT NULL,
        actor_account_id UUID,
        actor_name VARCHAR(255),
        client_id VARCHAR(128),
        client_name VARCHAR(255),
        acting_as VARCHAR(16) NOT NULL,
        action VARCHAR(255) NOT NULL,
        resource_type VARCHAR(64),
        resource_id VARCHAR(128),
        outcome INTEGER NOT NULL,
        request_id VARCHAR(64) NOT NULL
    )""",
    "CREATE INDEX access_history_space ON access_history (space_id, id)",
]

# The indexes these statements create (checked against the migrated database by a test).
INDEXES = [
    Index("accounts_issuer_sub", "accounts", ("issuer", "sub"), unique=True),
    Index("spaces_holder", "spaces", ("holder_account_id",), unique=True, partial=True),
    Index("representatives_space", "representatives", ("space_id", "account_id")),
    Index("representatives_account", "representatives", ("account_id",)),
    Index("grants_account", "grants", ("account_id", "kind")),
    Index("grants_space", "grants", ("space_id", "client_id")),
    Index("access_history_space", "access_history", ("space_id", "id")),
]


forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
