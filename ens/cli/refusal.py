"""How a command that cannot go on says so: one line on stderr, exit status 2."""

from __future__ import annotations

import sys
from typing import NoReturn


def fail(message: str) -> NoReturn:
    """One clear line on stderr and exit status 2: what a person at a shell can act on."""
    print(f"ens: {message}", file=sys.stderr)
    raise SystemExit(2)
