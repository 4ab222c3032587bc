"""Advance directives and the trusted person as the law has them (an outside audit, 2026-12-05):
an author born abroad is identified by the country of birth FranceConnect gives (R1111-17); the
directives in force name, as whom to call, the trusted person designated today, never one the
holder removed (CSP L1111-6); directives that state no wish are no directives (L1111-11); a
designation is not dated before the holder came of age, nor a judge's authorisation before their
birth; the person in charge of a measure protecting the author is not a witness of their directives
(L1111-11)."""

from __future__ import annotations

import io
import uuid
from typing import Any

from pypdf import PdfReader

from ens.auth.login.provider import _identity
from ens.auth.tokens import AccessTokens, new_session_token
from ens.spaces.service import sign_in_identity
from tests.helpers.carers import court_measure
from tests.helpers.people import Person
from tests.helpers.records import DIRECTIVES, JUDGE, TRUSTED_PERSON, structured, trusted

PDF = {"Accept": "application/pdf"}


def _pages(content: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages]


async def _etag(client: Any, url: str, person: Person) -> str:
    response = await client.get(url, headers=person.headers)
    assert response.status_code == 200, response.text
    return str(response.headers["etag"])


async def test_directives_in_force_do_not_name_a_revoked_trusted_person_as_the_one_to_call(client, make_person):
    holder = await make_person(given_name="Camille")
    h = holder.headers
    assert (await client.put(TRUSTED_PERSON, json=trusted("Élise", "Durand"), headers=h)).status_code == 201
    assert (await client.put(DIRECTIVES, json=structured(), headers=h)).status_code == 201
    # The holder revokes Élise's designation (L1111-6: revocable at any time) and designates Marc.
    tag = await _etag(client, TRUSTED_PERSON, holder)
    removed = await client.delete(TRUSTED_PERSON, headers={**h, "If-Match": tag})
    assert removed.status_code == 204
    marc = trusted("Marc", "Lefort", phone="06 98 76 54 32", email="marc@example.test")
    assert (await client.put(TRUSTED_PERSON, json=marc, headers=h)).status_code == 201
    # She rereads her directives and keeps them (POST .../confirm: no new version).
    assert (await client.post(f"{DIRECTIVES}/confirm", headers=h)).status_code == 200

    # The version keeps what was signed (its copy, "au moment de la rédaction"), and says it changed.
    current = (await client.get(DIRECTIVES, headers=h)).json()
    assert current["trustedPerson"]["familyName"] == "Durand" and current["trustedPersonChanged"] is True
    printed = await client.get(DIRECTIVES, headers={**h, **PDF})
    assert printed.status_code == 200
    pages = _pages(printed.content)
    # The page a doctor reads first names whom to call today: Marc, never Élise, whose designation
    # the holder revoked (it did, with her number).
    assert "LEFORT Marc" in pages[0] and "+33 6 98 76 54 32" in pages[0]
    assert "DURAND" not in pages[0] and "+33 6 12 34 56 78" not in pages[0]
    whole = " ".join(pages)
    assert "DURAND Élise" in whole and "Ma personne de confiance a changé depuis" in whole
    # Removed without another: page 1 says there is none today.
    tag = await _etag(client, TRUSTED_PERSON, holder)
    assert (await client.delete(TRUSTED_PERSON, headers={**h, "If-Match": tag})).status_code == 204
    pages = _pages((await client.get(DIRECTIVES, headers={**h, **PDF})).content)
    assert "aucune aujourd'hui (désignation révoquée)" in pages[0] and "LEFORT" not in pages[0]
    assert "Cette désignation a été révoquée depuis" in " ".join(pages)
    # A new version copies the one designated now (none): nothing changed since it.
    tag = await _etag(client, DIRECTIVES, holder)
    assert (await client.put(DIRECTIVES, json=structured(), headers={**h, "If-Match": tag})).status_code == 200
    again = (await client.get(DIRECTIVES, headers=h)).json()
    assert again["trustedPerson"] is None and again["trustedPersonChanged"] is False


async def test_directives_that_express_no_wish_are_refused(client, make_person):
    holder = await make_person()
    h = holder.headers
    # Every choice "not stated", no wishes: nothing about end-of-life treatment (L1111-11: directives
    # express the person's will on continuing, limiting, stopping or refusing treatment).
    empty = await client.put(DIRECTIVES, json={"situation": "not_ill"}, headers=h)
    summary = (await client.get("/v1/spaces/me", headers=h)).json()["records"]
    assert empty.status_code == 422, (empty.status_code, summary["directives"])


async def test_directives_with_only_an_organ_donation_wish_are_refused(client, make_person):
    holder = await make_person()
    # Organ donation is "informative only" (the API says so): it is no advance directive.
    only_organs = await client.put(
        DIRECTIVES, json={"situation": "not_ill", "organDonation": {"choice": "refuse"}}, headers=holder.headers
    )
    assert only_organs.status_code == 422, only_organs.status_code


async def test_a_co_signature_before_the_holder_was_born_is_refused(client, make_person):
    holder = await make_person()  # born 1990-05-17
    response = await client.put(TRUSTED_PERSON, json=trusted(acceptedAt="1950-06-01"), headers=holder.headers)
    assert response.status_code == 422, response.text
    assert [e["pointer"] for e in response.json()["errors"]] == ["/acceptedAt"]


async def test_an_authorisation_granted_before_the_holder_was_born_is_refused(client, make_person):
    holder, tutor = await make_person(given_name="Marie"), await make_person(given_name="Tuteur")
    await court_measure(holder, tutor, "tutelle")
    old = {**JUDGE, "grantedOn": "1901-01-10"}
    response = await client.put(DIRECTIVES, json=structured(protectionAuthorisation=old), headers=holder.headers)
    assert response.status_code == 422, response.status_code


async def test_the_guardian_is_not_a_witness_of_the_directives_of_the_person_under_tutelle(client, make_person):
    holder, tutor = await make_person(given_name="Marie"), await make_person(given_name="Gérard")
    await court_measure(holder, tutor, "tutelle")
    witnesses = [
        {"givenName": "Gérard", "familyName": tutor.family_name, "quality": "tuteur"},
        {"givenName": "Anne", "familyName": "Roux", "quality": "amie"},
    ]
    response = await client.put(
        DIRECTIVES, json=structured(witnesses=witnesses, protectionAuthorisation=JUDGE), headers=holder.headers
    )
    assert response.status_code == 422, response.status_code


async def test_the_consent_carries_the_authorisation_the_witnesses_and_the_revocation(client, make_person):
    """What makes a version valid beside its text was only in the PDF the Consent attaches: the
    judge's authorisation (L1111-11) and the witnesses (R1111-17); a revocation read as a replaced
    version. The Bundle stays valid R4."""
    from tests.helpers.fhir import check_bundle

    holder, tutor = await make_person(given_name="Marie"), await make_person(given_name="Tuteur")
    await court_measure(holder, tutor, "tutelle")
    h = holder.headers
    designated = await client.put(
        TRUSTED_PERSON, json=trusted("Élise", "Durand", protectionAuthorisation=JUDGE), headers=h
    )
    assert designated.status_code == 201, designated.text
    witnesses = [
        {"givenName": "Élise", "familyName": "Durand", "quality": "personne de confiance"},
        {"givenName": "Anne", "familyName": "Roux", "quality": "amie"},
    ]
    written = await client.put(
        DIRECTIVES, json=structured(witnesses=witnesses, protectionAuthorisation=JUDGE), headers=h
    )
    assert written.status_code == 201, written.text
    revoked = await client.delete(DIRECTIVES, headers={**h, "If-Match": written.headers["etag"]})
    assert revoked.status_code == 200, revoked.text
    bundle = (await client.get("/v1/spaces/me/export", headers=h)).json()
    check_bundle(bundle)
    first, revocation = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Consent"]
    urls = [x["url"] for x in first["extension"]]
    assert urls.count("urn:ens:fhir:directives-witness") == 2 and "urn:ens:fhir:protection-authorisation" in urls
    [anne] = [x for x in first["extension"] if "Roux" in str(x)]
    assert {p["url"]: p["valueString"] for p in anne["extension"]} == {
        "givenName": "Anne",
        "familyName": "Roux",
        "quality": "amie",
    }
    assert "urn:ens:fhir:directives-revocation" not in urls
    assert {"url": "urn:ens:fhir:directives-revocation", "valueBoolean": True} in revocation["extension"]
    assert first["status"] == revocation["status"] == "inactive"


async def test_an_author_born_abroad_is_identified_by_the_country_of_birth(client, settings):
    """FranceConnect gives a person born in Morocco no commune and the country 99350: read by the
    production login code, the directives printed "à l'étranger ou non communiqué" (R1111-17 asks
    the place of birth)."""
    claims = {
        "sub": uuid.uuid4().hex,
        "given_name": "Yanis",
        "family_name": f"Benali{uuid.uuid4().hex[:6]}",
        "birthdate": "1950-11-02",
        "gender": "male",
        "birthplace": "",
        "birthcountry": "99350",
        "email": "yanis@example.test",
    }
    signed = await sign_in_identity(_identity("https://idp.test.example", claims))
    _, token = await new_session_token(
        AccessTokens(settings), signed.account_id, client_id="ens-mobile", client_name="ENS", label="pytest"
    )
    h = {"Authorization": f"Bearer {token}"}
    written = await client.put(DIRECTIVES, json=structured(), headers=h)
    assert written.status_code == 201, written.text
    assert written.json()["author"]["birthcountry"] == "99350"
    text = _pages((await client.get(DIRECTIVES, headers={**h, **PDF})).content)[0]
    assert text.split("Lieu de naissance", 1)[1].strip().startswith("Maroc"), text
