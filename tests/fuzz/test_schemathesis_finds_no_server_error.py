"""Fuzzing with schemathesis against the real server (``ens serve``) and its own OpenAPI document,
reaching the code behind the door: ``{space}`` is ``me`` and every call carries a real token.

Run by ``make test`` on PostgreSQL only (marker ``fuzz``: ``scripts/test-all``), with a fixed seed
and a fixed number of examples per operation; ``make fuzz`` runs it deeper and unseeded
(``ENS_FUZZ_DEEP=1``). Checks: no 5xx, and every answer conforms to its documented schema.
Destructive operations (closing or erasing the space) run apart, in a space of their own.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from ens.core.settings import Settings
from tests.helpers.people import grant_app, sign_in_person
from tests.helpers.professionals import GP, authorise_directly, sign_in_pro
from tests.helpers.server import ROOT, ServerProcess, free_port

pytestmark = pytest.mark.fuzz

DEEP = os.environ.get("ENS_FUZZ_DEEP") == "1"
SEED = "20261201"
EXAMPLES = "200" if DEEP else "40"
DESTRUCTIVE = ("closeSpace", "reopenSpace")
CHECKS = "not_a_server_error,response_schema_conformance"


@pytest.fixture(scope="module")
def server(settings: Settings, migrated: None) -> object:
    env = {
        **os.environ,
        "ENS_ENV": "dev",
        "ENS_DATABASE_URL": settings.database_url,
        "ENS_PUBLIC_URL": settings.public_url,  # the issuer of the tokens made below
        "PYTHONUNBUFFERED": "1",
    }
    process = ServerProcess(env, free_port(), "fuzz-server.log")
    process.start()
    yield process
    process.stop()


async def _schemathesis(
    server: ServerProcess, token: str, tmp_path: Path, *selection: str, space: str = "me"
) -> tuple[int, str]:
    config = tmp_path / "schemathesis.toml"
    config.write_text(f'[parameters]\n"path.space" = "{space}"\n')
    command = [
        str(ROOT / ".venv" / "bin" / "schemathesis"),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{server.base_url}/schema/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        EXAMPLES,
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        *([] if DEEP else ["--seed", SEED, "--generation-deterministic"]),
        *selection,
    ]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode(errors="replace")


def _excluding(*operation_ids: str) -> list[str]:
    return [argument for op in operation_ids for argument in ("--exclude-operation-id", op)]


async def test_the_phone_app_finds_no_server_error_and_no_answer_off_its_schema(
    settings: Settings, server: ServerProcess, tmp_path: Path
) -> None:
    person = await sign_in_person(settings, given_name="Fuzz")
    status, output = await _schemathesis(server, person.token, tmp_path, *_excluding(*DESTRUCTIVE))
    print(output[output.find("Test cases:") :])  # shown with -s: how many cases ran
    assert status == 0, output[-6000:]


async def test_a_device_app_finds_no_server_error_and_no_answer_off_its_schema(
    settings: Settings, server: ServerProcess, tmp_path: Path
) -> None:
    person = await sign_in_person(settings, given_name="Fuzz")
    scopes = [f"vitals.{t}:{m}" for t in ("body_weight", "blood_pressure", "steps_per_day") for m in ("read", "write")]
    app = await grant_app(settings, person, scopes)
    # The login's browser legs and the token endpoints were fuzzed in the phone app's run.
    selection = [*_excluding(*DESTRUCTIVE), "--exclude-tag", "oauth"]
    status, output = await _schemathesis(server, app.token, tmp_path, *selection)
    print(output[output.find("Test cases:") :])  # shown with -s: how many cases ran
    assert status == 0, output[-6000:]


async def test_closing_and_erasing_a_space_of_its_own_finds_no_server_error(
    settings: Settings, server: ServerProcess, tmp_path: Path
) -> None:
    person = await sign_in_person(settings, given_name="Fuzz")
    selection = [argument for op in DESTRUCTIVE for argument in ("--include-operation-id", op)]
    status, output = await _schemathesis(server, person.token, tmp_path, *selection)
    print(output[output.find("Test cases:") :])  # shown with -s: how many cases ran
    assert status == 0, output[-6000:]


async def test_a_professional_finds_no_server_error_and_no_answer_off_its_schema(
    settings: Settings, server: ServerProcess, tmp_path: Path
) -> None:
    """A doctor's software, authorised on a holder's space: their own routes and the space's through
    the access matrix (the holder's side of the professionals' routes answers them 403)."""
    person = await sign_in_person(settings, given_name="Fuzz")
    doctor = await sign_in_pro(settings, GP)
    await authorise_directly(person, doctor)
    selection = ["--include-tag", "professionals", "--include-tag", "vitals", "--include-tag", "vaccination"]
    status, output = await _schemathesis(server, doctor.token, tmp_path, *selection, space=str(person.space_id))
    print(output[output.find("Test cases:") :])  # shown with -s: how many cases ran
    assert status == 0, output[-6000:]
