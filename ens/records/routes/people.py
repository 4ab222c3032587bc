"""The people around the holder: ``/trusted-person``, ``/emergency-contacts``, ``/doctor``."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from ens.core.api import CursorParam, Cursors, IfMatch, LimitParam, get_and_head, with_etag
from ens.core.openapi import problem
from ens.records import doctor, emergency_contacts, trusted_person
from ens.records.routes.answers import JSON, PRECONDITION_REQUIRED, created_with_etag, documented, reads, writes
from ens.records.schemas import (
    DoctorRead,
    DoctorWrite,
    EmergencyContactCreate,
    EmergencyContactPage,
    EmergencyContactRead,
    EmergencyContactUpdate,
    FormerTrustedPersonPage,
    TrustedPersonRead,
    TrustedPersonWrite,
)
from ens.spaces.door import Access
from ens.spaces.rights import Action


class TrustedPersonController(Controller):
    path = "/trusted-person"
    tags = ["records"]

    @get_and_head(
        "/",
        opt=reads("trusted-person"),
        summary="The trusted person (personne de confiance)",
        operation_id="getTrustedPerson",
    )
    async def read(self, access: Access) -> TrustedPersonRead:
        return await trusted_person.get_trusted_person(access)

    @put(
        "/",
        opt=writes("trusted-person", Action.DESIGNATE_TRUSTED_PERSON),
        summary="Designate the trusted person, or replace the one designated",
        description="One at most, an adult, designated by the holder alone when an adult (CSP L1111-6): never "
        "by a representative (403). Replacing needs If-Match (428 without it: a device that did not see the "
        "trusted person cannot add a second one); the former one stays in the history. The phone is stored "
        "and answered in E.164. alsoEmergencyContact lists them among the emergency contacts (last, without "
        "copying their data); 409 when they are listed there already as an ordinary contact (one entry a person).",
        media_type=JSON,
        operation_id="designateTrustedPerson",
        responses={
            **documented(TrustedPersonRead, ok="Designated (the former one is in the history)", created="Designated"),
            409: problem("alsoEmergencyContact for a person listed already as an ordinary emergency contact"),
            428: PRECONDITION_REQUIRED,
        },
    )
    async def designate(
        self, access: Access, data: JSONBody[TrustedPersonWrite], if_match: IfMatch = None
    ) -> Response[bytes]:
        designated, first = await trusted_person.designate_trusted_person(access, data, if_match=if_match)
        return with_etag(designated, status=201 if first else 200)

    @delete(
        "/",
        opt=writes("trusted-person", Action.DESIGNATE_TRUSTED_PERSON),
        status_code=204,
        summary="End the designation (kept in the history)",
        description="If-Match is required (428 without it), as for replacing the trusted person.",
        operation_id="removeTrustedPerson",
        responses={428: PRECONDITION_REQUIRED},
    )
    async def remove(self, access: Access, if_match: IfMatch = None) -> None:
        await trusted_person.remove_trusted_person(access, if_match=if_match)

    @get_and_head(
        "/history",
        opt=reads("trusted-person"),
        summary="Former trusted persons, the most recently ended first",
        operation_id="listFormerTrustedPersons",
    )
    async def history(
        self, access: Access, cursors: NamedDependency[Cursors], limit: LimitParam = None, cursor: CursorParam = None
    ) -> FormerTrustedPersonPage:
        return await trusted_person.list_former_trusted_persons(access, cursors, limit=limit, cursor=cursor)


class EmergencyContactsController(Controller):
    path = "/emergency-contacts"
    tags = ["records"]

    @get_and_head(
        "/",
        opt=reads("emergency-contacts"),
        summary="Emergency contacts, in the order to call them",
        description="A representative sees the contacts the holder did not hide from representatives, their "
        "priorities 1, 2, 3... in that order (the list closes up over hidden ones).",
        operation_id="listEmergencyContacts",
    )
    async def list(
        self, access: Access, cursors: NamedDependency[Cursors], limit: LimitParam = None, cursor: CursorParam = None
    ) -> EmergencyContactPage:
        return await emergency_contacts.list_emergency_contacts(access, cursors, limit=limit, cursor=cursor)

    @post(
        "/",
        opt=writes("emergency-contacts", Action.WRITE_DATA),
        status_code=201,
        summary="Add an emergency contact (10 at most)",
        description="The trusted person's entry, when listed, counts among the 10. The 10 are counted over what "
        "the caller sees: a representative adds while they see fewer than 10, whatever the holder hid from them; "
        "the holder adds while there are fewer than 10 in all, hidden ones included (their list may pass 10, up "
        "to 20, only when representatives added while some were hidden). The 11th is 422 at "
        'the pointer "". priority is a place among the contacts the caller sees. Phone numbers without a country '
        "code are read as French, and answered in E.164. hiddenFromRepresentatives: the holder alone may send it "
        "(403 for anyone else); true adds the contact hidden from the representatives.",
        operation_id="addEmergencyContact",
        media_type=JSON,
        responses=created_with_etag(EmergencyContactRead, description="The contact added, with its ETag"),
    )
    async def add(self, access: Access, data: JSONBody[EmergencyContactCreate]) -> Response[bytes]:
        return with_etag(await emergency_contacts.add_emergency_contact(access, data), status=201)

    @get_and_head(
        "/{id:uuid}",
        opt=reads("emergency-contacts"),
        summary="One emergency contact",
        description="A contact hidden from representatives is 404 to a representative, as if it did not exist.",
        operation_id="getEmergencyContact",
    )
    async def read(self, access: Access, id: FromPath[UUID]) -> EmergencyContactRead:
        return await emergency_contacts.get_emergency_contact(access, id)

    @patch(
        "/{id:uuid}",
        opt=writes("emergency-contacts", Action.WRITE_DATA),
        summary="Change an emergency contact, or move it (priority): the others close up",
        description="priority is a place among the contacts the caller sees. hiddenFromRepresentatives is set by "
        "the holder alone (403 for anyone else, even false, whatever the contact): true hides the contact from "
        "the space's representatives — their list, reads, home-screen summary and export leave it out, and to "
        "them it answers 404 here as if absent (PATCH and DELETE too) — false shows it again; like any change it "
        "changes the contact's ETag. The trusted person's entry cannot be hidden (422 at "
        "/hiddenFromRepresentatives): the representatives see the trusted person at /trusted-person. Hiding an "
        "11th contact, or showing one again where the representatives see 10, is 422 there too.",
        operation_id="changeEmergencyContact",
        media_type=JSON,
        responses={
            **documented(EmergencyContactRead, ok="The contact as it is now"),
            409: problem("The new names are those of another contact the caller sees (409 at /familyName)"),
        },
    )
    async def change(
        self, access: Access, id: FromPath[UUID], data: JSONBody[EmergencyContactUpdate], if_match: IfMatch = None
    ) -> Response[bytes]:
        return with_etag(await emergency_contacts.update_emergency_contact(access, id, data, if_match=if_match))

    @delete(
        "/{id:uuid}",
        opt=writes("emergency-contacts", Action.WRITE_DATA),
        status_code=204,
        summary="Remove an emergency contact: the others close up",
        description="A contact hidden from representatives is 404 to a representative. The trusted person's entry "
        "(trustedPerson true) changes the trusted person (alsoEmergencyContact becomes false): If-Match is required "
        "(428 without it) and only who may designate the trusted person may remove it (403).",
        operation_id="removeEmergencyContact",
        responses={
            403: problem("The trusted person's entry, by one who may not designate the trusted person"),
            428: PRECONDITION_REQUIRED,
        },
    )
    async def remove(self, access: Access, id: FromPath[UUID], if_match: IfMatch = None) -> None:
        await emergency_contacts.remove_emergency_contact(access, id, if_match=if_match)


class DoctorController(Controller):
    path = "/doctor"
    tags = ["records"]

    @get_and_head("/", opt=reads("doctor"), summary="The médecin traitant", operation_id="getDoctor")
    async def read(self, access: Access) -> DoctorRead:
        return await doctor.get_doctor(access)

    @put(
        "/",
        opt=writes("doctor", Action.WRITE_DATA),
        summary="Record the médecin traitant, or replace the one recorded",
        description="rpps: 11 digits whose last is a Luhn check digit (eleven zeros, which pass it, are 422). "
        "The phone is stored and answered in E.164.",
        media_type=JSON,
        operation_id="setDoctor",
        responses=documented(DoctorRead, ok="Replaced", created="Recorded"),
    )
    async def set(self, access: Access, data: JSONBody[DoctorWrite], if_match: IfMatch = None) -> Response[bytes]:
        recorded, first = await doctor.set_doctor(access, data, if_match=if_match)
        return with_etag(recorded, status=201 if first else 200)

    @delete(
        "/",
        opt=writes("doctor", Action.WRITE_DATA),
        status_code=204,
        summary="Forget the médecin traitant",
        operation_id="removeDoctor",
    )
    async def remove(self, access: Access, if_match: IfMatch = None) -> None:
        await doctor.remove_doctor(access, if_match=if_match)
