"""The OpenAPI document is what phone teams generate their clients from: each response it documents
is the one the server really sends (status, media type, body shape)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from tests.helpers.openapi import Document, operations, ref_name, resolve
from tests.helpers.vitals import VITALS, weight


def assert_sent_as_documented(document: Document, method: str, path: str, response: httpx.Response) -> None:
    """The answer's status is documented for the operation, its media type is one the status lists,
    and a JSON body has every property the documented schema requires (and only declared ones when
    the schema is closed)."""
    documented = document["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in documented, f"{method.upper()} {path} answered {status}, documented: {sorted(documented)}"
    content = documented[status].get("content")
    if not content:
        assert response.content == b"" or 300 <= response.status_code < 400
        if 300 <= response.status_code < 400:
            assert "location" in {name.lower() for name in documented[status].get("headers", {})}
            assert response.headers["location"]
        return
    media_type = response.headers["content-type"].split(";")[0].strip()
    assert media_type in content, f"{method.upper()} {path} {status} sent {media_type}, documented: {list(content)}"
    schema = resolve(document, content[media_type]["schema"])
    if media_type.startswith("text/"):
        assert schema["type"] == "string"
        return
    if schema.get("format") == "binary":  # a file (a PDF, a workbook): its bytes, of that type
        assert schema["type"] == "string" and response.content
        return
    body = response.json()
    assert schema.get("type") == "object" and isinstance(body, dict)
    assert set(schema.get("required", [])) <= set(body), (schema.get("required"), body)
    if schema.get("additionalProperties") is False:
        assert set(body) <= set(schema.get("properties", {})), body


def test_litestar_validation_exception_schema_is_gone(openapi):
    text = json.dumps(openapi)
    assert "Validation Exception" not in text
    assert '"status_code"' not in text  # litestar's default error body: {"status_code", "detail", "extra"}


def test_every_400_is_documented_as_the_body_the_server_sends(openapi):
    oauth_json = {"/oauth/token", "/oauth/revoke"}
    html_pages = {"/oauth/authorize", "/oauth/callback", "/oauth/pro/callback", "/oauth/logout"}
    seen = 0
    for method, path, operation in operations(openapi):
        response = operation["responses"].get("400")
        if response is None:
            continue
        seen += 1
        content = response["content"]
        if path in oauth_json:
            assert list(content) == ["application/json"], path
            assert ref_name(content["application/json"]) == "OAuthErrorRead"
        elif path in html_pages:
            assert list(content) == ["text/html"], path
            assert content["text/html"]["schema"]["type"] == "string"
        elif path.startswith("/fhir"):
            # The FHIR door answers its errors as FHIR does.
            assert list(content) == ["application/fhir+json"], (method, path)
            schema = content["application/fhir+json"]["schema"]
            assert schema["properties"]["resourceType"]["const"] == "OperationOutcome"
        else:
            assert list(content) == ["application/problem+json"], (method, path)
            assert ref_name(content["application/problem+json"]) == "Problem"
    assert seen >= 15
    for path in oauth_json:
        unauthorized = openapi["paths"][path]["post"]["responses"]["401"]["content"]
        assert ref_name(unauthorized["application/json"]) == "OAuthErrorRead"
    oauth_error = openapi["components"]["schemas"]["OAuthErrorRead"]
    assert oauth_error["required"] == ["error"] and set(oauth_error["properties"]) == {"error", "error_description"}


def test_412_only_where_a_route_reads_if_match(openapi):
    """(Every operation answers 400: tests/core/test_every_status_sent_is_documented.py.)"""
    assert "412" in openapi["paths"]["/v1/spaces/{space}/vitals/{id}"]["delete"]["responses"]
    assert "412" in openapi["paths"]["/v1/spaces/{space}"]["delete"]["responses"]
    assert "412" in openapi["paths"]["/v1/spaces/{space}/reopen"]["post"]["responses"]  # a POST that reads one
    assert "412" not in openapi["paths"]["/v1/spaces/{space}/vitals"]["post"]["responses"]


async def test_answers_match_the_document(client, person, openapi):
    bearer = person.headers
    password_grant = {"grant_type": "password", "client_id": "ens-mobile"}
    unknown_token = {"token": "nope", "client_id": "ens-mobile"}
    probes: list[tuple[str, str, httpx.Response]] = [
        ("get", "/health", await client.get("/health")),
        ("get", "/ready", await client.get("/ready")),
        ("get", "/v1/me", await client.get("/v1/me", headers=bearer)),
        ("get", "/v1/me", await client.get("/v1/me")),
        ("get", "/v1/spaces/{space}/vitals", await client.get(VITALS + "?type=nope", headers=bearer)),
        ("get", "/v1/spaces/{space}/vitals", await client.get(VITALS + "?limit=0", headers=bearer)),
        ("post", "/v1/spaces/{space}/vitals", await client.post(VITALS, headers=bearer)),
        ("post", "/v1/spaces/{space}/vitals", await client.post(VITALS, json={"measurements": []}, headers=bearer)),
        ("post", "/v1/spaces/{space}/vitals", await client.post(VITALS, json={"m": [weight()]}, headers=bearer)),
        ("delete", "/v1/spaces/{space}", await client.delete("/v1/spaces/me?erase=maybe", headers=bearer)),
        ("get", "/.well-known/oauth-authorization-server", await client.get("/.well-known/oauth-authorization-server")),
        ("get", "/oauth/authorize", await client.get("/oauth/authorize?client_id=nobody")),
        ("get", "/oauth/callback", await client.get("/oauth/callback")),
        ("get", "/oauth/pro/callback", await client.get("/oauth/pro/callback")),
        ("get", "/oauth/logout", await client.get("/oauth/logout")),
        ("post", "/oauth/logout", await client.post("/oauth/logout", data={"csrf": "x"})),
        ("post", "/oauth/token", await client.post("/oauth/token", data={})),
        (
            "post",
            "/oauth/token",
            await client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": "nobody"}),
        ),
        (
            "post",
            "/oauth/token",
            await client.post("/oauth/token", data=password_grant),
        ),
        ("post", "/oauth/revoke", await client.post("/oauth/revoke", data={})),
        (
            "post",
            "/oauth/revoke",
            await client.post("/oauth/revoke", data=unknown_token),
        ),
    ]
    recorded = await client.post(VITALS, json={"measurements": [weight()]}, headers=bearer)
    probes.append(("post", "/v1/spaces/{space}/vitals", recorded))
    probes.append(("get", "/v1/spaces/{space}/vitals", await client.get(VITALS, headers=bearer)))
    csv = await client.get(VITALS, headers={**bearer, "Accept": "text/csv"})
    probes.append(("get", "/v1/spaces/{space}/vitals", csv))
    workbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    probes.append(
        ("get", "/v1/spaces/{space}/vitals", await client.get(VITALS, headers={**bearer, "Accept": workbook}))
    )
    statuses = {(method, path, response.status_code) for method, path, response in probes}
    assert {
        ("get", "/oauth/authorize", 400),
        ("get", "/oauth/logout", 400),
        ("post", "/oauth/logout", 400),
        ("post", "/oauth/token", 400),
        ("post", "/oauth/token", 401),
        ("post", "/oauth/revoke", 200),
        ("post", "/v1/spaces/{space}/vitals", 201),
        ("post", "/v1/spaces/{space}/vitals", 400),
        ("post", "/v1/spaces/{space}/vitals", 422),
        ("delete", "/v1/spaces/{space}", 400),
    } <= statuses
    for method, path, response in probes:
        assert_sent_as_documented(openapi, method, path, response)
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.count("\n") >= 2


def test_success_bodies_are_named_schemas(openapi):
    def ok(path: str, method: str = "get", status: str = "200") -> dict[str, Any]:
        return dict(openapi["paths"][path][method]["responses"][status])

    vitals = ok("/v1/spaces/{space}/vitals")["content"]
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert list(vitals) == ["application/json", "text/csv", xlsx]  # JSON first: what generated clients parse
    assert ref_name(vitals["application/json"]) == "MeasurementPage"
    assert vitals["text/csv"]["schema"]["type"] == "string"
    assert vitals[xlsx]["schema"] == {**vitals[xlsx]["schema"], "type": "string", "format": "binary"}
    assert ref_name(ok("/health")["content"]["application/json"]) == "HealthRead"
    assert ref_name(ok("/ready")["content"]["application/json"]) == "ReadinessRead"
    unavailable = ok("/ready", status="503")["content"]
    assert ref_name(unavailable["application/problem+json"]) == "Problem"
    metadata = ok("/.well-known/oauth-authorization-server")["content"]["application/json"]
    assert ref_name(metadata) == "AuthorizationServerMetadata"
    assert ref_name(ok("/oauth/revoke", "post")["content"]["application/json"]) == "RevokeResponse"
    assert ref_name(ok("/v1/spaces/{space}/reopen", "post")["content"]["application/json"]) == "SpaceStatusRead"
    for path, method, status in (
        ("/oauth/authorize", "get", "302"),
        ("/oauth/callback", "get", "303"),
        ("/oauth/pro/callback", "get", "303"),
        ("/oauth/logout", "post", "303"),
    ):
        redirect = ok(path, method, status=status)
        assert "content" not in redirect and "location" in {h.lower() for h in redirect["headers"]}
        assert "200" not in openapi["paths"][path][method]["responses"]
    # Every 2xx with a body names its schema: no `{}`, no free-form object a client cannot type.
    for method, path, operation in operations(openapi):
        for status, response in operation["responses"].items():
            for media_type, media in (response.get("content") or {}).items():
                if status.startswith("2") and media_type == "application/json":
                    assert "$ref" in media["schema"], (method, path, status, media["schema"])


def test_no_201_promises_a_location_the_server_does_not_send(openapi):
    """Litestar describes every 201 as "Document created, URL follows"; ENS sends no Location (the
    body names what was created), so the description says only that it was created."""
    created = [(method, path, op) for method, path, op in operations(openapi) if "201" in op["responses"]]
    assert len(created) >= 20
    for method, path, operation in created:
        answer = operation["responses"]["201"]
        assert "URL follows" not in answer["description"], (method, path)
        assert "location" not in {name.lower() for name in answer.get("headers", {})}, (method, path)


async def test_the_wrong_kind_of_caller_is_a_documented_403(client, person, make_app_token, openapi):
    """Outside a space, every operation behind a token is behind the account door (the person's own
    routes) or the professionals' door (/v1/pro): a device app's token there, or a person's on
    /v1/pro, is a 403 the document lists (it listed 401 only, and a generated client raised)."""
    app = await make_app_token(person, ["vitals.body_weight:read"])
    guarded = [
        (method, path)
        for method, path, operation in operations(openapi)
        if "401" in operation["responses"] and not path.startswith(("/v1/spaces/{space}", "/fhir", "/oauth"))
    ]
    assert len(guarded) >= 10, guarded
    refused = 0
    for method, path in guarded:
        url = re.sub(r"\{\w+\}", "7b0f3c9e-1d2a-4e5f-8a6b-9c0d1e2f3a4b", path)
        body: dict[str, Any] | None = {} if method in ("post", "put", "patch") else None
        for headers in (app.headers, person.headers):
            answer = await client.request(method.upper(), url, json=body, headers=headers)
            assert_sent_as_documented(openapi, method, path, answer)
            refused += answer.status_code == 403
    assert refused >= 10


async def test_a_refused_code_for_new_recovery_codes_is_the_documented_403(client, person, openapi):
    """A wrong code is a 403 (not 422): the operation's own description says so, not the door's."""
    refused = await client.post("/v1/me/otp/recovery-codes", json={"code": "000000"}, headers=person.headers)
    assert refused.status_code == 403, refused.text
    assert_sent_as_documented(openapi, "post", "/v1/me/otp/recovery-codes", refused)
    described = openapi["paths"]["/v1/me/otp/recovery-codes"]["post"]["responses"]["403"]["description"]
    assert "code is refused" in described


def test_every_component_is_reached_from_an_operation(openapi):
    """A schema no operation reaches becomes a class nothing uses in every generated client (the
    change feed's raw rows, RawChangeFeed and RawUpsertChange, were left behind by its handler)."""
    schemas = openapi["components"]["schemas"]
    reached = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(openapi["paths"])))
    frontier = list(reached)
    while frontier:
        for name in re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schemas[frontier.pop()])):
            if name not in reached:
                reached.add(name)
                frontier.append(name)
    assert sorted(set(schemas) - reached) == []
    assert {"MeasurementCreate", "ChangeFeed", "Problem"} <= reached
