"""Request and response bodies of the vaccination API (camelCase on the wire)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from ens.core.api import END, VISIBLE, ReadStruct, Struct, said

# Texts a person fills in hold a visible character: not only spaces or invisible ones (the API's rule).
ShortText = Annotated[str, Meta(min_length=1, max_length=255, pattern=VISIBLE)]
Note = Annotated[str, Meta(min_length=1, max_length=2000, pattern=VISIBLE)]
LotNumber = Annotated[str, Meta(min_length=1, max_length=64, pattern=VISIBLE)]
VaccineName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=255,
        pattern=VISIBLE,
        description="A vaccine not taken from GET /v1/vaccines, as the booklet writes it: a brand of the "
        "catalogue (Revaxis) or a generic name or abbreviation (ROR, DT Polio, dTcaP, Hib, Hépatite B, "
        "Pneumocoque, Méningocoque C, HPV, Grippe, Zona, Covid...), accents, case, punctuation and spaces "
        "aside, gets its diseases from the server; another name is kept with none unless diseases are sent",
        examples=["ROR", "DT Polio", "Revaxis"],
    ),
]
BookletDate = Annotated[
    str,
    Meta(
        pattern=said(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?" + END, "not a date: YYYY-MM-DD, or YYYY-MM, or YYYY"),
        description="YYYY-MM-DD, or YYYY-MM / YYYY when an old paper booklet gives no more",
        examples=["2024-03-12", "2009-05", "1998"],
    ),
]
DoseNumber = Annotated[int, Meta(ge=1, le=99, description="Rank of the injection in its series (1 = first)")]
DiseaseCode = Annotated[
    str, Meta(min_length=1, max_length=40, pattern=said(r"^[a-z0-9_]+" + END, "not a disease code (a-z, 0-9 and _)"))
]
NamedDiseases = Annotated[
    list[DiseaseCode],
    Meta(
        description="Only with vaccineName: the diseases the vaccine protects against (codes of the calendar "
        "and of GET /v1/vaccines). Absent, null or empty: the server gives those of the catalogue's brand or "
        "of the generic name, else none (the entry is kept and counts for no dose of the schedule)",
        examples=[["diphtheria", "tetanus", "polio"]],
    ),
]
EntryStatus = Literal["declared", "validated"]
Precision = Literal["year", "month", "day"]
DoseStatus = Literal["done", "due", "overdue", "upcoming", "not_counted", "unknown"]

# ---------------------------------------------------------------------------------------------
# The vaccine catalogue


class VaccineRead(ReadStruct, kw_only=True):
    id: UUID
    brand: str
    cis: str
    atc: str | None
    diseases: list[str]
    marketed: bool


class VaccinePage(ReadStruct, kw_only=True):
    items: list[VaccineRead]
    next_cursor: str | None


# ---------------------------------------------------------------------------------------------
# The booklet


class VaccinationCreate(Struct, kw_only=True):
    """One injection. A vaccine of the catalogue (``vaccineId``), or a free ``vaccineName``: the
    server adds its ``diseases`` when the name is a brand of the catalogue or a generic name of a
    booklet (``ROR``, ``DT Polio``, ``Hépatite B``...); of another name, the entry is kept with none
    (it counts for no dose of the schedule) unless ``diseases`` are sent. The status is never sent:
    the server sets it."""

    vaccine_id: UUID | None = None
    vaccine_name: VaccineName | None = None
    diseases: NamedDiseases | None = None
    date: BookletDate
    dose_number: DoseNumber | None = None
    lot_number: LotNumber | None = None
    administered_by: ShortText | None = None
    location: ShortText | None = None
    note: Note | None = None
    # The holder alone may send it (403 for anyone else): the entry is added hidden from the
    # space's representatives.
    hidden_from_representatives: bool = False


class VaccinationUpdate(Struct, kw_only=True):
    """A correction: absent fields are kept, ``null`` clears an optional one. Changing the vaccine
    (``vaccineId`` or ``vaccineName``) replaces the other; a new ``vaccineName`` without
    ``diseases`` gets them as on creation."""

    vaccine_id: UUID | UnsetType | None = UNSET
    vaccine_name: VaccineName | UnsetType | None = UNSET
    diseases: NamedDiseases | UnsetType | None = UNSET
    date: BookletDate | UnsetType = UNSET
    dose_number: DoseNumber | UnsetType | None = UNSET
    lot_number: LotNumber | UnsetType | None = UNSET
    administered_by: ShortText | UnsetType | None = UNSET
    location: ShortText | UnsetType | None = UNSET
    note: Note | UnsetType | None = UNSET
    # The holder alone (403 for anyone else): hide the entry from the representatives, or show it
    # again. Any entry, an app's or a validated one too.
    hidden_from_representatives: bool | UnsetType = UNSET
    # A professional who may vaccinate validates a declared entry (a paper booklet's, the person's):
    # it becomes theirs, ``validated``, recorded by them. 403 for anyone else, 409 once validated.
    status: Annotated[
        Literal["validated"] | UnsetType,
        Meta(
            description="validated: a professional who may vaccinate validates this declared entry, which then "
            "becomes theirs (recordedBy: them); anyone else 403, an entry validated already 409"
        ),
    ] = UNSET

    def corrects_entry(self) -> bool:
        """Whether this changes the entry itself, not only who may see it."""
        return any(
            getattr(self, name) is not UNSET for name in self.__struct_fields__ if name != "hidden_from_representatives"
        )


class RecordedBy(ReadStruct, kw_only=True):
    """Who wrote the entry: the holder, a representative, an app, a health professional (``name``:
    the person or the app)."""

    role: Literal["holder", "representative", "app", "professional"]
    name: str | None


class VaccinationRead(ReadStruct, kw_only=True):
    id: UUID
    vaccine_id: UUID | None
    vaccine_name: str
    cis: str | None
    atc: str | None
    diseases: list[str]
    date: str
    date_precision: Precision
    dose_number: int | None
    lot_number: str | None
    administered_by: str | None
    location: str | None
    note: str | None
    status: EntryStatus
    recorded_by: RecordedBy
    declared_by: Annotated[
        RecordedBy | None,
        Meta(
            description="Who had declared the entry before a professional validated it (recordedBy is then that "
            "professional); null for an entry never declared before its validation, or not validated"
        ),
    ]
    created_at: datetime
    updated_at: datetime
    # True only in what the holder reads: representatives never receive a hidden entry.
    hidden_from_representatives: bool = False


class VaccinationPage(ReadStruct, kw_only=True):
    items: list[VaccinationRead]
    next_cursor: str | None


# ---------------------------------------------------------------------------------------------
# The schedule


class ScheduleDoseRead(ReadStruct, kw_only=True):
    """A dose of the calendar and where the holder stands with it.

    ``doseId`` names the calendar's rule (``<disease>.<series>``; a catch-up plan's doses
    ``<plan>#n``), ``sourceIds`` its sources (see ``sources``). A rule may have several rows, so
    ``doseId`` is not a row's key: a recurring booster (every 10 years from 75) lists each one, and
    a booklet entry that fills no dose (``not_counted``) repeats the id of the dose it failed to
    fill; a row is ``doseId`` with ``dueFrom`` and ``vaccinationId`` (tested over many birth dates
    and booklets), or its place in the list. ``recommendation`` is the calendar's
    own word (mandatory, recommended, catch_up, may_be_offered); ``obligation`` whether the law
    makes it mandatory for this holder. ``vaccinationId``: the booklet entry it was matched to (or,
    for ``not_counted``, the entry that does not count; none for a dose missed for good, past its
    latest age). ``reason`` says why, in French.
    """

    dose_id: str
    label: str
    status: DoseStatus
    obligation: Literal["mandatory", "recommended"]
    recommendation: str
    due_from: date | None
    due_until: date | None
    overdue_since: date | None
    vaccination_id: UUID | None
    given: str | None
    reason: str
    source_ids: list[str]


class ScheduleDiseaseRead(ReadStruct, kw_only=True):
    disease: str
    label: str
    doses: list[ScheduleDoseRead]


class SourceRead(ReadStruct, kw_only=True):
    id: str
    title: str
    url: str | None
    publisher: str | None


class ScheduleInputs(ReadStruct, kw_only=True):
    """What the engine knew of the holder (``null``: not known, and said in the reasons)."""

    birthdate: date | None
    sex: Literal["female", "male"] | None
    pregnant: bool | None
    gestational_weeks: int | None


class DueCounts(ReadStruct, kw_only=True):
    due: int
    overdue: int


class ScheduleRead(ReadStruct, kw_only=True):
    as_of: date
    edition: str
    inputs: ScheduleInputs
    counts: DueCounts
    diseases: list[ScheduleDiseaseRead]
    sources: list[SourceRead]
