"""Who may touch which space: accounts, spaces, representatives, grants, access history."""

from __future__ import annotations

from piccolo.columns import (
    UUID,
    BigSerial,
    Boolean,
    Date,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class Account(Table, tablename="accounts"):
    """A person known from the upstream identity provider; (issuer, sub) is the key."""

    id = UUID(primary_key=True)
    issuer = Varchar(length=255)
    sub = Varchar(length=255)
    given_name = Varchar(length=255)
    family_name = Varchar(length=255)
    birthdate = Date(null=True, default=None)
    gender = Varchar(length=16, null=True, default=None)
    birthplace = Varchar(length=16, null=True, default=None)
    email = Varchar(length=320, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Space(Table, tablename="spaces"):
    """One person's health space. A child's space has no holder account until they take it over."""

    id = UUID(primary_key=True)
    holder_account_id = UUID(null=True, default=None)
    given_name = Varchar(length=255)
    family_name = Varchar(length=255)
    birthdate = Date(null=True, default=None)
    sex = Varchar(length=16, null=True, default=None)
    timezone = Varchar(length=64, default="Europe/Paris")
    status = Varchar(length=16, default="open")
    created_at = Timestamptz()
    updated_at = Timestamptz()
    closed_at = Timestamptz(null=True, default=None)


class Representative(Table, tablename="representatives"):
    """A legal representative's right to a space, valid from ``since`` until ``until``.

    ``kind`` is parent, tutelle, curatelle or habilitation_familiale; a court measure carries its
    decision's reference and whether it relates to the person (access) or only to property (none).
    A curator reads only while the holder's recorded consent lasts (``consent_until``). At most one
    live row per space and account (a partial unique index).
    """

    id = UUID(primary_key=True)
    space_id = UUID()
    account_id = UUID()
    kind = Varchar(length=32)
    since = Timestamptz()
    until = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    court_reference = Varchar(length=255, null=True, default=None)
    relates_to = Varchar(length=16, default="person")
    consent_until = Timestamptz(null=True, default=None)
    ended_reason = Varchar(length=255, null=True, default=None)


class SpaceCode(Table, tablename="space_codes"):
    """A one-time code about a space, stored hashed: a parent's invitation for the other parent, or
    the claim code a young adult uses to take their space over."""

    id = UUID(primary_key=True)
    space_id = UUID()
    purpose = Varchar(length=16)
    code_hash = Varchar(length=64)
    created_by = UUID()
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    used_by = UUID(null=True, default=None)


class CodeGuesses(Table, tablename="code_guesses"):
    """Wrong invitation or claim codes an account entered, counted per hour (guessing is limited)."""

    account_id = UUID(primary_key=True)
    window_start = Timestamptz()
    failures = Integer(default=0)


class SpaceNotice(Table, tablename="space_notices"):
    """Notices sent once about a space (the parents told three months before the 18th birthday)."""

    id = UUID(primary_key=True)
    space_id = UUID()
    kind = Varchar(length=32)
    sent_at = Timestamptz()


class Grant(Table, tablename="grants"):
    """Every token belongs to a grant: a signed-in device (``session``) or an app's consent (``app``).

    The space door checks that the grant is live in the same query that resolves the space, so a
    revocation takes effect on the next request.
    """

    id = UUID(primary_key=True)
    kind = Varchar(length=16)
    account_id = UUID()
    client_id = Varchar(length=128)
    client_name = Varchar(length=255)
    space_id = UUID(null=True, default=None)
    scopes = Text()
    label = Varchar(length=255, null=True, default=None)
    created_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class SpaceErasure(Table, tablename="space_erasures"):
    """The operators' record that a space was erased: who, when, which space — no health data.

    Its column is ``erased_space_id``, not ``space_id``: the erase deletes every row with a
    ``space_id`` and must leave this one.
    """

    id = UUID(primary_key=True)
    erased_space_id = UUID()
    erased_by_account_id = UUID()
    erased_by_client_id = Varchar(length=128)
    acting_as = Varchar(length=16)
    request_id = Varchar(length=64)
    erased_at = Timestamptz()


class AccessEvent(Table, tablename="access_history"):
    """One row per request naming a space the caller may see, whatever its outcome."""

    id = BigSerial(primary_key=True)
    space_id = UUID()
    at = Timestamptz()
    actor_account_id = UUID(null=True, default=None)
    actor_name = Varchar(length=255, null=True, default=None)
    client_id = Varchar(length=128, null=True, default=None)
    client_name = Varchar(length=255, null=True, default=None)
    acting_as = Varchar(length=16)
    actor_kind = Varchar(length=32, null=True, default=None)
    action = Varchar(length=255)
    resource_type = Varchar(length=64, null=True, default=None)
    resource_id = Varchar(length=128, null=True, default=None)
    outcome = Integer()
    request_id = Varchar(length=64)


class NotificationPreference(Table, tablename="notification_preferences"):
    """Which e-mails a person wants (``ens.spaces.notifications``); no row means the defaults.
    ``digest_sent_until``: the end of the period the last digest covered."""

    account_id = UUID(primary_key=True)
    document_added = Boolean(default=True)
    emergency_access = Boolean(default=True)
    representatives_digest = Boolean(default=False)
    apps_digest = Boolean(default=False)
    digest_sent_until = Timestamptz(null=True, default=None)
    updated_at = Timestamptz()
