"""A logged traceback never quotes a value: PostgreSQL's detail names the failing key or row, and
asyncpg prints it with the message; Python's own messages quote their input. The server's log
keeps the frames, each exception's class and a database error's SQLSTATE and names (ens.core.log)."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ens.core import db
from ens.core.log import KeyValueFormatter
from ens.spaces import history
from tests.helpers.people import Person

VALUE = "72,5 kg Dupont"


async def _duplicate_key_error() -> Exception:
    """A real error of the suite's database naming ``VALUE`` (PostgreSQL: in its detail)."""
    try:
        async with db.write_transaction():
            await db.fetch("CREATE TEMPORARY TABLE IF NOT EXISTS logged_values (v VARCHAR(64) UNIQUE)")
            await db.fetch("DELETE FROM logged_values")
            await db.fetch("INSERT INTO logged_values (v) VALUES ({})", VALUE)
            await db.fetch("INSERT INTO logged_values (v) VALUES ({})", VALUE)
    except Exception as exc:
        caught = exc
    else:
        raise AssertionError("the second row went in")
    if db.is_postgres(db.current()):
        assert VALUE in str(caught)  # what the log must not repeat
    return caught


def _logged(error: BaseException) -> str:
    try:
        try:
            float(VALUE)
        except ValueError as inner:
            raise error from inner
    except BaseException:
        record = logging.LogRecord("ens.test", logging.ERROR, __file__, 1, "unhandled error", None, sys.exc_info())
    return KeyValueFormatter().format(record)


async def test_a_database_error_is_logged_by_its_class_and_names_without_the_row(client: httpx.AsyncClient) -> None:
    error = await _duplicate_key_error()
    line = _logged(error)
    assert VALUE not in line and "72,5" not in line
    assert type(error).__name__ in line and "ValueError" in line
    assert "The above exception was the direct cause of the following exception:" in line
    assert "in _logged" in line  # the frames stay
    if db.is_postgres(db.current()):
        assert "sqlstate=23505" in line and "constraint_name=logged_values_v_key" in line
    else:
        assert "sqlite_errorname=SQLITE_CONSTRAINT_UNIQUE" in line


def test_messages_the_code_words_are_kept() -> None:
    assert "has no attribute 'seq'" in _logged(AttributeError("'NoneType' object has no attribute 'seq'"))
    grouped = _logged(ExceptionGroup("two", [KeyError(VALUE), ValueError(VALUE)]))
    assert VALUE not in grouped
    assert (
        "---- 1 ----" in grouped and "| KeyError" in grouped and "---- 2 ----" in grouped and "| ValueError" in grouped
    )


@pytest.fixture
def server_log() -> Iterator[io.StringIO]:
    """What the server's handler writes for the ``ens`` loggers, with its formatter."""
    text = io.StringIO()
    handler = logging.StreamHandler(text)
    handler.setFormatter(KeyValueFormatter())
    logger = logging.getLogger("ens")
    logger.addHandler(handler)
    try:
        yield text
    finally:
        logger.removeHandler(handler)


async def test_a_request_that_fails_on_a_row_logs_no_value(
    client: httpx.AsyncClient, person: Person, monkeypatch: pytest.MonkeyPatch, server_log: io.StringIO
) -> None:
    error = await _duplicate_key_error()

    async def insert(group: Any) -> None:
        raise error

    monkeypatch.setattr(history.GroupCommit, "_insert", staticmethod(insert))
    answer = await client.get("/v1/spaces/me", headers=person.headers)
    assert answer.status_code == 500
    logged = server_log.getvalue()
    assert "unhandled error" in logged and type(error).__name__ in logged and "Traceback" in logged
    assert VALUE not in logged and "72,5" not in logged


async def test_no_library_logs_a_statements_values_even_at_debug(
    client: httpx.AsyncClient, person: Person, caplog: pytest.LogCaptureFixture
) -> None:
    """The root logger at DEBUG (an operator's choice) takes every library's lines: SQLite's driver
    printed each statement's call with its parameters, the measure's value among them (an audit)."""
    measure = {"type": "body_weight", "value": 73.4567, "unit": "kg", "effectiveAt": "2026-03-01T08:00:00Z"}
    with caplog.at_level(logging.DEBUG):
        answer = await client.post("/v1/spaces/me/vitals", json={"measurements": [measure]}, headers=person.headers)
    assert answer.status_code == 201, answer.text
    assert caplog.records, "nothing was logged at DEBUG: the check proves nothing"
    assert "73.4567" not in caplog.text
