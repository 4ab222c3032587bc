"""Security review fixes: production refuses to start without ENS_SMTP_URL (else live login codes
would be written to var/outbox), with a public URL that is not https (metadata would advertise
http endpoints and the login cookie would lack Secure), or with the development client secret."""

from __future__ import annotations

import pytest

from bench.world import production_environment, settings_of
from ens.core.settings import DEV_SECRET_KEY, ConfigurationError, Settings

PROD = {
    "env": "prod",
    "secret_key": "s" * 48,
    "oidc_issuer": "https://idp.example",
    "public_url": "https://ens.example",
    "oidc_client_secret": "c" * 40,
    "blob_url": "file:///var/lib/ens/blobs",
}
SMTP = {"ENS_SMTP_URL": "smtps://mail.example:465"}


def test_production_without_smtp_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="ENS_SMTP_URL"):
        Settings.from_env({}, **PROD)
    with pytest.raises(ConfigurationError, match="ENS_SMTP_URL"):
        Settings.from_env({"ENS_SMTP_URL": ""}, **PROD)


def test_production_with_smtp_and_development_without_it_start() -> None:
    assert Settings.from_env(SMTP, **PROD).smtp_url
    assert Settings.from_env({}, env="dev").smtp_url is None


def test_production_sends_login_codes_over_tls_or_to_this_machine_only() -> None:
    for url in ("smtp://mail.example:25", "smtp://user:pass@10.0.0.5:25", "smtpx://mail.example"):
        with pytest.raises(ConfigurationError, match="TLS"):
            Settings.from_env({"ENS_SMTP_URL": url}, **PROD)
    for url in ("smtp+starttls://mail.example:587", "smtp://127.0.0.1:25", "smtp://[::1]:25", "smtp://localhost"):
        assert Settings.from_env({"ENS_SMTP_URL": url}, **PROD).smtp_url == url
    assert Settings.from_env({"ENS_SMTP_URL": "smtp://mail.example:25"}, env="dev").smtp_url


def test_the_bench_production_environment_still_starts() -> None:
    settings = settings_of(production_environment("sqlite:///./var/bench-check.sqlite", 8123))
    assert settings.env == "prod" and settings.smtp_url


@pytest.mark.parametrize(
    "public_url", ["http://ens.example", "http://127.0.0.1:8000", "HTTP://ens.example", "ens.example", ""]
)
def test_production_refuses_a_public_url_that_is_not_https(public_url: str) -> None:
    with pytest.raises(ConfigurationError, match="ENS_PUBLIC_URL"):
        Settings.from_env(SMTP, **{**PROD, "public_url": public_url})
    with pytest.raises(ConfigurationError, match="ENS_PUBLIC_URL"):
        Settings.from_env(
            {**SMTP, "ENS_PUBLIC_URL": public_url or "http://"}, **{k: v for k, v in PROD.items() if k != "public_url"}
        )


def test_production_refuses_the_development_client_secret() -> None:
    without = {k: v for k, v in PROD.items() if k != "oidc_client_secret"}
    with pytest.raises(ConfigurationError, match="ENS_OIDC_CLIENT_SECRET"):
        Settings.from_env(SMTP, **without)
    with pytest.raises(ConfigurationError, match="ENS_OIDC_CLIENT_SECRET"):
        Settings.from_env(SMTP, **{**without, "oidc_client_secret": Settings().oidc_client_secret})
    assert Settings.from_env({**SMTP, "ENS_OIDC_CLIENT_SECRET": "from-the-provider-" + "x" * 20}, **without)


def test_development_keeps_its_http_loopback_and_its_client_secret() -> None:
    dev = Settings.from_env({}, env="dev")
    assert dev.public_url.startswith("http://") and dev.oidc_client_secret == Settings().oidc_client_secret


def test_the_bench_production_environment_is_https_with_its_own_client_secret() -> None:
    settings = settings_of(production_environment("sqlite:///./var/bench-check.sqlite", 8123))
    assert settings.public_url.startswith("https://")
    assert settings.oidc_client_secret != Settings().oidc_client_secret


def test_production_with_a_professionals_provider_needs_its_secret_and_a_known_level() -> None:
    # Without ENS_PRO_OIDC_ISSUER, production starts and professionals cannot log in.
    assert Settings.from_env(SMTP, **PROD).effective_pro_oidc_issuer is None
    pro = {"ENS_PRO_OIDC_ISSUER": "https://pro-idp.example"}
    with pytest.raises(ConfigurationError, match="ENS_PRO_OIDC_CLIENT_SECRET"):
        Settings.from_env({**SMTP, **pro}, **PROD)
    ready = Settings.from_env({**SMTP, **pro, "ENS_PRO_OIDC_CLIENT_SECRET": "p" * 40}, **PROD)
    assert ready.effective_pro_oidc_issuer == "https://pro-idp.example" and ready.pro_oidc_acr == "eidas1"
    with pytest.raises(ConfigurationError, match="ENS_PRO_OIDC_ACR"):
        Settings.from_env({**SMTP, **pro, "ENS_PRO_OIDC_CLIENT_SECRET": "p" * 40, "ENS_PRO_OIDC_ACR": "eidas9"}, **PROD)
    # In development the embedded provider for professionals stands in.
    assert Settings.from_env({}, env="dev").effective_pro_oidc_issuer == "http://127.0.0.1:8000/dev-pro-idp"


def test_an_import_limit_under_a_full_spaces_export_is_refused_in_every_environment() -> None:
    """A space filled to its documents' quota exports them in base64 (4/3 of their size): with a
    smaller import limit it could leave and never come back in."""
    quota = {"ENS_DOCUMENT_QUOTA_BYTES": "3000"}
    for env in ("dev", "prod"):
        options = PROD if env == "prod" else {"env": "dev"}
        with pytest.raises(ConfigurationError, match="ENS_IMPORT_MAX_BYTES must be at least 4/3"):
            Settings.from_env({**SMTP, **quota, "ENS_IMPORT_MAX_BYTES": "3999"}, **options)
        assert Settings.from_env({**SMTP, **quota, "ENS_IMPORT_MAX_BYTES": "4000"}, **options).import_max_bytes == 4000
    assert (
        Settings.from_env({}, env="dev").import_max_bytes
        >= 4 * Settings.from_env({}, env="dev").document_quota_bytes // 3
    )


def test_production_reads_previous_secret_keys_only_if_each_could_be_a_key() -> None:
    """ENS_PREVIOUS_SECRET_KEYS: keys of at least 32 characters, newest first, by commas; a short or
    public one (the development key) would let anyone forge what it MACs, refused at start."""
    older, oldest = "o" * 40, "p" * 33
    settings = Settings.from_env({**SMTP, "ENS_PREVIOUS_SECRET_KEYS": f" {older} ,{oldest},"}, **PROD)
    assert settings.previous_keys == (older, oldest)
    assert Settings.from_env(SMTP, **PROD).previous_keys == ()
    for refused in ("short", f"{older},short", DEV_SECRET_KEY):
        with pytest.raises(ConfigurationError, match="ENS_PREVIOUS_SECRET_KEYS"):
            Settings.from_env({**SMTP, "ENS_PREVIOUS_SECRET_KEYS": refused}, **PROD)


@pytest.mark.parametrize("variable", ["ENS_OIDC_ISSUER", "ENS_PRO_OIDC_ISSUER"])
def test_production_reaches_its_identity_providers_over_https_only(variable: str) -> None:
    """An ``http://`` issuer started the service in production (an outside audit as the operator):
    discovery, the signing keys and the token endpoint (the client secret in each request) would go
    in clear, and whoever is on the path could hand ENS keys of their own and sign anyone in. Refused,
    as a malformed one is (no scheme, no host: it only failed at the first login), but for a
    provider on this machine's loopback (a relay that ends TLS, the load test's fake provider)."""
    base = {**SMTP, "ENS_PRO_OIDC_CLIENT_SECRET": "p" * 40}
    options = {k: v for k, v in PROD.items() if k != "oidc_issuer"} if variable == "ENS_OIDC_ISSUER" else PROD
    for refused in ("http://idp.example", "idp.example", "https://", "ftp://idp.example", "http://10.0.0.5:8080"):
        with pytest.raises(ConfigurationError, match=variable):
            Settings.from_env({**base, variable: refused}, **options)
    for taken in ("https://idp.example", "https://idp.example/realms/x", "http://127.0.0.1:8081", "http://[::1]:9"):
        assert Settings.from_env({**base, variable: taken}, **options)
    # Development keeps its embedded providers and any test provider.
    assert Settings.from_env({variable: "http://fake-idp.test"}, env="dev")


def test_production_reaches_its_s3_service_over_https_unless_on_this_machine() -> None:
    """The README said ``http://`` was allowed for a local S3 service; any was taken in production
    (an outside audit as the operator): the objects are encrypted, but their names (each space's
    id), their sizes and every request would cross the network in clear, and whoever is on the path
    could delete them. As for the mail relay: plain http only on this machine's loopback."""
    s3 = {**SMTP, "ENS_BLOB_URL": "s3://ens-documents/prod"}
    for refused in ("http://minio.internal:9000", "http://10.0.0.7:9000", "minio.internal:9000", "https://"):
        with pytest.raises(ConfigurationError, match="ENS_S3_ENDPOINT"):
            Settings.from_env({**s3, "ENS_S3_ENDPOINT": refused}, **PROD)
    for taken in ("https://s3.fr-par.scw.cloud", "http://127.0.0.1:9000", "http://localhost:9000"):
        assert Settings.from_env({**s3, "ENS_S3_ENDPOINT": taken}, **PROD).s3_endpoint == taken
    assert Settings.from_env(s3, **PROD).s3_endpoint is None  # AWS itself, over https
    assert Settings.from_env({"ENS_S3_ENDPOINT": "http://minio.internal:9000"}, env="dev").s3_endpoint


def test_production_refuses_a_documents_folder_relative_to_where_each_process_starts() -> None:
    """Left to ENS_VAR_DIR's default, the documents were under ./var/blobs of the folder each process
    started in: ens serve from / (systemd's) kept them in /var/blobs, and a cron command started
    elsewhere looked for them in its own (an outside audit as the operator)."""
    relative = {k: v for k, v in PROD.items() if k != "blob_url"}
    for chosen in ({}, {"ENS_VAR_DIR": "var"}, {"ENS_VAR_DIR": "./data"}):
        with pytest.raises(ConfigurationError, match="ENS_BLOB_URL"):
            Settings.from_env({**SMTP, **chosen}, **relative)
    assert Settings.from_env({**SMTP, "ENS_VAR_DIR": "/var/lib/ens"}, **relative).var_dir == "/var/lib/ens"
    assert Settings.from_env({**SMTP, "ENS_BLOB_URL": "s3://ens-documents/prod"}, **relative).blob_url
    assert Settings.from_env({}, env="dev").var_dir == "./var"  # development keeps its folder
