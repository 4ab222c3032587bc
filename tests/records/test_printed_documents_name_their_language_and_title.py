"""A printed document (the directives, the vaccination certificate) says what language it is written
in and shows its title, not its file name (an outside audit with pdfinfo, as a screen reader user
would get them).

Neither PDF had a ``/Lang``: a screen reader read the French text with the voice of the reader's own
language, or guessed (WCAG 3.1.1, technique PDF16). Both had a title in their metadata, but a PDF
viewer showed the file name in its window and tab unless the document asks for the title
(``/DisplayDocTitle``, WCAG 2.4.2, technique PDF18).
"""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfReader

from tests.helpers.records import DIRECTIVES

PDF = {"Accept": "application/pdf"}


def _says_french_and_shows_its_title(content: bytes, title: str) -> None:
    reader = PdfReader(io.BytesIO(content))
    catalog: Any = reader.trailer["/Root"].get_object()
    assert catalog.get("/Lang") == "fr-FR"
    assert bool(catalog["/ViewerPreferences"].get_object().get("/DisplayDocTitle"))
    assert reader.metadata is not None and reader.metadata.title == title


async def test_the_printed_directives_are_in_french_and_show_their_title(client, person):
    body = {"pointer": {"location": "Coffre de la banque, Lyon", "keeper": "Ma fille, Cécile"}}
    assert (await client.put(DIRECTIVES, json=body, headers=person.headers)).status_code == 201
    printed = await client.get(DIRECTIVES, headers={**person.headers, **PDF})
    assert printed.status_code == 200
    _says_french_and_shows_its_title(printed.content, "Mes directives anticipées")


async def test_the_vaccination_certificate_is_in_french_and_shows_its_title(client, person):
    printed = await client.get("/v1/spaces/me/vaccinations", headers={**person.headers, **PDF})
    assert printed.status_code == 200
    _says_french_and_shows_its_title(printed.content, "Certificat de vaccination")
