"""The documents of a space, the space's wrapped data key, and when each person last looked at
the list (the home screen's count of new documents).

Every table carries ``space_id`` first (``PRIMARY KEY (space_id, ...)``, declared by the migration).
No content and no hash of it is stored here: the object's name is a keyed hash (HMAC under the
space's naming key), so the same file in two spaces leaves nothing in common in the database. Nor
is what a document says of itself in words (title, file name, author): it is sealed under the
space's key (``sealed``, ``ens.documents.encryption``).
"""

from __future__ import annotations

from piccolo.columns import UUID, BigInt, Boolean, Bytea, Date, Text, Timestamptz, Varchar
from piccolo.table import Table


class Document(Table, tablename="documents"):
    """One document: its metadata, where its encrypted content is (``object_name``; the content's
    blocks are bound to ``content_id``, shared by the rows of one space holding the same file), who
    added it, who wrote it, and who it is hidden from.

    ``hidden_from_holder``: a professional published it for the holder to learn in person first
    (announcement of a serious diagnosis); it stays hidden until they release it or, when set,
    until ``hidden_from_holder_until`` (a day in the space's time zone).
    """

    space_id = UUID()
    id = UUID(primary_key=True)
    type_code = Varchar(length=16)
    # Its title, file name and author (ens.documents.rows.Words), encrypted and bound to the row.
    sealed = Bytea()
    care_date = Date()
    media_type = Varchar(length=32)
    size = BigInt()
    object_name = Varchar(length=64)
    content_id = UUID()
    author_account_id = UUID(null=True, default=None)
    added_by_account_id = UUID(null=True, default=None)
    added_by_client_id = Varchar(length=255)
    added_by_name = Text(null=True, default=None)
    added_by_role = Varchar(length=16)
    hidden_from_professionals = Boolean(default=False)
    # Hidden by the adult holder themself: theirs alone to show again (ens.documents.masking).
    hidden_from_professionals_by_holder = Boolean(default=False)
    hidden_from_representatives = Boolean(default=False)
    hidden_from_holder = Boolean(default=False)
    hidden_from_holder_until = Date(null=True, default=None)
    # When the holder could first see it (the home screen's "new" counts from then): its upload, or
    # its release by the professional, or the start of hidden_from_holder_until; null while held.
    shown_to_holder_at = Timestamptz(null=True, default=None)
    # Held until a day: the holder is to be told on that day (ens notify), unless released before.
    release_notice_due = Boolean(default=False)
    # Until when a claim on that notice holds (ens.core.owed_mail); null when unclaimed.
    release_notice_lease_until = Timestamptz(null=True, default=None)
    # Whom that notice was told to while it is owed to others (their account ids); null when none.
    release_notice_told = Text(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class DocumentKey(Table, tablename="document_keys"):
    """The space's data key, wrapped (``ens.documents.encryption``). Deleted first when the space is
    erased. Its row is also the lock the space's document writers take (``FOR UPDATE``)."""

    space_id = UUID(primary_key=True)
    wrapped = Bytea()
    created_at = Timestamptz()


class DocumentView(Table, tablename="document_views"):
    """When a person last listed the space's documents: what came after is new to them."""

    space_id = UUID()
    account_id = UUID(primary_key=True)
    seen_at = Timestamptz()


class PendingObject(Table, tablename="document_pending_objects"):
    """An object that may outlive its reason to exist if a process dies at the wrong moment: an
    upload in progress, an object moved to its name before its row commits, an object whose last
    document was removed. Recorded (committed) before the object is written or left behind, cleared
    when the object is settled; ``ens purge`` settles what a dead process left (``since`` a day ago)."""

    space_id = UUID()
    path = Varchar(length=255, primary_key=True)
    since = Timestamptz()


TABLES: list[type[Table]] = [Document, DocumentKey, DocumentView, PendingObject]
