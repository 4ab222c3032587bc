"""Obligations the law set for a birth cohort the calendar does not model (``earlier_obligations``
of ``schedule-rules-fr.json``): the diphtheria, tetanus and polio obligation of children born before
1 January 2018. The calendar's own ``mandatory`` fields carry the obligation of later cohorts; this
makes the doses an earlier obligation names mandatory for the people it covers, the day it is
evaluated, and says so in their reason with its sources."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from ens.vaccination.calendar import EarlierObligation, ScheduleData
from ens.vaccination.engine.dates import at_months
from ens.vaccination.engine.model import DoseItem


def applies(obligation: EarlierObligation, *, birthdate: date, today: date) -> bool:
    """Born on or before the cohort's last day, and not yet at the age the obligation ends (18: the
    law binds the parents or guardians of a minor)."""
    if birthdate > date.fromisoformat(obligation.born_until):
        return False
    return today < at_months(birthdate, 12 * obligation.until_age_years)


def with_earlier_obligations(
    data: ScheduleData, items: list[DoseItem], *, birthdate: date, today: date
) -> list[DoseItem]:
    """The items, those of a dose an earlier obligation covering this person names made mandatory."""
    for obligation in data.rules.earlier_obligations.values():
        if not applies(obligation, birthdate=birthdate, today=today):
            continue
        named = set(obligation.doses)
        items = [
            _mandatory(item, obligation) if item.dose_id in named and item.obligation != "mandatory" else item
            for item in items
        ]
    return items


def _mandatory(item: DoseItem, obligation: EarlierObligation) -> DoseItem:
    sources = (*item.source_ids, *(s for s in obligation.source_ids if s not in item.source_ids))
    reason = f"{item.reason} {obligation.reason}" if item.reason else obligation.reason
    return replace(item, obligation="mandatory", reason=reason, source_ids=sources)
