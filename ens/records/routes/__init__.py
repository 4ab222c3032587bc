"""The records API: thin handlers over the records services, one module per concern."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from ens.records.routes.directives import DirectivesController
from ens.records.routes.people import DoctorController, EmergencyContactsController, TrustedPersonController
from ens.records.routes.profile import (
    AllergiesController,
    ConditionsController,
    FamilyHistoryController,
    TreatmentsController,
)

CONTROLLERS: list[ControllerRouterHandler] = [
    DirectivesController,
    TrustedPersonController,
    EmergencyContactsController,
    DoctorController,
    ConditionsController,
    AllergiesController,
    TreatmentsController,
    FamilyHistoryController,
]
