"""The README lists every setting (ENS_* variable) the service reads, every make target, and every
``ens`` command."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import msgspec

from ens.cli import build_parser
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


def _commands(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
    """``ens migrate``, ``ens representatives restore-parent``...: each command as typed, to its leaves."""
    groups = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    if not groups:
        return [prefix]
    return [command for name, sub in groups[0].choices.items() for command in _commands(sub, f"{prefix} {name}")]


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = _commands(build_parser(), "ens")
    assert "ens representatives restore-parent" in commands
    missing = [command for command in commands if f"`{command}" not in readme]
    assert missing == []
