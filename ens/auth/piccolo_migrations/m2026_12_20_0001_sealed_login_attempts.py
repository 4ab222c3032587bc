"""The login attempts keep their secrets sealed (an outside audit).

``login_attempts`` held in clear, until ``ens purge``, the ``state``, nonce and PKCE verifier of a
login at the identity provider and, once it answered, its ID token and the person's claims. The
``state`` is now a keyed hash, the rest sealed with AES-GCM bound to the attempt
(``ens.auth.login.attempt.seal``); the nonce and verifier are emptied once the provider has
answered. A sealed nonce is longer than 64 characters: both columns take 255 (SQLite does not
enforce a ``VARCHAR``'s length). The rows already there, which hold these in clear, go (each
lives 30 minutes, or until its logout): a login in flight starts again, and a browser still signed
in at the provider is told there is nothing to close here (its session there ends at the
provider's own logout)."""

from ens.core.db import Index, PostgresOnly, ddl_migration

ID = "2026-12-20T00:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "login_attempts: the state hashed, the nonce, verifier, ID token and claims sealed"

STATEMENTS = [
    PostgresOnly("ALTER TABLE login_attempts ALTER COLUMN upstream_nonce TYPE VARCHAR(255)"),
    PostgresOnly("ALTER TABLE login_attempts ALTER COLUMN upstream_verifier TYPE VARCHAR(255)"),
    "DELETE FROM login_attempts",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "auth", description=DESCRIPTION, statements=STATEMENTS)
