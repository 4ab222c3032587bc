"""What a document may be: its type (LOINC document codes, DOMAIN.md §8) and its file format,
recognised from its first bytes (never from its name or the header the client sent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The largest file this route takes: 20 MiB (the global body limit stays ENS_MAX_BODY_BYTES).
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
# What the multipart envelope (boundaries, part headers, the metadata part) may add to it.
FORM_ALLOWANCE_BYTES = 64 * 1024
# The metadata part is a small JSON object.
MAX_METADATA_BYTES = 16 * 1024


@dataclass(frozen=True)
class DocumentType:
    code: str
    label: str
    display: str  # LOINC's own name, for FHIR


DOCUMENT_TYPES: tuple[DocumentType, ...] = (
    DocumentType("11488-4", "Compte rendu de consultation", "Consult note"),
    DocumentType("18842-5", "Compte rendu d'hospitalisation", "Discharge summary"),
    DocumentType("11502-2", "Compte rendu d'examens biologiques", "Laboratory report"),
    DocumentType("18748-4", "Compte rendu d'imagerie médicale", "Diagnostic imaging study"),
    DocumentType("57833-6", "Ordonnance", "Prescription for medication"),
    DocumentType("60591-5", "Synthèse médicale", "Patient summary Document"),
)
TYPES_BY_CODE = {kind.code: kind for kind in DOCUMENT_TYPES}

MediaType = Literal["application/pdf", "image/jpeg", "image/png"]

# Signatures at the start of the file (ISO 32000 §7.5.2; JPEG's SOI and the next marker's 0xFF;
# PNG's 8-byte signature, RFC 2083 §3.1).
_SIGNATURES: tuple[tuple[bytes, MediaType], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
SNIFF_BYTES = max(len(signature) for signature, _ in _SIGNATURES)

EXTENSIONS: dict[MediaType, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
}
_KNOWN_EXTENSIONS = {extension: media for media, extensions in EXTENSIONS.items() for extension in extensions}


def sniff(head: bytes) -> MediaType | None:
    """The format the file's first bytes say, or ``None`` when they are none of the three."""
    for signature, media in _SIGNATURES:
        if head.startswith(signature):
            return media
    return None


def named_format(filename: str) -> MediaType | None:
    """The format a file name's extension claims, if it names one of the three."""
    dot = filename.rfind(".")
    return _KNOWN_EXTENSIONS.get(filename[dot:].lower()) if dot >= 0 else None
