"""A review of fc539d5 (2026-12-06): the ``ens`` loggers withhold an exception's message, but the
server's log is written by more handlers than theirs.

- uvicorn's own loggers (``uvicorn.error``: "Exception in ASGI application") keep uvicorn's default
  formatter: an error raised once a streamed answer has started (``GET .../export``, a document's
  file) leaves litestar as ``LitestarException(...) from e`` and uvicorn prints the whole chain,
  messages included (seen with ``ens serve``: ``ValueError: could not convert string to float:
  '72,5 kg Dupont'``).
- the root logger's handler, installed by litestar's ``LoggingConfig`` (``configure_root_logger``),
  formats with ``logging.Formatter``: every other library's logger (asyncio's "Task exception was
  never retrieved", piccolo, httpx...) propagates there, messages included.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from uvicorn.config import Config

from ens.cli.serving import run_server
from ens.core.settings import Settings

VALUE = "72,5 kg Dupont"


def _record(name: str) -> logging.LogRecord:
    try:
        try:
            float(VALUE)
        except ValueError as inner:
            raise RuntimeError("Exception caught after response started") from inner
    except RuntimeError:
        return logging.LogRecord(
            name, logging.ERROR, __file__, 1, "Exception in ASGI application", None, sys.exc_info()
        )
    raise AssertionError("float() took it")


def _handlers(name: str) -> list[logging.Handler]:
    """Every handler a record of logger ``name`` reaches (as ``Logger.callHandlers`` walks them)."""
    found: list[logging.Handler] = []
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None:
        # pytest's own capturing handlers are the suite's, not the server's.
        found.extend(h for h in logger.handlers if not type(h).__module__.startswith("_pytest"))
        logger = logger.parent if logger.propagate else None
    return found


@pytest.fixture
def uvicorn_logging(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[None]:
    """The logging ``ens serve`` leaves uvicorn with: what it passes to ``uvicorn.run``, applied as
    uvicorn applies it (``Config.configure_logging``); the loggers' handlers restored after."""
    names = ["uvicorn", "uvicorn.error", "uvicorn.access"]
    kept = {name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate) for name in names}
    passed: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: passed.update(kwargs))
    run_server(settings, "127.0.0.1", port=8041, workers=1, certfile=None, keyfile=None)
    options = {key: passed[key] for key in ("log_config", "log_level", "access_log") if key in passed}
    Config("ens.app:create_app", factory=True, **options)  # type: ignore[arg-type]
    try:
        yield
    finally:
        for name, (handlers, propagate) in kept.items():
            logging.getLogger(name).handlers[:] = handlers
            logging.getLogger(name).propagate = propagate


def test_uvicorn_logs_an_error_after_the_answer_started_without_its_message(uvicorn_logging: None) -> None:
    handlers = _handlers("uvicorn.error")
    assert handlers
    for handler in handlers:
        line = handler.format(_record("uvicorn.error"))
        assert "RuntimeError" in line and "ValueError" in line
        assert VALUE not in line, (type(handler.formatter).__name__, line)


async def test_another_librarys_logger_logs_no_message(client: httpx.AsyncClient) -> None:
    """``client``: the app built, its logging configured as the server's."""
    handlers = _handlers("asyncio")
    assert handlers
    for handler in handlers:
        line = handler.format(_record("asyncio"))
        assert VALUE not in line, (type(handler).__name__, type(handler.formatter).__name__, line)


def _formatted(error: BaseException) -> str:
    from ens.core.log import KeyValueFormatter

    record = logging.LogRecord("ens.test", logging.ERROR, __file__, 1, "unhandled error", None, None)
    record.exc_info = (type(error), error, error.__traceback__)
    return KeyValueFormatter().format(record)


def _failing_deep_inside() -> None:
    float(VALUE)


def test_a_groups_exceptions_keep_their_frames() -> None:
    """A task group's error (anyio's, around every streamed answer: litestar's ``Stream``) is an
    ExceptionGroup: Python prints each sub-exception's traceback and causes; the withheld one
    prints their classes only, so where a streamed export failed is lost."""
    try:
        try:
            _failing_deep_inside()
        except ValueError as inner:
            raise ExceptionGroup("unhandled errors in a TaskGroup", [inner]) from None
    except ExceptionGroup as group:
        line = _formatted(group)
    assert VALUE not in line
    assert "in _failing_deep_inside" in line, line


def test_an_exception_whose_str_fails_is_still_logged() -> None:
    """An AttributeError (printed whole) whose ``__str__`` raises: the formatter raises, logging's
    ``handleError`` prints "--- Logging error ---" and the record itself is lost."""

    class Broken(AttributeError):
        def __str__(self) -> str:
            raise RuntimeError("no words")

    try:
        raise Broken()
    except Broken as error:
        line = _formatted(error)
    assert "Broken" in line


def test_a_line_is_dated_in_utc_and_says_so() -> None:
    """Lines were dated in the process's local time without saying which ("2026-12-07 02:32:46,729",
    an outside audit as the operator): an hour repeats when the clocks go back, and two machines'
    logs set in different zones do not line up. ISO 8601 in UTC, to the millisecond, with its Z."""
    import re
    from datetime import UTC, datetime

    from ens.core.log import KeyValueFormatter

    record = logging.LogRecord("ens.test", logging.INFO, __file__, 1, "a line", None, None)
    record.created = datetime(2026, 10, 25, 0, 30, 15, 123_000, tzinfo=UTC).timestamp()
    line = KeyValueFormatter().format(record)
    assert line.startswith("2026-10-25T00:30:15.123Z INFO ens.test a line"), line
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ", line)
