"""Who may touch which space: accounts, spaces, representatives, grants, access history."""

from __future__ import annotations

from datetime import UTC, datetime

from piccolo.columns import (
    UUID,
    BigInt,
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
    birthcountry = Varchar(length=16, null=True, default=None)
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
    # The holder may forbid emergency access ("bris de glace") to their space.
    emergency_access = Boolean(default=True)
    # Forbidden by the adult holder themself: theirs alone to allow again (ens.spaces.professionals).
    emergency_forbidden_by_holder = Boolean(default=False)


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
    # An operator ended it (``ens representatives end``, a court decision): a parent so removed
    # does not come back through the other parent's invitation, only by a court's new decision an
    # operator records (``ens representatives restore-parent``: a new row, its reference kept).
    ended_by_operator = Boolean(default=False)


class SpaceCode(Table, tablename="space_codes"):
    """A one-time code about a space, stored hashed: a parent's invitation for the other parent, or
    the claim code a young adult uses to take their space over. A claim code an operator issued
    (``ens claim-codes issue``) has the nil UUID as ``created_by`` and names the operator and their
    reason (the identity check and its reference)."""

    id = UUID(primary_key=True)
    space_id = UUID()
    purpose = Varchar(length=16)
    code_hash = Varchar(length=64)
    created_by = UUID()
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    used_by = UUID(null=True, default=None)
    operator_name = Varchar(length=255, null=True, default=None)
    operator_reason = Varchar(length=255, null=True, default=None)
    # ``ens.core.idempotency.retry_mark`` of the Idempotency-Key an invitation was made with: its
    # retry replaces it (the answer, a code shown once, is never stored for a replay).
    idempotency_mark = Varchar(length=64, null=True, default=None)


class CodeGuesses(Table, tablename="code_guesses"):
    """Wrong invitation or claim codes an account entered, counted per hour (guessing is limited)."""

    account_id = UUID(primary_key=True)
    window_start = Timestamptz()
    failures = Integer(default=0)


class SpaceNotice(Table, tablename="space_notices"):
    """Notices told once about a space (the parents told three months before the 18th birthday):
    owed from the row's writing until told, claimed under a lease (ens.core.owed_mail)."""

    id = UUID(primary_key=True)
    space_id = UUID()
    kind = Varchar(length=32)
    # When the notice was first owed (its row written by the first run to find it due).
    sent_at = Timestamptz()
    # Owed still: to every recipient, or to those not in ``told``. False once told to each.
    owed = Boolean(default=False)
    # Until when a claim on the notice holds; null when unclaimed.
    lease_until = Timestamptz(null=True, default=None)
    # Whom the notice was told to while it is owed to others (their account ids); null when none.
    told = Text(null=True, default=None)


class HiddenItemRemoved(Table, tablename="hidden_items_removed"):
    """An item removed while hidden from representatives: its history rows stay out of theirs."""

    id = UUID(primary_key=True)
    space_id = UUID()
    removed_at = Timestamptz()


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
    # Its point of no return (the space's data key destroyed, the space closed), then the deletion
    # of its rows; an erasure that failed between the two is finished by ``ens purge``.
    erased_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)


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
    # A professional's rows: their profession (TRE_G15 code) and, in an emergency, the reason given.
    profession = Varchar(length=8, null=True, default=None)
    emergency_reason = Text(null=True, default=None)
    # An operator's row (``ens representatives``): whose right they recorded, ended or restored, and
    # its kind (tutelle, parent...), as they were then.
    subject_name = Varchar(length=255, null=True, default=None)
    subject_kind = Varchar(length=32, null=True, default=None)
    # TRUE on a row kept from the representatives: a request made under an emergency access a minor's
    # professional hid from the parents (CSP L1111-5), the opening too; NULL on every other row
    # (never FALSE: the MAC covers it when set, ens.spaces.audit.SEALED_IF_SET).
    kept_from_representatives = Boolean(null=True, default=None)
    # HMAC of what the row says (ens.spaces.audit): a row changed in the database no longer matches.
    mac = Varchar(length=64, null=True, default=None)


class HistoryCheckpoint(Table, tablename="history_checkpoints"):
    """A seal over a space's history rows with ids in ``(after_id, upto_id]``: an HMAC over the
    previous checkpoint's MAC and those rows' ids and MACs, in order (ens.spaces.audit)."""

    space_id = UUID()
    id = UUID(primary_key=True)
    after_id = BigInt()
    upto_id = BigInt()
    row_count = Integer()
    mac = Varchar(length=64)
    sealed_at = Timestamptz()
    # The newest ``at`` of the space's rows with ids up to ``upto_id`` (this checkpoint's and every
    # one before): the history read ``since`` a time skips the rows up to a checkpoint older than it.
    newest_at = Timestamptz(null=True, default=None)
    # The oldest ``at`` of the rows this checkpoint seals (the year 1 on checkpoints made before it
    # was kept: "perhaps older"): the history read ``until`` a time skips those not older than it.
    oldest_at = Timestamptz(default=datetime(1, 1, 1, tzinfo=UTC))


class HistorySealState(Table, tablename="history_seal_state"):
    """Where the sealer is: sealed up to ``sealed_upto``; ``pending_upto`` noted at ``pending_at``,
    sealed by the next run (ens.spaces.audit.SEAL_LAG later)."""

    name = Varchar(length=16, primary_key=True)
    sealed_upto = BigInt()
    pending_upto = BigInt()
    pending_at = Timestamptz()


class Professional(Table, tablename="professionals"):
    """A health professional as their provider (Pro Santé Connect) asserts them.

    Not a person's account: no space of their own, no representation, no one-time code. Their id
    is also the id of the ``accounts`` row the OAuth machinery (grants, codes, refresh tokens) is
    keyed by. ``national_id`` is Pro Santé Connect's ``SubjectNameID``: a type prefix (8 RPPS, 0
    ADELI) then the number. ``profession_code`` is the first exercise's (TRE_G15); ``exercises``
    the JSON list of every exercise and its places of practice, as last asserted.
    """

    id = UUID(primary_key=True)
    national_id = Varchar(length=32)
    id_type = Varchar(length=8)
    given_name = Varchar(length=255)
    family_name = Varchar(length=255)
    profession_code = Varchar(length=8)
    exercises = Text()
    created_at = Timestamptz()
    updated_at = Timestamptz()


class SpaceProfessional(Table, tablename="space_professionals"):
    """A professional as the holder knows them on one space: authorised (from ``since`` until
    ``until``, exclusive), revoked, blocked, or only seen through an emergency access. One row per
    space and professional; the key is ``(space_id, id)``."""

    id = UUID(primary_key=True)
    space_id = UUID()
    professional_id = UUID()
    status = Varchar(length=16)
    since = Timestamptz(null=True, default=None)
    until = Timestamptz(null=True, default=None)
    decided_by = UUID(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    last_access_at = Timestamptz(null=True, default=None)
    # Made by an emergency access kept from a minor's parents (CSP L1111-5), and kept from the
    # representatives with it (the minor holder's own decisions about them too), until an
    # authorisation, or an access not hidden, makes the professional theirs to know.
    hidden_from_representatives = Boolean(default=False)


class EmergencyAccess(Table, tablename="emergency_accesses"):
    """A professional's emergency access ("bris de glace"): read-only, 24 hours, with its reason."""

    id = UUID(primary_key=True)
    space_id = UUID()
    professional_id = UUID()
    reason = Text()
    started_at = Timestamptz()
    ends_at = Timestamptz()
    # The holder's notice is owed until sent (told at once, or by ens notify).
    notice_due = Boolean(default=False)
    # Until when a claim on that notice holds (ens.core.owed_mail); null when unclaimed.
    notice_lease_until = Timestamptz(null=True, default=None)
    # Whom that notice was told to while it is owed to others (their account ids); null when none.
    notice_told = Text(null=True, default=None)
    # Opened on a minor's space at the minor's request that the parents not know (CSP L1111-5): the
    # access and every request under it are kept from the representatives, as a hidden item is.
    hidden_from_representatives = Boolean(default=False)


class AccessRequest(Table, tablename="access_requests"):
    """A professional's request to be authorised on a space, which the holder approves or refuses."""

    id = UUID(primary_key=True)
    space_id = UUID()
    professional_id = UUID()
    status = Varchar(length=16)
    created_at = Timestamptz()
    decided_at = Timestamptz(null=True, default=None)
    decided_by = UUID(null=True, default=None)


class NotificationPreference(Table, tablename="notification_preferences"):
    """Which e-mails a person wants (``ens.spaces.notifications``); no row means the defaults.
    ``digest_sent_upto``: the id of the last access-history row of their space the last digest
    covered, or the history's newest id when the digest was turned on (the next covers the ids
    above it); ``digest_sent_until``: when it ran, or when the digest was turned on (a digest
    turned on before ``digest_sent_upto`` was noted then, null, starts there once)."""

    account_id = UUID(primary_key=True)
    document_added = Boolean(default=True)
    emergency_access = Boolean(default=True)
    representatives_digest = Boolean(default=False)
    apps_digest = Boolean(default=False)
    digest_sent_until = Timestamptz(null=True, default=None)
    digest_sent_upto = BigInt(null=True, default=None)
    # Until when a run of ``ens notify`` holds the digest it is sending (a lease).
    digest_lease_until = Timestamptz(null=True, default=None)
    updated_at = Timestamptz()
