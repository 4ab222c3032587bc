"""How a command that cannot go on says so: one line on stderr, exit status 2."""

from __future__ import annotations

import sys
from typing import NoReturn

# PostgreSQL's refusals of a connection's own parameters, whose words name only what the URL names (a
# role, a database), never a row: invalid_authorization_specification (no such role, pg_hba.conf),
# invalid_password, invalid_catalog_name (no such database).
_URL_REFUSED = ("28000", "28P01", "3D000")


def database_refusal(exc: BaseException) -> str | None:
    """The line for a database server that answered and refused ``ENS_DATABASE_URL``'s role, password or
    database (a typo, ``createdb`` not run): it was a traceback, its message withheld (an outside audit)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None)
        if state in _URL_REFUSED:
            return f"the database server refused ENS_DATABASE_URL: {current} (SQLSTATE {state})"
        current = current.__cause__ or current.__context__
    return None


def fail(message: str) -> NoReturn:
    """One clear line on stderr and exit status 2: what a person at a shell can act on."""
    print(f"ens: {message}", file=sys.stderr)
    raise SystemExit(2)
