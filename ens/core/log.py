"""Log lines operators can search: ``time level logger message key=value ...``.

Only identifiers and outcomes are passed as ``extra`` (never health values, tokens or codes), so
the formatter prints every extra field it is given.

A traceback keeps its frames and each exception's class, never an exception's message, which can
quote what a request sent or a row holds: PostgreSQL's error detail names the failing row or key
("Failing row contains (..., 72.5, ...)", "Key (...)=(...) already exists"), asyncpg prints it with
the message, and Python's own messages quote input (``float('72,5')``). A database error keeps its
SQLSTATE and the names it gives (constraint, table, column), enough to find the statement. Only the
messages of a few exceptions that the code itself words (a missing attribute or name, an import)
are printed.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "color_message"}

# Exceptions whose message is written by the code, not made of data: printed whole.
_WORDED_BY_CODE = (AttributeError, NameError, ImportError, NotImplementedError, RecursionError)
# What a database error names besides its message (asyncpg's fields, sqlite3's error name).
_DATABASE_NAMES = ("sqlstate", "sqlite_errorname", "schema_name", "table_name", "column_name", "constraint_name")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class KeyValueFormatter(logging.Formatter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """ISO 8601 in UTC, to the millisecond, with its Z: the process's local time without its zone
        repeated an hour when the clocks went back, and set apart machines in other zones (an outside
        audit as the operator)."""
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        if extras:
            line += " " + " ".join(f"{key}={_quote(value)}" for key, value in sorted(extras.items()))
        return line

    def formatException(self, ei: ExcInfo) -> str:
        return withheld_traceback(ei[1]) if ei[1] is not None else ""


def withheld_traceback(exc: BaseException, *, depth: int = 0) -> str:
    """``exc``'s traceback as Python prints it (its causes and contexts first), each exception by
    its class and the names a database error gives, without its message (module doc); a group's
    exceptions each with their own traceback, indented."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, "The above exception was the direct cause of the following exception:"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, "During handling of the above exception, another exception occurred:"
        else:
            current = None
    parts: list[str] = []
    for position, (one, _) in enumerate(reversed(chain)):
        if position:
            parts.append("\n" + chain[len(chain) - position][1] + "\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(one.__traceback__))
        parts.append(_described(one))
        if isinstance(one, BaseExceptionGroup):
            parts.append(_group(one, depth))
    return "".join(parts).rstrip("\n")


_MAX_GROUP_DEPTH = 4  # as Python's own printing, a group within a group within... stops somewhere


def _group(group: BaseExceptionGroup[BaseException], depth: int) -> str:
    if depth >= _MAX_GROUP_DEPTH:
        return "  (nested exception groups left out)\n"
    parts = []
    for index, sub in enumerate(group.exceptions, start=1):
        text = withheld_traceback(sub, depth=depth + 1)
        parts.append(f"+---------------- {index} ----------------\n")
        parts.append("".join(f"| {line}\n" for line in text.splitlines()))
    return "".join(f"  {line}\n" for line in "".join(parts).splitlines())


def _described(exc: BaseException) -> str:
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    if isinstance(exc, _WORDED_BY_CODE):
        try:
            return f"{name}: {exc}\n"
        except Exception:  # a __str__ that fails must not lose the record
            return f"{name}: (message unavailable)\n"
    names = [f"{field}={value}" for field in _DATABASE_NAMES if (value := getattr(exc, field, None))]
    line = f"{name}: (message withheld: it may quote sent or stored values)"
    if names:
        line += " " + " ".join(names)
    return line + "\n"


def _quote(value: object) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def logging_config(level: str) -> dict[str, Any]:
    """Arguments of litestar's ``LoggingConfig``: the ``ens`` loggers at ``level``, key=value lines.
    Litestar's own ``standard`` formatter, which its handler on the root logger uses (every other
    library's logger reaches it: asyncio's "Task exception was never retrieved"...), is this one
    too: no traceback printed by the process carries a message."""
    return {
        "formatters": {"keyvalue": {"()": KeyValueFormatter}, "standard": {"()": KeyValueFormatter}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "keyvalue", "level": level},
        },
        "loggers": {
            "ens": {"level": level, "handlers": ["console"], "propagate": False},
            # aiosqlite's debug lines print each statement's call with its parameters, health values
            # among them: at WARNING whatever the root logger's level (an audit, with it at DEBUG).
            "aiosqlite": {"level": "WARNING"},
        },
        "log_exceptions": "never",
    }


class CancelledAtShutdown(logging.Filter):
    """uvicorn cancels the requests still running once a stop's grace has passed
    (``ENS_SHUTDOWN_GRACE_SECONDS``; it says so first, "Cancel 1 running task(s), timeout graceful
    shutdown exceeded"), then logs each as "Exception in ASGI application" with a CancelledError's
    traceback, sixty lines of frames for an expected end: one line instead, a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError):
            record.msg, record.args, record.exc_info, record.exc_text = (
                "request cancelled: still running when the stop's grace ran out",
                (),
                None,
                None,
            )
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """``uvicorn.run``'s ``log_config``: its loggers write key=value lines too. An error raised once
    a streamed answer has begun (an export, a document's file) is uvicorn's to log ("Exception in
    ASGI application"): with uvicorn's own formatter, its message (a stored value) was printed."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"keyvalue": {"()": KeyValueFormatter}},
        "filters": {"cancelled_at_shutdown": {"()": CancelledAtShutdown}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "keyvalue", "stream": "ext://sys.stderr"}
        },
        "loggers": {
            "uvicorn": {"handlers": ["console"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level, "filters": ["cancelled_at_shutdown"]},
            "uvicorn.access": {"handlers": [], "level": level, "propagate": False},
        },
    }


def print_withheld(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """``sys.excepthook`` of the commands: an error that stops one (``ens purge`` from cron, to the
    journal) is printed as the server logs it, without its message."""
    sys.stderr.write(withheld_traceback(exc) + "\n")
