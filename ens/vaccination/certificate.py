"""The printable vaccination certificate (what a crèche or a school asks parents for): the holder,
the date it was printed, every entry of the booklet with its status (declared or validated), and,
for a child under the obligation, where each mandatory vaccination stands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial

from ens.core.pdf import Document, french_date
from ens.spaces.door import SpaceAccess
from ens.vaccination.booklet import all_vaccinations, space_today
from ens.vaccination.calendar import disease_labels
from ens.vaccination.engine import Schedule
from ens.vaccination.engine.dates import PartialDate
from ens.vaccination.schedule import holder_schedule
from ens.vaccination.schemas import VaccinationRead

STATUS_WORDS = {"declared": "Déclarée", "validated": "Validée"}
_MANDATORY_WORDS = {
    "overdue": "En retard",
    "due": "À faire maintenant",
    "unknown": "À vérifier",
    "upcoming": "À jour (prochaine dose à venir)",
    "done": "À jour",
}
_NEVER_GIVEN = "Jamais faite, plus recommandée à cet âge"
_INCOMPLETE = "Incomplète, plus recommandée à cet âge"


async def certificate_to_print(access: SpaceAccess) -> tuple[list[object], Callable[[], bytes]]:
    """The certificate of the space's booklet as of today: what its PDF is drawn from, and the
    drawing (``ens.core.api.printed``)."""
    entries = await all_vaccinations(access.space_id, with_hidden=access.sees_confidential)
    schedule = await holder_schedule(access)
    today = space_today(access)
    draw = partial(render_certificate, access, entries=entries, schedule=schedule, today=today)
    return [access.space, entries, schedule, today], draw


def render_certificate(
    access: SpaceAccess, *, entries: list[VaccinationRead], schedule: Schedule, today: date
) -> bytes:
    space = access.space
    printed = french_date(today)
    document = Document(
        title="Certificat de vaccination",
        # The family name in capitals, as French documents write it (and the directives do).
        footer=f"Certificat de vaccination de {space.given_name} {space.family_name.upper()}, établi le {printed}",
    )
    document.paragraph(f"Extrait du carnet de vaccination de l'espace santé, établi le {printed}.")
    document.fields(
        [
            ("Nom", space.family_name.upper()),
            ("Prénom", space.given_name),
            ("Date de naissance", french_date(space.birthdate) if space.birthdate else "non renseignée"),
        ]
    )
    document.section("Vaccinations enregistrées")
    if not entries:
        document.paragraph("Le carnet ne contient aucune vaccination.")
    else:
        labels = disease_labels()
        document.table(
            ["Date", "Vaccin", "Protège contre", "Dose", "Lot", "Fait par", "Statut"],
            [
                [
                    _short_date(entry.date),
                    entry.vaccine_name,
                    ", ".join(labels.get(code, code) for code in entry.diseases),
                    str(entry.dose_number) if entry.dose_number else "",
                    entry.lot_number or "",
                    ", ".join(part for part in (entry.administered_by, entry.location) if part),
                    STATUS_WORDS.get(entry.status, entry.status),
                ]
                for entry in entries
            ],
            # The lot's column holds 12 characters on a line (a lot number cut in two, its pieces
            # on two lines, is copied wrong); the dose's, two digits.
            widths=[0.12, 0.165, 0.235, 0.065, 0.155, 0.165, 0.095],
        )
    mandatory = _mandatory_status(schedule)
    if mandatory:
        document.section("Vaccinations obligatoires")
        document.paragraph(
            "Selon le calendrier des vaccinations et les dates du carnet ci-dessus, à la date de ce certificat :",
            size=9.5,
        )
        document.table(["Maladie", "État"], mandatory, widths=[0.7, 0.3])
    document.section("Statut des vaccinations")
    document.paragraph(
        "Déclarée : saisie par la personne ou son représentant légal dans son espace santé, "
        "sans validation par un professionnel de santé. "
        "Validée : enregistrée, ou vérifiée et validée, par un professionnel de santé habilité à vacciner.",
        size=9.5,
    )
    document.signature(
        place_and_date_label="Lieu et date :",
        signer_label="Cachet et signature du professionnel de santé qui atteste ce certificat (le cas échéant) :",
    )
    return document.render()


def _short_date(text: str) -> str:
    """``12/03/2024``, ``05/2009`` or ``2009``: a booklet date as French forms write it."""
    when = PartialDate.parse(text)
    if when.precision == "day":
        return when.start.strftime("%d/%m/%Y")
    return when.start.strftime("%m/%Y") if when.precision == "month" else text


def _mandatory_status(schedule: Schedule) -> list[list[str]]:
    """For each disease with a mandatory dose for this holder, the worst of its mandatory doses. A
    dose missed for good (``not_counted`` with no booklet entry: the calendar no longer recommends
    it at this age) comes after a dose still to do, and before one done: a disease whose doses were
    never given was left out, and the section read as if it were not among the obligations (an
    outside audit)."""
    order = ["overdue", "due", "unknown", "upcoming", "done"]
    lines: list[list[str]] = []
    for disease in schedule.diseases:
        mandatory = [item for item in disease.doses if item.obligation == "mandatory"]
        statuses = [item.status for item in mandatory if item.status in order]
        missed = any(item.status == "not_counted" and item.vaccination_id is None for item in mandatory)
        worst: str | None = min(statuses, key=order.index) if statuses else None
        if missed and worst in (None, "done"):
            lines.append([disease.label, _INCOMPLETE if worst == "done" else _NEVER_GIVEN])
        elif worst is not None:
            lines.append([disease.label, _MANDATORY_WORDS[worst]])
    return lines
