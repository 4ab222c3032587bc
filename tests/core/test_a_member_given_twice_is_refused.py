"""A JSON object that names a member twice is refused (422 at the object, naming the member), never
read as one of its two values: msgspec kept the last, other readers keep the first, so what a proxy
or the client's own check read was not what was stored (an outside audit). The import refused it
already; the other bodies now do too. Nothing is stored by a refused request."""

from __future__ import annotations

import json

import httpx
import hypothesis
import pytest
from hypothesis import strategies as st

from ens.core.strict_json import JSON, members_all_kept
from tests.helpers.people import MakeAppToken, MakePerson
from tests.helpers.vitals import VITALS
from tests.vitals.test_fhir_intake import body_weight, transaction

AT = "2026-11-07T08:00:00+01:00"


@pytest.mark.parametrize(
    ("path", "body", "pointer", "name"),
    [
        (
            VITALS,
            '{"measurements":[{"type":"body_weight","value":70,"unit":"kg","effectiveAt":"' + AT + '","value":700}]}',
            "/measurements/0",
            "value",
        ),
        (
            VITALS,
            '{"measurements":[{"type":"body_weight","value":70,"unit":"kg","effectiveAt":"' + AT + '"},'
            '{"type":"heart_rate","value":60,"unit":"/min","effectiveAt":"'
            + AT
            + '","device":{"model":"a","model":"b"}}]}',
            "/measurements/1/device",
            "model",
        ),
        (
            "/v1/spaces/me/profile/allergies",
            '{"substance":"Pollen","hiddenFromRepresentatives":true,"hiddenFromRepresentatives":false}',
            "",
            "hiddenFromRepresentatives",
        ),
        (
            "/v1/spaces/me/emergency-contacts",
            '{"givenName":"Paul","familyName":"Martin","relationship":"frère","phones":["+33612345678"],'
            '"a/b":1,"a/b":2}',
            "",
            "a/b",
        ),
    ],
    ids=["measure", "nested", "allergy", "escaped-name"],
)
async def test_a_member_given_twice_is_422_where_it_is_and_stores_nothing(
    client: httpx.AsyncClient, make_person: MakePerson, path: str, body: str, pointer: str, name: str
) -> None:
    person = await make_person()
    headers = {**person.headers, "Content-Type": "application/json"}
    answer = await client.post(path, content=body.encode(), headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    [error] = answer.json()["errors"]
    assert error["pointer"] == pointer and repr(name) in error["detail"], error
    assert (await client.get(path, headers=person.headers)).json()["items"] == []


async def test_the_same_body_without_the_second_member_passes(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """Names alike in different objects are no repeat."""
    person = await make_person()
    body = {
        "measurements": [
            {"type": "body_weight", "value": 70, "unit": "kg", "effectiveAt": AT, "device": {"model": "a"}},
            {"type": "body_weight", "value": 71, "unit": "kg", "effectiveAt": AT, "device": {"model": "a"}},
        ]
    }
    answer = await client.post(VITALS, json=body, headers=person.headers)
    assert answer.status_code == 201, answer.text


async def test_the_fhir_door_refuses_it_as_an_operation_outcome_at_its_fhirpath(
    client: httpx.AsyncClient, make_person: MakePerson, make_app_token: MakeAppToken
) -> None:
    person = await make_person()
    app = await make_app_token(person, ["vitals.body_weight:write"])
    text = json.dumps(transaction(body_weight(70)))
    twice = text.replace('"status": "final"', '"status": "final", "status": "preliminary"', 1)
    assert twice != text
    answer = await client.post(
        "/fhir", content=twice.encode(), headers={**app.headers, "Content-Type": "application/fhir+json"}
    )
    assert answer.status_code == 422, answer.text
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["Bundle.entry[1].resource"]
    assert "'status' twice" in outcome["issue"][0]["diagnostics"]
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []


# Keys and strings with the characters that matter: colons, quotes, escapes, non-ASCII.
_TEXT = st.text(alphabet=st.sampled_from(list('ab:"\\é\x01/ ')), max_size=6)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False, allow_infinity=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.lists(st.tuples(_TEXT, inner), max_size=4),
    max_leaves=25,
)


def _written(value: object, escape_colons: bool) -> str:
    """JSON text of ``value``, whose objects are lists of (name, member) pairs, names repeated as
    they come; colons in strings written ``\\u003a`` when ``escape_colons``."""
    if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
        return "{" + ",".join(f"{_written(k, escape_colons)}:{_written(v, escape_colons)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_written(v, escape_colons) for v in value) + "]"
    text = json.dumps(value, ensure_ascii=False)
    return text.replace(":", "\\u003a") if escape_colons and isinstance(value, str) else text


def _repeats(text: str) -> bool:
    seen = False

    def pairs(found: list[tuple[str, object]]) -> dict[str, object]:
        nonlocal seen
        seen = seen or len({k for k, _ in found}) != len(found)
        return dict(found)

    json.loads(text, object_pairs_hook=pairs)
    return seen


@hypothesis.settings(max_examples=2000, deadline=None)
@hypothesis.given(value=_VALUES, escape_colons=st.booleans())
def test_counting_colons_never_misses_a_member_given_twice(value: object, escape_colons: bool) -> None:
    """The quick answer (colons counted against msgspec's reading written again) is exact where it
    answers, and answers for every body without a \\u escape."""
    text = _written(value, escape_colons)
    body = text.encode()
    kept = members_all_kept(body, JSON.decode(body))
    if _repeats(text):
        assert not kept, text
    elif b"\\u" not in body:
        assert kept, text
