"""The vaccination API: thin handlers over ``ens.vaccination.service``."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, Request, Response, delete, patch, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from ens.core.api import (
    PDF,
    PUBLIC,
    VARY_ACCEPT,
    CursorParam,
    Cursors,
    LimitParam,
    get_and_head,
    preferred,
    printed,
    with_etag,
)
from ens.core.openapi import also_served_as, problem
from ens.spaces.door import Access, Need
from ens.spaces.rights import Action
from ens.vaccination import service
from ens.vaccination.fhir import FHIR_JSON
from ens.vaccination.schemas import (
    ScheduleRead,
    VaccinationCreate,
    VaccinationPage,
    VaccinationRead,
    VaccinationUpdate,
    VaccinePage,
)

READ = {"need": Need("vaccination", app_scope="read")}
WRITE = {"need": Need("vaccination", action=Action.WRITE_DATA, app_scope="write")}
JSON = "application/json"

IfMatch = Annotated[str | None, HeaderParameter(name="If-Match", required=False)]

SCHEDULE_RULES = (
    "A pure function of the holder's birthdate and sex, the booklet and today (in the space's time zone), following "
    "the French calendar shipped with ENS (each dose names its rule, doseId, and its sources). A dose is due from "
    "its age (or its minimum interval after the dose before it) until the end of its age window, or of its catch-up "
    "when the calendar gives one; overdue after that (overdueSince); upcoming before, with the date. dueFrom is "
    "never after dueUntil: a dose overdue or missed for good is dated by when it was due on its own schedule, not by "
    "when it could now be given; one that can only be given once its recommended age has ended is upcoming with no "
    "dueUntil, its reason saying when that age ended; a seasonal dose the minimum interval after the last injection "
    "pushes past a campaign is for the next one. A dose given before its earliest age, too soon after the one "
    "before, or after its latest age is not_counted, with the reason; so is a dose never given whose latest age has "
    "passed (or the one before it may no longer be given): missed for good, it has no vaccinationId and is in "
    "neither count. A dose past its catch-up limit (the age after which the calendar no longer recommends it in "
    "the general population: the infants' pneumococcal doses after 2 years, Hib after 5, a booster too: the adult "
    "pertussis one, to 39), at any age, and for an adult (from the 18th birthday) a childhood dose (its age and "
    "catch-up ended before 18; not a booster), is not_counted, the calendar no longer recommending it (ENS rule "
    "no_longer_counted; the reason says to see a doctor, who may still give it); a child's dose past its "
    "recommended age with no catch-up limit stays overdue. An entry whose vaccine names no disease (a name ENS "
    "does not know, sent without diseases) fills no dose. Where the calendar states "
    "no earliest age or no minimum interval, that check is not made and the reason says so. A date of the booklet "
    "that gives only a year or a month is read the least favourable way: a check it cannot settle makes the dose "
    "unknown. Rules the calendar leaves open, chosen by ENS (ens/vaccination/data/schedule-rules-fr.json) and stated "
    "in the reasons they shape: an adult booster (25, 45, 65, 75, 85... years) counts when given at most 5 years "
    "before its age or any time after it; a missed booster stays overdue until the next one's age window opens, "
    "which then replaces it; the 10-yearly booster after 65 is due from its age until the next one's; influenza and "
    "Covid-19 autumn campaigns run from 14 October to 31 January (a dose from 1 September counts for the campaign "
    "that follows), the Covid-19 spring one from 14 April to 14 June; the 6-year DTCaP booster counts from 4 years, "
    "the MenACWY booster from 12 months (and 2 months after the dose before), the older adults' RSV dose from 60 "
    "years (earliest_ages); during a pregnancy (pregnant=true) a live vaccine's dose (MMR, varicella) is upcoming, "
    "after the birth, and a pregnancy's dose counts only when given in its weeks; two injections against one "
    "disease on one day are one dose; "
    "a dose whose whole window, its catch-up included, closed before its recommendation to the general population "
    "began in France (recommended_since, which dates each series with its sources: the infants' diphtheria, "
    "tetanus, polio and pertussis doses, each on its own, the infants' conjugate pneumococcal doses, Hib, hepatitis "
    "B, MMR, MenC, the adolescents' MenACWY dose) is not listed unless the "
    "booklet filled it, and one whose window was still open that day is due from it, its reason saying so (a year or "
    "month alone counts from its first day). What the rule needs and the space does not say (sex, a pregnancy, its "
    "week, a condition such as no history of varicella) makes the dose unknown, with the reason; sex, pregnant and "
    "gestationalWeeks may be given here when the space lacks them. obligation is mandatory for the doses the law "
    "requires of this holder: the calendar's obligation by birth cohort (from 2018), and for a minor born before 1 "
    "January 2018 the primary series and first booster of diphtheria, tetanus and polio (CSP L3111-2 and L3111-3 "
    "before the loi n° 2017-1836), said in the reason; an adult born before 2018 has none."
)


@get_and_head(
    "/v1/vaccines",
    tags=["vaccination"],
    summary="The vaccines sold in France (search by brand or disease, accents and case ignored)",
    opt=PUBLIC,
    operation_id="listVaccines",
)
async def list_vaccines(
    cursors: NamedDependency[Cursors],
    q: Annotated[
        str | None,
        QueryParameter(
            required=False,
            max_length=100,
            description="Words that the brand or a disease (French name or code) must all contain",
        ),
    ] = None,
    limit: LimitParam = None,
    cursor: CursorParam = None,
) -> VaccinePage:
    return await service.search_vaccines(cursors, q=q, limit=limit, cursor=cursor)


class VaccinationController(Controller):
    path = "/vaccinations"
    tags = ["vaccination"]

    @post(
        "/",
        opt=WRITE,
        status_code=201,
        summary="Add a vaccination to the booklet (declared; validated when a professional writes it)",
        description="The same vaccine on the same full day as an entry the caller sees is a 409 naming that "
        "entry; a date giving only a year or a month is never a duplicate. An entry hidden from the "
        "representatives does not exist for their writes: a representative's entry of the same vaccine and day "
        "is recorded beside it (the holder then sees both, and the schedule, the certificate and the export "
        "count that injection once). The date may not be in the future nor before the holder's "
        "birth. The server sets diseases (from the catalogue; for a vaccineName, those of a brand of the catalogue or "
        "of a booklet's generic name or abbreviation such as ROR, DT Polio, Hépatite B or Grippe, else those sent, "
        "else none: the entry is kept and counts for no dose of the schedule) and status: validated when written by "
        "a health "
        "professional whose profession may vaccinate (doctor, midwife, nurse, pharmacist: the access matrix), "
        "declared otherwise (the holder, a representative, an app). A nurse or a midwife records a full day and "
        "the lot number (422 at /date, /lotNumber otherwise).",
        operation_id="recordVaccination",
        media_type=JSON,
        responses={
            201: ResponseSpec(VaccinationRead, description="The entry recorded, with its ETag", generate_examples=False)
        },
    )
    async def record(self, access: Access, data: JSONBody[VaccinationCreate]) -> Response[bytes]:
        return with_etag(service.body_of(await service.record_vaccination(access, data)), status=201)

    @get_and_head(
        "/",
        opt=READ,
        summary="The booklet, newest first (Accept: application/pdf for the printable certificate)",
        description="With Accept: application/pdf, the whole booklet as a dated certificate: every entry with "
        "its status (declared or validated) and, for a child under the obligation, where each mandatory "
        "vaccination stands.",
        media_type=JSON,
        operation_id="listVaccinations",
        response_headers=VARY_ACCEPT,
        responses={200: ResponseSpec(VaccinationPage, description="A page of the booklet", generate_examples=False)},
        operation_class=also_served_as(PDF, "The vaccination certificate", binary=True),
    )
    async def list(
        self,
        access: Access,
        cursors: NamedDependency[Cursors],
        request: Request,  # type: ignore[type-arg]
        limit: LimitParam = None,
        cursor: CursorParam = None,
    ) -> Response[VaccinationPage] | Response[bytes]:
        if preferred(request.headers.get("accept"), (JSON, PDF)) == PDF:
            drawn_from, draw = await service.certificate_to_print(access)
            return await printed(
                request,
                purpose="vaccination-certificate.pdf",
                drawn_from=drawn_from,
                draw=draw,
                filename="certificat-de-vaccination.pdf",
            )
        return Response(await service.list_vaccinations(access, cursors, limit=limit, cursor=cursor))

    @get_and_head(
        "/schedule",
        opt=READ,
        summary="Where the holder stands with each dose of the French vaccination calendar",
        description=SCHEDULE_RULES,
        operation_id="getVaccinationSchedule",
    )
    async def schedule(
        self,
        access: Access,
        sex: Annotated[
            Literal["female", "male"] | None,
            QueryParameter(required=False, description="Only when the space records no sex"),
        ] = None,
        pregnant: Annotated[
            bool | None,
            QueryParameter(
                required=False, description="Whether a pregnancy is under way (its doses are unknown without it)"
            ),
        ] = None,
        # Named as on the wire: litestar's validation errors name the Python parameter (the 400's pointer).
        gestationalWeeks: Annotated[
            int | None,
            QueryParameter(
                required=False,
                ge=0,
                le=45,
                description="Weeks of amenorrhoea of the current pregnancy (with pregnant=true)",
            ),
        ] = None,
    ) -> ScheduleRead:
        return await service.vaccination_schedule(
            access, sex=sex, pregnant=pregnant, gestational_weeks=gestationalWeeks
        )

    @get_and_head(
        "/{id:uuid}",
        opt=READ,
        summary="One vaccination (Accept: application/fhir+json for a FHIR R4 Immunization)",
        media_type=JSON,
        operation_id="getVaccination",
        response_headers=VARY_ACCEPT,
        responses={200: ResponseSpec(VaccinationRead, description="The vaccination", generate_examples=False)},
        operation_class=also_served_as(FHIR_JSON, "The entry as a FHIR R4 Immunization"),
    )
    async def read(self, access: Access, id: FromPath[UUID], request: Request) -> Response[bytes]:  # type: ignore[type-arg]
        if preferred(request.headers.get("accept"), (JSON, FHIR_JSON)) == FHIR_JSON:
            return Response(await service.entry_as_fhir(access, id), media_type=FHIR_JSON)
        return Response(service.body_of(await service.get_vaccination(access, id)), media_type=JSON)

    @patch(
        "/{id:uuid}",
        opt=WRITE,
        summary="Correct a vaccination (If-Match honoured)",
        description="An app or a professional may correct only the entries they recorded; a validated entry only "
        "a professional. A professional who may vaccinate validates a declared entry with status: validated (with "
        "any correction): it becomes theirs (recordedBy); anyone else 403, an entry validated already 409. A nurse "
        "or a midwife validating or correcting the date or lot number gives a full day and the lot number (422). "
        "A correction moving the entry onto the vaccine and day of another entry the caller sees is a 409 naming "
        "it. Hiding or showing an entry while the same vaccine and day is in the booklet with that visibility "
        "already (a representative's entry beside a hidden one) is a 409 naming it: remove one of the two first.",
        media_type=JSON,
        operation_id="updateVaccination",
        responses={
            200: ResponseSpec(VaccinationRead, description="The corrected vaccination", generate_examples=False),
            409: problem(
                "The corrected vaccine and date are those of another entry the caller sees, hiding or showing "
                "the entry would make two entries of one injection with one visibility, or the entry to validate is "
                "validated already"
            ),
        },
    )
    async def update(
        self, access: Access, id: FromPath[UUID], data: JSONBody[VaccinationUpdate], if_match: IfMatch = None
    ) -> Response[bytes]:
        entry = await service.update_vaccination(access, id, update=data, if_match=if_match)
        return with_etag(service.body_of(entry))

    @delete(
        "/{id:uuid}",
        opt=WRITE,
        status_code=204,
        summary="Remove a vaccination from the booklet (If-Match honoured)",
        operation_id="deleteVaccination",
    )
    async def remove(self, access: Access, id: FromPath[UUID], if_match: IfMatch = None) -> None:
        await service.delete_vaccination(access, id, if_match=if_match)
