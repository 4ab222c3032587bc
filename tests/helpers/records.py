"""Records as the tests build them: directives bodies, contacts, a representative's right."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx

from ens.core import db

DIRECTIVES = "/v1/spaces/me/directives"
TRUSTED_PERSON = "/v1/spaces/me/trusted-person"
CONTACTS = "/v1/spaces/me/emergency-contacts"
DOCTOR = "/v1/spaces/me/doctor"
PROBLEM = "application/problem+json"

# A valid RPPS number: 10 digits and their Luhn check digit.
VALID_RPPS = "10003826475"


def structured(**overrides: Any) -> dict[str, Any]:
    """A structured form of the official model, with a wish in French (accents and "œ")."""
    body: dict[str, Any] = {
        "situation": "not_ill",
        "treatments": {
            "resuscitation": {"choice": "refuse", "note": "Pas de réanimation si mon cœur s'arrête."},
            "ventilation": {"choice": "let_doctors_decide"},
            "dialysis": {"choice": "accept", "note": None},
        },
        "reliefOfSuffering": {"choice": "accept", "note": "Soulager ma douleur, même si cela abrège ma vie."},
        "deepSedation": {"choice": "accept"},
        "organDonation": {"choice": "refuse", "note": "Inscrite au registre national des refus."},
        "wishes": "Je souhaite mourir chez moi, entourée de mes proches ; ma sœur François-Xavière sait pourquoi.",
    }
    body.update(overrides)
    return body


# What a holder represented as a person (tutelle, habilitation familiale) writes with (CSP L1111-11).
JUDGE = {"authority": "judge", "reference": "TJ Lyon, RG 26/01234", "grantedOn": "2026-01-10"}


def trusted(given_name: str = "Élise", family_name: str = "Durand", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "givenName": given_name,
        "familyName": family_name,
        "relationship": "sœur",
        "phone": "06 12 34 56 78",
        "email": "elise.durand@example.test",
        "address": {"line": "3 rue des Lilas", "postalCode": "69003", "city": "Lyon", "country": "France"},
        "acceptedAt": "2026-01-15",
    }
    body.update(overrides)
    return body


def contact(given_name: str = "Paul", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "givenName": given_name,
        "familyName": "Martin",
        "relationship": "voisin",
        "phones": ["+33 1 42 68 53 00"],
    }
    body.update(overrides)
    return body


def doctor(given_name: str = "Jacques", family_name: str = "Lefèvre", **overrides: Any) -> dict[str, Any]:
    """A PUT .../doctor body: a GP in Lyon with a valid RPPS."""
    return {
        "givenName": given_name,
        "familyName": family_name,
        "rpps": VALID_RPPS,
        "phone": "04 72 00 00 00",
        "address": {"line": "12 place Bellecour", "postalCode": "69002", "city": "Lyon"},
        **overrides,
    }


def pointers(response: httpx.Response) -> list[str]:
    """The JSON Pointers of a problem+json answer (the test fails if it is not one)."""
    assert response.headers["content-type"] == PROBLEM, response.text
    return [error["pointer"] for error in response.json().get("errors", [])]


async def date_directives_version(space_id: uuid.UUID, version: int, at: datetime) -> None:
    """Time passes: version ``version`` of the space's directives was written ``at`` (its ETag changes)."""
    await db.fetch(
        "UPDATE directive_versions SET created_at = {} WHERE space_id = {} AND version = {}", at, space_id, version
    )
