"""A professional logs in from their software (an OAuth client registered with ``--kind
professional``) through a second, independent provider configured like Pro Santé Connect: no ENS
one-time code, an ``acr`` below ``ENS_PRO_OIDC_ACR`` refused, the national identifier (RPPS or
ADELI) and the professions read from the userinfo; the token carries the professional. The same
over HTTP through the embedded development provider for professionals (``/dev-pro-idp``)."""

from __future__ import annotations

import html
import re
import secrets
from typing import Any

import httpx
import pytest

from ens.auth.clients import register_app
from ens.core.errors import Invalid
from ens.core.settings import Settings
from tests.auth.conftest import PRO_CLIENT_ID, PRO_ISSUER
from tests.helpers.fake_provider import FakeProvider
from tests.helpers.login import Browser, Outbox, query_of
from tests.helpers.people import sign_in_person
from tests.helpers.professionals import new_rpps_id

SOFTWARE_REDIRECT = "https://logiciel-medical.example/ens/callback"


def psc_userinfo(national_id: str, *, profession: str = "10", **extra: Any) -> dict[str, Any]:
    """Pro Santé Connect's userinfo claims for one professional with one exercise."""
    return {
        "SubjectNameID": national_id,
        "preferred_username": national_id,
        "given_name": "Claire",
        "family_name": "Bernard",
        "SubjectRefPro": {
            "codeCivilite": "DR",
            "exercices": [
                {
                    "codeProfession": profession,
                    "codeCategorieProfessionnelle": "C",
                    "nomDexercice": "Bernard",
                    "prenomDexercice": "Claire",
                    "activities": [{"raisonSocialeSite": "Cabinet du Parc", "codePostal": "69003"}],
                }
            ],
        },
        "SubjectRole": [f"{profession}^1.2.250.1.213.1.1.5.5"],
        **extra,
    }


@pytest.fixture(scope="module")
async def software(pro_settings: Settings, migrated: None) -> tuple[str, str]:
    """A professional software, as an operator registers it (`ens apps register --kind professional`)."""
    registered = await register_app(
        pro_settings.secret_key,
        name="Logiciel Médical Test",
        redirect_uris=[SOFTWARE_REDIRECT],
        scopes=["professional"],
        kind="professional",
        confidential=True,
    )
    assert registered.client_secret is not None
    return registered.client_id, registered.client_secret


async def _start(browser: Browser, client_id: str) -> dict[str, str]:
    started = await browser.authorize(client_id=client_id, redirect_uri=SOFTWARE_REDIRECT, scope="professional")
    assert started.status_code == 302, started.text
    assert started.headers["location"].startswith(f"{PRO_ISSUER}/authorize?")
    return query_of(started.headers["location"])


async def _exchange(client: httpx.AsyncClient, browser: Browser, location: str, software: tuple[str, str]) -> Any:
    params = query_of(location)
    assert params["state"] == browser.state
    answer = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": SOFTWARE_REDIRECT,
            "code_verifier": browser.verifier,
            "client_id": software[0],
            "client_secret": software[1],
        },
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_professional_logs_in_through_the_professionals_provider_without_a_one_time_code(
    pro_client: httpx.AsyncClient,
    pro_provider: FakeProvider,
    pro_settings: Settings,
    outbox: tuple[Outbox, int],
    software: tuple[str, str],
) -> None:
    browser = Browser(pro_client, outbox[0])
    upstream = await _start(browser, software[0])
    assert upstream["client_id"] == PRO_CLIENT_ID and upstream["acr_values"] == "eidas1"
    assert upstream["redirect_uri"] == "http://testserver.local/oauth/pro/callback"
    assert upstream["scope"] == "openid scope_all"
    national_id = new_rpps_id()
    code = pro_provider.issue_code(
        upstream["nonce"], upstream["code_challenge"], userinfo=psc_userinfo(national_id), acr="eidas1"
    )
    back = await browser.get("/oauth/pro/callback", params={"code": code, "state": upstream["state"]})
    # Straight back to the software: no /login/otp, no consent page.
    assert back.status_code == 303, back.text
    assert back.headers["location"].startswith(SOFTWARE_REDIRECT + "?")
    tokens = await _exchange(pro_client, browser, back.headers["location"], software)
    assert tokens["scope"] == "professional" and tokens.get("space") is None
    pro_headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await pro_client.get("/v1/pro/patients", headers=pro_headers)).json() == {"items": [], "nextCursor": None}

    # A holder authorises them by the national identifier the provider gave: the token opens the space.
    holder = await sign_in_person(pro_settings)
    authorised = await pro_client.post(
        f"/v1/spaces/{holder.space_id}/professionals", json={"nationalId": national_id}, headers=holder.headers
    )
    assert authorised.status_code == 201, authorised.text
    assert authorised.json()["familyName"] == "Bernard" and authorised.json()["profession"] == "médecin"
    assert (await pro_client.get(f"/v1/spaces/{holder.space_id}", headers=pro_headers)).status_code == 200

    # The refresh token rotates like anyone's; the new access token is a professional's too.
    refreshed = await pro_client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": software[0],
            "client_secret": software[1],
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    again = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert (await pro_client.get(f"/v1/spaces/{holder.space_id}/vitals", headers=again)).status_code == 200
    # And it never opens a person's routes.
    assert (await pro_client.get("/v1/me", headers=again)).status_code == 403


@pytest.mark.parametrize(
    ("case", "choices", "message"),
    [
        ("acr below the level", {"acr": "eidas0"}, "n'a pas pu être vérifiée"),
        ("no acr", {"acr": None}, "n'a pas pu être vérifiée"),
        ("another audience", {"aud": "someone-else"}, "n'a pas pu être vérifiée"),
        ("not an RPPS nor ADELI", {"userinfo": psc_userinfo("ANS20231122132732")}, "n'a pas été reconnu"),
        ("an RPPS whose check digit is wrong", {"userinfo": "bad-luhn"}, "n'a pas été reconnu"),
        ("a profession the matrix does not know", {"userinfo": "unknown-profession"}, "aucun espace"),
        ("no exercise at all", {"userinfo": "no-exercise"}, "aucun espace"),
    ],
)
async def test_the_professionals_login_is_refused(
    pro_client: httpx.AsyncClient,
    pro_provider: FakeProvider,
    outbox: tuple[Outbox, int],
    software: tuple[str, str],
    case: str,
    choices: dict[str, Any],
    message: str,
) -> None:
    browser = Browser(pro_client, outbox[0])
    upstream = await _start(browser, software[0])
    national_id = new_rpps_id()
    userinfo = choices.pop("userinfo", psc_userinfo(national_id))
    if userinfo == "bad-luhn":
        userinfo = psc_userinfo(national_id[:-1] + str((int(national_id[-1]) + 1) % 10))
    elif userinfo == "unknown-profession":
        userinfo = psc_userinfo(national_id, profession="95")
    elif userinfo == "no-exercise":
        userinfo = {**psc_userinfo(national_id), "SubjectRefPro": {"exercices": []}}
    code = pro_provider.issue_code(upstream["nonce"], upstream["code_challenge"], userinfo=userinfo, **choices)
    back = await browser.get("/oauth/pro/callback", params={"code": code, "state": upstream["state"]})
    assert back.status_code == 400, (case, back.status_code, back.text[:300])
    assert message in html.unescape(back.text), case


async def test_each_provider_answers_at_its_own_callback(
    pro_client: httpx.AsyncClient,
    pro_provider: FakeProvider,
    outbox: tuple[Outbox, int],
    software: tuple[str, str],
) -> None:
    # A professional software's login brought back to the people's callback is refused, and spends
    # nothing: whoever carries the answer to the wrong place cannot end the professional's login
    # (an outside audit); at its own callback it goes on, once.
    browser = Browser(pro_client, outbox[0])
    upstream = await _start(browser, software[0])
    code = pro_provider.issue_code(upstream["nonce"], upstream["code_challenge"], userinfo=psc_userinfo(new_rpps_id()))
    wrong = await browser.get("/oauth/callback", params={"code": code, "state": upstream["state"]})
    assert wrong.status_code == 400
    right = await browser.get("/oauth/pro/callback", params={"code": code, "state": upstream["state"]})
    assert right.status_code == 303 and right.headers["location"].startswith(SOFTWARE_REDIRECT), right.text
    replay = await browser.get("/oauth/pro/callback", params={"code": code, "state": upstream["state"]})
    assert replay.status_code == 400
    # A phone app's login (people's provider) brought to the professionals' callback: refused too.
    phone = Browser(pro_client, outbox[0])
    started = await phone.authorize()
    assert started.status_code == 302 and not started.headers["location"].startswith(PRO_ISSUER)
    person_state = query_of(started.headers["location"])["state"]
    assert (await phone.get("/oauth/pro/callback", params={"code": "x", "state": person_state})).status_code == 400


async def test_a_professional_software_asks_only_for_the_professional_scope(
    pro_client: httpx.AsyncClient, outbox: tuple[Outbox, int], software: tuple[str, str], pro_settings: Settings
) -> None:
    browser = Browser(pro_client, outbox[0])
    refused = await browser.authorize(client_id=software[0], redirect_uri=SOFTWARE_REDIRECT, scope="space")
    assert refused.status_code == 302 and query_of(refused.headers["location"])["error"] == "invalid_scope"
    with pytest.raises(Invalid) as refused_registration:
        await register_app(
            pro_settings.secret_key,
            name="Mauvais logiciel",
            redirect_uris=[SOFTWARE_REDIRECT],
            scopes=["vitals.body_weight:read"],
            kind="professional",
        )
    assert "only scope is 'professional'" in refused_registration.value.errors[0].detail


async def test_the_embedded_provider_offers_test_professionals(
    dev_client: httpx.AsyncClient, outbox: tuple[Outbox, int], dev_settings: Settings
) -> None:
    registered = await register_app(
        dev_settings.secret_key,
        name="Logiciel de démonstration",
        redirect_uris=[SOFTWARE_REDIRECT],
        scopes=["professional"],
        kind="professional",
        confidential=True,
    )
    assert registered.client_secret is not None
    browser = Browser(dev_client, outbox[0])
    started = await browser.authorize(
        client_id=registered.client_id, redirect_uri=SOFTWARE_REDIRECT, scope="professional"
    )
    location = started.headers["location"]
    assert location.startswith("http://testserver.local/dev-pro-idp/authorize?")
    page = await browser.get(location)
    assert page.status_code == 200
    for key in ("dr-bernard", "infirmier-petit", "pharmacienne-roux", "sage-femme-moreau"):
        assert f'name="login" value="{key}"' in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page.text))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    chosen = await browser.post("/dev-pro-idp/authorize", {**fields, "login": "sage-femme-moreau"})
    assert chosen.status_code == 302 and chosen.headers["location"].startswith(
        "http://testserver.local/oauth/pro/callback?"
    )
    back = await browser.get(chosen.headers["location"])
    assert back.status_code == 303, back.text
    assert back.headers["location"].startswith(SOFTWARE_REDIRECT + "?")
    tokens = await _exchange(
        dev_client, browser, back.headers["location"], (registered.client_id, registered.client_secret)
    )
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await dev_client.get("/v1/pro/patients", headers=headers)).status_code == 200
    # The midwife (ADELI) is known by her national identifier: a holder can authorise her.
    holder = await sign_in_person(dev_settings)
    authorised = await dev_client.post(
        f"/v1/spaces/{holder.space_id}/professionals", json={"nationalId": "0691234567"}, headers=holder.headers
    )
    assert authorised.status_code == 201, authorised.text
    assert authorised.json()["profession"] == "sage-femme" and authorised.json()["familyName"] == "Moreau"
    assert secrets.compare_digest(authorised.json()["nationalId"], "0691234567")


@pytest.mark.parametrize(
    "userinfo",
    [
        lambda rpps: psc_userinfo(rpps, given_name="C" * 256),
        lambda rpps: psc_userinfo(rpps, given_name={"x": 1}),
        lambda rpps: psc_userinfo(rpps, family_name=["Bernard"]),
    ],
)
async def test_a_professionals_claim_ens_cannot_store_is_a_page_not_a_500(
    pro_client: httpx.AsyncClient,
    pro_provider: FakeProvider,
    outbox: tuple[Outbox, int],
    software: tuple[str, str],
    userinfo: Any,
) -> None:
    """As a person's (tests/auth/test_what_the_provider_and_a_stray_callback_cannot_do.py): a name
    longer than stored, a name that is an object, a name that is a list."""
    browser = Browser(pro_client, outbox[0])
    upstream = await _start(browser, software[0])
    code = pro_provider.issue_code(
        upstream["nonce"], upstream["code_challenge"], userinfo=userinfo(new_rpps_id()), acr="eidas1"
    )
    back = await browser.get("/oauth/pro/callback", params={"code": code, "state": upstream["state"]})
    assert back.status_code == 400, back.text
    assert "ne peut pas enregistrer" in html.unescape(back.text)


async def test_a_secondary_exercise_or_a_place_ens_cannot_keep_is_left_out_not_a_refused_login(
    pro_client: httpx.AsyncClient,
    pro_provider: FakeProvider,
    outbox: tuple[Outbox, int],
    software: tuple[str, str],
) -> None:
    """What the login can do without (a second exercise's over-long profession code, a place of
    practice holding a NUL) is left out, not a reason to refuse the professional (a review)."""
    userinfo = psc_userinfo(new_rpps_id())
    first = userinfo["SubjectRefPro"]["exercices"][0]
    first["activities"].append({"raisonSocialeSite": "Clinique\x00"})
    userinfo["SubjectRefPro"]["exercices"].append({"codeProfession": "9" * 40, "activities": []})
    browser = Browser(pro_client, outbox[0])
    upstream = await _start(browser, software[0])
    code = pro_provider.issue_code(upstream["nonce"], upstream["code_challenge"], userinfo=userinfo, acr="eidas1")
    back = await browser.get("/oauth/pro/callback", params={"code": code, "state": upstream["state"]})
    assert back.status_code == 303 and back.headers["location"].startswith(SOFTWARE_REDIRECT), back.text


async def test_a_professionals_logout_ends_the_session_at_the_professionals_provider(
    pro_client: httpx.AsyncClient,
    pro_provider: FakeProvider,
    outbox: tuple[Outbox, int],
    software: tuple[str, str],
) -> None:
    """The logout sent a professional's ID token (Pro Santé Connect's) to the people's provider, where
    it had no business, and their session at their own provider was never ended (a review)."""
    browser = Browser(pro_client, outbox[0])
    upstream = await _start(browser, software[0])
    code = pro_provider.issue_code(upstream["nonce"], upstream["code_challenge"], userinfo=psc_userinfo(new_rpps_id()))
    back = await browser.get("/oauth/pro/callback", params={"code": code, "state": upstream["state"]})
    assert back.status_code == 303, back.text
    assert (await browser.open("/oauth/logout")).status_code == 200
    posted = await browser.post_form("/oauth/logout", {})
    assert posted.status_code == 303, posted.text[:300]
    where = posted.headers["location"]
    assert where.startswith(f"{PRO_ISSUER}/session/end?"), where
    assert query_of(where)["id_token_hint"].count(".") == 2
