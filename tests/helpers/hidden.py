"""A space whose holder hides measures from a representative, as several tests set it up."""

from __future__ import annotations

import httpx

from tests.helpers.carers import court_measure
from tests.helpers.people import MakePerson, Person
from tests.helpers.vitals import weight


async def tutored_space_with_two_weights(
    client: httpx.AsyncClient, make_person: MakePerson
) -> tuple[Person, Person, str, str, str]:
    """A holder under a tutor's protection (a court measure), two weights in their space: the
    holder, the tutor, the space's path, the older weight's id, the newer's."""
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    space = f"/v1/spaces/{holder.space_id}"
    written = await client.post(
        f"{space}/vitals",
        json={"measurements": [weight(61.0, minutes_ago=120), weight(64.0, minutes_ago=60)]},
        headers=holder.headers,
    )
    assert written.status_code == 201
    shown, hidden = (item["id"] for item in written.json()["items"])
    return holder, tutor, space, shown, hidden


async def hide_item(
    client: httpx.AsyncClient, headers: dict[str, str], item: str, hidden: bool = True
) -> httpx.Response:
    """The caller whose ``headers`` these are hides one item of a space from the representatives
    (or shows it again), as a client does: a GET for its ETag, then the PATCH with If-Match.
    ``item`` is the item's path (``/v1/spaces/{space}/vitals/{id}``, ``.../vaccinations/{id}``...)."""
    current = await client.get(item, headers=headers)
    return await client.patch(
        item, json={"hiddenFromRepresentatives": hidden}, headers={**headers, "If-Match": current.headers["etag"]}
    )


async def hide_measure(
    client: httpx.AsyncClient, headers: dict[str, str], space: str, measure: str, hidden: bool = True
) -> httpx.Response:
    """The caller hides (or shows again) one measure of the space at ``space`` (its path)."""
    return await hide_item(client, headers, f"{space}/vitals/{measure}", hidden)
