"""An emergency access's reason is shown to the holder in their access history as it was written:
a reason holding a direction override, embedding or isolate is 422 at ``/reason`` and opens
nothing. "Accouchement \u202e.ecnegru ed sap" was accepted and read, in the holder's history,
"Motif donné : « Accouchement .» pas de urgence" (an outside audit), where the directives and a
document's title already refuse them."""

from __future__ import annotations

import httpx

from ens.core.settings import Settings
from tests.helpers.people import MakePerson
from tests.helpers.professionals import MIDWIFE, open_emergency, sign_in_pro


async def test_a_reason_with_a_direction_control_is_refused_and_opens_nothing(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person()
    midwife = await sign_in_pro(settings, MIDWIFE)
    for reason in ("Accouchement \u202e.ecnegru ed sap", "Hémorragie \u2067isolée\u2069", "Chute \u202bgrave\u202c"):
        answer = await open_emergency(mail_client, midwife, holder.space_id, reason)
        assert answer.status_code == 422, (reason, answer.text)
        assert [error["pointer"] for error in answer.json()["errors"]] == ["/reason"], answer.text
    # Nothing opened: the midwife does not see the space, and the holder's list does not name her.
    assert (await mail_client.get(f"/v1/spaces/{holder.space_id}", headers=midwife.headers)).status_code == 404
    listed = (await mail_client.get("/v1/spaces/me/professionals", headers=holder.headers)).json()["items"]
    assert listed == []
    # Right-to-left text needs no control: it is taken as written.
    arabic = await open_emergency(mail_client, midwife, holder.space_id, "نزيف حاد \u200f— hémorragie")
    assert arabic.status_code == 201, arabic.text
