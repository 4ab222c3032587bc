"""The probes operators point at the service: liveness (/health) and readiness (/ready)."""

from __future__ import annotations

import logging
from typing import Literal

from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec

from ens.core import db, errors
from ens.core.api import PUBLIC, ReadStruct, get_and_head
from ens.core.problems import PROBLEM_JSON, Problem
from ens.documents.storage import BlobStore

log = logging.getLogger("ens")


class HealthRead(ReadStruct):
    status: Literal["ok"]


class ReadinessRead(ReadStruct):
    status: Literal["ready"]


@get_and_head("/health", tags=["operations"], summary="Liveness", opt=PUBLIC, operation_id="health")
async def health() -> HealthRead:
    return HealthRead(status="ok")


@get_and_head(
    "/ready",
    tags=["operations"],
    summary="Readiness: the database answers and the document store can be used",
    opt=PUBLIC,
    operation_id="ready",
    responses={
        503: ResponseSpec(
            Problem,
            media_type=PROBLEM_JSON,
            description="The database does not answer, or the document store cannot be used (the detail says which)",
            generate_examples=False,
        )
    },
)
async def ready(blobs: NamedDependency[BlobStore]) -> ReadinessRead:
    """Whether this process can serve: its database answers, and its document store (a folder or
    S3) can be used, checked at most every few seconds (``BlobStore.unusable``). With the store
    gone, every upload and document read was a 503 while this said ``ready`` (an outside audit)."""
    unready = []
    try:
        await db.fetch("SELECT 1 AS ok")
    except Exception as exc:
        log.warning("database not ready: %s", type(exc).__name__)
        unready.append("The database does not answer.")
    if (failure := await blobs.unusable()) is not None:
        unready.append(f"The document store cannot be used: {failure}.")
    if unready:
        raise errors.Unavailable(" ".join(unready))
    return ReadinessRead(status="ready")
