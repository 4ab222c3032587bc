"""The booklet's entries: record, read, list, correct, delete.

An entry the holder, a representative or an app writes is ``declared``; one a health professional
whose profession may vaccinate writes (the access matrix: doctor, midwife, nurse, pharmacist) is
``validated`` — nothing the body says can set the status. A validated entry is changed or removed
by a professional only. The same
vaccine on the same full day is one entry as the writer sees the booklet (409 naming the existing
one); a year or a month alone is never called a duplicate. An entry hidden from the representatives
does not exist for them, their writes included: theirs is recorded beside it, and what counts doses
for the holder counts that injection once. A space's writes take its booklet counter first, so two
of them cannot both pass the duplicate check.
"""

from __future__ import annotations

from ens.vaccination.booklet.checks import Checked, Draft, space_today
from ens.vaccination.booklet.reads import (
    all_vaccinations,
    any_vaccination_seen,
    body_of,
    booklet_entries,
    get_vaccination,
    list_vaccinations,
    read_of,
)
from ens.vaccination.booklet.writes import (
    DECLARED,
    VALIDATED,
    delete_vaccination,
    record_vaccination,
    status_written_by,
    update_vaccination,
)

__all__ = [
    "DECLARED",
    "VALIDATED",
    "Checked",
    "Draft",
    "all_vaccinations",
    "any_vaccination_seen",
    "body_of",
    "booklet_entries",
    "delete_vaccination",
    "get_vaccination",
    "list_vaccinations",
    "read_of",
    "record_vaccination",
    "space_today",
    "status_written_by",
    "update_vaccination",
]
