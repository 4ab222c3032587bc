"""The vitals API: thin handlers over ``ens.vitals.service``."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from ens.api import Cursors
from ens.settings import Settings
from ens.spaces.door import Access, Need
from ens.vitals import service
from ens.vitals.schemas import (
    BatchResult,
    Bucket,
    ChangeFeed,
    MeasurementBatch,
    MeasurementPage,
    MeasurementRead,
    MeasurementUpdate,
    Summary,
    VitalTypeList,
)

READ = {"need": Need("vitals", app_scope="read")}
WRITE = {"need": Need("vitals", app_scope="write")}
CSV = "text/csv"

IfMatch = Annotated[str | None, HeaderParameter(name="If-Match", required=False)]


@get("/v1/vital-types", tags=["vitals"], summary="The 10 measures: units, conversions, plausible ranges")
async def list_vital_types() -> VitalTypeList:
    return service.vital_types()


class VitalsController(Controller):
    path = "/vitals"
    tags = ["vitals"]

    @post("/", opt=WRITE, status_code=201, summary="Record 1 to 1000 measurements (all or none)")
    async def record(self, access: Access, data: JSONBody[MeasurementBatch]) -> BatchResult:
        return await service.record_measurements(access, data.measurements)

    @get(
        "/",
        opt=READ,
        summary="Measurements, newest first (Accept: text/csv for CSV)",
        media_type="application/json",
    )
    async def list(
        self,
        access: Access,
        cursors: NamedDependency[Cursors],
        request: Request,  # type: ignore[type-arg]
        type_: Annotated[str | None, QueryParameter(name="type", required=False)] = None,
        since: Annotated[str | None, QueryParameter(required=False)] = None,
        until: Annotated[str | None, QueryParameter(required=False)] = None,
        limit: Annotated[int | None, QueryParameter(required=False)] = None,
        cursor: Annotated[str | None, QueryParameter(required=False)] = None,
    ) -> Response[MeasurementPage] | Response[str]:
        page = await service.list_measurements(access, cursors, type_, since, until, limit, cursor)
        if request.accept.best_match(["application/json", CSV], default="application/json") == CSV:
            headers = {"Next-Cursor": page.next_cursor} if page.next_cursor else {}
            return Response(service.page_as_csv(page), media_type=CSV, headers=headers)
        return Response(page)

    @get("/summary", opt=READ, summary="count, min, max, mean per day, week or month (space time zone)")
    async def summary(
        self,
        access: Access,
        type_: Annotated[str | None, QueryParameter(name="type", required=False)] = None,
        bucket: Annotated[Bucket, QueryParameter()] = "day",
        since: Annotated[str | None, QueryParameter(required=False)] = None,
        until: Annotated[str | None, QueryParameter(required=False)] = None,
    ) -> Summary:
        return await service.summarize(access, type_, bucket, since, until)

    @get("/changes", opt=READ, summary="Change feed for phone sync (upserts and deletions)")
    async def changes(
        self,
        access: Access,
        cursors: NamedDependency[Cursors],
        settings: NamedDependency[Settings],
        cursor: Annotated[str | None, QueryParameter(required=False)] = None,
        limit: Annotated[int | None, QueryParameter(required=False)] = None,
    ) -> ChangeFeed:
        return await service.changes(access, cursors, cursor, limit, settings.tombstone_retention_days)

    @get("/{id:uuid}", opt=READ, summary="One measurement")
    async def read(self, access: Access, id: FromPath[UUID]) -> MeasurementRead:
        return await service.get_measurement(access, id)

    @patch("/{id:uuid}", opt=WRITE, summary="Correct a measurement typed by hand")
    async def correct(
        self, access: Access, id: FromPath[UUID], data: JSONBody[MeasurementUpdate], if_match: IfMatch = None
    ) -> MeasurementRead:
        return await service.correct_measurement(access, id, data, if_match)

    @delete("/{id:uuid}", opt=WRITE, status_code=204, summary="Delete a measurement (leaves a tombstone)")
    async def remove(self, access: Access, id: FromPath[UUID], if_match: IfMatch = None) -> None:
        await service.delete_measurement(access, id, if_match)
