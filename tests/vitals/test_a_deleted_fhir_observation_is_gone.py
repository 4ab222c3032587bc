"""FHIR's read of a measure deleted since (``GET /fhir/Observation/{id}``) is 410 Gone with an
``OperationOutcome``, as FHIR R4's read answers a resource the server knows was deleted (it was 404:
a review). Only where the caller could have read the measure: to another space's app, to an app
without the type's read scope, or to a representative's app a measure hidden from them, it stays
404, as a measure that never was."""

from __future__ import annotations

import uuid

import httpx
from fhir.resources.R4B.operationoutcome import OperationOutcome

from ens.core.settings import Settings
from tests.helpers.carers import court_measure
from tests.helpers.hidden import hide_measure
from tests.helpers.people import MakeAppToken, MakePerson
from tests.vitals.test_a_representatives_app_never_meets_hidden_measures import _location, _scale
from tests.vitals.test_fhir_intake import FHIR, body_weight, transaction


async def test_a_deleted_measure_reads_gone_where_it_could_be_read(
    client: httpx.AsyncClient, make_person: MakePerson, make_app_token: MakeAppToken
) -> None:
    holder, stranger = await make_person(), await make_person()
    app = await make_app_token(holder, ["vitals.body_weight:write", "vitals.body_weight:read"])
    # Reads heart rates only: weights are not its to read (an app with no read scope at all is 403).
    writes_only = await make_app_token(
        holder, ["vitals.body_weight:write", "vitals.heart_rate:read"], client_id="writes-only"
    )
    others = await make_app_token(stranger, ["vitals.body_weight:read"], client_id="other-space")
    measure = _location(await client.post("/fhir", json=transaction(body_weight()), headers=app.headers))
    assert (await client.get(f"/fhir/Observation/{measure}", headers=app.headers)).status_code == 200

    deleted = await client.delete(f"/v1/spaces/me/vitals/{measure}", headers=holder.headers)
    assert deleted.status_code == 204, deleted.text
    gone = await client.get(f"/fhir/Observation/{measure}", headers=app.headers)
    assert gone.status_code == 410, gone.text
    assert gone.headers["content-type"].startswith(FHIR)
    body = gone.json()
    OperationOutcome.model_validate(body)
    assert [(issue["severity"], issue["code"]) for issue in body["issue"]] == [("error", "deleted")]
    # Not to those who could not have read it: no read scope for the type, another space.
    for headers in (writes_only.headers, others.headers):
        answer = await client.get(f"/fhir/Observation/{measure}", headers=headers)
        assert answer.status_code == 404, answer.text
        assert answer.json()["issue"][0]["code"] == "not-found"
    # A measure that never was is 404, as before.
    assert (await client.get(f"/fhir/Observation/{uuid.uuid4()}", headers=app.headers)).status_code == 404


async def test_a_measure_hidden_from_a_representative_stays_not_found_to_their_app_once_deleted(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    space = f"/v1/spaces/{holder.space_id}"
    holders_app = await _scale(settings, holder, holder)
    hidden = _location(
        await client.post(
            "/fhir", json=transaction(body_weight(70, identifier=[{"value": "w-1"}])), headers=holders_app.headers
        )
    )
    shown = _location(
        await client.post(
            "/fhir", json=transaction(body_weight(72, identifier=[{"value": "w-2"}])), headers=holders_app.headers
        )
    )
    assert (await hide_measure(client, holder.headers, space, hidden)).status_code == 200
    for measure in (hidden, shown):
        assert (await client.delete(f"{space}/vitals/{measure}", headers=holder.headers)).status_code == 204
    tutors_app = await _scale(settings, tutor, holder)
    assert (await client.get(f"/fhir/Observation/{hidden}", headers=tutors_app.headers)).status_code == 404
    assert (await client.get(f"/fhir/Observation/{shown}", headers=tutors_app.headers)).status_code == 410
    # The holder's app, which saw both, is told both are gone.
    holders_app = await _scale(settings, holder, holder)
    for measure in (hidden, shown):
        assert (await client.get(f"/fhir/Observation/{measure}", headers=holders_app.headers)).status_code == 410
