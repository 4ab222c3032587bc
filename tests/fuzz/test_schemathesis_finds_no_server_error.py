"""Fuzzing with schemathesis against the real server (``ens serve``) and its own OpenAPI document,
reaching the code behind the door: ``{space}`` is ``me`` and every call carries a real token.

Run by ``make test`` on PostgreSQL only (marker ``fuzz``: ``scripts/test-all``), with a fixed seed
and a fixed number of examples per operation; ``make fuzz`` runs it deeper and unseeded
(``ENS_FUZZ_DEEP=1``). Checks: no 5xx, every answer conforms to its documented schema, and its
status is one the document lists for the operation (an outside audit of the contract found 400s and
409s it did not list). Destructive operations (closing or erasing the space) run apart, in a space
of their own. Each kind of caller runs: the holder's phone app, a device app, a guardian (tutelle),
a professional. The stateful phase follows the document's links (create -> read -> change ->
remove, ``ens.core.openapi.declare_links``) from a space furnished with one item of each kind.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from ens.core.settings import Settings
from tests.helpers.carers import court_measure
from tests.helpers.documents import pdf, uploaded
from tests.helpers.people import Person, grant_app, sign_in_person
from tests.helpers.professionals import GP, authorise_directly, sign_in_pro
from tests.helpers.records import contact, structured, trusted
from tests.helpers.server import ROOT, ServerProcess, free_port
from tests.helpers.vitals import pressure, weight

pytestmark = pytest.mark.fuzz

DEEP = os.environ.get("ENS_FUZZ_DEEP") == "1"
SEED = "20261201"
EXAMPLES = 200 if DEEP else 40
STATEFUL_EXAMPLES = 500 if DEEP else 150
STATEFUL_STEPS = 12
DESTRUCTIVE = ("closeSpace", "reopenSpace")
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"
STATELESS = "examples,coverage,fuzzing"


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
    # The stateful phase follows the document's links (create -> read -> change -> remove): longer
    # chains and more of them than the default, of valid requests only (invalid ones are the fuzzing
    # phase's; a list asked with an invented query parameter, which /v1 refuses, ended its chain:
    # the guardian's run followed 11 links. Positive only, on the same code: holder 51, guardian 17,
    # doctor 5, 2026-12-04).
    config.write_text(
        f'[parameters]\n"path.space" = "{space}"\n'
        f"[phases.stateful]\nmax-steps = {STATEFUL_STEPS}\n"
        f"[generation]\nmax-examples = {EXAMPLES}\n"
        f'[phases.stateful.generation]\nmax-examples = {STATEFUL_EXAMPLES}\nmode = "positive"\n'
    )
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
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        *([] if DEEP else ["--seed", SEED, "--generation-deterministic"]),
        *selection,
    ]
    # tests/fuzz/schemathesis_hooks.py: each generated Idempotency-Key made unique.
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.schemathesis_hooks", "PYTHONPATH": path}
    process = await asyncio.create_subprocess_exec(
        *command, cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode(errors="replace")


def _summary(output: str) -> str:
    start = output.find("Stateful (")
    return output[start if start >= 0 else output.find("Test cases:") :]


def _links_followed(output: str) -> int:
    """How many of the document's links the stateful phase followed (0 when it did not run), for the
    seeded run's guard that the links and the furnishing still work. An unseeded deep run
    (``make fuzz``) has no such floor: its fuzzing phase, which comes first, may remove every
    furnished item (one such run left every list empty, and its chains followed 13 links); there
    the count is only printed (``_summary``)."""
    found = re.search(r"API Links:\s+(\d+) covered", output)
    return int(found.group(1)) if found else 0


def _excluding(*operation_ids: str) -> list[str]:
    return [argument for op in operation_ids for argument in ("--exclude-operation-id", op)]


async def _furnish(
    server: ServerProcess, person: Person, *, vaccinated: str = "2009", under_tutelle: bool = False
) -> None:
    """A space as a person's looks after a while: measures, directives, a trusted person, contacts,
    the doctor, a profile, a booklet entry. Each list then names a real item, which the document's
    links carry to that item's read, change and removal (the stateful phase). ``under_tutelle``:
    the adult's own directives and trusted person come with the judge's authorisation."""
    space = f"/v1/spaces/{person.space_id}"
    judge: dict[str, Any] = {"protectionAuthorisation": JUDGE} if under_tutelle else {}
    writes: list[tuple[str, str, dict[str, object]]] = [
        ("POST", "/vitals", {"measurements": [weight(72.5, minutes_ago=60 * n) for n in range(1, 4)] + [pressure()]}),
        ("PUT", "/directives", structured(**judge)),
        ("PUT", "/trusted-person", trusted(**judge)),
        ("POST", "/emergency-contacts", contact()),
        ("PUT", "/doctor", {"givenName": "Claire", "familyName": "Bernard", "phone": "01 23 45 67 89"}),
        ("POST", "/profile/conditions", {"label": "Asthme", "since": "2010-03-01"}),
        ("POST", "/profile/allergies", {"substance": "Pénicilline", "reaction": "urticaire"}),
        ("POST", "/profile/treatments", {"medication": "Salbutamol", "dose": "2 bouffées si besoin"}),
        ("POST", "/profile/family-history", {"relative": "mother", "condition": "diabète de type 2"}),
        (
            "POST",
            "/vaccinations",
            {"vaccineName": "Tétanos (carnet papier)", "diseases": ["tetanus"], "date": vaccinated},
        ),
    ]
    async with httpx.AsyncClient(base_url=server.base_url, headers=person.headers, timeout=30) as client:
        for method, path, body in writes:
            answer = await client.request(method, space + path, json=body)
            if answer.status_code == 428:  # furnished before: the change names the version it replaces
                etag = (await client.get(space + path)).headers["etag"]
                answer = await client.request(method, space + path, json=body, headers={"If-Match": etag})
            assert answer.status_code in (200, 201), (path, answer.text)
        await uploaded(client, {}, pdf(), space=person.space_id)


SPACE_PATHS = r"^/v1/spaces/\{space\}/"
JUDGE = {"authority": "judge", "reference": "RG 24/01234", "grantedOn": "2026-02-03"}


async def test_the_phone_app_in_its_space_finds_no_server_error_and_no_answer_off_its_schema(
    settings: Settings, server: ServerProcess, tmp_path: Path
) -> None:
    """Every operation on the holder's space, through every phase; the stateful phase's chains
    (create -> read -> change -> remove) start from a space furnished with one item of each kind.
    Run apart from the rest of the API, whose operations no link joins (the FHIR door, the
    account's settings): with them, the chains spent themselves there and followed 2 links."""
    person = await sign_in_person(settings, given_name="Fuzz")
    await _furnish(server, person)
    selection = [*_excluding(*DESTRUCTIVE), "--include-path-regex", SPACE_PATHS]
    status, output = await _schemathesis(server, person.token, tmp_path, *selection, "--phases", STATELESS)
    assert status == 0, output[-6000:]
    # The stateless phases follow the ids they are given too, and may remove every furnished item
    # (with the fixed seed, how far they go hangs on the day: one night they removed the document
    # and the contact, and the chains then followed 11 links): the chains start from a space
    # furnished again (a booklet entry of another year: the first may still be there).
    await _furnish(server, person, vaccinated="2010")
    status, output = await _schemathesis(server, person.token, tmp_path, *selection, "--phases", "stateful")
    print(_summary(output))  # shown with -s: how many cases and chains ran
    assert status == 0, output[-6000:]
    # 42 links followed when written, with the fixed seed; far fewer means the document's links or
    # the furnishing broke. How many hangs on the clock too: the same code (a3a9d87) followed 25 or
    # more at 09:40 UTC on 2026-12-04 and 19 at 12:20 (measured, cause not found), hence 15.
    assert DEEP or _links_followed(output) >= 15, _summary(output)


async def test_the_phone_app_outside_its_space_finds_no_server_error_and_no_answer_off_its_schema(
    settings: Settings, server: ServerProcess, tmp_path: Path
) -> None:
    """The rest: the account, the catalogues, the FHIR door, the login's and OAuth's endpoints."""
    person = await sign_in_person(settings, given_name="Fuzz")
    selection = [*_excluding(*DESTRUCTIVE), "--exclude-path-regex", SPACE_PATHS]
    status, output = await _schemathesis(server, person.token, tmp_path, *selection)
    print(_summary(output))  # shown with -s: how many cases and chains ran
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
    print(_summary(output))  # shown with -s: how many cases and chains ran
    assert status == 0, output[-6000:]


async def test_closing_and_erasing_a_space_of_its_own_finds_no_server_error(
    settings: Settings, server: ServerProcess, tmp_path: Path
) -> None:
    person = await sign_in_person(settings, given_name="Fuzz")
    selection = [argument for op in DESTRUCTIVE for argument in ("--include-operation-id", op)]
    selection += ["--phases", "examples,coverage,fuzzing"]  # no link joins the two: nothing to chain
    status, output = await _schemathesis(server, person.token, tmp_path, *selection)
    print(_summary(output))  # shown with -s: how many cases and chains ran
    assert status == 0, output[-6000:]


async def test_a_professional_finds_no_server_error_and_no_answer_off_its_schema(
    settings: Settings, server: ServerProcess, tmp_path: Path
) -> None:
    """A doctor's software, authorised on a holder's space: their own routes and every operation of
    the space, through the access matrix (what a general practitioner may not do answers 403)."""
    person = await sign_in_person(settings, given_name="Fuzz")
    doctor = await sign_in_pro(settings, GP)
    await authorise_directly(person, doctor)
    await _furnish(server, person)
    # The space's operations and the professional's own; the rest of the API is the phone app's.
    selection = [*_excluding(*DESTRUCTIVE), "--include-path-regex", r"^/v1/(spaces/\{space\}/|pro/)"]
    status, output = await _schemathesis(server, doctor.token, tmp_path, *selection, space=str(person.space_id))
    print(_summary(output))  # shown with -s: how many cases and chains ran
    assert status == 0, output[-6000:]
    # The floor guards that the links still work for a doctor, most of whose operations answer 403:
    # 27 links when written; on 2026-12-02 the same seeded run followed 9, on 0a131bb (which had
    # passed CI the day before) as on the code after it, with every case passing. The count moves
    # with more than the code; broken links follow 0 to 2.
    assert DEEP or _links_followed(output) >= 5, _summary(output)


async def test_a_guardian_finds_no_server_error_and_no_answer_off_its_schema(
    settings: Settings, server: ServerProcess, tmp_path: Path
) -> None:
    """A guardian (tutelle relating to the person) on the protected adult's space: every operation
    of the space, with what a guardian may and may not do answered by the door (leaving the measure
    is the operator's, so it stays out, as closing does). HEAD on a document's file stays out too:
    with it, this run's deterministic stateful phase ran 16 scenarios and followed 11 links (67 and
    22 without it, 2026-12-04); the holder's run fuzzes it (197 scenarios, 36 links)."""
    person = await sign_in_person(settings, given_name="Fuzz")
    guardian = await sign_in_person(settings, given_name="Tuteur")
    await _furnish(server, person)  # written before the measure: under it, directives need the judge's word
    await court_measure(person, guardian, "tutelle")
    left_out = _excluding(*DESTRUCTIVE, "leaveRepresentation", "headDocumentContent")
    selection = [*left_out, "--include-path-regex", SPACE_PATHS]
    space = str(person.space_id)
    status, output = await _schemathesis(
        server, guardian.token, tmp_path, *selection, "--phases", STATELESS, space=space
    )
    assert status == 0, output[-6000:]
    # As the holder's run: the stateless phases may remove every furnished item (names one line, on
    # 2026-12-06, moved the fixed seed's run so that they did: its chains found every list empty and
    # followed 13 links, 39 the day before). The chains start from a space furnished again.
    await _furnish(server, person, vaccinated="2010", under_tutelle=True)
    status, output = await _schemathesis(
        server, guardian.token, tmp_path, *selection, "--phases", "stateful", space=space
    )
    print(_summary(output))  # shown with -s: how many cases and chains ran
    assert status == 0, output[-6000:]
    assert DEEP or _links_followed(output) >= 15, _summary(output)  # 37 when written
