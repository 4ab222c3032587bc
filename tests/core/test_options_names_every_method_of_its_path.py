"""``OPTIONS`` names in ``Allow`` every method its path takes, as a 405 on it does: litestar's
OPTIONS of a path served by two routers named one router's methods only (``OPTIONS
/v1/spaces/me/vitals`` said ``GET, HEAD, OPTIONS``, without POST: an outside audit)."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers.people import MakePerson


def _methods(header: str) -> set[str]:
    return {m.strip() for m in header.split(",")}


@pytest.mark.parametrize(
    ("path", "must"),
    [
        ("/v1/spaces/me/vitals", {"GET", "POST"}),
        ("/v1/spaces/me/directives", {"GET", "PUT"}),
        ("/v1/spaces/me/documents", {"GET", "POST"}),
    ],
)
async def test_options_allows_what_a_405_allows(
    client: httpx.AsyncClient, make_person: MakePerson, path: str, must: set[str]
) -> None:
    person = await make_person()
    options = await client.options(path, headers=person.headers)
    assert options.status_code == 204
    allowed = _methods(options.headers["allow"])
    assert must | {"OPTIONS"} <= allowed
    refused = await client.request("PROPFIND", path, headers=person.headers)
    assert refused.status_code == 405
    assert allowed == _methods(refused.headers["allow"]) | {"OPTIONS"}
