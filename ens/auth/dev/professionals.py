"""Test professionals of the embedded development provider for professionals (``/dev-pro-idp``),
asserted with Pro Santé Connect's claims: ``SubjectNameID`` (8 + RPPS, or 0 + ADELI),
``SubjectRefPro.exercices[]`` (``codeProfession`` from TRE_G15, names of exercise, places of
practice in ``activities[]``), ``given_name``, ``family_name``, ``preferred_username``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DevProfessional:
    key: str
    given_name: str
    family_name: str
    national_id: str
    profession_code: str
    place: str
    postal_code: str
    description: str


DEV_PROFESSIONALS: dict[str, DevProfessional] = {
    professional.key: professional
    for professional in (
        DevProfessional(
            "dr-bernard",
            "Claire",
            "Bernard",
            "810001234565",
            "10",
            "Cabinet médical du Parc",
            "69003",
            "Médecin généraliste (RPPS)",
        ),
        DevProfessional(
            "infirmier-petit",
            "Hugo",
            "Petit",
            "810002345675",
            "60",
            "Cabinet infirmier des Tilleuls",
            "69007",
            "Infirmier (RPPS)",
        ),
        DevProfessional(
            "pharmacienne-roux",
            "Inès",
            "Roux",
            "810003456786",
            "21",
            "Pharmacie de la Croix-Rousse",
            "69004",
            "Pharmacienne (RPPS)",
        ),
        DevProfessional(
            "sage-femme-moreau",
            "Sophie",
            "Moreau",
            "0691234567",
            "50",
            "Maternité Saint-Joseph",
            "69008",
            "Sage-femme (ADELI)",
        ),
    )
}


def dev_professional_claims(key: str) -> dict[str, Any]:
    """What Pro Santé Connect's userinfo says of this test professional."""
    professional = DEV_PROFESSIONALS[key]
    return {
        "sub": f"dev-pro-{professional.key}-0001",
        "SubjectNameID": professional.national_id,
        "preferred_username": professional.national_id,
        "given_name": professional.given_name,
        "family_name": professional.family_name,
        "SubjectRefPro": {
            "codeCivilite": "",
            "exercices": [
                {
                    "codeProfession": professional.profession_code,
                    "codeCategorieProfessionnelle": "C",
                    "nomDexercice": professional.family_name,
                    "prenomDexercice": professional.given_name,
                    "activities": [
                        {
                            "codeModeExercice": "L",
                            "raisonSocialeSite": professional.place,
                            "codePostal": professional.postal_code,
                        }
                    ],
                }
            ],
        },
        "SubjectRole": [f"{professional.profession_code}^1.2.250.1.213.1.1.5.5"],
    }
