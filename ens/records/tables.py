"""The records of a space: advance directives (every version kept) and their reviews, the trusted
person (former ones kept), emergency contacts, the doctor, the medical profile.

Every table carries ``space_id`` first: its primary key is ``(space_id, id)`` (ENGINEERING.md,
Scale; declared by the migration, ``PRIMARY_KEYS``) and every query names the space first. Value
objects (an address, an authorisation, a contact's phones) are kept as their JSON text.
``hidden_from_representatives``: the holder hid the item from the space's representatives (CSP
R1111-50), whose every read leaves it out.
"""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class DirectiveVersion(Table, tablename="directive_versions"):
    """One version of a person's advance directives: never changed, never deleted (but with the space).

    ``form`` is ``structured`` (the official model's content) or ``pointer`` (directives kept on
    paper elsewhere); a revocation is a version of its own (``status`` ``revoked``, no content).
    The author's identity and the trusted person are copied in as they were when it was written.
    """

    space_id = UUID()
    id = UUID(primary_key=True)
    version = Integer()
    status = Varchar(length=16)
    form = Varchar(length=16, null=True, default=None)
    content = Text()
    author_given_name = Varchar(length=255)
    author_family_name = Varchar(length=255)
    author_birthdate = Date(null=True, default=None)
    author_birthplace = Varchar(length=16, null=True, default=None)
    author_birthcountry = Varchar(length=16, null=True, default=None)
    created_at = Timestamptz()
    created_by_account_id = UUID()
    created_by_name = Text(null=True, default=None)


class DirectiveReview(Table, tablename="directive_reviews"):
    """The author reread a version and kept it as it is (the periodic reminder's answer)."""

    space_id = UUID()
    id = UUID(primary_key=True)
    version = Integer()
    reviewed_at = Timestamptz()
    reviewed_by_account_id = UUID()


class TrustedPerson(Table, tablename="trusted_persons"):
    """A personne de confiance (CSP L1111-6). At most one current (``ended_at`` null) per space; a
    replaced or removed one stays, ended, as the history the holder reads."""

    space_id = UUID()
    id = UUID(primary_key=True)
    given_name = Varchar(length=100)
    family_name = Varchar(length=100)
    relationship = Varchar(length=100, null=True, default=None)
    phone = Varchar(length=20, null=True, default=None)
    email = Varchar(length=254, null=True, default=None)
    address = Text(null=True, default=None)
    birthdate = Date(null=True, default=None)
    accepted_at = Date(null=True, default=None)
    protection_authorisation = Text(null=True, default=None)
    designated_at = Timestamptz()
    designated_by_account_id = UUID()
    ended_at = Timestamptz(null=True, default=None)
    ended_by_account_id = UUID(null=True, default=None)
    end_reason = Varchar(length=16, null=True, default=None)


class EmergencyContact(Table, tablename="emergency_contacts"):
    """A person to call, in the order of ``priority`` (1 first, no gaps). A row with
    ``trusted_person`` holds no data of its own: it lists the current trusted person."""

    space_id = UUID()
    id = UUID(primary_key=True)
    priority = Integer()
    trusted_person = Boolean(default=False)
    given_name = Varchar(length=100, null=True, default=None)
    family_name = Varchar(length=100, null=True, default=None)
    relationship = Varchar(length=100, null=True, default=None)
    phones = Text(null=True, default=None)
    email = Varchar(length=254, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    hidden_from_representatives = Boolean(default=False)


class Doctor(Table, tablename="doctors"):
    """The médecin traitant: one per space."""

    space_id = UUID()
    id = UUID(primary_key=True)
    given_name = Varchar(length=100)
    family_name = Varchar(length=100)
    rpps = Varchar(length=11, null=True, default=None)
    phone = Varchar(length=20, null=True, default=None)
    address = Text(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ProfileCondition(Table, tablename="profile_conditions"):
    """A condition or a past surgery, as the person states it."""

    space_id = UUID()
    id = UUID(primary_key=True)
    label = Varchar(length=255)
    since = Date(null=True, default=None)
    code = Varchar(length=16, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    hidden_from_representatives = Boolean(default=False)
    # The professional who added it (their account); NULL for the person's own (or their carers').
    recorded_by_professional = UUID(null=True, default=None)
    # The representative who added it (their account): a parent, a guardian.
    recorded_by_representative = UUID(null=True, default=None)


class ProfileAllergy(Table, tablename="profile_allergies"):
    space_id = UUID()
    id = UUID(primary_key=True)
    substance = Varchar(length=255)
    reaction = Varchar(length=1000, null=True, default=None)
    severity = Varchar(length=16, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    hidden_from_representatives = Boolean(default=False)
    # The professional who added it (their account); NULL for the person's own (or their carers').
    recorded_by_professional = UUID(null=True, default=None)
    # The representative who added it (their account): a parent, a guardian.
    recorded_by_representative = UUID(null=True, default=None)


class ProfileTreatment(Table, tablename="profile_treatments"):
    """A long-term treatment: the medicine, its dose, since when and until when."""

    space_id = UUID()
    id = UUID(primary_key=True)
    medication = Varchar(length=255)
    dose = Varchar(length=255, null=True, default=None)
    since = Date(null=True, default=None)
    until = Date(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    hidden_from_representatives = Boolean(default=False)
    # The professional who added it (their account); NULL for the person's own (or their carers').
    recorded_by_professional = UUID(null=True, default=None)
    # The representative who added it (their account): a parent, a guardian.
    recorded_by_representative = UUID(null=True, default=None)


class ProfileFamilyHistory(Table, tablename="profile_family_history"):
    """A condition a relative has or had."""

    space_id = UUID()
    id = UUID(primary_key=True)
    relative = Varchar(length=32)
    condition = Varchar(length=255)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    hidden_from_representatives = Boolean(default=False)
    # The professional who added it (their account); NULL for the person's own (or their carers').
    recorded_by_professional = UUID(null=True, default=None)
    # The representative who added it (their account): a parent, a guardian.
    recorded_by_representative = UUID(null=True, default=None)


TABLES: list[type[Table]] = [
    DirectiveVersion,
    DirectiveReview,
    TrustedPerson,
    EmergencyContact,
    Doctor,
    ProfileCondition,
    ProfileAllergy,
    ProfileTreatment,
    ProfileFamilyHistory,
]
