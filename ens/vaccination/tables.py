"""The vaccine catalogue (reference data, no space), the booklet's entries, and each booklet's
write counter.

Entries carry ``space_id`` first: their primary key is ``(space_id, id)`` and every index starts
with it (ENGINEERING.md, Scale). The piccolo table still names ``id`` as its primary key (piccolo
cannot declare a composite one); the migration declares the real key.
"""

from __future__ import annotations

from piccolo.columns import UUID, BigInt, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Vaccine(Table, tablename="vaccines"):
    """A vaccine sold in France (``vaccines-fr.json``). ``id`` is derived from the CIS code, so that
    reloading a newer list keeps every entry's reference; ``search_text`` is the brand, the
    diseases' codes and French names, folded (no accents, no case); ``ordinal`` the brand order."""

    id = UUID(primary_key=True)
    cis = Varchar(length=16)
    brand = Varchar(length=255)
    atc = Varchar(length=16, null=True, default=None)
    diseases = Text()
    marketed = Boolean()
    search_text = Text()
    ordinal = Integer()
    updated_at = Timestamptz()


class Vaccination(Table, tablename="vaccinations"):
    """One injection of a space's booklet.

    ``date_text`` is the date as given (``2009``, ``2009-05`` or ``2009-05-12``), ``earliest_on``
    and ``latest_on`` the first and last day it may be. ``vaccine_key`` identifies the vaccine for
    duplicate detection (``vaccine:<id>`` or ``name:<folded name>``): one entry per vaccine, full
    day and ``hidden_from_representatives`` (a representative's entry may stand beside one hidden
    from them). ``status`` is ``declared`` (the holder, a representative or an app) or
    ``validated`` (a professional, later).
    """

    space_id = UUID()
    id = UUID(primary_key=True)
    vaccine_id = UUID(null=True, default=None)
    vaccine_name = Varchar(length=255)
    vaccine_key = Varchar(length=300)
    diseases = Text()
    date_text = Varchar(length=10)
    date_precision = Varchar(length=5)
    earliest_on = Date()
    latest_on = Date()
    dose_number = Integer(null=True, default=None)
    lot_number = Varchar(length=64, null=True, default=None)
    administered_by = Varchar(length=255, null=True, default=None)
    location = Varchar(length=255, null=True, default=None)
    note = Text(null=True, default=None)
    status = Varchar(length=16)
    recorded_by_role = Varchar(length=16)
    recorded_by_account_id = UUID()
    recorded_by_client_id = Varchar(length=128)
    recorded_by_name = Varchar(length=255, null=True, default=None)
    # Who had declared an entry a professional then validated (recorded_by is then that professional).
    declared_by_role = Varchar(length=16, null=True, default=None)
    declared_by_name = Varchar(length=255, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    # Set by the holder: the space's representatives never see this entry (CSP R1111-50).
    hidden_from_representatives = Boolean(default=False)


class VaccinationBooklet(Table, tablename="vaccination_booklets"):
    """A space's booklet write counter. Every write takes it first (``UPDATE ... RETURNING``): the
    row lock makes a space's writes one after the other on PostgreSQL, so the duplicate check and
    the write it guards cannot be raced (SQLite's writers are one at a time already)."""

    space_id = UUID(primary_key=True)
    revision = BigInt(default=0)
