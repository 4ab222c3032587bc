"""A cursor is authenticated (AES-SIV under a key derived from ENS_SECRET_KEY), so the listings
trusted the place it holds: ``int(position[0])``, ``a, b = position``. But a key ENS_SECRET_KEY
replaced still opens a cursor while it is in ENS_PREVIOUS_SECRET_KEYS (a phone's cursor outlives
the change), and a key is replaced when it may have leaked: whoever holds it writes any place in a
cursor of a listing they may read. A part missing, of the wrong type, or beyond what the database
column holds was an error 500 in eight listings (the access history, the directives' versions, the
emergency contacts, the former trusted persons, the profile lists, the professionals' access
requests, a professional's patients, the change feed; a review of the rotation). It is a 400, as a malformed cursor
is; a place within bounds is only a place (the listing's own conditions still decide its rows)."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import msgspec
import pytest

from ens.app import create_app
from ens.core import clock, keyring
from ens.core.api import Cursors
from ens.core.errors import BadRequest
from ens.core.settings import Settings
from ens.spaces import audit, pro_access
from tests.helpers.asgi import asgi_client
from tests.helpers.people import MakePerson

REPLACED = "replaced-" + secrets.token_urlsafe(40)

# The places a holder of the key can write: none of them one the listing gives, most not places at all.
PLACES: list[list[Any]] = [
    [],
    ["x"],
    [None, None, None],
    [2**70],
    [2**40, str(uuid.uuid4())],
    ["9999-99-99T00:00:00", str(uuid.uuid4())],
    ["2026-01-01T00:00:00+00:00", "not-a-uuid"],
    ["2026-01-01T00:00:00", str(uuid.uuid4()), str(uuid.uuid4())],
    [[1], {"a": 1}],
]


async def test_a_cursor_forged_under_a_replaced_key_is_refused_as_malformed(
    settings: Settings, make_person: MakePerson
) -> None:
    person = await make_person()
    space = person.space_id
    listings = {
        f"history:{space}:None|None|None|None|None": "/v1/spaces/me/access-history",
        f"directive-versions:{space}": "/v1/spaces/me/directives/versions",
        f"emergency-contacts:{space}": "/v1/spaces/me/emergency-contacts",
        f"trusted-person-history:{space}": "/v1/spaces/me/trusted-person/history",
        f"profile_allergies:{space}": "/v1/spaces/me/profile/allergies",
        f"access-requests:{space}": "/v1/spaces/me/access-requests",
        f"vitals.changes:{space}": "/v1/spaces/me/vitals/changes",
        # Those that checked the place already (a regression guard, and a naive time among them).
        f"vitals.list:{space}:*": "/v1/spaces/me/vitals",
        f"documents:{space}:None:None:None": "/v1/spaces/me/documents",
        f"vaccinations:{space}": "/v1/spaces/me/vaccinations",
    }
    rotated = msgspec.structs.replace(settings, previous_secret_keys=REPLACED)
    forger = Cursors(REPLACED)  # the replaced key alone: what its holder makes
    try:
        app = create_app(rotated)
        service = Cursors(settings.secret_key)  # the current key, the replaced one read too
        async with asgi_client(app, "http://testserver.local") as client:
            for purpose, path in listings.items():
                refused = 0
                for place in PLACES:
                    answer = await client.get(
                        path, params={"cursor": forger.encode(purpose, place)}, headers=person.headers
                    )
                    # Refused as malformed, or (a place within bounds: [2**40, id] of the history) a page.
                    assert answer.status_code in (200, 400), (path, place, answer.status_code, answer.text)
                    if answer.status_code == 400:
                        assert answer.json()["errors"][0]["pointer"] == "/cursor", answer.text
                        refused += 1
                assert refused >= len(PLACES) - 2, (path, refused)
            # The change feed's place, its reach right (read here from a cursor the service gave; its
            # holder computes it: a digest of the types the caller reads), a count beyond a bigint.
            feed = f"vitals.changes:{space}"
            given = (await client.get("/v1/spaces/me/vitals/changes", headers=person.headers)).json()["nextCursor"]
            reach = service.decode(feed, given)[-1]
            now = clock.now().timestamp()
            for place in (
                [2**70, 0, now, 0, 0, 0, reach],
                [0, 0, now, 1.0e300, 0, 0, reach],
                [0, 0, now, 0, 0, 2**64, reach],
            ):
                answer = await client.get(
                    "/v1/spaces/me/vitals/changes",
                    params={"cursor": forger.encode(feed, place)},
                    headers=person.headers,
                )
                assert answer.status_code == 400, (place, answer.status_code, answer.text)
            # A professional's patients (their own listing, by their account).
            professional = uuid.uuid4()
            for place in PLACES:
                with pytest.raises(BadRequest):
                    await pro_access.list_patients(
                        service, professional, limit=None, cursor=forger.encode(f"patients:{professional}", place)
                    )
    finally:
        keyring.configure(settings.secret_key, ())
        audit.configure(settings.secret_key)
