"""An operator disables a registered app (``ens apps disable``): it signs no one in, takes no token,
and every connection it holds ends at once, each told in its space's history; ``enable`` lets it
sign people in again, ``new-secret`` replaces a confidential app's secret (an outside audit found no
way to do either: a withdrawn app's tokens kept working until they expired)."""

from __future__ import annotations

import base64
import subprocess
import uuid

import httpx
import pytest

from ens.auth import client_admin
from ens.auth.clients import register_app
from ens.auth.tokens import AccessTokens
from ens.core import db
from ens.core.errors import Invalid, NotFound
from ens.core.settings import Settings
from ens.spaces.caller import PROFESSIONAL_SCOPE, Caller
from ens.spaces.service import create_professional_grant
from tests.helpers.pages import every_item
from tests.helpers.people import MakeAppToken, MakePerson, Person
from tests.helpers.professionals import authorise, sign_in_pro
from tests.helpers.server import run_ens

REDIRECT = "https://scale.example/ens/callback"
SCOPES = ["vitals.body_weight:read", "vitals.body_weight:write"]


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def _token_endpoint_says(client: httpx.AsyncClient, client_id: str, secret: str) -> str:
    """``invalid_client`` when the app may not authenticate, ``invalid_grant`` when it may (the
    refresh token sent is no one's)."""
    answer = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "x" * 43},
        headers=_basic(client_id, secret),
    )
    return str(answer.json()["error"])


async def _catalogue(client: httpx.AsyncClient, person: Person) -> list[str]:
    return [app["clientId"] for app in await every_item(client, "/v1/apps", headers=person.headers)]


async def test_a_disabled_app_loses_every_connection_at_once_and_each_space_is_told(
    client: httpx.AsyncClient, make_person: MakePerson, make_app_token: MakeAppToken, settings: Settings
) -> None:
    name = f"Balance {uuid.uuid4().hex[:6]}"
    app = await register_app(settings.secret_key, name=name, redirect_uris=[REDIRECT], scopes=SCOPES, confidential=True)
    assert app.client_secret
    holders = [await make_person(), await make_person()]
    tokens = [await make_app_token(holder, SCOPES, client_id=app.client_id, name=name) for holder in holders]
    other = await make_app_token(holders[0], SCOPES, name="Autre appli")
    for token in tokens:
        assert (await client.get("/v1/spaces/me/vitals", headers=token.headers)).status_code == 200
    assert app.client_id in await _catalogue(client, holders[0])
    assert await _token_endpoint_says(client, app.client_id, app.client_secret) == "invalid_grant"

    done = await client_admin.disable_client(
        app.client_id, reason="label withdrawn 2026-12-06 (ref. ANS-42)", operator="Sam"
    )
    assert (done.name, done.newly, done.connections_ended) == (name, True, 2)

    for token in tokens:
        refused = await client.get("/v1/spaces/me/vitals", headers=token.headers)
        assert refused.status_code == 401, refused.text
    assert (await client.get("/v1/spaces/me/vitals", headers=other.headers)).status_code == 200  # another app
    assert app.client_id not in await _catalogue(client, holders[0])
    assert await _token_endpoint_says(client, app.client_id, app.client_secret) == "invalid_client"
    for holder, token in zip(holders, tokens, strict=True):
        grants = (await client.get("/v1/spaces/me/grants", headers=holder.headers)).json()["items"]
        assert app.client_id not in [grant["clientId"] for grant in grants]
        history = (await client.get("/v1/spaces/me/access-history", headers=holder.headers)).json()["items"]
        told = [row for row in history if row["action"] == "ens apps disable"]
        assert len(told) == 1, history
        assert told[0]["actingAs"] == "operator" and told[0]["resourceId"] == str(token.grant_id)
        assert (
            told[0]["description"]
            == f"Sam (opérateur du service) a déconnecté l'application {name}, retirée du service."
        )
        assert "ANS-42" not in str(history)  # the reason is the security log's, not the space's

    again = await client_admin.disable_client(app.client_id, reason="run again", operator="Sam")
    assert (again.newly, again.connections_ended) == (False, 0)

    assert await client_admin.enable_client(app.client_id, operator="Sam") == (name, True)
    assert await client_admin.enable_client(app.client_id, operator="Sam") == (name, False)
    assert app.client_id in await _catalogue(client, holders[0])
    assert await _token_endpoint_says(client, app.client_id, app.client_secret) == "invalid_grant"
    assert (await client.get("/v1/spaces/me/vitals", headers=tokens[0].headers)).status_code == 401  # stays ended


async def test_a_professional_software_disabled_signs_its_professionals_out(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    software = await register_app(
        settings.secret_key,
        name="Logiciel de cabinet",
        redirect_uris=[REDIRECT],
        scopes=[PROFESSIONAL_SCOPE],
        kind="professional",
        confidential=True,
    )
    pro = await sign_in_pro(settings)
    await authorise(client, person, pro)
    grant_id = await create_professional_grant(
        pro.professional_id, software.client_id, client_name="Logiciel de cabinet"
    )
    caller = Caller(
        kind="professional",
        account_id=pro.professional_id,
        client_id=software.client_id,
        grant_id=grant_id,
        scopes=frozenset({PROFESSIONAL_SCOPE}),
    )
    headers = {"Authorization": f"Bearer {AccessTokens(settings).issue(caller)}"}
    assert (await client.get(f"/v1/spaces/{person.space_id}", headers=headers)).status_code == 200

    done = await client_admin.disable_client(software.client_id, reason="security incident")
    assert done.connections_ended == 1
    assert (await client.get(f"/v1/spaces/{person.space_id}", headers=headers)).status_code == 401
    # The professional's session named no space: nothing told to the patient, whose history holds
    # the professional's reads as before.
    history = (await client.get("/v1/spaces/me/access-history", headers=person.headers)).json()["items"]
    assert not [row for row in history if row["action"] == "ens apps disable"]
    # The professional's other software is not touched.
    assert (await client.get(f"/v1/spaces/{person.space_id}", headers=pro.headers)).status_code == 200


async def test_a_new_secret_replaces_the_old_one_at_once(client: httpx.AsyncClient, settings: Settings) -> None:
    app = await register_app(
        settings.secret_key, name="Tensiomètre", redirect_uris=[REDIRECT], scopes=SCOPES, confidential=True
    )
    assert app.client_secret
    fresh = await client_admin.new_client_secret(settings.secret_key, app.client_id, operator="Sam")
    assert fresh != app.client_secret
    assert await _token_endpoint_says(client, app.client_id, app.client_secret) == "invalid_client"
    assert await _token_endpoint_says(client, app.client_id, fresh) == "invalid_grant"
    public = await register_app(settings.secret_key, name="Podomètre", redirect_uris=[REDIRECT], scopes=SCOPES)
    with pytest.raises(Invalid, match="public client"):
        await client_admin.new_client_secret(settings.secret_key, public.client_id)


async def test_what_cannot_be_disabled(settings: Settings, client: httpx.AsyncClient) -> None:
    with pytest.raises(Invalid, match="own phone app"):
        await client_admin.disable_client("ens-mobile", reason="no")
    with pytest.raises(NotFound):
        await client_admin.disable_client("no-such-app", reason="no")
    app = await register_app(settings.secret_key, name="Glucomètre", redirect_uris=[REDIRECT], scopes=SCOPES)
    with pytest.raises(Invalid):
        await client_admin.disable_client(app.client_id, reason="   ")
    row = await db.fetch_one("SELECT disabled_at FROM oauth_clients WHERE client_id = {}", app.client_id)
    assert row is not None and row["disabled_at"] is None


def test_the_commands_as_an_operator_types_them(settings: Settings, migrated: None) -> None:
    def ens(*args: str) -> subprocess.CompletedProcess[str]:
        return run_ens(settings, "apps", *args)

    registered = ens("register", "--name", "Balance CLI", "--redirect-uri", REDIRECT, "--scope", *SCOPES)
    assert registered.returncode == 0, registered.stderr
    client_id = registered.stdout.split()[1]
    listed = ens("list")
    assert listed.returncode == 0 and f"{client_id}  device" in listed.stdout and "enabled" in listed.stdout
    refused = ens("disable", client_id)
    assert refused.returncode == 2 and "--reason" in refused.stderr
    disabled = ens("disable", client_id, "--reason", "label withdrawn", "--operator", "Sam")
    assert disabled.returncode == 0, disabled.stderr
    assert disabled.stdout.splitlines() == [f"disabled: {client_id} (Balance CLI)", "connections ended: 0"]
    assert "disabled 20" in ens("list").stdout
    unknown = ens("disable", "nobody", "--reason", "x")
    assert unknown.returncode == 2 and "No registered app" in unknown.stderr and "Traceback" not in unknown.stderr
    assert ens("enable", client_id).returncode == 0
    public = ens("new-secret", client_id)
    assert public.returncode == 2 and "public client" in public.stderr
