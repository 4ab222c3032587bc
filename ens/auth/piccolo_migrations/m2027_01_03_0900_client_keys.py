"""Confidential apps that authenticate with a JWT signed by their own key (RFC 7523,
``private_key_jwt``), not a shared secret: their public keys (``oauth_clients.jwks``), and each
assertion's ``jti`` kept until it expires (``client_assertions``), so that none is taken twice.

Before, a confidential app could only hold a secret: ENS keeps its keyed hash, and the app sends
the secret itself at every token request (an outside audit of the login listed the missing
method). Rows of ``client_assertions`` go once ``expires_at`` has passed (``ens purge``)."""

from ens.core.db import Index, ddl_migration

ID = "2027-01-03T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "oauth_clients.jwks and client_assertions: apps that sign their token requests"

STATEMENTS = [
    "ALTER TABLE oauth_clients ADD COLUMN jwks TEXT",
    """CREATE TABLE client_assertions (
        key_hash VARCHAR(64) PRIMARY KEY,
        expires_at TIMESTAMPTZ NOT NULL
    )""",
    "CREATE INDEX client_assertions_expiry ON client_assertions (expires_at)",
]

INDEXES = [Index("client_assertions_expiry", "client_assertions", ("expires_at",))]

forwards = ddl_migration(ID, "auth", description=DESCRIPTION, statements=STATEMENTS)
