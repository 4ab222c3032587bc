"""The vitals API: thin handlers over ``ens.vitals.service``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, delete, patch, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIHeader, OpenAPIMediaType, OpenAPIResponse, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from ens.core.api import (
    PUBLIC,
    VARY_ACCEPT,
    CursorParam,
    Cursors,
    LimitParam,
    SinceParam,
    UntilParam,
    get_and_head,
    page_of,
    preferred,
    with_etag,
)
from ens.core.openapi import Negotiated, problem
from ens.core.settings import Settings
from ens.core.spreadsheet import XLSX
from ens.spaces.door import Access, Need
from ens.spaces.door.companion import COMPANION
from ens.spaces.rights import Action
from ens.vitals import service
from ens.vitals.catalogue import TYPE_CODES
from ens.vitals.schemas import (
    BatchResult,
    Bucket,
    ChangeFeed,
    GlucoseMoment,
    MeasurementBatch,
    MeasurementPage,
    MeasurementRead,
    MeasurementUpdate,
    RawChangeFeed,
    RawMeasurementPage,
    Summary,
    VitalTypeList,
)

READ = {"need": Need("vitals", app_scope="read")}
WRITE = {"need": Need("vitals", action=Action.WRITE_DATA, app_scope="write")}
CSV = "text/csv"

IfMatch = Annotated[str | None, HeaderParameter(name="If-Match", required=False)]


@dataclass
class AlsoAsSpreadsheet(Negotiated):
    """The list's 200 also comes as CSV (``Accept: text/csv``) or as an Excel workbook (``Accept:
    application/vnd.openxmlformats-officedocument.spreadsheetml.sheet``), for a doctor; the next
    page's cursor is then in a ``Next-Cursor`` header."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if not isinstance(ok, OpenAPIResponse) or ok.content is None:
            raise RuntimeError("the route declares its JSON 200 (responses=) for the spreadsheets to be added to")
        ok.content[CSV] = OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.STRING,
                description="One header line, then one line per measurement (RFC 4180; instants in UTC)",
            )
        )
        ok.content[XLSX] = OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.STRING,
                format=OpenAPIFormat.BINARY,
                description="One sheet, the CSV's columns and effectiveAtUtcOffset: numbers as numbers, instants "
                "as dates and times of the space's time zone (named in the header)",
            )
        )
        ok.headers = {
            "Next-Cursor": OpenAPIHeader(
                schema=Schema(type=OpenAPIType.STRING),
                description="CSV and workbook only: the nextCursor of the page, absent on the last one",
            )
        }


@get_and_head(
    "/v1/vital-types",
    tags=["vitals"],
    summary="The 10 measures: units, conversions, plausible ranges",
    opt=PUBLIC,
    operation_id="listVitalTypes",
)
async def list_vital_types(
    cursors: NamedDependency[Cursors], limit: LimitParam = None, cursor: CursorParam = None
) -> VitalTypeList:
    """A fixed reference (one page at the default limit), paged as every listing is."""
    entries = [((f"{n:03d}",), item) for n, item in enumerate(service.vital_types().items)]
    page = page_of(entries, cursors, "vital-types", limit=limit, cursor=cursor)
    return VitalTypeList(items=page.items, next_cursor=page.next_cursor)


TypeParam = Annotated[
    str | None,
    QueryParameter(name="type", required=False, max_length=64, description="One of: " + ", ".join(TYPE_CODES)),
]


class VitalsController(Controller):
    path = "/vitals"
    tags = ["vitals"]

    @post(
        "/",
        opt=WRITE,
        status_code=201,
        summary="Record 1 to 1000 measurements (all or none)",
        operation_id="recordVitals",
    )
    async def record(self, access: Access, data: JSONBody[MeasurementBatch]) -> BatchResult:
        return await service.record_measurements(access, data.measurements)

    @get_and_head(
        "/",
        # A person's first page is read with the door's own query (ens.spaces.door.companion).
        opt={**READ, COMPANION: service.first_page_companion},
        summary="Measurements, newest first (Accept: text/csv for CSV, or an Excel workbook)",
        media_type="application/json",
        operation_id="listVitals",
        response_headers=VARY_ACCEPT,
        responses={200: ResponseSpec(MeasurementPage, description="A page of measurements", generate_examples=False)},
        operation_class=AlsoAsSpreadsheet,
    )
    async def list(
        self,
        access: Access,
        cursors: NamedDependency[Cursors],
        request: Request,  # type: ignore[type-arg]
        type_: TypeParam = None,
        since: SinceParam = None,
        until: UntilParam = None,
        limit: LimitParam = None,
        cursor: CursorParam = None,
    ) -> Response[RawMeasurementPage] | Response[str] | Response[bytes]:
        # Asked first: an Accept that admits none of the three is a 406 before anything is read.
        wanted = preferred(request.headers.get("accept"), ("application/json", CSV, XLSX))
        listed = await service.list_measurements(
            access, cursors, type_=type_, since=since, until=until, limit=limit, cursor=cursor
        )
        headers = {"Next-Cursor": listed.page.next_cursor} if listed.page.next_cursor else {}
        if wanted == CSV:
            return Response(service.page_as_csv(listed.page), media_type=CSV, headers=headers)
        if wanted == XLSX:
            workbook = service.page_as_xlsx(listed.page, access.space.timezone)
            disposition = {"Content-Disposition": 'attachment; filename="mesures.xlsx"'}
            return Response(workbook, media_type=XLSX, headers={**headers, **disposition})
        return Response(listed.page, headers={"ETag": listed.etag})

    @get_and_head(
        "/summary",
        opt=READ,
        summary="count, min, max, mean per day, week or month (space time zone)",
        description=(
            "Each bucket counts the measures taken in it, with their min, max and mean. Steps are "
            "counted by days: a day two apps counted (a phone and a watch) is the higher of their "
            "counts, so count is the number of days and min, max and mean are of the days' counts. "
            "Blood glucose: glucoseMoment keeps the measures of one moment (a fasting glucose and one "
            "after a meal are read against different thresholds); without it, every measure."
        ),
        operation_id="getVitalsSummary",
    )
    async def summary(
        self,
        access: Access,
        type_: TypeParam = None,
        bucket: Annotated[Bucket, QueryParameter(description="day, week or month, in the space's time zone")] = "day",
        since: SinceParam = None,
        until: UntilParam = None,
        glucose_moment: Annotated[
            GlucoseMoment | None,
            QueryParameter(
                name="glucoseMoment",
                required=False,
                description="blood_glucose only: the measures of this moment of measurement alone",
            ),
        ] = None,
    ) -> Summary:
        return await service.summarize(
            access, type_, bucket=bucket, since=since, until=until, glucose_moment=glucose_moment
        )

    @get_and_head(
        "/changes",
        opt=READ,
        summary="Change feed for phone sync (upserts and deletions)",
        operation_id="getVitalsChanges",
        responses={200: ResponseSpec(ChangeFeed, description="Changes in commit order", generate_examples=False)},
    )
    async def changes(
        self,
        access: Access,
        cursors: NamedDependency[Cursors],
        settings: NamedDependency[Settings],
        cursor: CursorParam = None,
        limit: LimitParam = None,
    ) -> RawChangeFeed:
        return await service.changes(
            access, cursors, cursor=cursor, limit=limit, retention_days=settings.tombstone_retention_days
        )

    @get_and_head(
        "/{id:uuid}",
        opt=READ,
        summary="One measurement",
        operation_id="getVital",
        media_type="application/json",
        responses={200: ResponseSpec(MeasurementRead, description="The measurement", generate_examples=False)},
    )
    async def read(self, access: Access, id: FromPath[UUID]) -> Response[bytes]:
        return Response(bytes(await service.get_measurement(access, id)), media_type="application/json")

    @patch(
        "/{id:uuid}",
        opt=WRITE,
        summary="Correct a measurement typed by hand",
        operation_id="correctVital",
        media_type="application/json",
        responses={
            200: ResponseSpec(MeasurementRead, description="The corrected measurement", generate_examples=False),
            409: problem("The measure was sent by an app: only measures typed by hand are corrected here"),
        },
    )
    async def correct(
        self, access: Access, id: FromPath[UUID], data: JSONBody[MeasurementUpdate], if_match: IfMatch = None
    ) -> Response[bytes]:
        measure = await service.correct_measurement(access, id, update=data, if_match=if_match)
        return with_etag(bytes(measure))

    @delete(
        "/{id:uuid}",
        opt=WRITE,
        status_code=204,
        summary="Delete a measurement (leaves a tombstone)",
        operation_id="deleteVital",
    )
    async def remove(self, access: Access, id: FromPath[UUID], if_match: IfMatch = None) -> None:
        await service.delete_measurement(access, id, if_match=if_match)
