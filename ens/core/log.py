"""Log lines operators can search: ``time level logger message key=value ...``.

Only identifiers and outcomes are passed as ``extra`` (never health values, tokens or codes), so
the formatter prints every extra field it is given.
"""

from __future__ import annotations

import logging
from typing import Any

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "color_message"}


class KeyValueFormatter(logging.Formatter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        if extras:
            line += " " + " ".join(f"{key}={_quote(value)}" for key, value in sorted(extras.items()))
        return line


def _quote(value: object) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def logging_config(level: str) -> dict[str, Any]:
    """Arguments of litestar's ``LoggingConfig``: the ``ens`` loggers at ``level``, key=value lines."""
    return {
        "formatters": {"keyvalue": {"()": KeyValueFormatter}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "keyvalue", "level": level},
        },
        "loggers": {"ens": {"level": level, "handlers": ["console"], "propagate": False}},
        "log_exceptions": "never",
    }
