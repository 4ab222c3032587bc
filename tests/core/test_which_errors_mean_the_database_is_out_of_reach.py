"""Which failures answer 503 (the database out of reach: retry) rather than 500 (a fault)."""

from __future__ import annotations

import asyncpg.exceptions as pg
import pytest

from ens.app.exception_handlers import _database_busy, _database_unreachable, _transactions_collided


def _caused(outer: Exception, cause: BaseException) -> Exception:
    outer.__cause__ = cause
    return outer


def _raised_while_handling(error: Exception, handled: BaseException) -> Exception:
    error.__context__ = handled  # what Python sets for an error raised in an except block
    return error


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),  # no server listening: a new connection
        ConnectionResetError(104, "Connection reset by peer"),
        pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        pg.AdminShutdownError("terminating connection due to administrator command"),  # 57P01
        pg.CannotConnectNowError("the database system is starting up"),  # 57P03
        pg.TooManyConnectionsError("sorry, too many clients already"),  # 53300
        pg.InterfaceError("connection is closed"),
        # A connection the server ended while it was idle, taken before asyncpg saw its socket close.
        pg.InternalClientError("cannot switch to state 15; another operation (2) is in progress"),
        _caused(RuntimeError("while reading the page"), ConnectionRefusedError(111, "refused")),
    ],
)
def test_out_of_reach(error: BaseException) -> None:
    assert _database_unreachable(error)


@pytest.mark.parametrize(
    "error",
    [
        pg.QueryCanceledError("canceling statement due to statement timeout"),  # 57014: a query's fault
        pg.UniqueViolationError("duplicate key"),
        pg.InterfaceError("cannot perform operation: another operation is in progress"),
        pg.InternalClientError("cannot switch to state 12; another operation (5) is in progress"),
        KeyError("body"),
        OSError(28, "No space left on device"),
        pg.ProtocolViolationError("invalid message format"),  # 08P01: a fault, not an outage
        _raised_while_handling(KeyError("body"), ConnectionResetError(104, "reset")),
    ],
)
def test_a_fault(error: BaseException) -> None:
    assert not _database_unreachable(error)


def test_a_chain_that_loops_is_read_once() -> None:
    first, second = ValueError("a"), pg.ConnectionDoesNotExistError("gone")
    first.__cause__, second.__cause__ = second, first  # raise b from a, then a from b
    assert _database_unreachable(first)
    third, fourth = ValueError("c"), KeyError("d")
    third.__cause__, fourth.__cause__ = fourth, third
    assert not _database_unreachable(third)
    assert not _database_busy(third)


def test_a_deadlock_or_a_serialization_failure_is_a_collision_to_retry_not_a_fault() -> None:
    """PostgreSQL ends one of two transactions that wait on each other (40P01), or one that cannot
    be serialised (40001): nothing of it was kept, the request sent again passes (503, Retry-After)."""
    assert _transactions_collided(pg.DeadlockDetectedError("deadlock detected"))
    assert _transactions_collided(pg.SerializationError("could not serialize access"))
    assert _transactions_collided(_caused(RuntimeError("while writing"), pg.DeadlockDetectedError("deadlock")))
    assert not _transactions_collided(pg.UniqueViolationError("duplicate key"))
    assert not _transactions_collided(_raised_while_handling(KeyError("body"), pg.DeadlockDetectedError("deadlock")))
