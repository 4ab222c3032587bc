"""Every /v1 route of the running app by every kind of caller → the answer the table of rights gives
(and, for health professionals, the access matrix).

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
from tests.helpers.professionals import (
    authorise,
    authorised_on,
    emergency_hours_ago,
    open_emergency,
    sign_in_pro,
)

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


# The test's own copy of the access matrix (issue 13, point 3): who reads, who writes each resource,
# by TRE_G15 profession code. Written from the README's table, not imported from the product.
GP, PHARMACIST, DENTIST, MIDWIFE, NURSE, PHYSIO, PODIATRIST = "10", "21", "40", "50", "60", "70", "80"
EVERY_PROFESSION = frozenset({GP, PHARMACIST, DENTIST, MIDWIFE, NURSE, PHYSIO, PODIATRIST})
VACCINATORS = frozenset({GP, PHARMACIST, MIDWIFE, NURSE})
PRO_READ: dict[str, frozenset[str]] = {
    "space": EVERY_PROFESSION,
    "vitals": EVERY_PROFESSION,
    "vaccination": VACCINATORS,
    # DOMAIN.md §7: a nurse or a pharmacist reads only what their care needs (treatments, allergies).
    "profile/conditions": frozenset({GP, DENTIST, MIDWIFE}),
    "profile/allergies": frozenset({GP, PHARMACIST, DENTIST, MIDWIFE, NURSE}),
    "profile/treatments": frozenset({GP, PHARMACIST, DENTIST, MIDWIFE, NURSE}),
    "profile/family-history": frozenset({GP, MIDWIFE}),
    "directives": frozenset({GP, MIDWIFE, NURSE}),
    "trusted-person": frozenset({GP, MIDWIFE, NURSE}),
    "emergency-contacts": EVERY_PROFESSION,
    "doctor": EVERY_PROFESSION,
    "documents": EVERY_PROFESSION,
}
PRO_WRITE: dict[str, frozenset[str]] = {
    "vitals": frozenset({GP, MIDWIFE, NURSE}),
    "vaccination": VACCINATORS,
    **dict.fromkeys(
        ("profile/conditions", "profile/allergies", "profile/treatments", "profile/family-history"),
        frozenset({GP, MIDWIFE}),
    ),
    "documents": EVERY_PROFESSION,
}

# Which resource each space route works on (the test's own map; the matrix is by resource, and the
# medical profile's lists one by one).
PROFILE_OPERATIONS = {
    f"{verb}{entry}": f"profile/{part}"
    for part, plural, singular in (
        ("conditions", "Conditions", "Condition"),
        ("allergies", "Allergies", "Allergy"),
        ("treatments", "Treatments", "Treatment"),
        ("family-history", "FamilyHistory", "FamilyHistoryEntry"),
    )
    for verb, entry in (
        ("list", plural),
        ("get", singular),
        ("add", singular),
        ("change", singular),
        ("remove", singular),
    )
}
ROUTE_RESOURCE: dict[str, str] = {
    **dict.fromkeys(("getSpaceSummary", "closeSpace", "reopenSpace"), "space"),
    "listAccessHistory": "access-history",
    "exportSpace": "export",
    "importSpace": "import",
    **dict.fromkeys(
        ("listRepresentatives", "inviteParent", "leaveRepresentation", "recordCuratorConsent", "createClaimCode"),
        "representatives",
    ),
    **dict.fromkeys(("listGrants", "revokeGrant"), "grants"),
    **dict.fromkeys(
        (
            "listVitals",
            "recordVitals",
            "getVitalsChanges",
            "getVitalsSummary",
            "getVital",
            "correctVital",
            "deleteVital",
        ),
        "vitals",
    ),
    **dict.fromkeys(
        ("getDirectives", "listDirectiveVersions", "writeDirectives", "revokeDirectives", "confirmDirectives"),
        "directives",
    ),
    **dict.fromkeys(
        ("getTrustedPerson", "listFormerTrustedPersons", "designateTrustedPerson", "removeTrustedPerson"),
        "trusted-person",
    ),
    **dict.fromkeys(
        (
            "listEmergencyContacts",
            "getEmergencyContact",
            "addEmergencyContact",
            "changeEmergencyContact",
            "removeEmergencyContact",
        ),
        "emergency-contacts",
    ),
    **dict.fromkeys(("getDoctor", "setDoctor", "removeDoctor"), "doctor"),
    **PROFILE_OPERATIONS,
    **dict.fromkeys(
        (
            "listVaccinations",
            "getVaccination",
            "getVaccinationSchedule",
            "recordVaccination",
            "updateVaccination",
            "deleteVaccination",
        ),
        "vaccination",
    ),
    **dict.fromkeys(
        (
            "listDocuments",
            "addDocument",
            "getDocument",
            "getDocumentContent",
            "changeDocumentMasking",
            "deleteDocument",
        ),
        "documents",
    ),
    **dict.fromkeys(
        ("createTestNote", "writeThenFailTestNote", "slowTestNote", "getTestNote", "replaceTestNote", "deleteTestNote"),
        "test-note",
    ),
    **dict.fromkeys(
        (
            "listProfessionals",
            "authoriseProfessional",
            "getProfessional",
            "renewProfessional",
            "revokeProfessional",
            "blockProfessional",
            "getEmergencyAccessSetting",
            "setEmergencyAccessSetting",
        ),
        "professionals",
    ),
    **dict.fromkeys(("listAccessRequests", "approveAccessRequest", "refuseAccessRequest"), "access-requests"),
}


@dataclass(frozen=True)
class SpaceRoute:
    action: str
    # The scope mode an app needs on the route's capability (None: apps never reach it).
    app: Literal["read", "write"] | None = None
    capability: str | None = None


@dataclass(frozen=True)
class OwnSpaceRoute:
    """The FHIR door (/fhir): the caller's own space (an app's: the one its grant names), through
    the same space door; a person is its holder there."""

    action: str
    app: Literal["read", "write"]
    capability: str


@dataclass(frozen=True)
class AccountRoute:
    """Behind the account door: any signed-in person, never an app."""


@dataclass(frozen=True)
class PublicRoute:
    """No token needed."""


@dataclass(frozen=True)
class AnyTokenRoute:
    """Any valid token, a person's or an app's (the tests' own route that answers a secret)."""


@dataclass(frozen=True)
class ProRoute:
    """Behind the professional door: a professional's software token, never a person or an app."""


Rule = SpaceRoute | OwnSpaceRoute | AccountRoute | PublicRoute | AnyTokenRoute | ProRoute

RULES: dict[str, Rule] = {
    # The space
    "getSpaceSummary": SpaceRoute(READ),
    "closeSpace": SpaceRoute(CLOSE_REOPEN),
    "reopenSpace": SpaceRoute(CLOSE_REOPEN),
    "listAccessHistory": SpaceRoute(READ),
    "exportSpace": SpaceRoute(READ),
    "importSpace": SpaceRoute(WRITE_DATA),
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
    "slowTestNote": SpaceRoute(WRITE_DATA, "write", "test-notes"),
    "getTestNote": SpaceRoute(READ, "read", "test-notes"),
    "replaceTestNote": SpaceRoute(WRITE_DATA, "write", "test-notes"),
    "deleteTestNote": SpaceRoute(WRITE_DATA, "write", "test-notes"),
    # Professionals: the holder's side (managing access), behind the space door
    "listProfessionals": SpaceRoute(READ),
    "authoriseProfessional": SpaceRoute(MANAGE_ACCESS),
    "getProfessional": SpaceRoute(READ),
    "renewProfessional": SpaceRoute(MANAGE_ACCESS),
    "revokeProfessional": SpaceRoute(MANAGE_ACCESS),
    "blockProfessional": SpaceRoute(MANAGE_ACCESS),
    "getEmergencyAccessSetting": SpaceRoute(READ),
    "setEmergencyAccessSetting": SpaceRoute(MANAGE_ACCESS),
    "listAccessRequests": SpaceRoute(READ),
    "approveAccessRequest": SpaceRoute(MANAGE_ACCESS),
    "refuseAccessRequest": SpaceRoute(MANAGE_ACCESS),
    # Professionals: their own side
    "listPatients": ProRoute(),
    "requestPatientAccess": ProRoute(),
    "openEmergencyAccess": ProRoute(),
    # The FHIR door of the measures
    "fhirTransaction": OwnSpaceRoute(WRITE_DATA, "write", "vitals"),
    "fhirReadObservation": OwnSpaceRoute(READ, "read", "vitals"),
    "fhirSearchObservations": OwnSpaceRoute(READ, "read", "vitals"),
    "fhirCapabilityStatement": PublicRoute(),
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
    # A person's kind on ``space`` per the table; "invisible" (404); "app"; "no_token"/"expired" (401);
    # "professional" (authorised) or "professional_emergency", of ``profession``; "pro_invisible" (404).
    kind: str
    # For apps: the scopes' capabilities and modes, e.g. {("vitals", "read")}; "revoked" apps: 401.
    opens: frozenset[tuple[str, str]] = frozenset()
    revoked: bool = False
    profession: str = ""


@pytest.fixture(scope="module")
async def callers(client: httpx.AsyncClient, settings: Settings) -> list[CallerCase]:
    async def person(birth_year: int = 1980) -> Person:
        return await sign_in_person(settings, birthdate=today_in_paris().replace(year=birth_year, day=1))

    holder, other = await person(), await person()
    tutor, curator, curator_no_consent, property_only, family, expired_tutor = [await person() for _ in range(6)]
    await court_measure(holder, tutor, "tutelle")
    consented = await court_measure(holder, curator, "curatelle")
    await consent_until(holder, consented, clock.now() + timedelta(days=30))
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
    professionals = await _professional_callers(client, settings, holder)
    return [
        *professionals,
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


async def _professional_callers(client: httpx.AsyncClient, settings: Settings, holder: Person) -> list[CallerCase]:
    """Each profession authorised on the holder's space, and the edges of a professional's access:
    the last day and the anniversary (day 366) of an authorisation, revoked, blocked, emergency
    within and after 24 hours, blocked during an emergency, emergency after the holder forbade it."""
    space = holder.space_id
    cases: list[CallerCase] = []
    for profession in sorted(EVERY_PROFESSION):
        pro = await sign_in_pro(settings, profession)
        await authorise(client, holder, pro)
        cases.append(
            CallerCase(
                f"authorised professional {profession}", pro.headers, space, "professional", profession=profession
            )
        )
    today = today_in_paris()
    last_day, anniversary, revoked, blocked = [await sign_in_pro(settings, GP) for _ in range(4)]
    for pro in (last_day, anniversary, revoked, blocked):
        await authorise(client, holder, pro)
    await authorised_on(space, last_day, years_before(today, 1) + timedelta(days=1))
    await authorised_on(space, anniversary, years_before(today, 1))
    entries = {
        row["nationalId"]: row["id"]
        for row in (await client.get(f"/v1/spaces/{space}/professionals", headers=holder.headers)).json()["items"]
    }
    assert (
        await client.delete(f"/v1/spaces/{space}/professionals/{entries[revoked.national_id]}", headers=holder.headers)
    ).status_code == 204
    assert (
        await client.post(
            f"/v1/spaces/{space}/professionals/{entries[blocked.national_id]}/block", headers=holder.headers
        )
    ).status_code == 200
    emergency, stale_emergency, blocked_in_emergency = [await sign_in_pro(settings, NURSE) for _ in range(3)]
    for pro in (emergency, stale_emergency, blocked_in_emergency):
        assert (await open_emergency(client, pro, space)).status_code == 201
    await emergency_hours_ago(space, stale_emergency, 24.01)
    await emergency_hours_ago(space, emergency, 23.9)
    listed = {
        row["nationalId"]: row["id"]
        for row in (await client.get(f"/v1/spaces/{space}/professionals", headers=holder.headers)).json()["items"]
    }
    assert (
        await client.post(
            f"/v1/spaces/{space}/professionals/{listed[blocked_in_emergency.national_id]}/block", headers=holder.headers
        )
    ).status_code == 200
    # Another holder forbids emergency access while a pharmacist's runs.
    cautious = await sign_in_person(settings, birthdate=today.replace(year=1975, day=1))
    forbidden = await sign_in_pro(settings, PHARMACIST)
    assert (await open_emergency(client, forbidden, cautious.space_id)).status_code == 201
    switched = await client.put(
        f"/v1/spaces/{cautious.space_id}/emergency-access", json={"allowed": False}, headers=cautious.headers
    )
    assert switched.status_code == 200, switched.text
    return [
        *cases,
        CallerCase("professional on the last day of the year", last_day.headers, space, "professional", profession=GP),
        CallerCase("professional on the anniversary (day 366)", anniversary.headers, space, "pro_invisible"),
        CallerCase("revoked professional", revoked.headers, space, "pro_invisible"),
        CallerCase("blocked professional", blocked.headers, space, "pro_invisible"),
        CallerCase(
            "emergency access within 24 h", emergency.headers, space, "professional_emergency", profession=NURSE
        ),
        CallerCase("emergency access after 24 h", stale_emergency.headers, space, "pro_invisible"),
        CallerCase("blocked during an emergency access", blocked_in_emergency.headers, space, "pro_invisible"),
        CallerCase("emergency access forbidden by the holder", forbidden.headers, cautious.space_id, "pro_invisible"),
    ]


# ---------------------------------------------------------------------------------------------
# Expected answers

Expect = Literal["allowed", 401, 403, 404]


def expected(rule: Rule, caller: CallerCase, operation: str) -> Expect:
    if isinstance(rule, PublicRoute):
        return "allowed"
    if caller.kind in ("no_token", "expired"):
        return 401
    if isinstance(rule, AnyTokenRoute):
        return "allowed"
    is_app = caller.kind in ("app", "invisible_app")
    is_pro = caller.kind in ("professional", "professional_emergency", "pro_invisible")
    if isinstance(rule, ProRoute):
        return "allowed" if is_pro else 403
    if isinstance(rule, AccountRoute):
        return 403 if is_app or is_pro else "allowed"
    if isinstance(rule, OwnSpaceRoute):
        if is_pro:
            return 404  # a professional has no space of their own for "me" to name
        if caller.revoked:
            return 401
        if is_app:
            return "allowed" if (rule.capability, rule.app) in caller.opens else 403
        return "allowed" if rule.action in TABLE["holder"] else 403
    if caller.kind == "pro_invisible":
        return 404
    if is_pro:
        resource = ROUTE_RESOURCE[operation]
        if rule.action == READ:
            return "allowed" if caller.profession in PRO_READ.get(resource, frozenset()) else 403
        if rule.action != WRITE_DATA or caller.kind == "professional_emergency":
            return 403
        return "allowed" if caller.profession in PRO_WRITE.get(resource, frozenset()) else 403
    if caller.kind in ("invisible", "invisible_app"):
        return 404
    if caller.revoked:
        return 401
    if caller.kind == "app":
        return "allowed" if rule.app and (rule.capability, rule.app) in caller.opens else 403
    return "allowed" if rule.action in TABLE[caller.kind] else 403


def _routes(app: Litestar) -> list[tuple[str, str, str]]:
    """(method, path, operationId) of every /v1 and /fhir route the app serves."""
    found = []
    for route in app.routes:
        if not route.path.startswith(("/v1", "/fhir")):
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
    if answer.status_code == 404:
        body = answer.json()
        # The door's 404: problem+json on /v1, an OperationOutcome on /fhir.
        said = body.get("detail") or next((i.get("diagnostics") for i in body.get("issue", [])), None)
        if said == "No such space.":
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
            got, want = _outcome(answer), expected(rule, caller, operation)
            checked += 1
            if got != want:
                wrong.append(f"{method} {template} ({operation}) as {caller.name}: {answer.status_code}, want {want}")
            if operation == "closeSpace" and answer.status_code == 204:
                # Closing worked: open the space again for the callers after this one.
                await db.fetch("UPDATE spaces SET status = 'open', closed_at = NULL WHERE id = {}", caller.space)
    assert not wrong, "\n".join(wrong)
    assert checked == len(_routes(app)) * len(callers)


def test_every_space_route_names_its_resource(app: Litestar) -> None:
    """A professional's answer depends on the route's resource: the map above knows every one."""
    space_operations = {operation for operation, rule in RULES.items() if isinstance(rule, SpaceRoute)}
    assert space_operations - ROUTE_RESOURCE.keys() == set()


def test_the_tables_copy_matches_the_issue() -> None:
    """The table above is the issue's: spot checks of its corners, so an edit to it is deliberate."""
    assert TABLE["holder"] - TABLE["parent"] == {WRITE_DIRECTIVES, TRUSTED_PERSON, CONSENT, HIDE}
    assert {kind for kind, rights in TABLE.items() if ERASE in rights} == {"holder", "parent"}
    assert {kind for kind, rights in TABLE.items() if CLOSE_REOPEN in rights} == {"holder", "parent", "tutelle"}
    assert {kind for kind, rights in TABLE.items() if INVITE in rights} == {"parent"}
