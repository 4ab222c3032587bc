"""The probes operators point at the service: liveness (/health) and readiness (/ready)."""

from __future__ import annotations

import logging
from typing import Literal

from litestar.openapi import ResponseSpec

from ens.core import db, errors
from ens.core.api import PUBLIC, ReadStruct, get_and_head
from ens.core.problems import PROBLEM_JSON, Problem

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
    summary="Readiness: the database answers",
    opt=PUBLIC,
    operation_id="ready",
    responses={
        503: ResponseSpec(
            Problem, media_type=PROBLEM_JSON, description="The database does not answer", generate_examples=False
        )
    },
)
async def ready() -> ReadinessRead:
    try:
        await db.fetch("SELECT 1 AS ok")
    except Exception as exc:
        log.warning("database not ready: %s", type(exc).__name__)
        raise errors.Unavailable("The database does not answer.") from exc
    return ReadinessRead(status="ready")
