"""README, "Commands": "A command that meets a configuration error prints one line naming the
variable [...] and exits with status 2"; README, FranceConnect+: "a missing or unusable file stops
the service with a message naming the variable". A README audit (2026-12-06) started ``ens serve``
with bad values and found tracebacks, the struct's field named instead of the variable, and a
negative body limit taken without a word (every request with a body then answered 413)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers.server import ROOT, ens_command, free_port

FRESH_SHELL = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT)}


def _ens(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **FRESH_SHELL,
        "ENS_ENV": "dev",
        "ENS_DATABASE_URL": f"sqlite:///{tmp_path}/ens.sqlite",
        "ENS_VAR_DIR": str(tmp_path / "var"),
        **env,
    }
    return subprocess.run(  # noqa: S603 (our own console script)
        [*ens_command(), *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def _one_line_refusal(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ens: "), done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_an_unreadable_encryption_key_stops_serve_in_one_line(tmp_path: Path) -> None:
    """Was: a traceback ending in ConfigurationError, exit status 1 (the error is raised while
    uvicorn builds the app, outside the CLI's handling)."""
    done = _ens(
        tmp_path,
        "serve",
        "--port",
        str(free_port()),
        ENS_OIDC_ENCRYPTION_KEY=str(tmp_path / "missing.pem"),
    )
    _one_line_refusal(done, "ENS_OIDC_ENCRYPTION_KEY")


def test_an_unknown_log_level_names_the_variable(tmp_path: Path) -> None:
    """Was: ``KeyError: 'loud'`` in a traceback from ``ens serve``, exit status 1."""
    done = _ens(tmp_path, "serve", "--port", str(free_port()), ENS_LOG_LEVEL="LOUD")
    _one_line_refusal(done, "ENS_LOG_LEVEL")


@pytest.mark.parametrize(("variable", "value"), [("ENS_ENV", "bad"), ("ENS_MAX_BODY_BYTES", "abc")])
def test_a_malformed_value_names_the_variable(tmp_path: Path, variable: str, value: str) -> None:
    """Was: ``invalid configuration: Invalid enum value 'bad' - at `$.env``` (the struct's field)."""
    _one_line_refusal(_ens(tmp_path, "migrate", **{variable: value}), variable)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ENS_MAX_BODY_BYTES", "-1"),
        ("ENS_RATE_LIMIT_GRANT_PER_MINUTE", "-5"),
        ("ENS_ACCESS_TOKEN_TTL", "0"),
        ("ENS_DB_POOL_SIZE", "0"),
        ("ENS_BODY_IDLE_SECONDS", "-3"),
        ("ENS_IMPORT_MAX_SECONDS", "0"),
        # Past what a date can be moved by (timedelta): it started, then answered 500 (a review).
        ("ENS_REFRESH_TOKEN_MAX_AGE", "99999999999999"),
        ("ENS_ACCESS_TOKEN_TTL", "99999999999999"),
        ("ENS_OTP_LOCK_SECONDS", "86401"),
        ("ENS_IMPORT_MAX_SECONDS", "inf"),
        # 0 would cancel every request in flight at once; unset, a stop waited for ever (an audit).
        ("ENS_SHUTDOWN_GRACE_SECONDS", "0"),
        ("ENS_SHUTDOWN_GRACE_SECONDS", "86401"),
        ("ENS_KEEP_ALIVE_SECONDS", "0"),
        # A day of forgiven reuse was a day in which a stolen refresh token was served (an audit).
        ("ENS_REFRESH_REUSE_INTERVAL", "301"),
    ],
)
def test_a_number_out_of_its_range_is_refused(tmp_path: Path, variable: str, value: str) -> None:
    """Was: accepted; with ENS_MAX_BODY_BYTES=-1 the server started and answered every request with
    a body 413, a negative rate limit acted as off (0 is off), a zero token lifetime or pool started."""
    _one_line_refusal(_ens(tmp_path, "migrate", **{variable: value}), variable, repr(value))


@pytest.mark.parametrize(
    ("variable", "value"), [("ENS_RATE_LIMIT_GRANT_PER_MINUTE", "0"), ("ENS_BODY_IDLE_SECONDS", "0")]
)
def test_zero_still_turns_a_safety_net_off(tmp_path: Path, variable: str, value: str) -> None:
    done = _ens(tmp_path, "migrate", **{variable: value})
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["purge"]])
def test_a_document_folder_that_cannot_be_made_names_the_variable(tmp_path: Path, command: list[str]) -> None:
    """``ENS_BLOB_URL`` naming a folder that cannot be made (here a file stands where a folder of its
    path should; live, a read-only disk) was 44 lines of traceback from ``ens serve``, its message
    withheld so that nothing said which folder or why, exit status 1; ``ens purge`` said it could not
    reach the database (an outside audit as the operator)."""
    (tmp_path / "taken").write_bytes(b"")
    migrated = _ens(tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    url = (tmp_path / "taken" / "blobs").as_uri()
    done = _ens(tmp_path, *command, ENS_BLOB_URL=url)
    _one_line_refusal(done, "ENS_BLOB_URL", str(tmp_path / "taken" / "blobs"))
    assert "database" not in done.stderr


def test_a_certificate_that_cannot_be_loaded_stops_serve_in_one_line(tmp_path: Path) -> None:
    """``ens serve --ssl-certfile`` naming a file that is missing (or not a certificate) was 30 lines
    of traceback ending ``FileNotFoundError: (message withheld...)``, naming neither file, exit
    status 1 (an outside audit as the operator)."""
    migrated = _ens(tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    missing = tmp_path / "missing.pem"
    not_one = tmp_path / "not-a-certificate.pem"
    not_one.write_text("hello\n")
    for pem in (missing, not_one):
        port = str(free_port())
        done = _ens(tmp_path, "serve", "--port", port, "--ssl-certfile", str(pem), "--ssl-keyfile", str(pem))
        _one_line_refusal(done, "--ssl-certfile", str(pem))
