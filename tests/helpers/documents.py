"""Documents as the tests make them: files of each type (their signatures, then bytes from a seeded
generator), the multipart upload, and the store's own view of a space's objects."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from ens.core.settings import Settings
from ens.documents.storage import BlobStore

CONSULTATION = "11488-4"
LAB_REPORT = "11502-2"
IMAGING = "18748-4"
META: dict[str, Any] = {"typeCode": CONSULTATION, "title": "Consultation du 3 mars", "date": "2026-03-03"}

_SIGNATURES = {"pdf": b"%PDF-1.7\n", "png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"}


def file_bytes(kind: str, size: int, *, seed: int = 1) -> bytes:
    """``size`` bytes that start as a ``kind`` file does (pdf, png, jpeg), the rest seeded noise."""
    head = _SIGNATURES[kind]
    return head + random.Random(seed).randbytes(max(size - len(head), 0))


def pdf(size: int = 1000, *, seed: int = 1) -> bytes:
    return file_bytes("pdf", size, seed=seed)


def metadata(**changes: Any) -> dict[str, Any]:
    return {**META, **changes}


BOUNDARY = "ens-test-boundary-7d1f"


def form_body(parts: list[tuple[str, str | None, bytes]], *, boundary: str = BOUNDARY) -> bytes:
    """A ``multipart/form-data`` body from (name, file name or None, bytes), always the same bytes
    for the same parts (httpx draws a new boundary each time)."""
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        kind = "application/octet-stream" if filename is not None else "application/json"
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {kind}\r\n\r\n".encode()
        out += data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def form_headers(headers: dict[str, str], *, boundary: str = BOUNDARY) -> dict[str, str]:
    return {**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    content: bytes,
    *,
    filename: str = "compte-rendu.pdf",
    meta: dict[str, Any] | None = None,
    space: str | uuid.UUID = "me",
    extra_headers: dict[str, str] | None = None,
) -> httpx.Response:
    """``POST .../documents`` with a ``file`` part and a ``metadata`` part."""
    body = form_body(
        [("file", filename, content), ("metadata", None, json.dumps(meta if meta is not None else META).encode())]
    )
    return await client.post(
        f"/v1/spaces/{space}/documents", content=body, headers=form_headers({**headers, **(extra_headers or {})})
    )


async def uploaded(
    client: httpx.AsyncClient, headers: dict[str, str], content: bytes, **options: Any
) -> dict[str, Any]:
    answer = await upload(client, headers, content, **options)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def stored_paths(settings: Settings, space_id: uuid.UUID) -> list[str]:
    """Every object the store holds under the space's prefix."""
    blobs = BlobStore.from_settings(settings)
    return await blobs.paths_under(blobs.space_prefix(space_id))


def folder_entries_naming(settings: Settings, space_id: uuid.UUID) -> list[str]:
    """In a folder store, every file or directory whose path names the space (S3 has no
    directories: its objects are all :func:`stored_paths` sees)."""
    if not settings.blob_url.startswith("file://"):
        return []
    root = Path(unquote(urlsplit(settings.blob_url).path))
    return [str(path) for path in root.rglob("*") if str(space_id) in str(path)]
