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


async def hide_measure(
    client: httpx.AsyncClient, holder: Person, space: str, measure: str, hidden: bool = True
) -> httpx.Response:
    """The holder hides (or shows again) one measure from the representatives."""
    current = await client.get(f"{space}/vitals/{measure}", headers=holder.headers)
    return await client.patch(
        f"{space}/vitals/{measure}",
        json={"hiddenFromRepresentatives": hidden},
        headers={**holder.headers, "If-Match": current.headers["etag"]},
    )
