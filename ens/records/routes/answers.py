"""What the records routes share: their access need, the If-Match header, and answers that carry
the ETag a GET of the same resource would give."""

from __future__ import annotations

from typing import Any

from litestar.openapi import ResponseSpec

from ens.core.openapi import problem
from ens.spaces.door import Need
from ens.spaces.rights import Action

# Persons only: the contract gives apps no scope on records. Each record is a resource of its own
# (the access history names it); writing one is the action the table of rights names for it.


def reads(resource: str, *, part: str | None = None) -> dict[str, Need]:
    return {"need": Need(resource, part=part)}


def writes(resource: str, action: Action, *, part: str | None = None) -> dict[str, Need]:
    return {"need": Need(resource, action=action, part=part)}


JSON = "application/json"


PRECONDITION_REQUIRED = problem("The record exists and the change sent no If-Match")


def created_with_etag(read: type[Any], *, description: str) -> dict[int, ResponseSpec]:
    """The 201 of a POST that creates an item: the item as its GET answers it, with its ETag
    (``ens.core.api.with_etag``), so the first change needs no read before it."""
    return {201: ResponseSpec(read, description=description, generate_examples=False)}


def documented(read: type[Any], *, ok: str, created: str | None = None) -> dict[int, ResponseSpec]:
    """The JSON answers of a change: 200, and 201 for a PUT that creates the first time."""
    responses = {200: ResponseSpec(read, description=ok, generate_examples=False)}
    if created is not None:
        responses[201] = ResponseSpec(read, description=created, generate_examples=False)
    return responses
