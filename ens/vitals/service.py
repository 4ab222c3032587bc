"""The vitals service: what the routes and the other capabilities call.

The rules live in one module per job, re-exported here so that callers import one place:

- :mod:`ens.vitals.rules`: the clinical rules of one measure (unit, plausible range, time, context);
- :mod:`ens.vitals.ingest`: a batch of measures from an app or a person, in one transaction;
- :mod:`ens.vitals.measurement`: one stored measure, read, corrected by hand or deleted;
- :mod:`ens.vitals.reads`: the catalogue, the list and its CSV;
- :mod:`ens.vitals.summary`: count, min, max and mean per day, week or month;
- :mod:`ens.vitals.feed`: the change feed, its numbers and the purge of tombstones;
- :mod:`ens.vitals.latest`: the latest value of each type and the BMI, for the home screen.
"""

from ens.vitals.feed import changes, purge_tombstones
from ens.vitals.ingest import record_measurements
from ens.vitals.latest import bmi_of, latest_values
from ens.vitals.measurement import correct_measurement, delete_measurement, get_measurement
from ens.vitals.reads import (
    any_measure_seen,
    first_page_companion,
    list_measurements,
    page_as_csv,
    page_as_xlsx,
    vital_types,
)
from ens.vitals.summary import summarize

__all__ = [
    "any_measure_seen",
    "bmi_of",
    "changes",
    "correct_measurement",
    "delete_measurement",
    "first_page_companion",
    "get_measurement",
    "latest_values",
    "list_measurements",
    "page_as_csv",
    "page_as_xlsx",
    "purge_tombstones",
    "record_measurements",
    "summarize",
    "vital_types",
]
