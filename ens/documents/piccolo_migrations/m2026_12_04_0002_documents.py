from ens.core.db import Index, ddl_migration

ID = "2026-12-04T09:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "documents: their metadata, each space's wrapped data key, objects pending, when each person last looked"

STATEMENTS = [
    """CREATE TABLE documents (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        type_code VARCHAR(16) NOT NULL,
        title VARCHAR(255) NOT NULL,
        care_date DATE NOT NULL,
        media_type VARCHAR(32) NOT NULL,
        filename VARCHAR(255) NOT NULL,
        size BIGINT NOT NULL,
        object_name VARCHAR(64) NOT NULL,
        content_id UUID NOT NULL,
        author_name TEXT NOT NULL,
        author_account_id UUID,
        added_by_account_id UUID,
        added_by_client_id VARCHAR(255) NOT NULL,
        added_by_name TEXT,
        added_by_role VARCHAR(16) NOT NULL,
        hidden_from_professionals BOOLEAN NOT NULL DEFAULT FALSE,
        hidden_from_representatives BOOLEAN NOT NULL DEFAULT FALSE,
        hidden_from_holder BOOLEAN NOT NULL DEFAULT FALSE,
        hidden_from_holder_until DATE,
        shown_to_holder_at TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (space_id, id)
    )""",
    # The list, newest care first (keyset on care_date, created_at, id), with or without a type.
    "CREATE INDEX documents_space_date ON documents (space_id, care_date, created_at, id)",
    "CREATE INDEX documents_space_type_date ON documents (space_id, type_code, care_date, created_at, id)",
    # New since a person last looked (the home screen).
    "CREATE INDEX documents_space_created ON documents (space_id, created_at)",
    # Another row of the space holding the same content (an upload reuses it, a deletion keeps it).
    "CREATE INDEX documents_space_object ON documents (space_id, object_name)",
    """CREATE TABLE document_keys (
        space_id UUID NOT NULL PRIMARY KEY REFERENCES spaces (id),
        wrapped {blob} NOT NULL,
        created_at TIMESTAMPTZ NOT NULL
    )""",
    """CREATE TABLE document_pending_objects (
        space_id UUID NOT NULL REFERENCES spaces (id),
        path VARCHAR(255) NOT NULL,
        since TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (space_id, path)
    )""",
    # What ens purge looks for across spaces: the ones a dead process left a day ago.
    "CREATE INDEX document_pending_objects_since ON document_pending_objects (since)",
    """CREATE TABLE document_views (
        space_id UUID NOT NULL REFERENCES spaces (id),
        account_id UUID NOT NULL,
        seen_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (space_id, account_id)
    )""",
]

PRIMARY_KEYS = {
    "documents": ("space_id", "id"),
    "document_views": ("space_id", "account_id"),
    "document_pending_objects": ("space_id", "path"),
}

INDEXES = [
    Index("documents_space_date", "documents", ("space_id", "care_date", "created_at", "id")),
    Index("documents_space_type_date", "documents", ("space_id", "type_code", "care_date", "created_at", "id")),
    Index("documents_space_created", "documents", ("space_id", "created_at")),
    Index("documents_space_object", "documents", ("space_id", "object_name")),
    Index("document_pending_objects_since", "document_pending_objects", ("since",)),
]

forwards = ddl_migration(ID, "documents", description=DESCRIPTION, statements=STATEMENTS)
