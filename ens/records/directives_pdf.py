"""The printed advance directives: the current version, dated, with its version number and a block
for the handwritten signature (the law asks for directives written, dated and signed, R1111-17).
A version no longer in force (the export prints every version) says so on every page: replaced by
which version, or revoked, and since when, so that no one acts on wishes the author has withdrawn.

Printed in French, for the person to sign and hand to a hospital. The wording follows the official
model (arrêté du 3 août 2016): the two situations, each life-sustaining treatment, relief of
suffering, deep and continuous sedation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from zoneinfo import ZoneInfo

from msgspec import UNSET

from ens.core import clock
from ens.core.errors import Conflict
from ens.core.pdf import Document, french_date
from ens.records.communes import FRANCE, commune_of_birth, country_of_birth
from ens.records.directives import get_directives
from ens.records.phones import readable
from ens.records.schemas import (
    AddressRead,
    DirectivesRead,
    DirectiveVersionRead,
    OrganDonationWish,
    ProtectionAuthorisationRead,
    TrustedPersonCopy,
    Wish,
)
from ens.records.trusted_person import same_designation, trusted_person_now
from ens.spaces.door import SpaceAccess

_SITUATIONS = {
    "ill": "Modèle A — Je suis atteint(e) d'une maladie grave, ou je suis en fin de vie.",
    "not_ill": "Modèle B — Je pense être en bonne santé ; j'écris pour le cas où une maladie grave ou un "
    "accident me rendrait incapable d'exprimer ma volonté.",
}
_CHOICES = {
    "accept": "J'accepte",
    "refuse": "Je refuse",
    "let_doctors_decide": "Je laisse les médecins décider",
    "not_stated": "Je ne me prononce pas",
}
_TREATMENTS = (
    ("resuscitation", "Réanimation cardio-respiratoire"),
    ("ventilation", "Respiration artificielle (ventilation)"),
    ("dialysis", "Dialyse (rein artificiel)"),
    ("nutrition_hydration", "Nutrition et hydratation artificielles"),
    ("surgery", "Intervention chirurgicale"),
    ("transfusion", "Transfusion sanguine"),
)
_AUTHORITIES = {"judge": "du juge des tutelles", "family_council": "du conseil de famille"}


def _birthplace(code: str | None, country: str | None) -> str:
    # The identity provider gives the INSEE code of the commune, empty for a birth abroad, then the
    # country's (R1111-17 identifies the author by their place of birth: a person born abroad was
    # printed "à l'étranger ou non communiqué", an outside audit). Printed by name, or as the code
    # itself when the lists do not know it.
    if code:
        return commune_of_birth(code) or f"code INSEE {code}"
    if country and country.strip() != FRANCE:
        return country_of_birth(country) or f"à l'étranger (pays : code INSEE {country})"
    return "à l'étranger ou non communiqué"


def _address(address: AddressRead | None) -> str:
    """One line, as on an envelope: "3 rue des Lilas, 69003 Lyon", then the country when not France."""
    if address is None:
        return ""
    country = address.country.strip() if address.country else ""
    abroad = f", {country}" if country and country.casefold() != "france" else ""
    return f"{address.line.strip()}, {address.postal_code.strip()} {address.city.strip()}{abroad}"


def _wish(wish: Wish | OrganDonationWish | None) -> tuple[str, str]:
    if wish is None:
        return _CHOICES["not_stated"], ""
    return _CHOICES[wish.choice], wish.note or ""


def _local_date(directives: DirectiveVersionRead, zone: str) -> date:
    return directives.created_at.astimezone(ZoneInfo(zone)).date()


async def directives_to_print(access: SpaceAccess) -> tuple[list[object], Callable[[], bytes]]:
    """The current version to print (in force, so without a notice): what its PDF is drawn from,
    and the drawing (``ens.core.api.printed``); revoked directives have nothing to print (409)."""
    directives = await get_directives(access)
    if directives.status == "revoked":
        raise Conflict("These advance directives are revoked: there is nothing in force to print.")
    zone = access.space.timezone
    printed_on = clock.now().astimezone(ZoneInfo(zone)).date()
    trusted_now = await trusted_person_now(access.space_id, directives)
    draw = partial(render_directives, directives, zone=zone, printed_on=printed_on, trusted_now=trusted_now)
    return [directives, zone, printed_on, trusted_now], draw


def no_longer_in_force(next_version: DirectiveVersionRead, *, zone: str) -> str:
    """What every page of a version says once ``next_version`` follows it: replaced by that
    version, or revoked by it, on its day in the space's time zone."""
    day = french_date(_local_date(next_version, zone))
    if next_version.status == "revoked":
        return f"Directives révoquées le {day} — ne font plus foi"
    return f"Version remplacée le {day} par la version {next_version.version} — ne fait plus foi"


def render_directives(
    directives: DirectivesRead,
    *,
    zone: str,
    printed_on: date,
    trusted_now: TrustedPersonCopy | None,
    next_version: DirectiveVersionRead | None = None,
) -> bytes:
    """The PDF of ``directives`` (also the attachment of the FHIR ``Consent``). ``next_version`` is
    the version written after it, if any: the PDF of a version no longer in force says so, and since
    when, on every page (:func:`no_longer_in_force`); the one in force has none.

    ``trusted_now`` is the trusted person designated today (for a version no longer in force, its
    own copy): page 1 names them as whom to call, and the version's copy, "au moment de la
    rédaction", says when the designation changed since (the page a doctor reads first named a
    trusted person the holder had removed, with her number: an outside audit)."""
    author = directives.author
    name = f"{author.given_name} {author.family_name.upper()}"
    written = french_date(_local_date(directives, zone))
    document = Document(
        title="Mes directives anticipées",
        footer=f"Directives anticipées de {name} — version {directives.version} du {written}",
        author=name,
        notice=None if next_version is None else no_longer_in_force(next_version, zone=zone),
    )
    document.paragraph(
        f"Version {directives.version}, rédigée le {written}. Imprimée le {french_date(printed_on)}.", bold=True
    )
    document.paragraph(
        "Articles L1111-11 et R1111-17 à R1111-20 du code de la santé publique. Ces directives n'ont pas de "
        "durée de validité : elles s'appliquent tant que je ne les ai ni modifiées ni révoquées, ce que je "
        "peux faire à tout moment.",
        size=9.5,
    )
    document.section("Je soussigné(e)")
    document.fields(
        [
            ("Nom", author.family_name.upper()),
            ("Prénoms", author.given_name),
            ("Date de naissance", french_date(author.birthdate) if author.birthdate else ""),
            ("Lieu de naissance", _birthplace(author.birthplace, author.birthcountry)),
        ]
    )
    if directives.form == "pointer" and directives.pointer is not None:
        document.section("Où se trouvent mes directives anticipées")
        document.paragraph("J'ai rédigé mes directives anticipées sur papier. Elles se trouvent :")
        document.fields(
            [("Lieu", directives.pointer.location), ("Conservées par", directives.pointer.keeper or "moi-même")]
        )
        if trusted_now is not None:
            # Whom to call, as the structured form names them on its first page: the one designated today.
            document.section("Ma personne de confiance")
            document.fields(_whom_to_call(trusted_now))
    else:
        _structured(document, directives, trusted_now=trusted_now)
    _signature(document, directives)
    return document.render()


def _structured(document: Document, directives: DirectivesRead, *, trusted_now: TrustedPersonCopy | None) -> None:
    document.section("Ma situation")
    document.paragraph(_SITUATIONS.get(directives.situation or "", "Non précisée."))
    treatments = directives.treatments
    rows = []
    for field, label in _TREATMENTS:
        choice, note = _wish(getattr(treatments, field) if treatments else None)
        rows.append((label, choice, note))
    _in_brief(document, directives, rows, trusted_now=trusted_now)
    header, widths = ("Traitement", "Ma volonté", "Précisions"), (0.3, 0.24, 0.46)
    document.section("Les traitements de maintien en vie", table=(header, rows, widths))
    document.table(header, rows, widths=widths)
    choice, note = _wish(directives.relief_of_suffering)
    document.section("Soulagement des souffrances")
    document.fields([("Ma volonté", choice), ("Précisions", note)])
    choice, note = _wish(directives.deep_sedation)
    document.section("Sédation profonde et continue jusqu'au décès")
    document.fields([("Ma volonté", choice), ("Précisions", note)])
    choice, note = _wish(directives.organ_donation)
    document.section("Don d'organes et de tissus")
    document.fields([("Ma volonté", choice), ("Précisions", note)])
    document.paragraph(
        "À titre d'information seulement : un refus de don n'a d'effet légal qu'inscrit au registre national "
        "des refus (article L1232-1 du code de la santé publique).",
        size=9,
    )
    if directives.wishes:
        document.section("Mes autres souhaits")
        document.paragraph(directives.wishes)
    trusted = directives.trusted_person
    document.section("Ma personne de confiance (au moment de la rédaction)")
    if trusted is None:
        document.paragraph("Je n'avais pas désigné de personne de confiance.")
    else:
        document.fields(
            [
                ("Nom et prénom", f"{trusted.family_name.upper()} {trusted.given_name}"),
                ("Lien", trusted.relationship or ""),
                ("Téléphone", readable(trusted.phone) if trusted.phone else ""),
                ("Courriel", trusted.email or ""),
                # A version written before addresses were copied has none to print (the row is left out).
                *([] if trusted.address is UNSET else [("Adresse", _address(trusted.address))]),
            ]
        )
    if not same_designation(trusted, trusted_now):
        document.paragraph(
            "Ma personne de confiance a changé depuis : celle désignée aujourd'hui est nommée en page 1."
            if trusted_now is not None
            else "Cette désignation a été révoquée depuis : je n'ai plus de personne de confiance.",
            bold=True,
        )
    if directives.protection_authorisation is not None:
        _authorisation(document, directives.protection_authorisation)
    if directives.witnesses:
        document.section("Témoins")
        document.paragraph(
            "Je ne peux pas écrire moi-même. Ces directives ont été rédigées devant deux témoins, qui attestent "
            "qu'elles sont l'expression de ma volonté libre et éclairée."
        )
        document.table(
            ("Nom", "Prénom", "Qualité", "Signature"),
            [(w.family_name.upper(), w.given_name, w.quality, " \n \n ") for w in directives.witnesses],
            widths=(0.25, 0.22, 0.23, 0.3),
        )


def _in_brief(
    document: Document,
    directives: DirectivesRead,
    treatments: list[tuple[str, str, str]],
    *,
    trusted_now: TrustedPersonCopy | None,
) -> None:
    """Every choice on one page, before the notes: a doctor reading the directives in an emergency
    finds them all on the first page, however long a note (4,000 characters run on over three
    pages, and pushed the other treatments as far), and whom to call."""
    document.section("Mes volontés en bref (le détail et mes précisions suivent)")
    rows = [(label, choice) for label, choice, _ in treatments]
    rows += [
        ("Soulagement des souffrances", _wish(directives.relief_of_suffering)[0]),
        ("Sédation profonde et continue", _wish(directives.deep_sedation)[0]),
        ("Don d'organes et de tissus", _wish(directives.organ_donation)[0]),
    ]
    if trusted_now is not None:
        rows += _whom_to_call(trusted_now)
    elif directives.trusted_person is not None:
        rows.append(("Personne de confiance", "aucune aujourd'hui (désignation révoquée)"))
    document.fields(rows)


def _whom_to_call(trusted_now: TrustedPersonCopy) -> list[tuple[str, str]]:
    """The trusted person designated today, and their number on a line of its own: after a name in
    Arabic or Hebrew it would be laid out right to left with it, its groups of digits in reverse order."""
    rows = [("Personne de confiance", f"{trusted_now.family_name.upper()} {trusted_now.given_name}")]
    if trusted_now.phone:
        rows.append(("Son téléphone", readable(trusted_now.phone)))
    return rows


def _authorisation(document: Document, authorisation: ProtectionAuthorisationRead) -> None:
    document.section("Autorisation (mesure de protection)")
    granted = f", du {french_date(authorisation.granted_on)}" if authorisation.granted_on else ""
    document.paragraph(
        f"Rédigées avec l'autorisation {_AUTHORITIES[authorisation.authority]}, "
        f"référence {authorisation.reference}{granted}."
    )


def _signature(document: Document, directives: DirectivesRead) -> None:
    # The heading, the confirmation and the lines to sign stay on one page (~65 mm).
    document.section("Date et signature", keep=70)
    if directives.witnesses:
        # CSP R1111-17: the author who cannot write and sign has two witnesses attest them (above);
        # "signées de ma main" would contradict that page (an outside audit).
        document.paragraph(
            f"Ces directives anticipées (version {directives.version}) sont l'expression de ma volonté. Je ne "
            "peux pas les signer moi-même : mes deux témoins les signent ci-dessus ; elles sont datées du jour "
            "de leur signature.",
            size=10,
        )
        document.signature(place_and_date_label="Fait à … , le …", signer_label="Signature ou marque (si possible)")
        return
    if directives.form == "pointer":
        # This page says where the directives are, not what they say: it confirms that (it said
        # "je confirme ces directives", as if it were them: an outside audit).
        document.paragraph(
            "Je confirme avoir rédigé mes directives anticipées sur papier et qu'elles se trouvent à "
            f"l'endroit indiqué ci-dessus (version {directives.version} de cette indication). Signée de ma "
            "main, cette page est datée du jour de la signature.",
            size=10,
        )
        document.signature(place_and_date_label="Fait à … , le …", signer_label="Signature")
        return
    document.paragraph(
        f"Je confirme ces directives anticipées (version {directives.version}). Signées de ma main, elles sont "
        "datées du jour de la signature.",
        size=10,
    )
    document.signature(place_and_date_label="Fait à … , le …", signer_label="Signature")
