"""Every temporary file the process opens during a test, made a named one in the test's own folder
(``tempfile.TemporaryFile`` and ``tempfile.tempdir``), so that what was written there can be read:
health data must never wait on disk in plaintext."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import IO, Any

import pytest


class TempFiles:
    """Every temporary file the process opens during the test, named, in the test's folder."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder = folder
        self.opened: list[IO[bytes]] = []
        monkeypatch.setattr(tempfile, "tempdir", str(folder))
        monkeypatch.setattr(tempfile, "TemporaryFile", self._named)

    def _named(self, *_args: Any, **_kwargs: Any) -> IO[bytes]:
        file = tempfile.NamedTemporaryFile("w+b", dir=self.folder, delete=False)
        self.opened.append(file)
        return file

    def written(self) -> bytes:
        """What every file of the folder holds (files the test did not name included)."""
        return b"".join(path.read_bytes() for path in sorted(self.folder.iterdir()) if path.is_file())
