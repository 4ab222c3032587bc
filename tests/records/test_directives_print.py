"""The printed directives: a real PDF with an embedded Unicode font, dated, with the version number
and a signature block, its French text (œ, é, ç) selectable and found again by a PDF reader. A
version no longer in force says so on every page."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import re
import time
import uuid
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from ens.core import db
from ens.core.fhir import encode as as_json
from tests.helpers.fhir import check_bundle, every_record
from tests.helpers.records import DIRECTIVES, TRUSTED_PERSON, date_directives_version, structured, trusted

PDF = {"Accept": "application/pdf"}
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def _pages(content: bytes) -> list[str]:
    """Each page's text, its whitespace flattened (a line break is a space)."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages]


def _keep(name: str, content: bytes) -> None:
    if os.environ.get("ENS_KEEP_PDF"):  # to look at it: pdftoppm -png -r 70 FILE out
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / name).write_bytes(content)


def _fonts(content: bytes) -> set[str]:
    """The base names of the fonts the pages use, those with an embedded font file only."""
    names: set[str] = set()
    for page in PdfReader(io.BytesIO(content)).pages:
        resources: Any = page["/Resources"].get_object()
        for reference in resources["/Font"].get_object().values():
            font: Any = reference.get_object()
            descendants = font.get("/DescendantFonts")
            descriptor = (descendants[0].get_object() if descendants else font).get("/FontDescriptor")
            if descriptor is not None and "/FontFile2" in descriptor.get_object():
                names.add(str(font["/BaseFont"]))
    return names


async def test_the_printed_directives_are_dated_versioned_signed_and_in_french(client, make_person):
    person = await make_person(given_name="Françoise", family_name="Lœwenbrück")
    headers = person.headers
    await client.put(TRUSTED_PERSON, json=trusted("Élise", "Durand"), headers=headers)
    v1 = await client.put(DIRECTIVES, json=structured(), headers=headers)
    witnesses = [
        {"givenName": "Anne", "familyName": "Roux", "quality": "amie"},
        {"givenName": "Élise", "familyName": "Durand", "quality": "personne de confiance"},
    ]
    body = structured(
        situation="ill",
        witnesses=witnesses,
        protectionAuthorisation={"authority": "judge", "reference": "RG 24/01234", "grantedOn": "2026-02-03"},
    )
    v2 = await client.put(DIRECTIVES, json=body, headers={**headers, "If-Match": v1.headers["etag"]})
    assert v2.status_code == 200, v2.text

    printed = await client.get(DIRECTIVES, headers={**headers, **PDF})
    assert printed.status_code == 200
    assert printed.headers["content-type"] == "application/pdf"
    assert printed.content.startswith(b"%PDF-")
    if os.environ.get("ENS_KEEP_PDF"):  # to look at it: pdftoppm -png -r 70 FILE out
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "directives.pdf").write_bytes(printed.content)
    text = _text(printed.content)
    flat = " ".join(text.split())
    # The author from the identity provider, the version, the date it was written, the wishes.
    assert "LŒWENBRÜCK" in flat and "Françoise" in flat
    assert "Version 2, rédigée le" in flat and "version 2" in flat
    assert "ma sœur François-Xavière sait pourquoi" in flat
    assert "Pas de réanimation si mon cœur s'arrête." in flat
    assert "Modèle A" in flat and "Je refuse" in flat and "Je laisse les médecins décider" in flat
    assert "registre national des refus" in flat and "L1232-1" in flat
    assert "n'ont pas de durée de validité" in flat
    # The trusted person as named then, the witnesses, the judge's authorisation, the signature block.
    assert "DURAND Élise" in flat and "+33 6 12 34 56 78" in flat  # as it is read and dialled
    assert "ROUX" in flat and "deux témoins" in flat
    assert "juge des tutelles" in flat and "RG 24/01234" in flat
    assert "Signature" in flat and "Fait à" in flat
    # Written before witnesses, they are not "signées de ma main" (the witnesses sign: R1111-17).
    assert "Signées de ma main" not in flat and "mes deux témoins les signent" in flat
    alone = await make_person()
    assert (await client.put(DIRECTIVES, json=structured(), headers=alone.headers)).status_code == 201
    own_hand = await client.get(DIRECTIVES, headers={**alone.headers, **PDF})
    assert "Signées de ma main" in " ".join(_text(own_hand.content).split())
    # The font is embedded (DejaVu Sans): the built-in PDF fonts are Latin-1 and would lose "œ".
    fonts = _fonts(printed.content)
    assert fonts and all("DejaVu" in name for name in fonts)


async def test_the_place_of_birth_prints_as_the_commune_and_a_code_unknown_to_the_list_as_the_code(client, person):
    # The identity provider gives the INSEE code of the commune (born in the 5th arrondissement
    # of Paris); the API keeps the code, the printed directives name the commune.
    await db.fetch("UPDATE accounts SET birthplace = '75105' WHERE id = {}", person.account_id)
    written = await client.put(DIRECTIVES, json=structured(), headers=person.headers)
    assert written.status_code == 201, written.text
    assert written.json()["author"]["birthplace"] == "75105"
    printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    assert printed.status_code == 200
    _keep("directives-born-in-paris.pdf", printed.content)
    flat = " ".join(_text(printed.content).split())
    assert "Lieu de naissance Paris 5e Arrondissement (75)" in flat
    assert "INSEE" not in flat and "75105" not in flat

    # A code the list does not know (a commune gone before its history, a typo) prints as it is.
    await db.fetch("UPDATE accounts SET birthplace = '75999' WHERE id = {}", person.account_id)
    again = await client.put(
        DIRECTIVES, json=structured(), headers={**person.headers, "If-Match": written.headers["etag"]}
    )
    assert again.status_code == 200, again.text
    printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    assert "Lieu de naissance code INSEE 75999" in " ".join(_text(printed.content).split())


async def test_a_pointer_prints_where_the_paper_directives_are(client, person):
    body = {"pointer": {"location": "Coffre de la banque, Lyon", "keeper": "Ma fille, Cécile"}}
    await client.put(DIRECTIVES, json=body, headers=person.headers)
    printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    assert printed.status_code == 200
    flat = " ".join(_text(printed.content).split())
    assert "Coffre de la banque, Lyon" in flat and "Ma fille, Cécile" in flat and "Signature" in flat
    # The page says where the directives are, not what they say: its signature confirms that
    # ("je confirme ces directives... signées de ma main" said this page was them: an outside audit).
    assert "Je confirme avoir rédigé mes directives anticipées sur papier" in flat
    assert "Je confirme ces directives" not in flat


async def test_a_pointer_names_the_trusted_person_and_copies_them_as_the_structured_form_does(client, person):
    """A pointer copied no trusted person: its version said trustedPersonChanged true as soon as one
    was designated, even before it was written, and its print named nobody to call, where the
    structured form's names the trusted person designated today on page 1 (an outside audit)."""
    assert (await client.put(TRUSTED_PERSON, json=trusted(), headers=person.headers)).status_code == 201
    body = {"pointer": {"location": "Coffre de la banque, Lyon", "keeper": "Maître Lefèvre, notaire"}}
    written = await client.put(DIRECTIVES, json=body, headers=person.headers)
    assert written.status_code == 201, written.text
    current = (await client.get(DIRECTIVES, headers=person.headers)).json()
    assert current["trustedPerson"]["familyName"] == "Durand" and current["trustedPersonChanged"] is False
    flat = " ".join(_text((await client.get(DIRECTIVES, headers={**person.headers, **PDF})).content).split())
    assert "DURAND Élise" in flat and "+33 6 12 34 56 78" in flat, flat

    designation = (await client.get(TRUSTED_PERSON, headers=person.headers)).headers["etag"]
    replaced = await client.put(
        TRUSTED_PERSON,
        json=trusted("Hugo", "Bernard", phone="07 81 22 33 44"),
        headers={**person.headers, "If-Match": designation},
    )
    assert replaced.status_code == 200, replaced.text
    assert (await client.get(DIRECTIVES, headers=person.headers)).json()["trustedPersonChanged"] is True
    flat = " ".join(_text((await client.get(DIRECTIVES, headers={**person.headers, **PDF})).content).split())
    assert "BERNARD Hugo" in flat and "+33 7 81 22 33 44" in flat and "Durand" not in flat.title(), flat


async def test_revoked_directives_are_not_printed(client, person):
    written = await client.put(DIRECTIVES, json=structured(), headers=person.headers)
    await client.delete(DIRECTIVES, headers={**person.headers, "If-Match": written.headers["etag"]})
    refused = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
    # JSON is still the default, and says revoked.
    assert (await client.get(DIRECTIVES, headers=person.headers)).json()["status"] == "revoked"


async def test_nothing_to_print_is_404(client, person):
    assert (await client.get(DIRECTIVES, headers={**person.headers, **PDF})).status_code == 404


# Long enough that each version fills more than one page: the notice must be on every one.
LONG_WISHES = " ".join(
    f"{n}. Je souhaite que l'on respecte mon calme, que mes proches soient près de moi et que l'on me parle."
    for n in range(1, 38)
)
NOT_IN_FORCE = ("ne fait plus foi", "ne font plus foi")


async def _printed_versions(space_id: uuid.UUID) -> list[bytes]:
    """The PDF of each version the export prints (the structured ones not revoked), oldest first."""
    mapped = await every_record(space_id)
    resources = [json.loads(as_json(resource)) for resource in mapped.resources]
    attachments = [r.get("sourceAttachment", {}) for r in resources if r["resourceType"] == "Consent"]
    return [base64.b64decode(a["data"]) for a in attachments if "data" in a]


async def test_a_version_no_longer_in_force_says_so_on_every_page_and_the_one_in_force_does_not(client, person):
    """Printed, a replaced or revoked version looked exactly like the one in force: a relative or a
    doctor could act on wishes the author had withdrawn. Each page now says since when it no longer
    holds and why, on the day in the space's time zone; the version in force prints as before."""
    headers = person.headers
    v1 = await client.put(DIRECTIVES, json=structured(wishes=LONG_WISHES), headers=headers)
    v2 = await client.put(
        DIRECTIVES,
        json=structured(situation="ill", wishes=LONG_WISHES),
        headers={**headers, "If-Match": v1.headers["etag"]},
    )
    assert v2.status_code == 200, v2.text
    in_force = await client.get(DIRECTIVES, headers={**headers, **PDF})
    assert in_force.status_code == 200
    pages = _pages(in_force.content)
    assert len(pages) >= 2 and "Version 2, rédigée le" in pages[0]
    assert not any(words in page for page in pages for words in NOT_IN_FORCE)

    revoked = await client.delete(DIRECTIVES, headers={**headers, "If-Match": v2.headers["etag"]})
    assert revoked.status_code == 200, revoked.text
    # Written at 23:30 UTC, 00:30 in Paris: the day printed is the next one, the space's.
    await date_directives_version(person.space_id, 1, datetime(2026, 2, 1, 10, 0, tzinfo=UTC))
    await date_directives_version(person.space_id, 2, datetime(2026, 3, 14, 23, 30, tzinfo=UTC))
    await date_directives_version(person.space_id, 3, datetime(2026, 6, 30, 22, 15, tzinfo=UTC))

    replaced_pdf, revoked_pdf = await _printed_versions(person.space_id)
    _keep("directives-replaced.pdf", replaced_pdf)
    _keep("directives-revoked.pdf", revoked_pdf)
    replaced, withdrawn = _pages(replaced_pdf), _pages(revoked_pdf)
    assert len(replaced) >= 2 and len(withdrawn) >= 2
    assert "Version 1, rédigée le 1er février 2026" in replaced[0]
    assert "Version 2, rédigée le 15 mars 2026" in withdrawn[0]
    # Above each page's content and again in its footer.
    notice = "Version remplacée le 15 mars 2026 par la version 2 — ne fait plus foi"
    assert all(page.count(notice) == 2 for page in replaced), replaced
    assert all(page.startswith(notice) for page in replaced)
    notice = "Directives révoquées le 1er juillet 2026 — ne font plus foi"
    assert all(page.count(notice) == 2 for page in withdrawn), withdrawn
    assert all(page.startswith(notice) for page in withdrawn)

    # New directives after the revocation: in force, printed without a notice.
    tag = (await client.get(DIRECTIVES, headers=headers)).headers["etag"]
    v4 = await client.put(DIRECTIVES, json=structured(wishes=LONG_WISHES), headers={**headers, "If-Match": tag})
    assert v4.status_code == 200, v4.text
    in_force = await client.get(DIRECTIVES, headers={**headers, **PDF})
    _keep("directives-in-force.pdf", in_force.content)
    pages = _pages(in_force.content)
    assert len(pages) >= 2 and "Version 4, rédigée le" in pages[0]
    assert not any(words in page for page in pages for words in NOT_IN_FORCE)
    *_, exported_in_force = await _printed_versions(person.space_id)
    assert not any(words in page for page in _pages(exported_in_force) for words in NOT_IN_FORCE)


TREATMENTS = ("resuscitation", "ventilation", "dialysis", "nutritionHydration", "surgery", "transfusion")
PRINTED_TREATMENTS = (
    "Réanimation cardio-respiratoire",
    "Respiration artificielle (ventilation)",
    "Dialyse (rein artificiel)",
    "Nutrition et hydratation artificielles",
    "Intervention chirurgicale",
    "Transfusion sanguine",
)
PRINTED_CHOICES = ("J'accepte", "Je refuse", "Je laisse les médecins décider", "Je ne me prononce pas")
MOST = 4000  # the longest note and wishes the API accepts


def _french(tag: str) -> str:
    """Ordinary French at the longest the API accepts, its sentences numbered (``tag`` 12) so that a
    piece printed twice, or in the wrong order, shows."""
    sentences = (
        f"{tag} {n} : je ne veux pas que l'on prolonge ma vie par des machines si je ne reconnais plus mes "
        "proches ; je souhaite être soulagé(e), même si cela abrège ma vie, et que ma sœur soit consultée."
        for n in range(1, 100)
    )
    return " ".join(sentences)[:MOST]


# One word with no space in it, which a line can only break inside.
NO_SPACE = ("anticonstitutionnellement" * 200)[:MOST]


def _longest_directives() -> dict[str, Any]:
    """Every note, the wishes, the witnesses and the authorisation at their longest."""
    treatments = {name: {"choice": "refuse", "note": _french(name)} for name in TREATMENTS[:-1]}
    treatments["transfusion"] = {"choice": "accept", "note": NO_SPACE}
    hundred = ("Marie-Françoise " * 7)[:100]
    return structured(
        situation="ill",
        treatments=treatments,
        reliefOfSuffering={"choice": "accept", "note": _french("soulagement")},
        deepSedation={"choice": "let_doctors_decide", "note": _french("sédation")},
        organDonation={"choice": "refuse", "note": _french("don")},
        wishes=_french("souhait"),
        witnesses=[{"givenName": hundred, "familyName": letter * 100, "quality": hundred} for letter in "WM"],
        protectionAuthorisation={"authority": "family_council", "reference": "R" * 255},
    )


def _written(content: bytes) -> str:
    """The PDF's text without whitespace, nor what page breaks put inside a text: each page's footer
    and notice, the table's heading, the name of the treatment a page continues. What remains of a
    note cut by page breaks reads back whole."""
    text = re.sub(r"\s", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages))
    text = re.sub(r"Directivesanticipéesde.*?—page\d+/\d+", "", text)
    text = re.sub(r"Versionremplacéele.*?nefaitplusfoi", "", text)
    text = text.replace("TraitementMavolontéPrécisions", "")
    for treatment in PRINTED_TREATMENTS:
        for choice in PRINTED_CHOICES:  # the choice repeated beside the rest of its note
            text = text.replace(re.sub(r"\s", "", f"{treatment} (suite){choice}"), "")
        text = text.replace(re.sub(r"\s", "", f"{treatment} (suite)"), "")
    return text


def _assert_whole(content: bytes, body: dict[str, Any]) -> None:
    written = _written(content)
    notes = [body["treatments"][name]["note"] for name in TREATMENTS]
    notes += [body[name]["note"] for name in ("reliefOfSuffering", "deepSedation", "organDonation")]
    for text in [*notes, body["wishes"]]:
        assert re.sub(r"\s", "", text) in written, text[:40]


async def test_directives_at_their_longest_print_whole_and_export(client, person):
    """A note in the table of treatments longer than a page (about 2,200 characters of French; 4,000
    are accepted) made fpdf2 refuse the row: the PDF answered 500 and the export, which prints every
    version, broke off mid-body, for good (versions never change). A row too high now goes on over
    the next pages, its treatment named again at the top of each; every word is printed."""
    body = _longest_directives()
    first = await client.put(DIRECTIVES, json=body, headers=person.headers)
    assert first.status_code == 201, first.text
    second = await client.put(DIRECTIVES, json=body, headers={**person.headers, "If-Match": first.headers["etag"]})
    assert second.status_code == 200, second.text

    printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    assert printed.status_code == 200, printed.text
    _keep("directives-longest.pdf", printed.content)
    _assert_whole(printed.content, body)
    pages = _pages(printed.content)
    assert len(pages) > 10 and "Réanimation cardio-respiratoire (suite)" in pages[1]
    assert "Signature" in pages[-1]

    exported = await client.get("/v1/spaces/me/export", headers=person.headers)
    assert exported.status_code == 200
    resources = check_bundle(exported.json()).values()
    consents = [r for r in resources if r["resourceType"] == "Consent"]
    replaced, in_force = (base64.b64decode(c["sourceAttachment"]["data"]) for c in consents)
    _keep("directives-longest-replaced.pdf", replaced)
    _assert_whole(replaced, body)
    _assert_whole(in_force, body)
    assert all("ne fait plus foi" in page for page in _pages(replaced))


async def test_every_choice_and_whom_to_call_are_on_the_first_page_however_long_the_notes(client, person):
    """A doctor reading the directives in an emergency reads the first page first. With a long note
    (4,000 characters) the table of treatments ran on over three pages: page 1 said what the person
    wanted for resuscitation only, the five other treatments, relief, sedation and organ donation
    came pages later, and a continued note's page did not say which choice it explained. Every
    choice is now on page 1, with the trusted person and their number; each page continuing a
    treatment's note repeats its choice."""
    await client.put(TRUSTED_PERSON, json=trusted("Élise", "Durand"), headers=person.headers)
    body = _longest_directives()
    body["treatments"]["dialysis"]["choice"] = "let_doctors_decide"
    body["deepSedation"]["choice"] = "accept"
    body["witnesses"] = []  # with a trusted person, one witness would have to be them
    assert (await client.put(DIRECTIVES, json=body, headers=person.headers)).status_code == 201
    printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    assert printed.status_code == 200
    pages = _pages(printed.content)
    first = pages[0]
    for treatment, choice in zip(
        PRINTED_TREATMENTS,
        ("Je refuse", "Je refuse", "Je laisse les médecins décider", "Je refuse", "Je refuse", "J'accepte"),
        strict=True,
    ):
        assert f"{treatment} {choice}" in first, treatment
    assert "Soulagement des souffrances J'accepte" in first
    assert "Sédation profonde et continue J'accepte" in first
    assert "Don d'organes et de tissus Je refuse" in first
    assert "Personne de confiance DURAND Élise Son téléphone +33 6 12 34 56 78" in first
    continued = [page for page in pages[1:] if "Réanimation cardio-respiratoire (suite)" in page]
    assert continued and all("Réanimation cardio-respiratoire (suite) Je refuse" in page for page in continued)


async def test_the_treatments_heading_is_never_left_alone_at_the_foot_of_a_page(client, person):
    """With a first note of a dozen lines, the table of treatments started on page 2, its heading
    alone at the foot of page 1 (an outside audit of the printed directives, rendered and looked
    at): the heading keeps room for the table's heading row and first row, or goes with them."""
    etag = None
    for words in range(60, 260, 20):
        body = structured(treatments={"resuscitation": {"choice": "refuse", "note": "mot " * words}})
        headers = {**person.headers, **({"If-Match": etag} if etag else {})}
        written = await client.put(DIRECTIVES, json=body, headers=headers)
        assert written.status_code in (200, 201), written.text
        etag = written.headers["etag"]
        pages = _pages((await client.get(DIRECTIVES, headers={**person.headers, **PDF})).content)
        heading = next(i for i, page in enumerate(pages) if "Les traitements de maintien en vie" in page)
        table = next(i for i, page in enumerate(pages) if "Traitement Ma volonté Précisions" in page)
        assert heading == table, (words, heading, table)


MM = 72 / 25.4  # PDF points in a millimetre


Fragment = tuple[float, float, float, str]


def _fragments(content: bytes) -> list[list[Fragment]]:
    """Each page's pieces of text as drawn: (x, y from the page's foot, both in points; font size; text)."""
    pages: list[list[Fragment]] = []
    for page in PdfReader(io.BytesIO(content)).pages:
        drawn: list[Fragment] = []
        page.extract_text(visitor_text=partial(_drawn_text, drawn))
        pages.append(drawn)
    return pages


def _drawn_text(drawn: list[Fragment], text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
    if text.strip():
        drawn.append((tm[4], tm[5], size, text))


async def test_a_long_name_wraps_in_the_footer_of_every_page(client, make_person):
    """The footer (whose directives, which version, the page) was one line: with a long name it ran
    off both edges of the page, cut on paper. It wraps now, and the content stops above it."""
    person = await make_person(
        given_name="Marie-Françoise Élisabeth Anne-Sophie", family_name="de La Rochefoucauld-Montmorency-Laval"
    )
    await client.put(DIRECTIVES, json=structured(wishes=LONG_WISHES), headers=person.headers)
    printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    assert printed.status_code == 200
    pages = _fragments(printed.content)
    assert len(pages) >= 2
    for number, drawn in enumerate(pages, start=1):
        footer = [(x, y, text) for x, y, size, text in drawn if size == 8]
        assert len(footer) >= 2, footer
        said = " ".join(" ".join(text.split()) for _, _, text in footer)
        assert said.startswith("Directives anticipées de Marie-Françoise Élisabeth Anne-Sophie DE LA ROCHEFOUCAULD")
        assert said.endswith(f"— page {number}/{len(pages)}")
        assert all(x >= 18 * MM - 0.5 for x, _, _ in footer)  # centred: within the margins
        lowest_content = min(y for _, y, size, _ in drawn if size != 8)
        assert lowest_content > max(y for _, y, _ in footer) + 5 * MM


async def test_what_follows_a_value_run_on_to_the_next_page_comes_right_after_it(client, person):
    """A label/value line whose value ran on to the next page put what followed back at the height
    of its label, on the new page: a gap of half a page, or a blank page."""
    note = _french("soulagement")[:2000] + " Fin des précisions."
    # A note in the table ends it half-way down page 2, where the value starts.
    treatments = {"resuscitation": {"choice": "refuse", "note": _french("réanimation")[:1500]}}
    body = structured(treatments=treatments, reliefOfSuffering={"choice": "accept", "note": note})
    await client.put(DIRECTIVES, json=body, headers=person.headers)
    printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    assert printed.status_code == 200
    pages = _fragments(printed.content)
    label = next(
        (page, y)
        for page, drawn in enumerate(pages)
        for _, y, size, text in drawn
        if (text, size) == ("Précisions", 10)
    )
    [end] = [(page, y) for page, drawn in enumerate(pages) for _, y, _, text in drawn if "Fin des précisions" in text]
    [after] = [(page, y) for page, drawn in enumerate(pages) for _, y, _, text in drawn if "jusqu'au décès" in text]
    assert end[0] == label[0] + 1 and end[1] > label[1]  # on the next page, ending higher than it began
    assert after[0] == end[0] and 0 < end[1] - after[1] < 15 * MM


async def test_line_feeds_by_the_thousand_print_as_one_empty_line_and_a_tab_as_a_space(client, person):
    """4,000 line feeds fit in a note: printed as they were, eighty blank pages. A tab, which the font
    has no glyph for, vanished and glued two words together."""
    body = structured(
        treatments={"resuscitation": {"choice": "refuse", "note": "Non.\r\n" + "\n" * 3000 + "Jamais."}},
        wishes="Mes souhaits :\tchez moi." + "\n \n" * 1000 + "Près des miens.",
    )
    await client.put(DIRECTIVES, json=body, headers=person.headers)
    printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    assert printed.status_code == 200
    pages = _pages(printed.content)
    assert len(pages) <= 2
    flat = " ".join(pages)
    assert "Non. Jamais." in flat and "Mes souhaits : chez moi. Près des miens." in flat


async def test_unicode_s_other_line_ends_end_a_line(client, person):
    """U+2029 and U+2028 (what a phone's editor may write between paragraphs), NEL, a vertical tab
    and a form feed: the font has no glyph for them, and two sentences printed glued together
    ("Premier.Second.": an outside audit)."""
    from ens.core.pdf import printable

    wishes = "Premier.\u2029Second.\u2028Troisième."
    assert (await client.put(DIRECTIVES, json=structured(wishes=wishes), headers=person.headers)).status_code == 201
    printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    lines = [line.strip() for line in _text(printed.content).splitlines()]
    for sentence in ("Premier.", "Second.", "Troisième."):
        assert sentence in lines, (sentence, lines)
    # The control characters among them are refused now (422), but texts stored before hold them.
    assert printable("Quatrième.\u0085Cinquième.\u000bSixième.\u000cSeptième.") == (
        "Quatrième.\nCinquième.\nSixième.\nSeptième."
    )


def test_a_character_the_font_lacks_is_not_named_in_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    """fpdf2's warning about glyphs its font lacks named them: bits of what the person wrote. (The
    fonts shipped lack Tibetan and Cherokee.)"""
    from ens.core.pdf import Document

    document = Document(title="Allergies", footer="test")
    document.paragraph("Allergie au བོད, aux ᏣᎳᎩ")
    with caplog.at_level(logging.DEBUG):
        document.render()
    assert caplog.records, "the warning itself stays"
    assert not any("བ" in record.getMessage() or "Ꮳ" in record.getMessage() for record in caplog.records)


def test_the_letters_of_a_document_are_not_listed_in_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    """fontTools, which subsets the fonts as a PDF is written, logged at INFO every glyph the
    document draws ("Glyph names: ['A', 'eacute', 'uni05D0', ...]") and the Unicode ranges kept:
    the letters and the scripts a person wrote, some 25 lines a PDF in the server's log."""
    from ens.core.pdf import Document

    document = Document(title="Allergies", footer="test")
    document.paragraph("Allergie à l'arachide. אני מסרב")
    with caplog.at_level(logging.INFO):
        document.render()
    assert not [record.getMessage()[:60] for record in caplog.records if record.name.startswith("fontTools")]


# What a person may write in France: French, Chinese, Arabic (joined, right to left), Hebrew,
# Japanese kana, Korean, and the emoji of a phone's keyboard.
SCRIPTS = {
    "French": "Non : mon cœur, mon œuvre.",
    "Chinese": "我拒绝插管",
    "Arabic": "أرفض التنفس الاصطناعي",
    "Hebrew": "אני מסרב להנשמה מלאכותית",
    "Japanese": "ひらがな と カタカナ",
    "Korean": "인공호흡을 거부합니다",
    "emoji": "❤️ 🙏",
}


THANKS = "我拒绝插管, merci 🙏"


def _font_names(content: bytes) -> set[str]:
    """The names of every font the pages use (a colour emoji font is a Type 3 font, named)."""
    names: set[str] = set()
    for page in PdfReader(io.BytesIO(content)).pages:
        resources: Any = page["/Resources"].get_object()
        for reference in resources["/Font"].get_object().values():
            font: Any = reference.get_object()
            names.add(str(font.get("/BaseFont") or font.get("/Name")).split("+")[-1])
    return names


def _glyph_names(content: bytes, font_name: str) -> set[str]:
    """The names of the glyphs of ``font_name``'s subset embedded in the PDF."""
    from fontTools.ttLib import TTFont

    names: set[str] = set()
    for page in PdfReader(io.BytesIO(content)).pages:
        resources: Any = page["/Resources"].get_object()
        for reference in resources["/Font"].get_object().values():
            font: Any = reference.get_object()
            if str(font.get("/BaseFont", "")).endswith(font_name):
                descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
                embedded = TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data()))
                names.update(embedded.getGlyphOrder())
    return names


async def test_directives_in_any_script_print_whole(client, make_person, caplog: pytest.LogCaptureFixture):
    """Chinese, Japanese, Korean and the emoji of a phone printed as nothing (DejaVu Sans has no
    glyph for them; fpdf2 only logged "missing glyphs"), Arabic and Hebrew as letters left to right,
    Arabic's unjoined: directives a doctor could not read. Fallback fonts now draw what DejaVu lacks,
    and text that needs it is shaped: read back, every script is there, in the order written."""
    # 䶮 (of 刘䶮) is one of the CJK Extension A ideographs, drawn by a font of their own.
    person = await make_person(given_name="Yasmine ياسمين", family_name="Cohen כהן 刘䶮")
    treatments = {
        "resuscitation": {"choice": "refuse", "note": SCRIPTS["French"]},
        "ventilation": {"choice": "refuse", "note": SCRIPTS["Arabic"]},
        "dialysis": {"choice": "refuse", "note": SCRIPTS["Chinese"]},
        "surgery": {"choice": "accept", "note": SCRIPTS["Japanese"]},
        "transfusion": {"choice": "accept", "note": SCRIPTS["emoji"]},
    }
    body = structured(
        treatments=treatments,
        reliefOfSuffering={"choice": "accept", "note": SCRIPTS["Hebrew"]},
        deepSedation={"choice": "accept", "note": SCRIPTS["Korean"]},
        # Begun in Arabic: each line after it still in its own direction (not an emoji moved first).
        wishes="\n".join(
            [SCRIPTS["Arabic"], *(text for script, text in SCRIPTS.items() if script != "Arabic"), THANKS]
        ),
    )
    assert (await client.put(DIRECTIVES, json=body, headers=person.headers)).status_code == 201
    with caplog.at_level(logging.WARNING):
        printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    assert printed.status_code == 200, printed.text
    _keep("directives-every-script.pdf", printed.content)
    lines = [" ".join(line.split()) for line in _text(printed.content).splitlines()]
    for script, text in SCRIPTS.items():
        # In a note and in the wishes, each in the order it was written (the right-to-left scripts
        # too: read back from the drawn glyphs, not reversed).
        assert sum(text in line for line in lines) >= 2, (script, [line for line in lines if line][:60])
    assert THANKS in lines
    # The author's names (pypdf reads the space between the Hebrew and the Chinese as none).
    assert any(line.startswith("Prénoms Yasmine ياسمين") for line in lines)
    assert any(line.startswith("Nom COHEN") and "כהן" in line and "刘䶮" in line for line in lines)
    assert not [record for record in caplog.records if "glyphs" in record.getMessage()]
    fonts = _font_names(printed.content)
    assert fonts == {"DejaVuSansBook", "DejaVuSansBold", "DroidSansFallback", "NotoColorEmoji"}
    # 䶮 is drawn (by DroidSansFallbackFull's Extension A, whose PostScript name is the same).
    assert "uni4DAE" in _glyph_names(printed.content, "DroidSansFallback")
    # Arabic is shaped: its letters drawn in their joined forms (initial, medial, final), which
    # DejaVu Sans holds as the presentation forms U+FE70-U+FEFF. Unshaped, none is drawn.
    joined = {name for name in _glyph_names(printed.content, "DejaVuSansBook") if name.startswith("uniFE")}
    assert {"uniFEDF", "uniFE8E", "uniFEF2"} <= joined, joined  # lam initial, alef final, yeh final


# Scripts people in France write names and notes in that DejaVu Sans and Droid Sans Fallback lack,
# and the font that draws each: the line, its font, glyphs it must hold (shaped where the script
# needs it: conjuncts, vowel signs placed before their consonant, stacked marks).
MORE_SCRIPTS = {
    "Urdu": ("یہ میری مرضی ہے", "NotoSansArabic", set()),
    "Devanagari": ("प्रिया शर्मा: मैं इनकार करती हूँ, क्षत्रिय", "NotoSansDevanagari", set()),
    "Bengali": ("আমি কৃত্রিম শ্বাস প্রত্যাখ্যান করি", "NotoSansBengali", set()),
    "Gurmukhi": ("ਗੁਰਪ੍ਰੀਤ ਸਿੰਘ", "NotoSansGurmukhi", set()),
    "Gujarati": ("પ્રિયા પટેલ", "NotoSansGujarati", set()),
    "Oriya": ("ମୁଁ ମନା କରୁଛି", "NotoSansOriya", set()),
    "Tamil": ("கிருஷ்ணன்: நான் மறுக்கிறேன்", "NotoSansTamil", set()),
    "Telugu": ("శ్రీనివాస్", "NotoSansTelugu", set()),
    "Kannada": ("ನಾನು ನಿರಾಕರಿಸುತ್ತೇನೆ", "NotoSansKannada", set()),
    "Malayalam": ("ഞാൻ നിരസിക്കുന്നു", "NotoSansMalayalam", set()),
    "Sinhala": ("මම ප්රතික්ෂේප කරමි", "NotoSansSinhala", set()),
    "Thai": ("แพ้ถั่วลิสง", "NotoSansThai", set()),
    "Khmer": ("សុខ ស្រីពៅ", "NotoSansKhmer", set()),
    "Myanmar": ("ကျွန်တော် ငြင်းဆိုပါသည်", "NotoSansMyanmar", set()),
    "Ethiopic": ("አበበ ቢቂላ እምቢ እላለሁ", "NotoSansEthiopic", {"uni12A0", "uni1260"}),
    "Syriac": ("ܐܢܐ ܠܐ ܨܒܐ", "NotoSansSyriac", set()),
    "Thaana": ("ދިވެހި", "NotoSansThaana", set()),
    "Adlam": ("𞤀𞤣𞤤𞤢𞤥", "NotoSansAdlam", set()),
    "CJK Extension B": ("𠮷野家, 𩸽", "HanaMinB", {"u20BB7", "u29E3D"}),
}


def test_a_line_in_each_script_dejavu_lacks_is_drawn_by_its_own_font() -> None:
    """Indic scripts, Thai, Khmer, Myanmar, Ethiopic, Syriac, Thaana, Adlam, Urdu's heh goal and
    yeh barree (U+06C1, U+06D2) and the CJK Extension B ideographs of names (𠮷 of 𠮷野家) printed
    blank: each is drawn now, by the font of its script, and reads back (or, shaped into conjuncts,
    its glyphs are there)."""
    from ens.core.pdf import Document

    document = Document(title="Écritures", footer="test")
    document.fields([(script, text) for script, (text, _, _) in MORE_SCRIPTS.items()])
    content = document.render()
    _keep("directives-more-scripts.pdf", content)
    fonts = _font_names(content)
    assert {font for _, font, _ in MORE_SCRIPTS.values()} <= fonts, fonts
    written = " ".join(_text(content).split())
    for script, (_, font, glyphs) in MORE_SCRIPTS.items():
        drawn = _glyph_names(content, font)
        assert len(drawn) > 1, script  # more than .notdef
        assert glyphs <= drawn, (script, glyphs - drawn)
    # What pypdf reads back whole (scripts whose glyphs map one to one to characters).
    for script in ("Ethiopic", "Thaana", "CJK Extension B", "Thai"):
        assert MORE_SCRIPTS[script][0] in written, (script, written)
    # Urdu's words each drawn by a run of Noto Sans Arabic, its spaces by DejaVu: pypdf reads the
    # words in the order they stand on the page, right to left (poppler reads them as written).
    assert all(word in written.split() for word in MORE_SCRIPTS["Urdu"][0].split()), written
    # Urdu is drawn whole by Noto Sans Arabic, its letters joined: "یہ" as yeh initial and heh goal
    # final, "ہے" as heh goal initial and yeh barree final. The yeh drawn by DejaVu Sans and the heh
    # goal by Noto Sans Arabic printed as two letters apart.
    assert {"uniFBFE", "uniFBA7", "uniFBA8", "uniFBAF"} <= _glyph_names(content, "NotoSansArabic")
    assert not any(name.startswith(("uniFE", "uni06")) for name in _glyph_names(content, "DejaVuSansBook"))
    assert document._pdf.text_shaping


def test_a_zero_width_joiner_in_an_indic_word_forms_its_conjunct() -> None:
    """A zero-width joiner inside a word asks for a conjunct (Sinhala's ශ්‍රී, a Devanagari eyelash
    ra र्‍य): drawn by DejaVu Sans, it split the word in two runs of Noto, each shaped alone, and the
    ra printed whole with its virama beside it. Drawn by the font of the letter before it, the word
    is shaped whole: the eyelash ra is one glyph, neither ra nor virama drawn alone. Emoji and
    Persian around it print as before (a joiner after them stays with DejaVu Sans)."""
    from ens.core.pdf import Document

    document = Document(title="Noms", footer="test")
    document.paragraph("श्री र्\u200dय, ශ්\u200dරී ලංකා, می\u200cکنم 👨\u200d👩\u200d👧")
    content = document.render()
    _keep("directives-zero-width-joiner.pdf", content)
    devanagari = _glyph_names(content, "NotoSansDevanagari")
    assert "uni092F" in devanagari and not {"uni0930", "uni094D"} & devanagari, devanagari
    assert "NotoSansSinhala" in _font_names(content)
    written = _text(content)
    assert "ශ්\u200dරී" in written or "ශ්රී" in written.replace("\u200d", ""), written
    # Which font draws each joiner (fpdf2's runs of one font): the one after a Sinhala letter
    # Noto Sans Sinhala, the one after a Persian letter DejaVu Sans, though a Sinhala word came
    # before it.
    pdf = document._pdf
    pdf.set_font("DejaVu", "", 10)
    runs = [
        (run.font.fontkey, "".join(run.characters))
        for run in pdf._preload_font_styles("ශ්රී می\u200cکنم, ශ්\u200dරී", False)
    ]
    joiners = {text: font for font, text in runs if text in ("\u200c", "\u200d")}
    assert joiners == {"\u200c": "dejavu", "\u200d": "notosanssinhala"}, runs


def test_a_document_in_french_only_embeds_dejavu_alone_and_is_not_shaped() -> None:
    """The fallback fonts (the CJK one takes a quarter of a second to load) and shaping (three to
    four times slower) are for the documents that need them: French alone has neither."""
    from ens.core.pdf import Document

    document = Document(title="Mes directives anticipées", footer="Directives de Marie DURAND")
    document.paragraph("Pas de réanimation si mon cœur s'arrête.")
    document.table(("Traitement", "Ma volonté"), [("Dialyse", "Je refuse")], widths=(0.5, 0.5))
    assert not document._pdf.text_shaping
    content = document.render()
    assert _font_names(content) == {"DejaVuSansBook", "DejaVuSansBold"}


def test_accents_typed_apart_print_joined_to_their_letters_without_shaping() -> None:
    """An "é" typed as "e" and a combining accent (some keyboards, texts copied from a PDF) is the
    same letter: it prints as "é", and the document stays unshaped (it turned shaping on for the
    whole document, three to four times slower). Everywhere a document takes text: title, footer,
    heading, paragraph, label and value, table. A mark with no letter to join still turns it on."""
    from ens.core.pdf import Document

    apart = "cre\u0301dit e\u0301te\u0301 Noe\u0308l"
    document = Document(title=f"Titre {apart}", footer=f"Pied {apart}", notice=f"Avis {apart}")
    document.section(f"Section {apart}")
    document.paragraph(f"Paragraphe {apart}")
    document.fields([(f"Libellé {apart}", f"Valeur {apart}")])
    document.table((f"Colonne {apart}", "Autre"), [(f"Cellule {apart}", "x")], widths=(0.5, 0.5))
    document.signature(place_and_date_label=f"Fait à {apart}", signer_label="Signature")
    assert not document._pdf.text_shaping
    written = _text(document.render())
    assert "\u0301" not in written and "\u0308" not in written
    places = ("Titre", "Pied", "Avis", "Section", "Paragraphe", "Libellé", "Valeur", "Colonne", "Cellule", "Fait à")
    for where in places:
        assert f"{where} crédit été Noël" in written, where
    alone = Document(title="Titre", footer="Pied")
    alone.paragraph("q\u0303 : une lettre qui n'a pas de forme accentuée toute faite")
    assert alone._pdf.text_shaping


def test_labels_and_values_are_set_flush_left_with_plain_spaces() -> None:
    """Labels and values were justified: a label that wraps in its narrow column, as the first-page
    summary's do, was spread over it ("Respiration            artificielle"), and a note's lines
    took gaps wide enough to read as two columns. They are set flush left: no line of them is drawn
    with stretched spaces (a TJ array with a gap between its strings)."""
    from ens.core.pdf import Document

    document = Document(title="T", footer="F")
    note = "Je veux être soulagée même si cela abrège ma vie, et que ma sœur soit consultée. " * 12
    document.fields([("Respiration artificielle (ventilation)", note)])
    stream = PdfReader(io.BytesIO(document.render())).pages[0].get_contents()
    assert stream is not None
    assert not re.search(r"\)\s*-?\d+(\.\d+)?\s*\(", stream.get_data().decode("latin-1"))


def test_the_signature_block_stays_on_one_page_above_the_footer() -> None:
    """At the foot of a page the signature block was cut: the line for the place and date drawn
    over the footer, the signature's label and line alone on the next page (the vaccination
    certificate of a booklet of four entries). Wherever the content ends, the block is whole on
    one page and its lines above the footer."""
    from ens.core.pdf import Document

    footer_top = 20 * MM  # the footer's room at the foot of every page, in points
    for lines in range(20, 46):
        document = Document(title="Certificat de vaccination", footer="Certificat de test")
        for n in range(lines):
            document.paragraph(f"Ligne {n}.")
        document.signature(place_and_date_label="Lieu et date :", signer_label="Cachet et signature :")
        content = document.render()
        [page] = [page for page in _pages(content) if "Lieu et date" in page]
        assert "Cachet et signature" in page, lines
        for pdf_page in PdfReader(io.BytesIO(content)).pages:
            stream = pdf_page.get_contents()
            assert stream is not None
            drawn = re.findall(r"[\d.]+ ([\d.]+) m [\d.]+ ([\d.]+) l S", stream.get_data().decode("latin-1"))
            assert all(float(y) > footer_top for line in drawn for y in line), (lines, drawn)


async def test_the_directives_heading_date_and_signature_stays_with_its_lines(client, person):
    """The section "Date et signature" kept 30 mm under its heading: its confirmation could end a
    page and the lines to sign begin the next."""
    for words in range(0, 480, 16):  # the wishes from none to ~4,000 characters: a page's height
        body = structured(wishes=" ".join(f"mot{n}" for n in range(words)))
        current = await client.get(DIRECTIVES, headers=person.headers)
        match = {"If-Match": current.headers["etag"]} if current.status_code == 200 else {}
        assert (await client.put(DIRECTIVES, json=body, headers={**person.headers, **match})).status_code in (200, 201)
        printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
        [page] = [page for page in _pages(printed.content) if "Date et signature" in page]
        assert "Je confirme ces directives" in page and "Fait à" in page and "Signature" in page, words


async def test_a_witness_s_row_is_whole_on_one_page_wherever_the_table_falls(client, person):
    """A witness's names at their longest (100 characters) take up to ten lines of the table: at a
    page's foot the row printed the first lines of the name there, and the rest beside the room
    left to sign on the next page (an outside audit): which page does the witness sign? Whatever
    the length of the wishes before the table, each witness's row is whole on one page, under the
    table's heading."""
    hundred = ("Marie-Françoise " * 7)[:100]
    witnesses = [{"givenName": hundred, "familyName": letter * 100, "quality": hundred} for letter in "WM"]
    for words in range(60, 204, 12):  # the second witness's row at page 2's foot, then the first's
        body = structured(wishes=" ".join(f"mot{n}" for n in range(words)), witnesses=witnesses)
        current = await client.get(DIRECTIVES, headers=person.headers)
        match = {"If-Match": current.headers["etag"]} if current.status_code == 200 else {}
        assert (await client.put(DIRECTIVES, json=body, headers={**person.headers, **match})).status_code in (200, 201)
        printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
        assert printed.status_code == 200, printed.text
        _keep(f"directives-witnesses-{words}-words.pdf", printed.content)
        written = [re.sub(r"\s", "", page.extract_text()) for page in PdfReader(io.BytesIO(printed.content)).pages]
        for letter in "WM":
            row = letter * 100 + re.sub(r"\s", "", hundred) * 2  # the name, the given name, the quality
            whole = [page for page in written if row in page]
            assert len(whole) == 1, (words, letter)
            assert whole[0].index("NomPrénomQualitéSignature") < whole[0].index(row)


def test_arabic_split_over_pages_in_a_table_reads_back_whole_and_in_order() -> None:
    """A table row taller than a page is cut line by line, as fpdf2 wraps it: shaped, measured and
    drawn the same, the pieces hold every word, each line right to left and the lines in order."""
    from ens.core.pdf import Document

    letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
    words = [f"{a}{b}{c}" for a in letters[:8] for b in letters for c in letters[::7]][: MOST // 4]
    note = " ".join(words)
    document = Document(title="Mes directives anticipées", footer="Directives anticipées de test")
    document.table(("Traitement", "Précisions"), [("Respiration artificielle", note)], widths=(0.3, 0.7))
    content = document.render()
    _keep("directives-arabic-split.pdf", content)
    pages = _pages(content)
    assert len(pages) >= 2 and all("Respiration artificielle (suite)" in page for page in pages[1:])
    written = re.sub(r"\s", "", " ".join(pages))
    for printed in ("Mesdirectivesanticipées", "TraitementPrécisions", "Respirationartificielle(suite)"):
        written = written.replace(printed, "")
    written = re.sub(r"Directivesanticipéesdetest—page\d+/\d+", "", written)
    assert written == "Respirationartificielle" + note.replace(" ", "")


async def test_long_runs_of_spaces_or_signs_print_in_a_shaped_document(client, person):
    """Shaping on (here for a "q" with a tilde, a letter no character holds whole), fpdf2's
    bidirectional algorithm looked for the next letter one recursive call a character: a run of
    some 1,000 spaces, stars, per cents or skin-tone emoji (which printed before shaping came) was a
    RecursionError, the PDF a 500. Each prints now, whole, and in reasonable time."""
    runs = {
        "spaces": "q\u0303 " + " " * 1500 + "fin",
        "stars": "*" * 1500,
        "percents": "%" * 1500,
        "skin tones": "\U0001f3fb" * 1500,
    }
    treatments = {
        name: {"choice": "refuse", "note": note} for name, note in zip(TREATMENTS[:4], runs.values(), strict=True)
    }
    body = structured(treatments=treatments, wishes="Je souhaite rester chez moi, q\u0303 : ma sœur.")
    assert (await client.put(DIRECTIVES, json=body, headers=person.headers)).status_code == 201
    printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    assert printed.status_code == 200, printed.text
    written = re.sub(r"\s", "", _text(printed.content))
    # Every sign printed (a run of them is cut where its lines are, and over pages).
    assert written.count("*") == written.count("%") == 1500 and "fin" in written


async def test_a_long_pdf_does_not_hold_up_the_other_requests(client, person):
    """Directives at their longest in Arabic take seconds to lay out, shaped (a note of 4,000
    zero-width joiners, over a minute): drawn in the request's own task, they held up every other
    request the process served until done. Drawn in a thread now, a request made meanwhile is
    answered first."""
    letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
    note = " ".join(f"{a}{b}{c}" for a in letters for b in letters for c in letters[::5])[:MOST]
    treatments = {name: {"choice": "refuse", "note": note} for name in TREATMENTS}
    assert (await client.put(DIRECTIVES, json=structured(treatments=treatments), headers=person.headers)).is_success
    loop = asyncio.get_running_loop()
    printing = asyncio.create_task(client.get(DIRECTIVES, headers={**person.headers, **PDF}))
    await asyncio.sleep(0.2)  # the PDF being drawn
    assert (await client.get("/v1/me", headers=person.headers)).status_code == 200
    answered = loop.time()
    assert not printing.done()
    printed = await printing
    assert printed.status_code == 200 and loop.time() - answered > 0.5


async def test_a_colour_emoji_drawn_for_two_clusters_prints(client, person):
    """The black flag followed by two different unfinished tag sequences (a flag of a region typed
    in part) is one glyph of Noto Color Emoji for two clusters: fpdf2 read its bitmap from bytes
    fontTools drops once read, and the second time was an AttributeError, the PDF a 500."""
    flag, g, b = "\U0001f3f4", "\U000e0067", "\U000e0062"
    body = structured(wishes=f"Mes couleurs : {flag}{g}{b} et {flag}{g}.")
    assert (await client.put(DIRECTIVES, json=body, headers=person.headers)).status_code == 201
    printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    assert printed.status_code == 200, printed.text
    assert "Mes couleurs" in _text(printed.content)


async def test_notes_of_invisible_characters_print_in_seconds(client, person):
    """Zero-width joiners or direction marks fit on a line by the thousand, and fpdf2 measures a line
    again at each character it adds: directives whose notes were 4,000 of them took 80 seconds to
    print (shaped). A run of invisible characters is cut to its first four: what prints is the same."""
    # (Direction overrides are refused at input now: a left-to-right mark stands in for them.)
    runs = ["\u200d" * MOST, "\u200d\u200c" * (MOST // 2), "\u200e" * MOST, "\ufeff" * MOST, "\u200b" * MOST]
    treatments = {
        name: {"choice": "refuse", "note": f"début{run[: MOST - 10]}fin"}
        for name, run in zip(TREATMENTS, [*runs, runs[0]], strict=True)
    }
    body = structured(treatments=treatments, wishes="\u200f" * MOST)
    assert (await client.put(DIRECTIVES, json=body, headers=person.headers)).status_code == 201
    started = time.monotonic()
    printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    assert printed.status_code == 200, printed.text
    assert time.monotonic() - started < 15
    # Every note printed (read back without the invisible characters).
    text = re.sub("[\u200b-\u200f\ufeff]", "", _text(printed.content))
    assert text.count("fin") >= len(TREATMENTS), text


def test_the_bidirectional_rules_without_recursion_are_fpdf2s(monkeypatch) -> None:
    """ens.core.pdf replaces two steps of fpdf2's bidirectional algorithm (they recursed a character
    at a time); on strings short enough for fpdf2's own, both give the same fragments."""
    import random

    from fpdf import bidi

    from ens.core import pdf

    alphabet = "ab1 2%#$°*.,-+:()[]אבגأبج٣٤\u0301\u200d\U0001f3fb\u2067\u2069\u202b\u202cé"
    rng = random.Random(20261202)
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 40))) for _ in range(3000)]
    ours = [bidi.BidiParagraph(text).get_bidi_fragments() for text in texts]
    weak, neutral = pdf.FPDF2_RULES
    monkeypatch.setattr(bidi.IsolatingRun, "resolve_weak_types", weak)
    monkeypatch.setattr(bidi.IsolatingRun, "resolve_neutral_types", neutral)
    assert [bidi.BidiParagraph(text).get_bidi_fragments() for text in texts] == ours


async def test_a_print_asked_again_is_304_until_what_it_shows_changes(client, person, history):
    """Each print's bytes differ (the PDF's creation time and /ID), so the hash of its body matched
    no later print and If-None-Match was 304 only within the same second (an outside audit of the
    records): the tag now names what the PDF is drawn from, weak, and a match is answered without
    drawing."""
    headers = person.headers
    await client.put(TRUSTED_PERSON, json=trusted("Élise", "Durand"), headers=headers)
    assert (await client.put(DIRECTIVES, json=structured(), headers=headers)).status_code == 201
    first = await client.get(DIRECTIVES, headers={**headers, **PDF})
    assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
    tag = first.headers["etag"]
    assert tag.startswith('W/"')
    await asyncio.sleep(1.1)  # a second later: the PDF's creation time is another
    again = await client.get(DIRECTIVES, headers={**headers, **PDF, "If-None-Match": tag})
    assert again.status_code == 304 and again.headers["etag"] == tag and again.content == b""
    # The JSON's tag is another representation's: it matches no print.
    json_tag = (await client.get(DIRECTIVES, headers=headers)).headers["etag"]
    assert json_tag != tag
    assert (await client.get(DIRECTIVES, headers={**headers, **PDF, "If-None-Match": json_tag})).status_code == 200
    # The trusted person page 1 names changes the print, as a new version does.
    designated = await client.get(TRUSTED_PERSON, headers=headers)
    changed = await client.put(
        TRUSTED_PERSON, json=trusted("Marc", "Petit"), headers={**headers, "If-Match": designated.headers["etag"]}
    )
    assert changed.status_code == 200, changed.text
    moved = await client.get(DIRECTIVES, headers={**headers, **PDF, "If-None-Match": tag})
    assert moved.status_code == 200 and moved.headers["etag"] != tag
    current = (await client.get(DIRECTIVES, headers=headers)).headers["etag"]
    v2 = await client.put(DIRECTIVES, json=structured(situation="ill"), headers={**headers, "If-Match": current})
    assert v2.status_code == 200, v2.text
    newer = await client.get(DIRECTIVES, headers={**headers, **PDF, "If-None-Match": moved.headers["etag"]})
    assert newer.status_code == 200 and "version 2" in _text(newer.content)
    # The 304 is in the access history, as every read is.
    rows = [r for r in await history(person.space_id) if r["action"] == "GET /v1/spaces/{space}/directives"]
    assert 304 in [r["outcome"] for r in rows]
