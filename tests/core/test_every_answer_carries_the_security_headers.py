"""Security headers (issue 16, point 6): no cache keeps an authenticated answer, HSTS over HTTPS,
no sniffing, no framing, no script in a JSON answer, no version banner."""

from __future__ import annotations

import httpx

from ens.app import create_app
from ens.core.settings import Settings
from tests.helpers.asgi import asgi_client
from tests.helpers.people import Person


async def test_an_authenticated_answer_is_never_stored_but_still_revalidates(
    client: httpx.AsyncClient, person: Person
) -> None:
    first = await client.get("/v1/spaces/me", headers=person.headers)
    assert first.headers["cache-control"] == "no-store"
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["referrer-policy"] == "no-referrer"
    assert first.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "server" not in first.headers
    # The app's own cache keeps revalidating with the ETag.
    again = await client.get("/v1/spaces/me", headers={**person.headers, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.headers["cache-control"] == "no-store"
    # Refusals too.
    assert (await client.get("/v1/spaces/me/vitals", headers={"Authorization": "Bearer nope"})).headers[
        "cache-control"
    ] == "no-store"


async def test_public_answers_keep_their_own_caching_and_html_pages_their_own_policy(
    client: httpx.AsyncClient,
) -> None:
    types = await client.get("/v1/vital-types")
    assert types.status_code == 200 and types.headers.get("cache-control") != "no-store"
    page = await client.get("/login/otp")  # no login under way: the page says so, with its own policy
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"] or page.headers["x-frame-options"]
    # The development provider's pages too (they had none: a review).
    provider = await client.get("/dev-idp/authorize")
    assert provider.status_code == 400 and provider.headers["content-type"].startswith("text/html")
    assert provider.headers["content-security-policy"].startswith("default-src 'none'")
    assert provider.headers["x-frame-options"] == "DENY" and provider.headers["cache-control"] == "no-store"


async def test_hsts_when_served_over_https(settings: Settings, migrated: None) -> None:
    https = Settings.from_env(env="dev", database_url=settings.database_url, public_url="https://ens.example")
    async with asgi_client(create_app(https), "https://ens.example") as secure:
        answer = await secure.get("/health")
    assert answer.headers["strict-transport-security"].startswith("max-age=63072000")
    plain = Settings.from_env(env="dev", database_url=settings.database_url, public_url="http://127.0.0.1:8000")
    async with asgi_client(create_app(plain), "http://127.0.0.1:8000") as local:
        assert "strict-transport-security" not in (await local.get("/health")).headers


async def test_every_answer_carries_one_request_id_refusals_before_any_route_too(
    client: httpx.AsyncClient, person: Person
) -> None:
    """A refused token's 401 had no X-Request-Id (an outside audit): the id a client or operator
    quotes to find the request in the logs."""
    answers = [
        await client.get("/v1/spaces/me/vitals", headers={"Authorization": "Bearer nope"}),
        await client.get("/v1/spaces/me/vitals"),
        await client.get("/v1/spaces/me", headers=person.headers),
        await client.get("/health"),
        await client.get("/no-such-route"),
        await client.get("/v1/spaces/me/vitals?type=%00", headers=person.headers),
    ]
    assert [a.status_code for a in answers] == [401, 401, 200, 200, 404, 400]
    for answer in answers:
        assert len(answer.headers.get_list("x-request-id")) == 1, answer.headers
    # The client's own id, when it sends a well-formed one, is the one answered.
    echoed = await client.get("/v1/spaces/me/vitals", headers={"Authorization": "Bearer nope", "X-Request-Id": "abc-1"})
    assert echoed.headers.get_list("x-request-id") == ["abc-1"]
