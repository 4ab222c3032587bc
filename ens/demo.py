"""``ens demo``: a demo holder to explore the API with (and the login, in dev)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ens.auth.clients import register_app
from ens.auth.dev.identities import DEV_IDENTITIES, as_identity
from ens.auth.dev.token import sign_in_dev_professional
from ens.core import clock, db
from ens.core.api import Cursors
from ens.core.scopes import SCOPES
from ens.core.settings import Settings
from ens.spaces.caller import SPACE_SCOPE, Caller
from ens.spaces.codes import space_of
from ens.spaces.door import SpaceAccess, SpaceRef, space_ref
from ens.spaces.history import AccountAction
from ens.spaces.professionals import authorisation_end
from ens.spaces.representatives import add_representative, create_child_space
from ens.spaces.schemas import ChildSpaceCreate
from ens.spaces.service import create_app_grant, sign_in_identity
from ens.vitals import scopes as vitals_scopes
from ens.vitals.scopes import scope_name
from ens.vitals.service import record_measurements

DEMO_IDENTITY = "camille"
DEMO_SCALE_CLIENT = "demo-scale"
DEMO_SCALE_NAME = "Balance connectée (démo)"
DEMO_SCALE_PUBLISHER = "ENS (démonstration)"
DEMO_SCALE_TYPES = ("body_weight", "blood_pressure", "heart_rate", "steps_per_day")
BATCH = 500


def _stamp(day: date, hour: int, *, minute: int, zone: ZoneInfo) -> str:
    return datetime.combine(day, time(hour, minute), zone).astimezone(UTC).isoformat()


def demo_measures(today: date, zone: ZoneInfo) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A plausible year: the scale app's daily weight, pressure and steps; a few values typed by hand.

    Seeded, and every item carries a ``clientRecordId``, so running ``ens demo`` again changes nothing.
    """
    rng = random.Random(2026)  # noqa: S311 - demo data, not secrets; seeded so reruns are identical
    device = {"manufacturer": "DemoTech", "model": "Balance BT-2", "identifier": "demo-00042"}
    from_app: list[dict[str, Any]] = []
    by_hand: list[dict[str, Any]] = []
    first = today - timedelta(days=365)
    for n in range(365):
        day = first + timedelta(days=n)
        if rng.random() < 0.85:
            trend = 68.4 - 1.8 * n / 365 + 0.6 * ((day.month in (12, 1)) - 0.3)
            from_app.append(
                {
                    "type": "body_weight",
                    "value": round(trend + rng.gauss(0, 0.35), 2),
                    "unit": "kg",
                    "effectiveAt": _stamp(day, 7, minute=rng.randrange(0, 40), zone=zone),
                    "clientRecordId": f"w-{day}",
                    "recordingMethod": "automatic",
                    "device": device,
                }
            )
        if day.weekday() in (0, 3, 5):
            systolic = rng.randrange(112, 136)
            at = _stamp(day, 8, minute=rng.randrange(0, 30), zone=zone)
            from_app.append(
                {
                    "type": "blood_pressure",
                    "components": {"systolic": systolic, "diastolic": systolic - rng.randrange(35, 50)},
                    "unit": "mm[Hg]",
                    "effectiveAt": at,
                    "clientRecordId": f"bp-{day}",
                    "bodyPosition": "sitting",
                    "measurementLocation": "left arm",
                    "device": device,
                }
            )
            from_app.append(
                {
                    "type": "heart_rate",
                    "value": rng.randrange(56, 78),
                    "unit": "/min",
                    "effectiveAt": at,
                    "clientRecordId": f"hr-{day}",
                    "device": device,
                }
            )
        from_app.append(
            {
                "type": "steps_per_day",
                "value": max(800, int(rng.gauss(8200 if day.weekday() < 5 else 11000, 2500))),
                "unit": "1/(24.h)",
                "effectiveAt": _stamp(day, 23, minute=30, zone=zone),
                "clientRecordId": f"steps-{day}",
            }
        )
        if n == 3:
            by_hand.append(
                {"type": "body_height", "value": 1.68, "unit": "m", "effectiveAt": _stamp(day, 9, minute=0, zone=zone)}
            )
        if day.day == 1:
            by_hand.append(
                {
                    "type": "waist_circumference",
                    "value": round(78 - n / 120 + rng.gauss(0, 0.5), 1),
                    "unit": "cm",
                    "effectiveAt": _stamp(day, 8, minute=15, zone=zone),
                }
            )
            by_hand.append(
                {
                    "type": "blood_glucose",
                    "value": round(rng.uniform(0.82, 1.02), 2),
                    "unit": "g/L",
                    "glucoseMoment": "fasting",
                    "effectiveAt": _stamp(day, 7, minute=45, zone=zone),
                    "note": "Lecteur de glycémie, à jeun",
                }
            )
        if 300 <= n < 304:  # a winter cold: temperature and pain typed by hand
            by_hand.append(
                {
                    "type": "body_temperature",
                    "value": round(38.6 - 0.5 * (n - 300) + rng.gauss(0, 0.1), 1),
                    "unit": "Cel",
                    "effectiveAt": _stamp(day, 19, minute=0, zone=zone),
                    "measurementLocation": "oral",
                }
            )
            by_hand.append(
                {
                    "type": "pain_severity",
                    "value": 5 - (n - 300),
                    "unit": "{score}",
                    "effectiveAt": _stamp(day, 19, minute=5, zone=zone),
                }
            )
    for item in by_hand:
        # By type and day, as the app's: the same record whatever day the demo is seeded again (by
        # position in the list, "hand-3" was a height one day and a waist the next: refused).
        item["clientRecordId"] = f"hand-{item['type']}-{item['effectiveAt'][:10]}"
        item["recordingMethod"] = "manual"
    return from_app, by_hand


async def _register_scale_app(settings: Settings, scopes: list[str]) -> None:
    """The scale app as an operator registers a labelled app (``ens apps register``), once: the
    catalogue (``GET /v1/apps``) lists the app the holder sees connected. A public client whose
    redirect URI is any loopback port, so that a script on the developer's machine can play it
    through the real consent flow. Left as it is when there (disabled by an operator: so be it)."""
    known = await db.fetch_one("SELECT client_id FROM oauth_clients WHERE client_id = {}", DEMO_SCALE_CLIENT)
    if known is not None:
        return
    # The registration checks each scope against the registry, which ``ens.app`` fills at start-up
    # and ``ens demo`` never starts: the scale's own (registering them again changes nothing).
    SCOPES.register(vitals_scopes.SCOPES)
    await register_app(
        settings.secret_key,
        client_id=DEMO_SCALE_CLIENT,
        name=DEMO_SCALE_NAME,
        publisher=DEMO_SCALE_PUBLISHER,
        redirect_uris=["http://127.0.0.1/callback"],
        scopes=scopes,
    )


async def _seed_vitals(
    settings: Settings, space_id: UUID, account_id: UUID, *, progress: Progress, today: date | None
) -> tuple[int, int]:
    """The demo scale app (a labelled app with its own grant) and the holder typing by hand: the
    year up to ``today``. Seeded again another day, what is there stays, the new days are added."""
    row = await db.fetch_one(
        "SELECT id, status, timezone, birthdate, sex, given_name, family_name, holder_account_id "
        "FROM spaces WHERE id = {}",
        space_id,
    )
    assert row is not None
    space = SpaceRef(**row)
    scopes = [scope_name(code, mode) for code in DEMO_SCALE_TYPES for mode in ("read", "write")]
    await _register_scale_app(settings, scopes)
    grant_id = await create_app_grant(
        account_id, space_id, client_id=DEMO_SCALE_CLIENT, client_name=DEMO_SCALE_NAME, scopes=scopes
    )
    scale = SpaceAccess(
        space=space,
        caller=Caller(
            kind="app",
            account_id=account_id,
            client_id=DEMO_SCALE_CLIENT,
            grant_id=grant_id,
            scopes=frozenset(scopes),
            space_id=space_id,
        ),
        role="app",
        kind="app",
        # As the door says it: the app then writes as the holder's connection (ens.vitals.ingest.Writer).
        granted_by_holder=account_id == space.holder_account_id,
    )
    holder = _holder(space, account_id)
    zone = ZoneInfo(space.timezone)
    from_app, by_hand = demo_measures(today or datetime.now(zone).date(), zone)
    # What was typed by hand at a time the holder already has (a demo seeded before the keys were
    # by type and day) is there already.
    typed = {
        (str(row["type"]), clock.aware(row["effective_at"]))
        for row in await db.fetch(
            "SELECT type, effective_at FROM vital_measurements WHERE space_id = {} AND recording_method = 'manual'",
            space_id,
        )
    }
    by_hand = [item for item in by_hand if (item["type"], datetime.fromisoformat(item["effectiveAt"])) not in typed]
    task = progress.add_task("A year of measures", total=len(from_app) + len(by_hand))
    created = 0
    for access, items in ((scale, from_app), (holder, by_hand)):
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            result = await record_measurements(access, batch)
            created += sum(item.result == "created" for item in result.items)
            progress.advance(task, len(batch))
    return len(from_app) + len(by_hand), created


DEMO_CHILD = ("Inès", "Dupont", date(2016, 6, 14))


async def _seed_family(settings: Settings) -> tuple[UUID, bool]:
    """Jean Dupont's daughter Inès, a minor: Jean created her space, Léa joined as the other parent.
    Her height and weight typed by hand once a year. Running it again adds nothing."""
    issuer = settings.effective_oidc_issuer
    jean = await sign_in_identity(as_identity(DEV_IDENTITIES["jean"], issuer))
    lea = await sign_in_identity(as_identity(DEV_IDENTITIES["lea"], issuer))
    given_name, family_name, born = DEMO_CHILD
    existing = await db.fetch_one(
        """SELECT s.id FROM representatives r JOIN spaces s ON s.id = r.space_id
           WHERE r.account_id = {} AND r.revoked_at IS NULL AND s.given_name = {} AND s.birthdate = {}""",
        jean.account_id,
        given_name,
        born,
    )
    if existing is not None:
        return db.as_uuid(existing["id"]), False
    caller = Caller(
        kind="person", account_id=jean.account_id, client_id="ens-demo", grant_id=uuid.uuid4(), scopes=frozenset()
    )
    child = await create_child_space(
        jean.account_id,
        ChildSpaceCreate(
            given_name=given_name, family_name=family_name, birthdate=born, sex="female", relationship="parent"
        ),
        noted=AccountAction(caller=caller, action="POST /v1/spaces", request_id="demo"),
    )
    now = datetime.now(UTC)
    async with db.write_transaction():
        await add_representative(
            space_id=child.id,
            account_id=lea.account_id,
            kind="parent",
            since=now,
            until=child.representative_until,
            now=now,
        )
    space = await space_of(child.id)
    parent = SpaceAccess(
        space=space,
        caller=Caller(
            kind="person",
            account_id=jean.account_id,
            client_id="ens-mobile",
            grant_id=uuid.uuid4(),
            scopes=frozenset({SPACE_SCOPE}),
        ),
        role="representative",
        kind="parent",
    )
    zone = ZoneInfo(space.timezone)
    growth = [(2022, 115.0, 20.5), (2023, 121.0, 23.0), (2024, 127.5, 25.8), (2025, 133.0, 29.0), (2026, 138.5, 32.4)]
    items: list[dict[str, Any]] = []
    for year, height, weight in growth:
        at = _stamp(date(year, 9, 15), 18, minute=0, zone=zone)
        items.append({"type": "body_height", "value": height, "unit": "cm", "effectiveAt": at})
        items.append({"type": "body_weight", "value": weight, "unit": "kg", "effectiveAt": at})
    await record_measurements(parent, items)
    return child.id, True


def _holder(space: SpaceRef, account_id: UUID) -> SpaceAccess:
    """The holder, signed in to the phone app, as the door would let them in."""
    caller = Caller(
        kind="person",
        account_id=account_id,
        client_id="ens-mobile",
        grant_id=uuid.uuid4(),
        scopes=frozenset({SPACE_SCOPE}),
    )
    return SpaceAccess(
        space=space, caller=caller, role="holder", kind="holder", actor_name=f"{space.given_name} {space.family_name}"
    )


# Camille's booklet, copied from her paper one: (vaccine of the catalogue, or a name and its diseases), day.
DEMO_BOOKLET: list[tuple[str, tuple[str, ...], str]] = [
    ("DTCoq-Polio", ("diphtheria", "tetanus", "pertussis", "polio"), "1986-06-12"),
    ("DTCoq-Polio", ("diphtheria", "tetanus", "pertussis", "polio"), "1986-08-14"),
    ("DTCoq-Polio", ("diphtheria", "tetanus", "pertussis", "polio"), "1987-03-16"),
    ("ROR", ("measles", "mumps", "rubella"), "1987-04-20"),
    ("DT Polio", ("diphtheria", "tetanus", "polio"), "1992-05-05"),
    ("ROR", ("measles", "mumps", "rubella"), "1992-05-05"),
    ("ENGERIX B 20", (), "1998-01-12"),
    ("ENGERIX B 20", (), "1998-02-12"),
    ("ENGERIX B 20", (), "1998-08-12"),
    ("dT Polio", ("diphtheria", "tetanus", "polio"), "1998-09-10"),
    ("REPEVAX", (), "2011-05-03"),
]


async def _seed_vaccinations(space_id: UUID, account_id: UUID) -> int:
    """Camille's booklet; an entry already there (same vaccine, same day) is left as it is."""
    from ens.core.errors import Conflict
    from ens.vaccination.schemas import VaccinationCreate
    from ens.vaccination.service import record_vaccination, search_vaccines

    row = await db.fetch_one(
        "SELECT id, status, timezone, birthdate, sex, given_name, family_name, holder_account_id "
        "FROM spaces WHERE id = {}",
        space_id,
    )
    assert row is not None
    holder = _holder(SpaceRef(**row), account_id)
    created = 0
    for name, diseases, day in DEMO_BOOKLET:
        listed = [] if diseases else (await search_vaccines(Cursors("demo"), q=name, limit=1, cursor=None)).items
        body = (
            VaccinationCreate(vaccine_id=listed[0].id, date=day, administered_by="Médecin traitant")
            if listed
            else VaccinationCreate(vaccine_name=name, diseases=list(diseases), date=day)
        )
        try:
            await record_vaccination(holder, body)
            created += 1
        except Conflict:
            pass
    return created


async def _seed_doctor_authorisation(settings: Settings, space_id: UUID, holder_id: UUID) -> None:
    """Camille has authorised her doctor, the test professional Claire Bernard, for a year (once)."""

    professional_id = await sign_in_dev_professional(settings, "dr-bernard")
    known = await db.fetch_one(
        "SELECT id FROM space_professionals WHERE space_id = {} AND professional_id = {}", space_id, professional_id
    )
    if known is not None:
        return
    now = clock.now()
    space = await db.fetch_one("SELECT * FROM spaces WHERE id = {}", space_id)
    assert space is not None
    await db.fetch(
        "INSERT INTO space_professionals (space_id, id, professional_id, status, since, until, decided_by, "
        "created_at, updated_at) VALUES ({}, {}, {}, 'authorised', {}, {}, {}, {}, {})",
        space_id,
        uuid.uuid4(),
        professional_id,
        now,
        authorisation_end(space_ref(space), now=now),
        holder_id,
        now,
        now,
    )


async def seed_demo(settings: Settings, *, today: date | None = None) -> None:
    """Create (or refresh) the demo holder's account and space, then say how to use them; its year
    of measures ends ``today`` (the day it is in the space's time zone by default)."""
    console = Console(soft_wrap=True)  # commands stay copyable on one line
    async with db.connected(settings):
        identity = DEV_IDENTITIES[DEMO_IDENTITY]
        columns = (
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("Demo holder", total=1)
            signed_in = await sign_in_identity(as_identity(identity, settings.effective_oidc_issuer))
            progress.advance(task)
            measures, created = await _seed_vitals(
                settings, signed_in.space_id, signed_in.account_id, progress=progress, today=today
            )
            child_id, child_created = await _seed_family(settings)
            vaccinations = await _seed_vaccinations(signed_in.space_id, signed_in.account_id)
            await _seed_doctor_authorisation(settings, signed_in.space_id, signed_in.account_id)
        console.print(f"Demo holder: {identity.given_name} {identity.family_name}, space {signed_in.space_id}")
        console.print(
            f"Demo family: Jean and Léa Dupont, parents of Inès (born 2016), space {child_id}"
            + ("" if child_created else " (already there)")
        )
        console.print(
            f"Vitals: {measures} measures over a year ({created} new), from the app '{DEMO_SCALE_NAME}' and by hand"
        )
        console.print(f"Vaccination booklet: {len(DEMO_BOOKLET)} entries from a paper booklet ({vaccinations} new)")
        console.print("Try it:")
        console.print(f"  TOKEN=$(ENS_ENV=dev .venv/bin/ens dev token {DEMO_IDENTITY})   # or: TOKEN=$(make -s token)")
        console.print(f'  curl -H "Authorization: Bearer $TOKEN" {settings.public_url}/v1/me')
        console.print(f'  curl -H "Authorization: Bearer $TOKEN" {settings.public_url}/v1/spaces/me')
        vitals = f"{settings.public_url}/v1/spaces/me/vitals"
        console.print(f'  curl -H "Authorization: Bearer $TOKEN" "{vitals}?type=body_weight&limit=5"')
        console.print(f'  curl -H "Authorization: Bearer $TOKEN" "{vitals}/summary?type=body_weight&bucket=month"')
        booklet = f"{settings.public_url}/v1/spaces/me/vaccinations"
        console.print(f'  curl -H "Authorization: Bearer $TOKEN" "{booklet}/schedule"')
        console.print(
            f'  curl -H "Authorization: Bearer $TOKEN" -H "Accept: application/pdf" -o certificat.pdf "{booklet}"'
        )
        console.print(
            "As Camille's doctor (Claire Bernard, authorised for a year; the test professionals are "
            "dr-bernard, infirmier-petit, pharmacienne-roux, sage-femme-moreau):"
        )
        console.print("  PRO=$(ENS_ENV=dev .venv/bin/ens dev token dr-bernard)")
        console.print(f'  curl -H "Authorization: Bearer $PRO" {settings.public_url}/v1/pro/patients')
        console.print("As a parent (Jean), Inès's space is listed in /v1/me:")
        console.print("  TOKEN=$(make -s token IDENTITY=jean)")
        console.print(f'  curl -H "Authorization: Bearer $TOKEN" {settings.public_url}/v1/me')
