"""``ens apps register`` keeps an app's name and publisher in 255-character columns: a longer one
was a database error and a traceback on PostgreSQL (value too long), kept whole on SQLite. Refused
now, exit 2 naming the limit, as the operators' other words are (``operator_text_refused``)."""

from __future__ import annotations

from ens.core import db
from ens.core.settings import Settings
from tests.helpers.server import run_ens

REGISTER = ("apps", "register", "--scope", "vitals.body_weight:write", "--redirect-uri", "https://app.test/cb")


async def test_a_name_or_publisher_longer_than_its_column_is_refused_by_name(
    settings: Settings, migrated: None
) -> None:
    long_name = "Balance " + "x" * 248  # 256 characters
    for extra, pointer in (
        (("--name", long_name), "/name"),
        (("--name", "Balance", "--publisher", "P" * 256), "/publisher"),
        (("--name", "   "), "/name"),
    ):
        done = run_ens(settings, *REGISTER, *extra)
        assert done.returncode == 2, done
        assert "Traceback" not in done.stderr and "255 characters at most" in done.stderr, (pointer, done.stderr)
    kept = await db.fetch("SELECT client_id FROM oauth_clients WHERE name = {} OR publisher = {}", long_name, "P" * 256)
    assert kept == []
    # At the limit, kept whole.
    done = run_ens(settings, *REGISTER, "--name", "B" * 255, "--publisher", "P" * 255)
    assert done.returncode == 0, done.stderr
    assert await db.fetch_one("SELECT client_id FROM oauth_clients WHERE name = {}", "B" * 255) is not None
