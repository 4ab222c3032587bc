"""ens.core.spool: a body written once is read back whole, as often as asked, from a file that holds
only ciphertext; a file changed or cut short gives an error, never other bytes; and each spool has
a key of its own (one spool's file does not open with another's key)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Any

import pytest
import tink

from ens.core.spool import EncryptedSpool

MARKER = b"Glycemie-temoin-91c2"


@pytest.fixture
def named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[IO[bytes]]:
    """The spools' files, named in the test's folder so that what they hold can be read."""
    opened: list[IO[bytes]] = []

    def named_file(*_args: Any, **_kwargs: Any) -> IO[bytes]:
        file = tempfile.NamedTemporaryFile("w+b", dir=tmp_path, delete=False)
        opened.append(file)
        return file

    monkeypatch.setattr(tempfile, "TemporaryFile", named_file)
    return opened


def _filled(parts: list[bytes]) -> EncryptedSpool:
    spool = EncryptedSpool()
    for part in parts:
        spool.write(part)
    spool.finish()
    return spool


def _read(spool: EncryptedSpool, size: int = 65536) -> bytes:
    with spool.plaintext() as plaintext:
        return b"".join(iter(lambda: plaintext.read(size), b""))


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 100_000, 3 * 1024 * 1024 + 7])
def test_a_body_is_read_back_whole_twice_and_only_ciphertext_is_on_disk(size: int, named: list[IO[bytes]]) -> None:
    body = (MARKER * (size // len(MARKER) + 1))[:size]
    with _filled([body[i : i + 10_000] for i in range(0, size, 10_000)]) as spool:
        assert _read(spool) == body
        assert _read(spool, 4096) == body  # the second reading, as the import's transaction does
        [file] = named
        on_disk = Path(file.name).read_bytes()
    assert file.closed
    assert len(on_disk) > size
    if size >= len(MARKER):
        assert MARKER not in on_disk


def test_a_changed_or_shortened_file_does_not_decrypt(named: list[IO[bytes]]) -> None:
    body = os.urandom(20_000)
    with _filled([body]) as spool:
        path = Path(named[0].name)
        whole = path.read_bytes()
        changed = bytearray(whole)
        changed[len(whole) // 2] ^= 1
        for tampered in (bytes(changed), whole[:-100], whole[: len(whole) // 2]):
            path.write_bytes(tampered)
            with pytest.raises(tink.TinkError):
                _read(spool)
        path.write_bytes(whole)
        assert _read(spool) == body


def test_each_spool_has_a_key_of_its_own(named: list[IO[bytes]]) -> None:
    with _filled([b"first" * 1000]) as first, _filled([b"other" * 1000]) as other:
        first_path, other_path = (Path(file.name) for file in named)
        assert (_read(first), _read(other)) == (b"first" * 1000, b"other" * 1000)
        other_path.write_bytes(first_path.read_bytes())  # the first spool's file, under the other's key
        with pytest.raises(tink.TinkError):
            _read(other)


def test_a_spool_abandoned_while_written_closes_its_file(named: list[IO[bytes]]) -> None:
    spool = EncryptedSpool()
    spool.write(MARKER * 10_000)
    spool.close()
    assert named[0].closed and spool.closed
    assert MARKER not in Path(named[0].name).read_bytes()
