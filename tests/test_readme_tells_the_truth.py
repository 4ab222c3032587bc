"""The README lists every setting (ENS_* variable) the service reads, and every make target."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

from ens.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [
        f"ENS_{f.name.upper()}" for f in msgspec.structs.fields(Settings) if f"ENS_{f.name.upper()}" not in readme
    ]
    assert missing == []


def test_every_make_target_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert phony is not None
    missing = [t for t in phony.group(1).split() if f"make {t}" not in readme and t != "clean"]
    assert missing == []
