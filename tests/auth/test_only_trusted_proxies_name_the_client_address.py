"""The login's per-address limit counts the client's address; ``ens serve`` believes X-Forwarded-For
only from ``ENS_FORWARDED_ALLOW_IPS`` (an outside review, 2026-12-02: uvicorn believed any loopback
peer, undocumented, so 400 requests with varied X-Forwarded-For all passed a limit of 300)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from ens.core.settings import ConfigurationError, Settings
from tests.helpers.server import ServerProcess, free_port

LIMIT = 3


def _serve(settings: Settings, **env: str) -> Iterator[str]:
    server = ServerProcess(
        {
            **os.environ,
            "ENS_ENV": "dev",
            "ENS_DATABASE_URL": settings.database_url,
            "ENS_RATE_LIMIT_ADDRESS_PER_MINUTE": str(LIMIT),
            "PYTHONUNBUFFERED": "1",
            **env,
        },
        free_port(),
        "forwarded-server.log",
    )
    server.start()
    try:
        yield server.base_url
    finally:
        server.stop()


def _answers(base_url: str, forwarded_for: list[str]) -> list[int]:
    with httpx.Client(base_url=base_url) as client:
        return [client.get("/login/otp", headers={"X-Forwarded-For": ip}).status_code for ip in forwarded_for]


@pytest.mark.usefixtures("migrated")
def test_a_peer_not_listed_cannot_name_another_address(settings: Settings) -> None:
    for base_url in _serve(settings, ENS_FORWARDED_ALLOW_IPS="none"):
        answers = _answers(base_url, [f"198.51.100.{n}" for n in range(LIMIT + 2)])
        assert answers[LIMIT:] == [429, 429], answers


@pytest.mark.usefixtures("migrated")
def test_the_proxy_in_front_names_each_client(settings: Settings) -> None:
    # The default believes the loopback peer: the reverse proxy on the same machine.
    for base_url in _serve(settings):
        assert 429 not in _answers(base_url, [f"198.51.100.{n}" for n in range(LIMIT + 2)])
        # ...and one client behind it is still limited.
        assert _answers(base_url, ["203.0.113.7"] * (LIMIT + 1))[-1] == 429


@pytest.mark.parametrize("value", ["10.0.0.0/8, 127.0.0.1", "*", "none", "::1"])
def test_the_setting_takes_addresses_networks_a_star_or_none(value: str) -> None:
    Settings.from_env({"ENS_ENV": "dev", "ENS_FORWARDED_ALLOW_IPS": value})


@pytest.mark.parametrize(
    "value",
    # uvicorn reads a network with host bits set, or a * among addresses, as a literal that never matches.
    ["proxy.local", "10.0.0.0/33", "127.0.0.1;10.0.0.1", "10.0.0.1/8", "*, 127.0.0.1"],
)
def test_a_malformed_list_stops_the_start(value: str) -> None:
    with pytest.raises(ConfigurationError, match="ENS_FORWARDED_ALLOW_IPS"):
        Settings.from_env({"ENS_ENV": "dev", "ENS_FORWARDED_ALLOW_IPS": value})
