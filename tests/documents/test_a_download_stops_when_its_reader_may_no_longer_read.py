"""A download that lasts is asked again whether its reader may still read the document: a
professional's download that began before the holder hid the document from professionals, or
blocked the professional, ran to its end (an outside audit). It now ends short of its length, and
the holder's access history says the refusal that stopped it, beside the row of its beginning."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from ens.core.settings import Settings
from ens.documents import content as content_module
from ens.documents.encryption import BLOCK_BYTES
from tests.helpers.documents import pdf, uploaded
from tests.helpers.export_stream import read_acting_once
from tests.helpers.people import MakePerson, Person
from tests.helpers.professionals import GP, authorise, sign_in_pro

SIZE = 3 * content_module.READ_AHEAD_BLOCKS * BLOCK_BYTES + 777  # three read-aheads after the first block


def _hide(client: httpx.AsyncClient, holder: Person, document_id: str, _entry: dict[str, Any]) -> Awaitable[Any]:
    path = f"/v1/spaces/me/documents/{document_id}"
    return client.patch(path, json={"hiddenFromProfessionals": True}, headers=holder.headers)


def _block(client: httpx.AsyncClient, holder: Person, _document_id: str, entry: dict[str, Any]) -> Awaitable[Any]:
    return client.post(f"/v1/spaces/me/professionals/{entry['id']}/block", headers=holder.headers)


@pytest.mark.parametrize("act", [_hide, _block], ids=["hidden-from-professionals", "professional-blocked"])
async def test_a_download_stops_once_its_reader_may_no_longer_read_the_document(
    app: Any,
    client: httpx.AsyncClient,
    settings: Settings,
    make_person: MakePerson,
    monkeypatch: pytest.MonkeyPatch,
    act: Callable[[httpx.AsyncClient, Person, str, dict[str, Any]], Awaitable[Any]],
) -> None:
    holder = await make_person()
    gp = await sign_in_pro(settings, GP)
    entry = await authorise(client, holder, gp)
    content = pdf(SIZE, seed=81)
    document = await uploaded(client, holder.headers, content)
    # Every read-ahead asks (a test's download is over in well under a second).
    monkeypatch.setattr(content_module, "RECHECK_SECONDS", 0.0)
    done: list[int] = []

    async def holder_acts() -> None:
        answer = await act(client, holder, document["id"], entry)
        done.append(answer.status_code)

    path = f"/v1/spaces/{holder.space_id}/documents/{document['id']}/content"
    read = await read_acting_once(
        app, gp.headers, path, b"", when=lambda body: len(body) >= BLOCK_BYTES, act=holder_acts
    )

    assert read.status == [200] and read.acted and done and done[0] in (200, 204)
    # The first block was on its way; nothing after it was sent.
    assert bytes(read.body) == content[:BLOCK_BYTES]
    history = await client.get("/v1/spaces/me/access-history?limit=50", headers=holder.headers)
    assert history.status_code == 200
    rows = [e for e in history.json()["items"] if e["action"] == "GET /v1/spaces/{space}/documents/{id}/content"]
    assert sorted(e["outcome"] for e in rows) == [200, 404]
    assert {e["actingAs"] for e in rows} == {"professional"} and len({e["requestId"] for e in rows}) == 1


async def test_a_download_its_reader_may_still_read_runs_to_its_end(
    app: Any, client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The question asked at every read-ahead, a download is whole while its answer stays yes: the
    holder's PATCH during it leaves the document shown to professionals."""
    holder = await make_person()
    gp = await sign_in_pro(settings, GP)
    await authorise(client, holder, gp)
    content = pdf(SIZE, seed=82)
    document = await uploaded(client, holder.headers, content)
    monkeypatch.setattr(content_module, "RECHECK_SECONDS", 0.0)

    async def keep_it_shown() -> None:
        path = f"/v1/spaces/me/documents/{document['id']}"
        answer = await client.patch(path, json={"hiddenFromProfessionals": False}, headers=holder.headers)
        assert answer.status_code == 200, answer.text

    path = f"/v1/spaces/{holder.space_id}/documents/{document['id']}/content"
    read = await read_acting_once(
        app, gp.headers, path, b"", when=lambda body: len(body) >= BLOCK_BYTES, act=keep_it_shown
    )
    assert read.status == [200] and read.acted and read.error is None
    assert bytes(read.body) == content
