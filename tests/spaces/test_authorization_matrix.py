"""Every /v1 route of the running app by every kind of caller → the answer the table of rights gives.

The routes come from the app itself (a route added without a rule here fails the test); the table
of rights and the route → action map below are this test's own copies, written from the issue's
table (DOMAIN.md §2), not imported from ``ens.spaces.rights``: a change there that the table does
not say fails here.

"Allowed" means the door let the caller through: the answer is whatever the handler makes of a
harmless request (a malformed body, an unknown id), never 401, 403 or the door's 404.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import httpx
import pytest
from litestar import Litestar

from ens.auth.tokens import AccessTokens
from ens.core import clock, db
from ens.core.settings import Settings
from ens.spaces.caller import Caller
from ens.vitals.catalogue import TYPE_CODES
from tests.helpers.carers import (
    consent_until,
    court_measure,
    create_child_space,
    join_as_second_parent,
    set_birthdate,
    today_in_paris,
    years_before,
)
from tests.helpers.people import Person, grant_app, sign_in_person

# ---------------------------------------------------------------------------------------------
# The test's own copy of the table (issue 12, point 4)

READ, WRITE_DATA, WRITE_DIRECTIVES, TRUSTED_PERSON = "read", "write_data", "write_directives", "trusted_person"
MANAGE_ACCESS, CLOSE_REOPEN, ERASE, INVITE = "manage_access", "close_reopen", "erase", "invite"
HAND_OVER, LEAVE, CONSENT, HIDE = "hand_over", "leave", "record_consent", "hide"

TABLE: dict[str, set[str]] = {
    "holder": {READ, WRITE_DATA, WRITE_DIRECTIVES, TRUSTED_PERSON, MANAGE_ACCESS, CLOSE_REOPEN, ERASE, CONSENT, HIDE},
    "parent": {READ, WRITE_DATA, MANAGE_ACCESS, CLOSE_REOPEN, ERASE, INVITE, HAND_OVER, LEAVE},
    "tutelle": {READ, WRITE_DATA, MANAGE_ACCESS, CLOSE_REOPEN},
    "curatelle": {READ},
    "curatelle_without_consent": set(),
    "habilitation_familiale": {READ, WRITE_DATA, MANAGE_ACCESS},
}


@dataclass(frozen=True)
class SpaceRoute:
    action: str
    # The scope mode an app needs on the route's capability (None: apps never reach it).
    app: Literal["read", "write"] | None = None
    capability: str | None = None


@dataclass(frozen=True)
class AccountRoute:
    """Behind the account door: any signed-in person, never an app."""


@dataclass(frozen=True)
class PublicRoute:
    """No token needed."""


@dataclass(frozen=True)
class AnyTokenRoute:
    """Any valid token, a person's or an app's (the tests' own route that answers a secret)."""


Rule = SpaceRoute | AccountRoute | PublicRoute | AnyTokenRoute

RULES: dict[str, Rule] = {
    # The space
    "getSpaceSummary": SpaceRoute(READ),
    "closeSpace": SpaceRoute(CLOSE_REOPEN),
    "reopenSpace": SpaceRoute(CLOSE_REOPEN),
    "listAccessHistory": SpaceRoute(READ),
    # Representatives and apps
    "listRepresentatives": SpaceRoute(READ),
    "inviteParent": SpaceRoute(INVITE),
    "leaveRepresentation": SpaceRoute(LEAVE),
    "recordCuratorConsent": SpaceRoute(CONSENT),
    "createClaimCode": SpaceRoute(HAND_OVER),
    "listGrants": SpaceRoute(READ),
    "revokeGrant": SpaceRoute(MANAGE_ACCESS),
    # Vitals
    "listVitals": SpaceRoute(READ, "read", "vitals"),
    "recordVitals": SpaceRoute(WRITE_DATA, "write", "vitals"),
    "getVitalsChanges": SpaceRoute(READ, "read", "vitals"),
    "getVitalsSummary": SpaceRoute(READ, "read", "vitals"),
    "getVital": SpaceRoute(READ, "read", "vitals"),
    "correctVital": SpaceRoute(WRITE_DATA, "write", "vitals"),
    "deleteVital": SpaceRoute(WRITE_DATA, "write", "vitals"),
    # Records: directives and the trusted person are the holder's own acts
    "getDirectives": SpaceRoute(READ),
    "listDirectiveVersions": SpaceRoute(READ),
    "writeDirectives": SpaceRoute(WRITE_DIRECTIVES),
    "revokeDirectives": SpaceRoute(WRITE_DIRECTIVES),
    "confirmDirectives": SpaceRoute(WRITE_DIRECTIVES),
    "getTrustedPerson": SpaceRoute(READ),
    "listFormerTrustedPersons": SpaceRoute(READ),
    "designateTrustedPerson": SpaceRoute(TRUSTED_PERSON),
    "removeTrustedPerson": SpaceRoute(TRUSTED_PERSON),
    "listEmergencyContacts": SpaceRoute(READ),
    "getEmergencyContact": SpaceRoute(READ),
    "addEmergencyContact": SpaceRoute(WRITE_DATA),
    "changeEmergencyContact": SpaceRoute(WRITE_DATA),
    "removeEmergencyContact": SpaceRoute(WRITE_DATA),
    "getDoctor": SpaceRoute(READ),
    "setDoctor": SpaceRoute(WRITE_DATA),
    "removeDoctor": SpaceRoute(WRITE_DATA),
    **{
        f"{verb}{entry}": SpaceRoute(READ if verb in ("list", "get") else WRITE_DATA)
        for verb, entries in {
            "list": ("Conditions", "Allergies", "Treatments", "FamilyHistory"),
            "get": ("Condition", "Allergy", "Treatment", "FamilyHistoryEntry"),
            "add": ("Condition", "Allergy", "Treatment", "FamilyHistoryEntry"),
            "change": ("Condition", "Allergy", "Treatment", "FamilyHistoryEntry"),
            "remove": ("Condition", "Allergy", "Treatment", "FamilyHistoryEntry"),
        }.items()
        for entry in entries
    },
    # Documents: apps read and add with a documents scope; hiding and removing are persons' acts
    "listDocuments": SpaceRoute(READ, "read", "documents"),
    "addDocument": SpaceRoute(WRITE_DATA, "write", "documents"),
    "getDocument": SpaceRoute(READ, "read", "documents"),
    "getDocumentContent": SpaceRoute(READ, "read", "documents"),
    "changeDocumentMasking": SpaceRoute(WRITE_DATA),
    "deleteDocument": SpaceRoute(WRITE_DATA),
    # Vaccination
    "listVaccinations": SpaceRoute(READ, "read", "vaccination"),
    "getVaccination": SpaceRoute(READ, "read", "vaccination"),
    "getVaccinationSchedule": SpaceRoute(READ, "read", "vaccination"),
    "recordVaccination": SpaceRoute(WRITE_DATA, "write", "vaccination"),
    "updateVaccination": SpaceRoute(WRITE_DATA, "write", "vaccination"),
    "deleteVaccination": SpaceRoute(WRITE_DATA, "write", "vaccination"),
    # The tests' own capability (tests/helpers/routes_for_tests.py)
    "createTestNote": SpaceRoute(WRITE_DATA, "write", "test-notes"),
    "writeThenFailTestNote": SpaceRoute(WRITE_DATA, "write", "test-notes"),
    "getTestNote": SpaceRoute(READ, "read", "test-notes"),
    "replaceTestNote": SpaceRoute(WRITE_DATA, "write", "test-notes"),
    "deleteTestNote": SpaceRoute(WRITE_DATA, "write", "test-notes"),
    # Account
    "getMe": AccountRoute(),
    "listSessions": AccountRoute(),
    "revokeSession": AccountRoute(),
    "renewRecoveryCodes": AccountRoute(),
    "createChildSpace": AccountRoute(),
    "acceptInvitation": AccountRoute(),
    "claimSpace": AccountRoute(),
    "getNotificationPreferences": AccountRoute(),
    "setNotificationPreferences": AccountRoute(),
    # Public
    "listApps": PublicRoute(),
    "listVitalTypes": PublicRoute(),
    "listDocumentTypes": PublicRoute(),
    "listVaccines": PublicRoute(),
    "createTestSecret": AnyTokenRoute(),
}

# ---------------------------------------------------------------------------------------------
# The callers


@dataclass(frozen=True)
class CallerCase:
    name: str
    headers: dict[str, str]
    space: uuid.UUID
    # A person's kind on ``space`` per the table; "invisible" (404); "app"; "no_token"/"expired" (401).
    kind: str
    # For apps: the scopes' capabilities and modes, e.g. {("vitals", "read")}; "revoked" apps: 401.
    opens: frozenset[tuple[str, str]] = frozenset()
    revoked: bool = False


@pytest.fixture(scope="module")
async def callers(client: httpx.AsyncClient, settings: Settings) -> list[CallerCase]:
    async def person(birth_year: int = 1980) -> Person:
        return await sign_in_person(settings, birthdate=today_in_paris().replace(year=birth_year, day=1))

    holder, other = await person(), await person()
    tutor, curator, curator_no_consent, property_only, family, expired_tutor = [await person() for _ in range(6)]
    await court_measure(holder, tutor, "tutelle")
    consented = await court_measure(holder, curator, "curatelle")
    await consent_until(consented, clock.now() + timedelta(days=30))
    await court_measure(holder, curator_no_consent, "curatelle")
    await court_measure(holder, property_only, "tutelle", relates_to="property")
    await court_measure(holder, family, "habilitation_familiale")
    await court_measure(
        holder,
        expired_tutor,
        "tutelle",
        since=today_in_paris() - timedelta(days=400),
        until=today_in_paris() - timedelta(days=1),
    )
    parent, second_parent = await person(), await person()
    child = await create_child_space(client, parent)
    assert (await join_as_second_parent(client, parent, second_parent, child)).status_code == 200
    # Two children coming of age: one today (the parent's right has ended), one tomorrow.
    parent_on_birthday, parent_day_before = await person(), await person()
    turning_today = await create_child_space(client, parent_on_birthday, given_name="Tom")
    await set_birthdate(turning_today, years_before(today_in_paris(), 18))
    turning_tomorrow = await create_child_space(client, parent_day_before, given_name="Zoé")
    await set_birthdate(turning_tomorrow, years_before(today_in_paris() + timedelta(days=1), 18))

    every_scope = [f"vitals.{code}:{mode}" for code in TYPE_CODES for mode in ("read", "write")]
    every_scope += ["test-notes:read", "test-notes:write", "vaccinations:read", "vaccinations:write"]
    every_scope += ["documents:read", "documents:write"]
    right_app = await grant_app(settings, holder, every_scope)
    narrow_app = await grant_app(settings, holder, ["vitals.body_weight:read"])
    elsewhere_app = await grant_app(settings, other, every_scope)
    revoked_app = await grant_app(settings, holder, every_scope)
    await db.fetch("UPDATE grants SET revoked_at = {} WHERE id = {}", clock.now(), revoked_app.grant_id)
    expired = AccessTokens(settings).issue(
        Caller(
            kind="person",
            account_id=holder.account_id,
            grant_id=holder.grant_id,
            client_id="ens-mobile",
            scopes=frozenset({"space"}),
        ),
        ttl=-1,
    )
    everything = frozenset(
        (capability, mode)
        for capability in ("vitals", "test-notes", "vaccination", "documents")
        for mode in ("read", "write")
    )
    space = holder.space_id
    return [
        CallerCase("holder", holder.headers, space, "holder"),
        CallerCase("other holder", other.headers, space, "invisible"),
        CallerCase("parent of a minor", parent.headers, child, "parent"),
        CallerCase("invited second parent", second_parent.headers, child, "parent"),
        CallerCase("parent on the 18th birthday", parent_on_birthday.headers, turning_today, "invisible"),
        CallerCase("parent the day before", parent_day_before.headers, turning_tomorrow, "parent"),
        CallerCase("tutelle", tutor.headers, space, "tutelle"),
        CallerCase("expired guardian", expired_tutor.headers, space, "invisible"),
        CallerCase("curatelle with consent", curator.headers, space, "curatelle"),
        CallerCase("curatelle without consent", curator_no_consent.headers, space, "curatelle_without_consent"),
        CallerCase("property-only measure", property_only.headers, space, "invisible"),
        CallerCase("habilitation familiale", family.headers, space, "habilitation_familiale"),
        CallerCase("app with the right grant", right_app.headers, space, "app", everything),
        CallerCase("app with a wrong scope", narrow_app.headers, space, "app", frozenset({("vitals", "read")})),
        CallerCase("app with another space's grant", elsewhere_app.headers, space, "invisible_app", everything),
        CallerCase("revoked app", revoked_app.headers, space, "app", everything, revoked=True),
        CallerCase("no token", {}, space, "no_token"),
        CallerCase("expired token", {"Authorization": f"Bearer {expired}"}, space, "expired"),
    ]


# ---------------------------------------------------------------------------------------------
# Expected answers

Expect = Literal["allowed", 401, 403, 404]


def expected(rule: Rule, caller: CallerCase) -> Expect:
    if isinstance(rule, PublicRoute):
        return "allowed"
    if caller.kind in ("no_token", "expired"):
        return 401
    if isinstance(rule, AnyTokenRoute):
        return "allowed"
    is_app = caller.kind in ("app", "invisible_app")
    if isinstance(rule, AccountRoute):
        return 403 if is_app else "allowed"
    if caller.kind in ("invisible", "invisible_app"):
        return 404
    if caller.revoked:
        return 401
    if caller.kind == "app":
        return "allowed" if rule.app and (rule.capability, rule.app) in caller.opens else 403
    return "allowed" if rule.action in TABLE[caller.kind] else 403


def _routes(app: Litestar) -> list[tuple[str, str, str]]:
    """(method, path, operationId) of every /v1 route the app serves."""
    found = []
    for route in app.routes:
        if not route.path.startswith("/v1"):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                found.append((method, route.path, str(handler.operation_id)))
    return found


def _path(template: str, space: uuid.UUID) -> str:
    fill: dict[str, Callable[[], str]] = {
        "{space:str}": lambda: str(space),
        "{id:uuid}": lambda: str(uuid.uuid4()),
        "{id:str}": lambda: uuid.uuid4().hex,
        "{session_id:uuid}": lambda: str(uuid.uuid4()),
        "{code:str}": lambda: secrets.token_urlsafe(16),
    }
    path = template
    for placeholder, value in fill.items():
        path = path.replace(placeholder, value())
    assert "{" not in path, f"the matrix does not know how to fill {template}"
    return path


def _outcome(answer: httpx.Response) -> Expect:
    if answer.status_code in (401, 403):
        return answer.status_code  # type: ignore[return-value]
    if answer.status_code == 404 and answer.json().get("detail") == "No such space.":
        return 404
    return "allowed"


def test_every_route_has_a_rule(app: Litestar) -> None:
    served = {operation for _, _, operation in _routes(app)}
    assert served - RULES.keys() == set(), "a /v1 route without a rule in the authorization matrix"
    assert RULES.keys() - served == set(), "rules for routes the app no longer serves"


async def test_every_route_answers_every_caller_as_the_table_says(
    app: Litestar, client: httpx.AsyncClient, callers: list[CallerCase]
) -> None:
    wrong: list[str] = []
    checked = 0
    for method, template, operation in _routes(app):
        rule = RULES[operation]
        for caller in callers:
            # A malformed body: a caller the door lets through gets the handler's 400, nothing changes.
            answer = await client.request(
                method,
                _path(template, caller.space),
                headers={**caller.headers, "Content-Type": "application/json"},
                content=b"{" if method in ("POST", "PUT", "PATCH") else None,
            )
            got, want = _outcome(answer), expected(rule, caller)
            checked += 1
            if got != want:
                wrong.append(f"{method} {template} ({operation}) as {caller.name}: {answer.status_code}, want {want}")
            if operation == "closeSpace" and answer.status_code == 204:
                # Closing worked: open the space again for the callers after this one.
                await db.fetch("UPDATE spaces SET status = 'open', closed_at = NULL WHERE id = {}", caller.space)
    assert not wrong, "\n".join(wrong)
    assert checked == len(_routes(app)) * len(callers)


def test_the_tables_copy_matches_the_issue() -> None:
    """The table above is the issue's: spot checks of its corners, so an edit to it is deliberate."""
    assert TABLE["holder"] - TABLE["parent"] == {WRITE_DIRECTIVES, TRUSTED_PERSON, CONSENT, HIDE}
    assert {kind for kind, rights in TABLE.items() if ERASE in rights} == {"holder", "parent"}
    assert {kind for kind, rights in TABLE.items() if CLOSE_REOPEN in rights} == {"holder", "parent", "tutelle"}
    assert {kind for kind, rights in TABLE.items() if INVITE in rights} == {"parent"}
