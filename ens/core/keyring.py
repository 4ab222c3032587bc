"""Keys derived from ENS_SECRET_KEY, one per purpose (HKDF-SHA256), so that no two uses share a key."""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


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
    return hmac.compare_digest(sign(secret, purpose, payload=payload), mac)


def token_hash(secret: str, token: str) -> str:
    """What is stored for a high-entropy secret (refresh token, recovery code): a keyed hash."""
    digest = hmac.new(derive_key(secret, "token-hash"), token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def encrypt(secret: str, purpose: str, *, plaintext: bytes, associated: bytes = b"") -> bytes:
    """AES-256-GCM with a random nonce, for secrets that must be read back (OTP seeds)."""
    import os

    nonce = os.urandom(12)
    return nonce + AESGCM(derive_key(secret, purpose)).encrypt(nonce, plaintext, associated)


def decrypt(secret: str, purpose: str, *, blob: bytes, associated: bytes = b"") -> bytes:
    return AESGCM(derive_key(secret, purpose)).decrypt(blob[:12], blob[12:], associated)
