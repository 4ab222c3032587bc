"""Keys derived from ENS_SECRET_KEY, one per purpose (HKDF-SHA256), so that no two uses share a key.

**Rotation.** ``ENS_PREVIOUS_SECRET_KEYS`` names the keys ``ENS_SECRET_KEY`` replaced (newest
first, :func:`configure`). Everything new is sealed, hashed, signed and MACed under the current key
only; what was made under a previous one is still read: a blob decrypts under the first key that
opens it (:func:`decrypt`), a MAC verifies under any (:func:`verify`: a cursor, the access
history's rows), and a stored hash is looked up by the hash under each key (:func:`token_hashes`).
Never an access token's signature (``ens.auth.tokens``): with a key that leaked anyone could sign
one; but for its revocation, which ends the grant it names and opens nothing. ``ens keys rotate``
re-encrypts what can be (the OTP seeds, the spaces' document keys); hashes cannot be redone without
what they hash, and go when what they stand for does (README, "Rotating ENS_SECRET_KEY").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ens.core.db import Row, as_uuid, fetch, reseal_in_batches

# The keys each current key replaced, newest first (ENS_PREVIOUS_SECRET_KEYS), by the current key:
# every function here takes the current key, and reads under those it replaced too. Set by ``ens.app``
# and the commands at start (:func:`configure`).
_REPLACED: dict[str, tuple[str, ...]] = {}


def configure(secret: str, previous: Sequence[str]) -> None:
    """``previous``: the keys ``secret`` replaced, newest first (what they made is still read)."""
    _REPLACED[secret] = tuple(key for key in previous if key != secret)


def secrets_of(secret: str) -> tuple[str, ...]:
    """``secret``, then the keys it replaced: the order in which anything stored is tried."""
    return (secret, *_REPLACED.get(secret, ()))


@cache
def derive_key(secret: str, purpose: str, *, length: int = 32) -> bytes:
    """The key of a fixed purpose (remembered: a purpose naming a space would fill the memory)."""
    return _derived(secret, purpose, length=length)


def _derived(secret: str, purpose: str, *, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"ens-keyring-v1", info=purpose.encode()).derive(
        secret.encode()
    )


def sign(secret: str, purpose: str, *, payload: bytes) -> bytes:
    """A MAC over ``payload`` with the purpose's key (HMAC-SHA256, truncated to 128 bits). The key
    is derived at each call (the cursors issued before they were encrypted: purposes by space)."""
    return hmac.new(_derived(secret, purpose), payload, hashlib.sha256).digest()[:16]


def verify(secret: str, purpose: str, *, payload: bytes, mac: bytes) -> bool:
    """Whether ``mac`` is ``payload``'s under the current key or one it replaced."""
    return any(hmac.compare_digest(sign(key, purpose, payload=payload), mac) for key in secrets_of(secret))


def token_hash(secret: str, token: str) -> str:
    """What is stored for a high-entropy secret (refresh token, recovery code): a keyed hash."""
    digest = hmac.new(derive_key(secret, "token-hash"), token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_hashes(secret: str, token: str) -> tuple[str, ...]:
    """The hashes a stored secret may bear: under the current key first, then under each key it
    replaced (what a lookup searches for, :func:`ens.core.db.one_of`)."""
    return tuple(token_hash(key, token) for key in secrets_of(secret))


def hash_matches(secret: str, token: str, stored: str) -> bool:
    """Whether ``stored`` is the hash of ``token`` under the current key or one it replaced."""
    return any(hmac.compare_digest(candidate, stored) for candidate in token_hashes(secret, token))


def encrypt(secret: str, purpose: str, *, plaintext: bytes, associated: bytes = b"") -> bytes:
    """AES-256-GCM with a random nonce, for secrets that must be read back (OTP seeds)."""
    import os

    nonce = os.urandom(12)
    return nonce + AESGCM(derive_key(secret, purpose)).encrypt(nonce, plaintext, associated)


def decrypt(secret: str, purpose: str, *, blob: bytes, associated: bytes = b"") -> bytes:
    """The plaintext, under the current key or the first key it replaced that opens it
    (:class:`InvalidTag` when none does)."""
    return _opened(secret, purpose, blob=blob, associated=associated)[1]


def reencrypted(secret: str, purpose: str, *, blob: bytes, associated: bytes = b"") -> bytes | None:
    """``blob`` sealed again under the current key, or ``None`` when it already is (``ens keys
    rotate``); :class:`InvalidTag` when no key opens it."""
    key, plaintext = _opened(secret, purpose, blob=blob, associated=associated)
    if key == secret:
        return None
    return encrypt(secret, purpose, plaintext=plaintext, associated=associated)


async def reseal_column(secret: str, purpose: str, *, table: str, key: str, column: str) -> tuple[int, int]:
    """Every row's ``column`` (sealed by :func:`encrypt` under ``purpose``, associated with the
    row's UUID primary key ``key``) sealed again under the current key, in committed batches
    (``ens keys rotate``): how many were sealed under a key it replaced, and how many no configured
    key opens (left as they are)."""
    unopened = 0

    def reseal(row: Row) -> bytes | None:
        nonlocal unopened
        try:
            return reencrypted(secret, purpose, blob=bytes(row[column]), associated=as_uuid(row[key]).bytes)
        except InvalidTag:
            unopened += 1
            return None

    return await reseal_in_batches(table, key, column, reseal), unopened


async def column_opens(
    secret: str, purpose: str, *, table: str, key: str, column: str, sample: int = 20
) -> bool | None:
    """Whether the configured keys open any of a few rows' ``column`` (sealed as for
    :func:`reseal_column`): ``None`` when the table holds none. A few rows, whichever the table
    gives first: one a key opens is enough to say the service holds the right key; a wrong key
    (set without the one it replaced in ENS_PREVIOUS_SECRET_KEYS) opens none of them. Twenty, not
    three: rows ``ens keys rotate`` found no key for (left as they were) may come first, and three
    of them would have stopped a service whose key opens every other row (a review)."""
    rows = await fetch(f"SELECT {key}, {column} FROM {table} LIMIT {{}}", sample)
    if not rows:
        return None
    for row in rows:
        try:
            _opened(secret, purpose, blob=bytes(row[column]), associated=as_uuid(row[key]).bytes)
        except (InvalidTag, ValueError):  # a blob no key opens, or one not even shaped as ours
            continue
        return True
    return False


# What :func:`encrypt` makes is at least its nonce and its tag.
_SHORTEST = 12 + 16


def _opened(secret: str, purpose: str, *, blob: bytes, associated: bytes) -> tuple[str, bytes]:
    if len(blob) < _SHORTEST:
        # Nothing sealed here (a row cut short): opened by no key, as a wrong key is. A nonce under
        # 8 bytes made AES-GCM raise ValueError, which ``ens keys rotate`` did not count: a traceback,
        # its batch rolled back, every row after it left as it was (a review of the rotation).
        raise InvalidTag
    failure: InvalidTag | None = None
    for key in secrets_of(secret):
        try:
            return key, AESGCM(derive_key(key, purpose)).decrypt(blob[:12], blob[12:], associated)
        except InvalidTag as exc:
            failure = exc
    assert failure is not None
    raise failure
