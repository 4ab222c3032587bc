"""Routes the tests mount on the real app to exercise shared mechanisms that no product route uses
yet (Idempotency-Key, If-Match, body validation). They sit behind the real space door."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, delete, post, put
from litestar.params import FromPath, HeaderParameter, JSONBody
from msgspec import Meta

from ens.core.api import ReadStruct, Struct, get_and_head, require_if_match
from ens.core.db import write_transaction
from ens.core.errors import Conflict, NotFound
from ens.core.scopes import SCOPES, Scope
from ens.spaces.describe import RESOURCE_WORDS
from ens.spaces.door import Access, Need
from ens.spaces.rights import Action

# In-process store for the test resource; the database under test is the idempotency store.
NOTES: dict[str, dict[str, Any]] = {}
CREATED: list[str] = []


class NoteCreate(Struct):
    text: Annotated[str, Meta(min_length=1, max_length=200)]
    rating: Annotated[int, Meta(ge=0, le=10)] = 0
    tags: list[Annotated[str, Meta(max_length=10)]] = []


class NoteRead(ReadStruct):
    id: str
    text: str
    rating: int
    tags: list[str]


class SlowCreate(Struct):
    seconds: Annotated[float, Meta(ge=0, le=10)]


class SecretRead(ReadStruct):
    secret: str


def _read(note_id: FromPath[str]) -> NoteRead:
    note = NOTES.get(note_id)
    if note is None:
        raise NotFound("No such note.")
    return NoteRead(id=note_id, **note)


class NotesForTests(Controller):
    path = "/test-notes"

    @post(
        "/", opt={"need": Need("test-note", action=Action.WRITE_DATA, app_scope="write")}, operation_id="createTestNote"
    )
    async def create(self, access: Access, data: JSONBody[NoteCreate]) -> NoteRead:
        note_id = uuid.uuid4().hex
        NOTES[note_id] = {"text": data.text, "rating": data.rating, "tags": data.tags}
        CREATED.append(note_id)
        return _read(note_id)

    @post(
        "/write-then-fail",
        opt={"need": Need("test-note", action=Action.WRITE_DATA, app_scope="write")},
        operation_id="writeThenFailTestNote",
    )
    async def write_then_fail(self, access: Access) -> NoteRead:
        """A request whose write commits and which then fails: its history row must say so."""
        async with write_transaction():
            pass
        raise Conflict("Failed after its write committed.")

    @post(
        "/slow",
        opt={"need": Need("test-note", action=Action.WRITE_DATA, app_scope="write")},
        operation_id="slowTestNote",
    )
    async def slow(self, access: Access, data: JSONBody[SlowCreate]) -> NoteRead:
        """A creating request that takes ``seconds`` (a large upload on a poor network)."""
        await asyncio.sleep(data.seconds)
        note_id = uuid.uuid4().hex
        NOTES[note_id] = {"text": "slow", "rating": 0, "tags": []}
        CREATED.append(note_id)
        return _read(note_id)

    @get_and_head("/{id:str}", opt={"need": Need("test-note", app_scope="read")}, operation_id="getTestNote")
    async def read(self, access: Access, id: FromPath[str]) -> NoteRead:
        return _read(id)

    @put(
        "/{id:str}",
        opt={"need": Need("test-note", action=Action.WRITE_DATA, app_scope="write")},
        operation_id="replaceTestNote",
    )
    async def replace(
        self,
        access: Access,
        id: FromPath[str],
        data: JSONBody[NoteCreate],
        if_match: Annotated[str | None, HeaderParameter(name="If-Match", required=False)] = None,
    ) -> NoteRead:
        require_if_match(if_match, msgspec.json.encode(_read(id)))
        NOTES[id] = {"text": data.text, "rating": data.rating, "tags": data.tags}
        return _read(id)

    @delete(
        "/{id:str}",
        opt={"need": Need("test-note", action=Action.WRITE_DATA, app_scope="write")},
        status_code=204,
        operation_id="deleteTestNote",
    )
    async def remove(
        self,
        access: Access,
        id: FromPath[str],
        if_match: Annotated[str | None, HeaderParameter(name="If-Match", required=False)] = None,
    ) -> None:
        require_if_match(if_match, msgspec.json.encode(_read(id)))
        del NOTES[id]


@post("/v1/test-secret", status_code=201, operation_id="createTestSecret")
async def secret_for_tests() -> Response[SecretRead]:
    """A creating POST whose answer carries a secret: never stored for replay."""
    return Response(SecretRead(secret=uuid.uuid4().hex), headers={"Cache-Control": "no-store"}, status_code=201)


# The test notes are a capability of their own: apps reach them only with these scopes.
TEST_NOTE_SCOPES = [
    Scope("test-notes:read", "test-note", "read", "Lire les notes de test"),
    Scope("test-notes:write", "test-note", "write", "Écrire des notes de test"),
]


def space_routes_for_tests() -> list[Any]:
    SCOPES.register(TEST_NOTE_SCOPES)
    RESOURCE_WORDS["test-note"] = "les notes de test"  # the access history's sentence for them
    return [NotesForTests]


def routes_for_tests() -> list[Any]:
    return [secret_for_tests]
