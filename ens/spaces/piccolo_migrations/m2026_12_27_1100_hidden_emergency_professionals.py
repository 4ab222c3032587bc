"""A professional who came only under an emergency access kept from a minor's parents (CSP L1111-5).

The list of professionals left such a professional out for the representatives while their entry's
status was ``emergency``; the minor holder's own decision about them (a block, a revocation) turned
it into a status the parents were shown ("blocked": a professional they never heard of), and the
holder's rows naming the entry ("Inès a bloqué Sophie Moreau") were in their history (an outside
review). ``space_professionals.hidden_from_representatives``: TRUE on an entry a hidden emergency
access made, until a decision the parents see makes it theirs to know (an authorisation) or an
access not hidden brings the professional; an item hidden from them as the others are, so the rows
naming it are left out of their history by the existing rule. No row is set here: emergency
accesses became hideable in m2026_12_27_1000, which ships with this one, so no entry can be such
yet, and a statement scanning every space's professionals would find none (a review)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-27T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "space_professionals.hidden_from_representatives (a minor's secret, CSP L1111-5)"

STATEMENTS = [
    "ALTER TABLE space_professionals ADD COLUMN hidden_from_representatives BOOLEAN NOT NULL DEFAULT FALSE",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
