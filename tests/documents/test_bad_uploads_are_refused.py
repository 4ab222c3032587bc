"""Every bad upload is a 4xx problem that says what is wrong, and leaves nothing behind: no row, no
object in the store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from ens.app import create_app
from ens.documents.catalogue import MAX_DOCUMENT_BYTES
from tests.helpers.asgi import asgi_client
from tests.helpers.carers import court_measure
from tests.helpers.documents import (
    BOUNDARY,
    file_bytes,
    form_body,
    form_headers,
    metadata,
    pdf,
    stored_paths,
    upload,
    uploaded,
)
from tests.helpers.professionals import GP, authorise, sign_in_pro


async def _nothing_left(client, person, settings) -> None:
    listed = await client.get("/v1/spaces/me/documents", headers=person.headers)
    assert listed.json()["items"] == []
    assert [p for p in await stored_paths(settings, person.space_id) if "/objects/" in p or "/incoming/" in p] == []


def _problem(answer: httpx.Response, status: int, pointer: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    if pointer is not None:
        assert pointer in [e["pointer"] for e in body.get("errors", [])], body
    return body


async def test_a_file_whose_bytes_are_not_what_its_name_says_is_refused(client, person, settings):
    _problem(await upload(client, person.headers, file_bytes("png", 4000), filename="bilan.pdf"), 422, "/file")
    _problem(await upload(client, person.headers, file_bytes("pdf", 4000), filename="photo.jpeg"), 422, "/file")
    # Read as the name will be stored: a space or a zero-width one after the extension claimed no
    # format, and the PNG was stored as bilan.pdf (a review).
    for name in ("bilan.pdf ", "bilan.pdf\u200b", "scans/bilan.PDF\t"):
        _problem(await upload(client, person.headers, file_bytes("png", 4000), filename=name), 422, "/file")
    html = b"<html><script>alert(1)</script></html>" * 10
    body = _problem(await upload(client, person.headers, html, filename="bilan.pdf"), 415, "/file")
    assert body["type"] == "urn:ens:problem:unsupported-media-type"
    _problem(await upload(client, person.headers, b"%PD", filename="tiny.pdf"), 415, "/file")
    _problem(await upload(client, person.headers, b"", filename="empty.pdf"), 415, "/file")
    await _nothing_left(client, person, settings)


async def test_20_mib_is_taken_and_one_byte_more_is_413(client, person, settings):
    exactly = await upload(client, person.headers, pdf(MAX_DOCUMENT_BYTES, seed=5), filename="max.pdf")
    assert exactly.status_code == 201, exactly.text
    assert exactly.json()["size"] == 20_971_520
    over = await upload(client, person.headers, pdf(MAX_DOCUMENT_BYTES + 1, seed=6), filename="over.pdf")
    body = _problem(over, 413)
    assert body["type"] == "urn:ens:problem:payload-too-large"
    listed = (await client.get("/v1/spaces/me/documents", headers=person.headers)).json()["items"]
    assert [d["filename"] for d in listed] == ["max.pdf"]
    assert len([p for p in await stored_paths(settings, person.space_id) if "/incoming/" in p]) == 0


async def test_a_body_announced_larger_than_the_route_takes_is_413_before_it_is_read(client, person):
    body = form_body([("file", "a.pdf", pdf(100))])
    answer = await client.post(
        "/v1/spaces/me/documents",
        content=body,
        headers={**form_headers(person.headers), "Content-Length": str(MAX_DOCUMENT_BYTES * 2)},
    )
    _problem(answer, 413)


async def test_other_routes_keep_the_global_body_limit(client, person):
    big = {"measurements": [{"type": "body_weight", "value": 70, "unit": "kg", "note": "x" * (3 * 1024 * 1024)}]}
    answer = await client.post("/v1/spaces/me/vitals", content=json.dumps(big), headers=person.headers)
    assert answer.status_code == 413


async def test_a_space_over_its_quota_is_refused(settings, migrated, make_person):
    small = msgspec.structs.replace(settings, document_quota_bytes=10_000)
    async with asgi_client(create_app(small), "http://testserver.local") as client:
        person = await make_person()
        await uploaded(client, person.headers, pdf(6_000, seed=1))
        over = await upload(client, person.headers, pdf(6_000, seed=2), filename="second.pdf")
        body = _problem(over, 413, "/file")
        assert body["type"] == "urn:ens:problem:quota-exceeded"
        fits = await upload(client, person.headers, pdf(4_000, seed=3), filename="third.pdf")
        assert fits.status_code == 201, fits.text
        full = await upload(client, person.headers, pdf(10, seed=4), filename="fourth.pdf")
        assert _problem(full, 413)["type"] == "urn:ens:problem:quota-exceeded"
        names = [
            d["filename"] for d in (await client.get("/v1/spaces/me/documents", headers=person.headers)).json()["items"]
        ]
        assert sorted(names) == ["compte-rendu.pdf", "third.pdf"]
        assert [p for p in await stored_paths(small, person.space_id) if "/incoming/" in p] == []


async def test_what_is_held_back_from_a_person_does_not_count_in_their_quota(settings, migrated, make_person):
    """A professional's documents held back from the holder took the quota a 413 then told the
    holder (or a parent) of: that documents were held, and how large, by trying sizes (an outside
    audit). The quota counts what the uploader sees."""
    small = msgspec.structs.replace(settings, document_quota_bytes=10_000)
    async with asgi_client(create_app(small), "http://testserver.local") as client:
        holder = await make_person()
        gp = await sign_in_pro(small, GP)
        await authorise(client, holder, gp)
        held = await upload(
            client, gp.headers, pdf(6_000, seed=7), space=holder.space_id, meta=metadata(hiddenFromHolder=True)
        )
        assert held.status_code == 201, held.text
        mine = await upload(client, holder.headers, pdf(6_000, seed=8), filename="mine.pdf")
        assert mine.status_code == 201, mine.text
        listed = (await client.get("/v1/spaces/me/documents", headers=holder.headers)).json()["items"]
        assert [d["filename"] for d in listed] == ["mine.pdf"]
        # Their own documents still fill their quota.
        over = await upload(client, holder.headers, pdf(6_000, seed=9), filename="again.pdf")
        assert _problem(over, 413)["type"] == "urn:ens:problem:quota-exceeded"


async def test_what_a_space_s_documents_take_in_all_is_bounded(settings, migrated, make_person):
    """Counting what each uploader sees let a space grow past its quota by what is hidden from each
    (a review): all its documents together take at most QUOTA_CEILING times the quota, and past it
    the uploader learns the same 413, without sizes."""
    small = msgspec.structs.replace(settings, document_quota_bytes=10_000)
    async with asgi_client(create_app(small), "http://testserver.local") as client:
        holder, tutor = await make_person(), await make_person("Tuteur")
        await court_measure(holder, tutor, "tutelle")
        gp = await sign_in_pro(small, GP)
        await authorise(client, holder, gp)
        # 9,000 bytes each sees: the holder's hidden from professionals and representatives, the
        # GP's held back from the holder (and so from the tutor).
        hidden = metadata(hiddenFromProfessionals=True, hiddenFromRepresentatives=True)
        mine = await upload(client, holder.headers, pdf(9_000, seed=11), meta=hidden)
        assert mine.status_code == 201, mine.text
        held = await upload(
            client, gp.headers, pdf(9_000, seed=12), space=holder.space_id, meta=metadata(hiddenFromHolder=True)
        )
        assert held.status_code == 201, held.text
        space = f"/v1/spaces/{holder.space_id}/documents"
        assert (await client.get(space, headers=tutor.headers)).json()["items"] == []
        # The tutor sees neither: 2,500 bytes more would pass 20,000 in all, 1,500 do not.
        over = await upload(client, tutor.headers, pdf(2_500, seed=13), space=holder.space_id)
        body = _problem(over, 413)
        assert body["type"] == "urn:ens:problem:quota-exceeded"
        assert not any(c.isdigit() for c in body["detail"] + json.dumps(body["errors"])), over.text
        fits = await upload(client, tutor.headers, pdf(1_500, seed=14), space=holder.space_id)
        assert fits.status_code == 201, fits.text


@pytest.mark.parametrize(
    ("meta", "pointer"),
    [
        (metadata(typeCode="12345-6"), "/metadata/typeCode"),
        (metadata(typeCode=""), "/metadata/typeCode"),
        (metadata(title=""), "/metadata/title"),
        (metadata(title="   "), "/metadata/title"),  # nothing visible (an outside review found it stored)
        (metadata(title="\u200b\u200b"), "/metadata/title"),
        (metadata(date="2999-01-01"), "/metadata/date"),
        (metadata(date="03/03/2026"), "/metadata/date"),
        (metadata(date="1950-01-01"), "/metadata/date"),  # decades before the holder's birth (an audit)
        (metadata(colour="blue"), "/metadata/colour"),
        ({"title": "Sans type", "date": "2026-01-01"}, "/metadata/typeCode"),
        (metadata(title="a\u0000b"), "/metadata/title"),
        (metadata(author="   "), "/metadata/author"),  # nothing visible was stored as the author (an audit)
    ],
)
async def test_bad_metadata_is_422_at_its_pointer(client, person, settings, meta, pointer):
    _problem(await upload(client, person.headers, pdf(500), meta=meta), 422, pointer)
    await _nothing_left(client, person, settings)


async def test_a_document_is_dated_from_the_pregnancy_at_the_earliest(client, person, settings):
    """As every dated item of the space, from the holder's birth (1990-05-17 here), but for a
    pregnancy's 300 days before it (a prenatal scan in the child's space): the import's too."""
    born = date(1990, 5, 17)
    earliest = born - timedelta(days=300)
    assert (await upload(client, person.headers, pdf(500), meta=metadata(date=str(earliest)))).status_code == 201
    too_early = await upload(client, person.headers, pdf(500, seed=2), meta=metadata(date=str(earliest - timedelta(1))))
    assert "before the holder's birth" in _problem(too_early, 422, "/metadata/date")["errors"][0]["detail"]


async def test_metadata_naming_a_member_twice_is_refused(client, person, settings):
    """As in every JSON body: msgspec kept the last, so a form that a proxy or the app's own check
    read as not hidden was stored hidden (an outside audit)."""
    meta = (
        b'{"typeCode":"11488-4","title":"x","date":"2026-03-03",'
        b'"hiddenFromRepresentatives":false,"hiddenFromRepresentatives":true}'
    )
    body = form_body([("file", "a.pdf", pdf(300)), ("metadata", None, meta)])
    answer = await client.post("/v1/spaces/me/documents", content=body, headers=form_headers(person.headers))
    problem = _problem(answer, 422, "/metadata")
    assert "hiddenFromRepresentatives" in problem["errors"][0]["detail"]
    await _nothing_left(client, person, settings)


async def test_a_malformed_form_is_refused(client, person, settings):
    headers = person.headers
    not_a_form = await client.post("/v1/spaces/me/documents", json={"file": "x"}, headers=headers)
    _problem(not_a_form, 400)
    no_metadata = form_body([("file", "a.pdf", pdf(500))])
    _problem(
        await client.post("/v1/spaces/me/documents", content=no_metadata, headers=form_headers(headers)),
        422,
        "/metadata",
    )
    no_file = form_body([("metadata", None, json.dumps(metadata()).encode())])
    _problem(await client.post("/v1/spaces/me/documents", content=no_file, headers=form_headers(headers)), 422, "/file")
    extra = form_body([("file", "a.pdf", pdf(500)), ("metadata", None, b"{}"), ("comment", None, b"hello")])
    _problem(await client.post("/v1/spaces/me/documents", content=extra, headers=form_headers(headers)), 422)
    twice = form_body([("file", "a.pdf", pdf(500)), ("file", "b.pdf", pdf(500))])
    _problem(await client.post("/v1/spaces/me/documents", content=twice, headers=form_headers(headers)), 422, "/file")
    not_json = form_body([("file", "a.pdf", pdf(500)), ("metadata", None, b"{nope")])
    _problem(
        await client.post("/v1/spaces/me/documents", content=not_json, headers=form_headers(headers)), 422, "/metadata"
    )
    cut = form_body([("file", "a.pdf", pdf(500)), ("metadata", None, json.dumps(metadata()).encode())])[:-30]
    _problem(await client.post("/v1/spaces/me/documents", content=cut, headers=form_headers(headers)), 400)
    garbage = b"--ens-test-boundary-7d1f\r\nno headers here at all" + bytes(range(256))
    answer = await client.post("/v1/spaces/me/documents", content=garbage, headers=form_headers(headers))
    assert 400 <= answer.status_code < 500
    await _nothing_left(client, person, settings)


async def test_metadata_first_is_checked_before_the_file_is_stored(client, person, settings):
    body = form_body(
        [("metadata", None, json.dumps(metadata(typeCode="0-0")).encode()), ("file", "a.pdf", pdf(300_000))]
    )
    _problem(await client.post("/v1/spaces/me/documents", content=body, headers=form_headers(person.headers)), 422)
    await _nothing_left(client, person, settings)


async def test_a_flag_not_the_callers_sent_first_is_refused_before_the_file_is_read(client, person, settings):
    """Metadata sent before the file is checked before the file is read: who may hide the document
    from whom too. A holder holding a document back from themself (a professional's flag) was told
    403 only once 20 MiB had come in, been encrypted and stored (an outside audit)."""
    head = form_body([("metadata", None, json.dumps(metadata(hiddenFromHolder=True)).encode())])[: -len("--\r\n")]
    pieces = [head + b'\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n']
    pieces += [pdf(64 * 1024 * 32)[i : i + 64 * 1024] for i in range(0, 64 * 1024 * 32, 64 * 1024)]
    pieces.append(f"\r\n--{BOUNDARY}--\r\n".encode())
    pulled: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            pulled.append(len(piece))
            yield piece

    answer = await client.post("/v1/spaces/me/documents", content=body(), headers=form_headers(person.headers))
    _problem(answer, 403)
    assert len(pulled) < len(pieces) // 2, len(pulled)
    await _nothing_left(client, person, settings)
