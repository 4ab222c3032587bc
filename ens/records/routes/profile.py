"""``/v1/spaces/{space}/profile/...``: the medical profile's four lists, each with the usual list
shape and CRUD."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from ens.core.api import CursorParam, Cursors, IfMatch, LimitParam, with_etag
from ens.records import profile
from ens.records.routes.answers import JSON, documented, reads, writes
from ens.records.schemas import (
    AllergyCreate,
    AllergyPage,
    AllergyRead,
    AllergyUpdate,
    ConditionCreate,
    ConditionPage,
    ConditionRead,
    ConditionUpdate,
    FamilyHistoryCreate,
    FamilyHistoryPage,
    FamilyHistoryRead,
    FamilyHistoryUpdate,
    TreatmentCreate,
    TreatmentPage,
    TreatmentRead,
    TreatmentUpdate,
)
from ens.spaces.door import Access
from ens.spaces.rights import Action

# Each list's routes say the same of the entries the holder hides from representatives.
_LIST = "A representative sees only the entries the holder did not hide from representatives."
_ADD = (
    "hiddenFromRepresentatives: the holder alone may send it (403 for anyone else); true adds the entry hidden "
    "from the space's representatives."
)
_ONE = "An entry hidden from representatives is 404 to a representative, as if it did not exist."
_CHANGE = (
    "Absent fields are kept, null clears an optional one. hiddenFromRepresentatives is set by the holder alone "
    "(403 for anyone else, even false, whatever the entry): true hides the entry from the space's "
    "representatives — their lists, reads, home-screen summary and export leave it out, and to them it "
    "answers 404 here as if absent (PATCH and DELETE too) — false shows it again; like any change it changes "
    "the entry's ETag."
)


class ConditionsController(Controller):
    path = "/profile/conditions"
    tags = ["records"]

    @get(
        "/",
        opt=reads("profile"),
        summary="The profile's conditions and past surgery, in the order written",
        description=_LIST,
        operation_id="listConditions",
    )
    async def list(
        self, access: Access, cursors: NamedDependency[Cursors], limit: LimitParam = None, cursor: CursorParam = None
    ) -> ConditionPage:
        return await profile.list_conditions(access, cursors, limit=limit, cursor=cursor)

    @post(
        "/",
        opt=writes("profile", Action.WRITE_DATA),
        status_code=201,
        summary="Add a condition or a past surgery",
        description=_ADD,
        operation_id="addCondition",
    )
    async def add(self, access: Access, data: JSONBody[ConditionCreate]) -> ConditionRead:
        return await profile.add_condition(access, data)

    @get("/{id:uuid}", opt=reads("profile"), summary="One entry", description=_ONE, operation_id="getCondition")
    async def read(self, access: Access, id: FromPath[UUID]) -> ConditionRead:
        return await profile.get_condition(access, id)

    @patch(
        "/{id:uuid}",
        opt=writes("profile", Action.WRITE_DATA),
        summary="Change an entry (absent fields are kept, null clears)",
        description=_CHANGE,
        operation_id="changeCondition",
        media_type=JSON,
        responses=documented(ConditionRead, ok="The entry as it is now"),
    )
    async def change(
        self, access: Access, id: FromPath[UUID], data: JSONBody[ConditionUpdate], if_match: IfMatch = None
    ) -> Response[bytes]:
        return with_etag(await profile.change_condition(access, id, data, if_match=if_match))

    @delete(
        "/{id:uuid}",
        opt=writes("profile", Action.WRITE_DATA),
        status_code=204,
        summary="Remove an entry",
        description=_ONE,
        operation_id="removeCondition",
    )
    async def remove(self, access: Access, id: FromPath[UUID], if_match: IfMatch = None) -> None:
        await profile.remove_condition(access, id, if_match=if_match)


class AllergiesController(Controller):
    path = "/profile/allergies"
    tags = ["records"]

    @get(
        "/",
        opt=reads("profile"),
        summary="The profile's allergies, in the order written",
        description=_LIST,
        operation_id="listAllergies",
    )
    async def list(
        self, access: Access, cursors: NamedDependency[Cursors], limit: LimitParam = None, cursor: CursorParam = None
    ) -> AllergyPage:
        return await profile.list_allergies(access, cursors, limit=limit, cursor=cursor)

    @post(
        "/",
        opt=writes("profile", Action.WRITE_DATA),
        status_code=201,
        summary="Add an allergy",
        description=_ADD,
        operation_id="addAllergy",
    )
    async def add(self, access: Access, data: JSONBody[AllergyCreate]) -> AllergyRead:
        return await profile.add_allergy(access, data)

    @get("/{id:uuid}", opt=reads("profile"), summary="One entry", description=_ONE, operation_id="getAllergy")
    async def read(self, access: Access, id: FromPath[UUID]) -> AllergyRead:
        return await profile.get_allergy(access, id)

    @patch(
        "/{id:uuid}",
        opt=writes("profile", Action.WRITE_DATA),
        summary="Change an entry (absent fields are kept, null clears)",
        description=_CHANGE,
        operation_id="changeAllergy",
        media_type=JSON,
        responses=documented(AllergyRead, ok="The entry as it is now"),
    )
    async def change(
        self, access: Access, id: FromPath[UUID], data: JSONBody[AllergyUpdate], if_match: IfMatch = None
    ) -> Response[bytes]:
        return with_etag(await profile.change_allergy(access, id, data, if_match=if_match))

    @delete(
        "/{id:uuid}",
        opt=writes("profile", Action.WRITE_DATA),
        status_code=204,
        summary="Remove an entry",
        description=_ONE,
        operation_id="removeAllergy",
    )
    async def remove(self, access: Access, id: FromPath[UUID], if_match: IfMatch = None) -> None:
        await profile.remove_allergy(access, id, if_match=if_match)


class TreatmentsController(Controller):
    path = "/profile/treatments"
    tags = ["records"]

    @get(
        "/",
        opt=reads("profile"),
        summary="The profile's long-term treatments, in the order written",
        description=_LIST,
        operation_id="listTreatments",
    )
    async def list(
        self, access: Access, cursors: NamedDependency[Cursors], limit: LimitParam = None, cursor: CursorParam = None
    ) -> TreatmentPage:
        return await profile.list_treatments(access, cursors, limit=limit, cursor=cursor)

    @post(
        "/",
        opt=writes("profile", Action.WRITE_DATA),
        status_code=201,
        summary="Add a long-term treatment",
        description=_ADD,
        operation_id="addTreatment",
    )
    async def add(self, access: Access, data: JSONBody[TreatmentCreate]) -> TreatmentRead:
        return await profile.add_treatment(access, data)

    @get("/{id:uuid}", opt=reads("profile"), summary="One entry", description=_ONE, operation_id="getTreatment")
    async def read(self, access: Access, id: FromPath[UUID]) -> TreatmentRead:
        return await profile.get_treatment(access, id)

    @patch(
        "/{id:uuid}",
        opt=writes("profile", Action.WRITE_DATA),
        summary="Change an entry (absent fields are kept, null clears)",
        description=_CHANGE,
        operation_id="changeTreatment",
        media_type=JSON,
        responses=documented(TreatmentRead, ok="The entry as it is now"),
    )
    async def change(
        self, access: Access, id: FromPath[UUID], data: JSONBody[TreatmentUpdate], if_match: IfMatch = None
    ) -> Response[bytes]:
        return with_etag(await profile.change_treatment(access, id, data, if_match=if_match))

    @delete(
        "/{id:uuid}",
        opt=writes("profile", Action.WRITE_DATA),
        status_code=204,
        summary="Remove an entry",
        description=_ONE,
        operation_id="removeTreatment",
    )
    async def remove(self, access: Access, id: FromPath[UUID], if_match: IfMatch = None) -> None:
        await profile.remove_treatment(access, id, if_match=if_match)


class FamilyHistoryController(Controller):
    path = "/profile/family-history"
    tags = ["records"]

    @get(
        "/",
        opt=reads("profile"),
        summary="The profile's family history, in the order written",
        description=_LIST,
        operation_id="listFamilyHistory",
    )
    async def list(
        self, access: Access, cursors: NamedDependency[Cursors], limit: LimitParam = None, cursor: CursorParam = None
    ) -> FamilyHistoryPage:
        return await profile.list_family_history(access, cursors, limit=limit, cursor=cursor)

    @post(
        "/",
        opt=writes("profile", Action.WRITE_DATA),
        status_code=201,
        summary="Add a relative's condition",
        description=_ADD,
        operation_id="addFamilyHistoryEntry",
    )
    async def add(self, access: Access, data: JSONBody[FamilyHistoryCreate]) -> FamilyHistoryRead:
        return await profile.add_family_history(access, data)

    @get(
        "/{id:uuid}", opt=reads("profile"), summary="One entry", description=_ONE, operation_id="getFamilyHistoryEntry"
    )
    async def read(self, access: Access, id: FromPath[UUID]) -> FamilyHistoryRead:
        return await profile.get_family_history(access, id)

    @patch(
        "/{id:uuid}",
        opt=writes("profile", Action.WRITE_DATA),
        summary="Change an entry (absent fields are kept, null clears)",
        description=_CHANGE,
        operation_id="changeFamilyHistoryEntry",
        media_type=JSON,
        responses=documented(FamilyHistoryRead, ok="The entry as it is now"),
    )
    async def change(
        self, access: Access, id: FromPath[UUID], data: JSONBody[FamilyHistoryUpdate], if_match: IfMatch = None
    ) -> Response[bytes]:
        return with_etag(await profile.change_family_history(access, id, data, if_match=if_match))

    @delete(
        "/{id:uuid}",
        opt=writes("profile", Action.WRITE_DATA),
        status_code=204,
        summary="Remove an entry",
        description=_ONE,
        operation_id="removeFamilyHistoryEntry",
    )
    async def remove(self, access: Access, id: FromPath[UUID], if_match: IfMatch = None) -> None:
        await profile.remove_family_history(access, id, if_match=if_match)
