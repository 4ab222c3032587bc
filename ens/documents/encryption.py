"""Encryption at rest: each space's data key, and documents' content encrypted with Tink's
streaming AEAD.

**Keys.** A space's data key is a Tink streaming-AEAD keyset (AES256-GCM-HKDF) and a 32-byte naming
key, made at random the first time the space stores a document. Only its wrapped form is stored
(``document_keys``): AES-256-GCM under a key derived from ``ENS_SECRET_KEY`` for this purpose
(``ens.core.keyring``), the space's id as associated data, so a wrapped key copied to another space
does not open. Erasing a space deletes that row first: its objects can then never be read again.

**Content.** The plaintext is cut into blocks of ``BLOCK_BYTES``; each block is one Tink streaming-
AEAD ciphertext (Tink's header — a fresh salt and nonce prefix — then its segment, authenticated
with AES-GCM) whose associated data names the space, the content, the block's index and whether it
is the last. A block moved, repeated, dropped or swapped with another file's fails to decrypt, and
so does a file cut short (its new last block was not encrypted as the last). The object is the
blocks one after the other, each ``BLOCK_OVERHEAD`` bytes longer than its plaintext, so the blocks
a byte range needs are found by arithmetic and decrypted alone.

**Metadata.** What a document says of itself in words — its title, file name and author — is
sealed too (a title alone can name a diagnosis): one AES-256-GCM ciphertext a row (``sealed``),
with a random nonce, under a key derived (HKDF-SHA256) from the space's naming key for this purpose
alone, its associated data naming the space and the document, so a sealed value copied to another
row or space does not open. Its type, dates, size and flags stay in clear: the lists filter and
sort by them. Listing a page opens the key once (~25 µs) and each row (~1 µs); Tink's streaming
AEAD, a header and a stream a value, cost ~60 µs a row.

Why blocks of Tink ciphertexts rather than one: Tink's Python binding decrypts a stream only from
its start (Java, Go and C++ have random access; Python has not), and a range request must not
decrypt the whole file. Every byte is encrypted and verified by Tink; the code here only chooses
the associated data. Tink releases a block's plaintext only once its tag has been verified.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
from dataclasses import dataclass
from functools import cache
from uuid import UUID

import tink
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from tink import cleartext_keyset_handle, streaming_aead

from ens.core import keyring

BLOCK_BYTES = 64 * 1024
# Tink's header (1 length byte, a 32-byte salt, a 7-byte nonce prefix) and one GCM tag.
BLOCK_OVERHEAD = 1 + 32 + 7 + 16
CIPHER_BLOCK_BYTES = BLOCK_BYTES + BLOCK_OVERHEAD

WRAP_PURPOSE = "documents:space-data-key"
_NAMING_KEY_BYTES = 32
_METADATA_INFO = b"ens-document-metadata-v1"
_NONCE_BYTES = 12
_TAG_BYTES = 16
# A block fits in one Tink segment (1 MiB): Tink's own segment index and last flag are then those
# of a one-segment stream, and the block's place is in the associated data.
_TEMPLATE = streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB


class TamperedContent(Exception):
    """A block failed authentication: the stored object was changed, cut or replaced."""


@cache
def _registered() -> None:
    streaming_aead.register()


class _Kept(io.BytesIO):
    """A destination that keeps what was written after Tink closes it."""

    value = b""

    def close(self) -> None:
        if not self.closed:
            self.value = self.getvalue()
        super().close()


@dataclass(frozen=True)
class SpaceKey:
    """What a space's data key does: name objects, encrypt and decrypt their blocks."""

    space_id: UUID
    _aead: streaming_aead.StreamingAead
    _naming_key: bytes
    _metadata: AESGCM

    def object_name(self, content_sha256: bytes) -> str:
        """The object's name: HMAC-SHA256 of the content's hash under the space's naming key.
        Two spaces holding the same file share nothing, and a name says nothing of the content."""
        return hmac.new(self._naming_key, content_sha256, hashlib.sha256).hexdigest()

    def seal(self, plaintext: bytes, *, document_id: UUID) -> bytes:
        """A document's metadata, encrypted and bound to the space and the document."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._metadata.encrypt(nonce, plaintext, self._sealed_for(document_id))

    def unseal(self, sealed: bytes, *, document_id: UUID) -> bytes:
        """What :meth:`seal` sealed; :class:`TamperedContent` when it does not verify."""
        if len(sealed) < _NONCE_BYTES + _TAG_BYTES:
            raise TamperedContent(f"the metadata of document {document_id} is cut short")
        try:
            return self._metadata.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], self._sealed_for(document_id))
        except InvalidTag as exc:
            raise TamperedContent(f"the metadata of document {document_id} does not verify") from exc

    def _sealed_for(self, document_id: UUID) -> bytes:
        return _METADATA_INFO + self.space_id.bytes + document_id.bytes

    def _associated(self, content_id: UUID, *, index: int, last: bool) -> bytes:
        place = index.to_bytes(8, "big") + bytes([last])
        return b"ens-document-block-v1" + self.space_id.bytes + content_id.bytes + place

    def encrypt_block(self, plaintext: bytes, *, content_id: UUID, index: int, last: bool) -> bytes:
        sink = _Kept()
        with self._aead.new_encrypting_stream(sink, self._associated(content_id, index=index, last=last)) as stream:
            stream.write(plaintext)
        return sink.value

    def decrypt_block(self, ciphertext: bytes, *, content_id: UUID, index: int, last: bool) -> bytes:
        """The block's plaintext, verified; :class:`TamperedContent` when it does not verify."""
        associated = self._associated(content_id, index=index, last=last)
        try:
            with self._aead.new_decrypting_stream(io.BytesIO(ciphertext), associated) as stream:
                plaintext = stream.read()
        except tink.TinkError as exc:
            raise TamperedContent(f"block {index} does not verify") from exc
        expected = len(ciphertext) - BLOCK_OVERHEAD
        if len(plaintext) != expected:
            raise TamperedContent(f"block {index} has {len(plaintext)} bytes, not {expected}")
        return bytes(plaintext)


def new_wrapped_key(secret: str, space_id: UUID) -> bytes:
    """A fresh data key for the space, wrapped (what ``document_keys`` stores)."""
    _registered()
    handle = tink.new_keyset_handle(_TEMPLATE)
    serialized = io.BytesIO()
    cleartext_keyset_handle.write(tink.BinaryKeysetWriter(serialized), handle)
    plaintext = os.urandom(_NAMING_KEY_BYTES) + serialized.getvalue()
    return keyring.encrypt(secret, WRAP_PURPOSE, plaintext=plaintext, associated=space_id.bytes)


def open_key(secret: str, space_id: UUID, wrapped: bytes) -> SpaceKey:
    """The space's data key from its wrapped form."""
    _registered()
    plaintext = keyring.decrypt(secret, WRAP_PURPOSE, blob=wrapped, associated=space_id.bytes)
    handle = cleartext_keyset_handle.read(tink.BinaryKeysetReader(plaintext[_NAMING_KEY_BYTES:]))
    naming_key = plaintext[:_NAMING_KEY_BYTES]
    metadata_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_METADATA_INFO).derive(naming_key)
    return SpaceKey(space_id, handle.primitive(streaming_aead.StreamingAead), naming_key, AESGCM(metadata_key))


def block_count(size: int) -> int:
    return max(1, -(-size // BLOCK_BYTES))


def stored_size(size: int) -> int:
    """The object's size for a plaintext of ``size`` bytes."""
    return size + block_count(size) * BLOCK_OVERHEAD
