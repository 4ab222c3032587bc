"""Security review fix: production refuses to start without ENS_SMTP_URL (else live login codes
would be written to var/outbox)."""

from __future__ import annotations

import pytest

from bench.world import production_environment, settings_of
from ens.core.settings import ConfigurationError, Settings

PROD = {"env": "prod", "secret_key": "s" * 48, "oidc_issuer": "https://idp.example"}


def test_production_without_smtp_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="ENS_SMTP_URL"):
        Settings.from_env({}, **PROD)
    with pytest.raises(ConfigurationError, match="ENS_SMTP_URL"):
        Settings.from_env({"ENS_SMTP_URL": ""}, **PROD)


def test_production_with_smtp_and_development_without_it_start() -> None:
    assert Settings.from_env({"ENS_SMTP_URL": "smtps://mail.example:465"}, **PROD).smtp_url
    assert Settings.from_env({}, env="dev").smtp_url is None


def test_the_bench_production_environment_still_starts() -> None:
    settings = settings_of(production_environment("sqlite:///./var/bench-check.sqlite", 8123))
    assert settings.env == "prod" and settings.smtp_url
