"""Wire shapes of the spaces capability."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from msgspec import Meta

from ens.core.api import END, ONE_LINE, VISIBLE, ReadStruct, Struct, said


class AccountRead(ReadStruct):
    id: UUID
    given_name: str
    family_name: str
    birthdate: date | None
    gender: str | None
    email: str | None
    issuer: str


class HolderRead(ReadStruct):
    given_name: str
    family_name: str
    birthdate: date | None
    sex: str | None


class SpaceListItem(ReadStruct):
    id: UUID
    holder: HolderRead
    role: Literal["holder", "representative"]
    status: str
    timezone: str
    # For a representative: the kind (parent, tutelle, curatelle, habilitation_familiale) and when
    # the right ends (a parent's: the child's 18th birthday, in the space's time zone).
    representative_kind: str | None = None
    representative_until: datetime | None = None
    # What the caller may do here (the table of rights: read, write_data, write_directives,
    # designate_trusted_person, manage_access, close_reopen, erase, invite, hand_over, leave,
    # record_consent). A curator without the holder's consent sees the space and may do nothing.
    rights: list[str] = []


class MeRead(ReadStruct):
    account: AccountRead
    spaces: list[SpaceListItem]


class ActorRead(ReadStruct):
    account_id: UUID
    name: str | None


class ClientRead(ReadStruct):
    client_id: str
    name: str | None


# Who acted on a space, as what: an operator acts from the service's command line, with no account
# (``ens representatives add | end | restore-parent``, ``ens claim-codes issue``).
ActingAs = Literal["holder", "representative", "app", "professional", "operator"]


class AccessEventRead(ReadStruct):
    # Opaque, as every identifier: the table's own key (a sequence over every space) is not told.
    id: UUID
    at: datetime
    # None on an operator's row (no account: their name, when they gave it, is in the description).
    actor: ActorRead | None
    client: ClientRead | None
    # For a representative, actorKind is their kind; for a professional, professional or
    # professional_emergency.
    acting_as: ActingAs
    actor_kind: str | None
    # The method and route template ("GET /v1/spaces/{space}/vitals"); an operator's row, the
    # command ("ens representatives add").
    action: str
    resource_type: str | None
    resource_id: str | None
    outcome: int
    request_id: str
    # One sentence of plain French for the phone app ("Marie Dupont (parent) a consulté les mesures.").
    description: str
    # A professional's row: their profession (TRE_G15 code and its French label) and, for an
    # emergency access, the reason they gave.
    profession_code: str | None = None
    profession: str | None = None
    emergency_reason: str | None = None


class SessionRead(ReadStruct):
    id: UUID
    client_id: str
    client_name: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    current: bool


# ---------------------------------------------------------------------------------------------
# Carers

PersonName = Annotated[str, Meta(min_length=1, max_length=100, pattern=ONE_LINE)]


class ChildSpaceCreate(Struct, kw_only=True):
    """``POST /v1/spaces``: a parent creates a minor's space."""

    given_name: PersonName
    family_name: PersonName
    birthdate: date
    sex: Literal["female", "male"] | None = None
    relationship: Literal["parent"]
    timezone: Annotated[str, Meta(min_length=1, max_length=64)] = "Europe/Paris"

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("Field `timezone` is not a known IANA time zone") from exc


class RepresentativeRead(ReadStruct):
    id: UUID
    account_id: UUID
    given_name: str
    family_name: str
    kind: str
    since: datetime
    until: datetime | None
    court_reference: str | None
    relates_to: str
    consent_until: datetime | None


class RepresentativePage(ReadStruct):
    items: list[RepresentativeRead]
    next_cursor: str | None = None


class InvitationRead(ReadStruct):
    """The code is shown once; only its hash is kept."""

    code: str
    expires_at: datetime
    kind: Literal["parent"]


class ClaimCodeRead(ReadStruct):
    """The code a young adult enters after signing in with their own identity (shown once)."""

    code: str
    expires_at: datetime
    adulthood_on: date


class CuratorConsent(Struct):
    """The holder's consent to a curator's reading, until a day (inclusive), or none (``null``)."""

    until: date | None


# ---------------------------------------------------------------------------------------------
# Professionals

# Pro Santé Connect's SubjectNameID: a type prefix, then the number — 8 + RPPS (11 digits, the last a
# Luhn check digit), or 0 + ADELI (9 characters).
NationalId = Annotated[
    str,
    Meta(
        pattern=said(
            r"^(8[0-9]{11}|0[0-9][0-9AB][0-9]{7})" + END, "not a national identifier (8 then 11 digits, or 0 then 9)"
        ),
        description="The professional's national identifier as Pro Santé Connect gives it (SubjectNameID): "
        "8 then the RPPS number (11 digits, Luhn), or 0 then the ADELI number (9 characters)",
        examples=["810002345676"],
    ),
]


class ProfessionalAuthorise(Struct, kw_only=True):
    """``POST .../professionals``: the holder authorises a professional, by national identifier."""

    national_id: NationalId


class ProfessionalChange(Struct, kw_only=True):
    """``PATCH .../professionals/{id}``: renew the authorisation for a year from today."""

    renew: Literal[True]


class ProfessionalRead(ReadStruct):
    """A professional as the holder knows them on this space.

    ``status``: ``authorised`` (``since`` <= now < ``until``), ``expired`` (``until`` has passed),
    ``revoked``, ``blocked``, or ``emergency`` (never authorised; came in through an emergency access).
    """

    id: UUID
    professional_id: UUID
    national_id: str
    given_name: str
    family_name: str
    profession_code: str
    profession: str
    status: Literal["authorised", "expired", "revoked", "blocked", "emergency"]
    since: datetime | None
    until: datetime | None
    last_access_at: datetime | None
    # When the professional's emergency access, if one is running, ends.
    emergency_until: datetime | None = None


class EmergencyAccessSetting(Struct, kw_only=True):
    """``PUT .../emergency-access``: whether a professional may open the space in an emergency."""

    allowed: bool


class EmergencyAccessSettingRead(ReadStruct):
    allowed: bool


class AccessRequestRead(ReadStruct):
    """A professional's request to be authorised, which the holder approves or refuses."""

    id: UUID
    professional_id: UUID
    national_id: str
    given_name: str
    family_name: str
    profession_code: str
    profession: str
    status: Literal["pending", "approved", "refused"]
    created_at: datetime
    decided_at: datetime | None


class PatientAccessRequest(Struct, kw_only=True):
    """``POST /v1/pro/access-requests``: the person as their identity provider names them."""

    family_name: PersonName
    given_name: PersonName
    birthdate: date
    # The INSEE code of the birthplace (5 characters; none for a person born abroad).
    birthplace: (
        Annotated[str, Meta(pattern=said(r"^[0-9][0-9AB][0-9]{3}" + END, "not an INSEE place code (5 characters)"))]
        | None
    ) = None


class AccessRequestReceived(ReadStruct):
    """Always the same answer, whether or not a space matched: it reveals nothing."""

    status: Literal["received"]
    detail: str


EmergencyReason = Annotated[str, Meta(min_length=3, max_length=500, pattern=VISIBLE)]


class EmergencyAccessCreate(Struct, kw_only=True):
    """``POST /v1/pro/emergency-access``: open a space read-only for 24 hours, saying why.

    ``hiddenFromRepresentatives``: the holder is a minor who opposes their parents being told of the
    care (CSP L1111-5): the access, its reason and every request made under it are kept from the
    representatives (history, list of professionals, e-mails). Only on a minor's space (422 else)."""

    space: UUID
    reason: EmergencyReason
    hidden_from_representatives: bool = False


class EmergencyAccessRead(ReadStruct):
    id: UUID
    space: UUID
    started_at: datetime
    ends_at: datetime
    # Kept from the representatives at the minor's request (CSP L1111-5). (An answer kept for an
    # Idempotency-Key before this field existed is read as false.)
    hidden_from_representatives: bool = False


class PatientRead(ReadStruct):
    """A space this professional is authorised for."""

    space: UUID
    given_name: str
    family_name: str
    birthdate: date | None
    since: datetime
    until: datetime


class NotificationPreferences(Struct, kw_only=True):
    """Which e-mails the person wants about their space. None carries health data.

    ``documentAdded``: a professional added a document; ``emergencyAccess``: a professional used
    emergency access; ``representativesDigest`` / ``appsDigest``: once a day, what representatives /
    apps changed (off by default: an app that sends a daily reading would make a daily e-mail)."""

    document_added: bool
    emergency_access: bool
    representatives_digest: bool
    apps_digest: bool
