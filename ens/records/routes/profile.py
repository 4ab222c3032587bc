"""``/v1/spaces/{space}/profile/...``: the medical profile's four lists, each with the usual list
shape and CRUD — one controller made four times from what differs (path, names, types, services).

(No ``from __future__ import annotations`` here: the handlers' annotations name the list's own
types, bound when each controller is made, and litestar reads them as objects.)
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Controller, Response, delete, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from ens.core.api import CursorParam, Cursors, IfMatch, LimitParam, get_and_head, with_etag
from ens.records import profile
from ens.records.routes.answers import JSON, created_with_etag, documented, reads, writes
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


@dataclass(frozen=True)
class _ProfileList:
    """What one list's routes are made of."""

    # The list's name in the access matrix, after "profile/".
    part: str
    path: str
    # Operation ids: list{plural}, add/get/change/remove{singular}.
    plural: str
    singular: str
    list_summary: str
    add_summary: str
    create: type[Any]
    update: type[Any]
    read: type[Any]
    page: type[Any]
    list_: Callable[..., Awaitable[Any]]
    get_: Callable[..., Awaitable[Any]]
    add: Callable[..., Awaitable[Any]]
    change: Callable[..., Awaitable[Any]]
    remove: Callable[..., Awaitable[Any]]


def _controller(spec: _ProfileList) -> type[Controller]:
    Create, Update, Read, Page = spec.create, spec.update, spec.read, spec.page

    class ProfileListController(Controller):
        path = spec.path
        tags = ["records"]

        @get_and_head(
            "/",
            opt=reads("profile", part=spec.part),
            summary=spec.list_summary,
            description=_LIST,
            operation_id=f"list{spec.plural}",
        )
        async def list(
            self,
            access: Access,
            cursors: NamedDependency[Cursors],
            limit: LimitParam = None,
            cursor: CursorParam = None,
        ) -> Page:
            return await spec.list_(access, cursors, limit=limit, cursor=cursor)

        @post(
            "/",
            opt=writes("profile", Action.WRITE_DATA, part=spec.part),
            status_code=201,
            summary=spec.add_summary,
            description=_ADD,
            operation_id=f"add{spec.singular}",
            media_type=JSON,
            responses=created_with_etag(Read, description="The entry added, with its ETag"),
        )
        async def add(self, access: Access, data: JSONBody[Create]) -> Response[bytes]:
            return with_etag(await spec.add(access, data), status=201)

        @get_and_head(
            "/{id:uuid}",
            opt=reads("profile", part=spec.part),
            summary="One entry",
            description=_ONE,
            operation_id=f"get{spec.singular}",
        )
        async def read(self, access: Access, id: FromPath[UUID]) -> Read:
            return await spec.get_(access, id)

        @patch(
            "/{id:uuid}",
            opt=writes("profile", Action.WRITE_DATA, part=spec.part),
            summary="Change an entry (absent fields are kept, null clears)",
            description=_CHANGE,
            operation_id=f"change{spec.singular}",
            media_type=JSON,
            responses=documented(Read, ok="The entry as it is now"),
        )
        async def change(
            self,
            access: Access,
            id: FromPath[UUID],
            data: JSONBody[Update],
            if_match: IfMatch = None,
        ) -> Response[bytes]:
            return with_etag(await spec.change(access, id, data, if_match=if_match))

        @delete(
            "/{id:uuid}",
            opt=writes("profile", Action.WRITE_DATA, part=spec.part),
            status_code=204,
            summary="Remove an entry",
            description=_ONE,
            operation_id=f"remove{spec.singular}",
        )
        async def remove(self, access: Access, id: FromPath[UUID], if_match: IfMatch = None) -> None:
            await spec.remove(access, id, if_match=if_match)

    ProfileListController.__name__ = f"{spec.plural}Controller"
    ProfileListController.__qualname__ = ProfileListController.__name__
    return ProfileListController


ConditionsController = _controller(
    _ProfileList(
        part=profile.CONDITIONS.part,
        path="/profile/conditions",
        plural="Conditions",
        singular="Condition",
        list_summary="The profile's conditions and past surgery, in the order written",
        add_summary="Add a condition or a past surgery",
        create=ConditionCreate,
        update=ConditionUpdate,
        read=ConditionRead,
        page=ConditionPage,
        list_=profile.list_conditions,
        get_=profile.get_condition,
        add=profile.add_condition,
        change=profile.change_condition,
        remove=profile.remove_condition,
    )
)
AllergiesController = _controller(
    _ProfileList(
        part=profile.ALLERGIES.part,
        path="/profile/allergies",
        plural="Allergies",
        singular="Allergy",
        list_summary="The profile's allergies, in the order written",
        add_summary="Add an allergy",
        create=AllergyCreate,
        update=AllergyUpdate,
        read=AllergyRead,
        page=AllergyPage,
        list_=profile.list_allergies,
        get_=profile.get_allergy,
        add=profile.add_allergy,
        change=profile.change_allergy,
        remove=profile.remove_allergy,
    )
)
TreatmentsController = _controller(
    _ProfileList(
        part=profile.TREATMENTS.part,
        path="/profile/treatments",
        plural="Treatments",
        singular="Treatment",
        list_summary="The profile's long-term treatments, in the order written",
        add_summary="Add a long-term treatment",
        create=TreatmentCreate,
        update=TreatmentUpdate,
        read=TreatmentRead,
        page=TreatmentPage,
        list_=profile.list_treatments,
        get_=profile.get_treatment,
        add=profile.add_treatment,
        change=profile.change_treatment,
        remove=profile.remove_treatment,
    )
)
FamilyHistoryController = _controller(
    _ProfileList(
        part=profile.FAMILY_HISTORY.part,
        path="/profile/family-history",
        plural="FamilyHistory",
        singular="FamilyHistoryEntry",
        list_summary="The profile's family history, in the order written",
        add_summary="Add a relative's condition",
        create=FamilyHistoryCreate,
        update=FamilyHistoryUpdate,
        read=FamilyHistoryRead,
        page=FamilyHistoryPage,
        list_=profile.list_family_history,
        get_=profile.get_family_history,
        add=profile.add_family_history,
        change=profile.change_family_history,
        remove=profile.remove_family_history,
    )
)
