"""What a person writes displays in the order it was written.

The explicit direction controls, embeddings and overrides (U+202A to U+202E) and isolates (U+2066
to U+2069), make text display in another order than it is stored: a note holding a right-to-left
override printed "Ne pas réanimer" as "reminaér sap eN" in the directives a person signs (an
outside audit). No one types them, and right-to-left text needs none: Arabic and Hebrew letters
carry their own direction, and the marks U+200E and U+200F (which reorder nothing) stay accepted.
They are refused (422 at each field holding one), never stripped: what is stored is what was sent.

Every JSON body a route converts into its Struct is looked at (``ens.core.strict_json``): first
the directives, a document's title, the trusted person and an emergency's reason refused them, while
a child's name, a contact's, a condition's label took them, and "Zo\u202eé" was shown so to
professionals and in the parents' e-mails (an outside audit). What arrives another way (a document's
metadata beside its file, an import's resources) is checked where it is read: the import's records
and booklet entries as they are converted, its measures and Devices as they are mapped (it took
them unchecked until an outside audit of the import); the /fhir door's measure and Device as they are
mapped (``ens.vitals.fhir_intake``, which took them unchecked until a review).

Checked on what a write sends, not by a pattern on the field types: those types (a witness, an
address, an authorisation) also decode what was stored before this rule, which must stay readable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

from ens.core.api import pointer_token
from ens.core.errors import FieldError

_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")
# One in a JSON text: as UTF-8 (E2 80 AA to AE, E2 81 A6 to A9) or as an escape. A body without is
# converted as it is; with, its Struct is walked (an escaped backslash before "u202e" is walked for
# nothing, and found clean).
_IN_JSON = re.compile(rb"\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]|\\u20(?:2[a-eA-E]|6[6-9])")


def may_hold_direction_control(json_text: bytes) -> bool:
    """Whether a string of this JSON text may hold a direction control. A text with neither an E2
    byte (U+2000 to U+2FFF) nor a backslash holds none: one-byte searches are memchr's, ~1 us over
    a batch of 100 measures, where the pattern takes ~90 us and two-byte searches ~15 each."""
    if b"\xe2" in json_text or b"\\" in json_text:
        return _IN_JSON.search(json_text) is not None
    return False


_DETAIL = "holds a direction override, embedding or isolate control (U+202A to U+202E, U+2066 to U+2069)"


def refuse_direction_controls(body: msgspec.Struct | Mapping[str, object], *, errors: list[FieldError]) -> None:
    """Add to ``errors`` the JSON Pointer of every text in ``body`` (its nested Structs, mappings
    and lists too) that holds a direction control. A mapping is what an import makes of a resource
    before a service converts it (a measure)."""
    _look_in(body, "", errors)


def _look_in(value: object, pointer: str, errors: list[FieldError]) -> None:
    if isinstance(value, str):
        if _CONTROL.search(value):
            errors.append(FieldError(pointer, _DETAIL))
    elif isinstance(value, msgspec.Struct):
        for field in msgspec.structs.fields(value):
            _look_in(getattr(value, field.name), pointer + pointer_token(field.encode_name), errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _look_in(item, f"{pointer}/{index}", errors)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _look_in(item, pointer + pointer_token(str(key)), errors)
