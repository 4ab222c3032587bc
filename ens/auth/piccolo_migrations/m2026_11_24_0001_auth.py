from ens.core.db import Index, ddl_migration

ID = "2026-11-24T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "oauth clients, login attempts, second factors, authorization codes, refresh tokens"

STATEMENTS = [
    """CREATE TABLE oauth_clients (
        client_id VARCHAR(128) PRIMARY KEY,
        name VARCHAR(255) NOT NULL,
        publisher VARCHAR(255),
        kind VARCHAR(16) NOT NULL,
        label_status VARCHAR(32) NOT NULL,
        redirect_uris TEXT NOT NULL,
        allowed_scopes TEXT NOT NULL,
        confidential BOOLEAN NOT NULL DEFAULT FALSE,
        secret_hash VARCHAR(128),
        created_at TIMESTAMPTZ NOT NULL,
        disabled_at TIMESTAMPTZ
    )""",
    """CREATE TABLE login_attempts (
        id UUID PRIMARY KEY,
        client_id VARCHAR(128) NOT NULL,
        redirect_uri TEXT NOT NULL,
        client_state TEXT,
        code_challenge VARCHAR(128) NOT NULL,
        scopes TEXT NOT NULL,
        upstream_state VARCHAR(64) NOT NULL,
        upstream_nonce VARCHAR(64) NOT NULL,
        upstream_verifier VARCHAR(128) NOT NULL,
        csrf VARCHAR(64) NOT NULL,
        step VARCHAR(32) NOT NULL,
        recovering BOOLEAN NOT NULL DEFAULT FALSE,
        account_id UUID REFERENCES accounts (id),
        space_id UUID,
        id_token TEXT,
        new_factor_id UUID,
        created_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    )""",
    "CREATE UNIQUE INDEX login_attempts_state ON login_attempts (upstream_state)",
    "CREATE INDEX login_attempts_expiry ON login_attempts (expires_at)",
    """CREATE TABLE otp_factors (
        id UUID PRIMARY KEY,
        account_id UUID NOT NULL REFERENCES accounts (id),
        status VARCHAR(16) NOT NULL,
        seed {blob} NOT NULL,
        last_step BIGINT,
        created_at TIMESTAMPTZ NOT NULL,
        activated_at TIMESTAMPTZ,
        revoked_at TIMESTAMPTZ
    )""",
    "CREATE INDEX otp_factors_account ON otp_factors (account_id, status)",
    """CREATE TABLE otp_guards (
        account_id UUID PRIMARY KEY REFERENCES accounts (id),
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until TIMESTAMPTZ
    )""",
    """CREATE TABLE recovery_codes (
        id UUID PRIMARY KEY,
        account_id UUID NOT NULL REFERENCES accounts (id),
        code_hash VARCHAR(64) NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        used_at TIMESTAMPTZ
    )""",
    "CREATE INDEX recovery_codes_account ON recovery_codes (account_id, code_hash)",
    """CREATE TABLE email_codes (
        id UUID PRIMARY KEY,
        attempt_id UUID NOT NULL,
        account_id UUID NOT NULL REFERENCES accounts (id),
        code_hash VARCHAR(64) NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        used_at TIMESTAMPTZ
    )""",
    "CREATE INDEX email_codes_attempt ON email_codes (attempt_id)",
    "CREATE INDEX email_codes_account ON email_codes (account_id, created_at)",
    """CREATE TABLE authorization_codes (
        code_hash VARCHAR(64) PRIMARY KEY,
        client_id VARCHAR(128) NOT NULL,
        redirect_uri TEXT NOT NULL,
        code_challenge VARCHAR(128) NOT NULL,
        account_id UUID NOT NULL REFERENCES accounts (id),
        space_id UUID,
        scopes TEXT NOT NULL,
        kind VARCHAR(16) NOT NULL,
        grant_id UUID,
        created_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        used_at TIMESTAMPTZ
    )""",
    """CREATE TABLE refresh_tokens (
        id UUID PRIMARY KEY,
        token_hash VARCHAR(64) NOT NULL,
        grant_id UUID NOT NULL REFERENCES grants (id),
        account_id UUID NOT NULL REFERENCES accounts (id),
        client_id VARCHAR(128) NOT NULL,
        kind VARCHAR(16) NOT NULL,
        space_id UUID,
        scopes TEXT NOT NULL,
        chain_started_at TIMESTAMPTZ NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        rotated_at TIMESTAMPTZ,
        replaced_by UUID
    )""",
    "CREATE UNIQUE INDEX refresh_tokens_hash ON refresh_tokens (token_hash)",
    "CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id)",
]

# The indexes these statements create (checked against the migrated database by a test).
INDEXES = [
    Index("login_attempts_state", "login_attempts", ("upstream_state",), unique=True),
    Index("login_attempts_expiry", "login_attempts", ("expires_at",)),
    Index("otp_factors_account", "otp_factors", ("account_id", "status")),
    Index("recovery_codes_account", "recovery_codes", ("account_id", "code_hash")),
    Index("email_codes_attempt", "email_codes", ("attempt_id",)),
    Index("email_codes_account", "email_codes", ("account_id", "created_at")),
    Index("refresh_tokens_hash", "refresh_tokens", ("token_hash",), unique=True),
    Index("refresh_tokens_grant", "refresh_tokens", ("grant_id",)),
]


forwards = ddl_migration(ID, "auth", description=DESCRIPTION, statements=STATEMENTS)
