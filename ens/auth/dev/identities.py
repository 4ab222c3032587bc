"""Test identities of the embedded development provider (and of ``ens dev token`` / ``ens demo``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ens.spaces.service import Identity


@dataclass(frozen=True)
class DevIdentity:
    key: str
    given_name: str
    family_name: str
    birthdate: date
    gender: str
    birthplace: str
    birthcountry: str
    email: str
    description: str


DEV_IDENTITIES: dict[str, DevIdentity] = {
    identity.key: identity
    for identity in (
        DevIdentity(
            "camille",
            "Camille",
            "Martin",
            date(1986, 4, 12),
            "female",
            "75056",
            "99100",
            "camille.martin@example.fr",
            "Adulte, titulaire du compte de démonstration",
        ),
        DevIdentity(
            "jean",
            "Jean",
            "Dupont",
            date(1979, 9, 30),
            "male",
            "69123",
            "99100",
            "jean.dupont@example.fr",
            "Parent d'un enfant mineur",
        ),
        DevIdentity(
            "lea",
            "Léa",
            "Dupont",
            date(1981, 2, 3),
            "female",
            "13055",
            "99100",
            "lea.dupont@example.fr",
            "Second parent du même enfant",
        ),
        DevIdentity(
            "yanis",
            "Yanis",
            "Benali",
            date(1950, 11, 2),
            "male",
            "",
            "99350",
            "yanis.benali@example.fr",
            "Adulte né à l'étranger",
        ),
    )
}

DEV_SUB_PREFIX = "dev-"


def dev_sub(identity: DevIdentity) -> str:
    """A stable pseudonymous subject, as FranceConnect gives one per relying party."""
    return f"{DEV_SUB_PREFIX}{identity.key}-0001"


def as_identity(identity: DevIdentity, issuer: str) -> Identity:
    """The test identity as the embedded provider asserts it (same issuer, same subject)."""
    return Identity(
        issuer=issuer,
        sub=dev_sub(identity),
        given_name=identity.given_name,
        family_name=identity.family_name,
        birthdate=identity.birthdate,
        gender=identity.gender,
        birthplace=identity.birthplace or None,
        email=identity.email,
        birthcountry=identity.birthcountry or None,
    )
