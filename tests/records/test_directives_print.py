"""The printed directives: a real PDF with an embedded Unicode font, dated, with the version number
and a signature block, its French text (œ, é, ç) selectable and found again by a PDF reader."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from tests.helpers.records import DIRECTIVES, TRUSTED_PERSON, structured, trusted

PDF = {"Accept": "application/pdf"}
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


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
    assert "DURAND Élise" in flat and "+33612345678" in flat
    assert "ROUX" in flat and "deux témoins" in flat
    assert "juge des tutelles" in flat and "RG 24/01234" in flat
    assert "Signature" in flat and "Fait à" in flat
    # The font is embedded (DejaVu Sans): the built-in PDF fonts are Latin-1 and would lose "œ".
    fonts = _fonts(printed.content)
    assert fonts and all("DejaVu" in name for name in fonts)


async def test_a_pointer_prints_where_the_paper_directives_are(client, person):
    body = {"pointer": {"location": "Coffre de la banque, Lyon", "keeper": "Ma fille, Cécile"}}
    await client.put(DIRECTIVES, json=body, headers=person.headers)
    printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    assert printed.status_code == 200
    flat = " ".join(_text(printed.content).split())
    assert "Coffre de la banque, Lyon" in flat and "Ma fille, Cécile" in flat and "Signature" in flat


async def test_revoked_directives_are_not_printed(client, person):
    written = await client.put(DIRECTIVES, json=structured(), headers=person.headers)
    await client.delete(DIRECTIVES, headers={**person.headers, "If-Match": written.headers["etag"]})
    refused = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
    # JSON is still the default, and says revoked.
    assert (await client.get(DIRECTIVES, headers=person.headers)).json()["status"] == "revoked"


async def test_nothing_to_print_is_404(client, person):
    assert (await client.get(DIRECTIVES, headers={**person.headers, **PDF})).status_code == 404
