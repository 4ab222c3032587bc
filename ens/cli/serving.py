"""``ens serve``: the API under uvicorn, from the ``ens.app:create_app`` factory."""

from __future__ import annotations

import ssl

from ens.cli.refusal import fail
from ens.core.log import uvicorn_log_config
from ens.core.settings import Settings


def run_server(
    settings: Settings, host: str, *, port: int, workers: int, certfile: str | None, keyfile: str | None
) -> None:
    import uvicorn

    if bool(certfile) != bool(keyfile):
        fail("--ssl-certfile and --ssl-keyfile go together (TLS ended by ens serve itself)")
    if certfile and keyfile:
        _check_certificate(certfile, keyfile)
    proxies = settings.trusted_proxies()
    uvicorn.run(
        "ens.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        log_config=uvicorn_log_config(settings.log_level.upper()),
        access_log=False,
        # Only these peers' X-Forwarded-For is believed (the client address of the per-address limit).
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        server_header=False,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        # The requests in flight at SIGTERM have this long to finish, then are cancelled: uvicorn
        # waited for them without limit, and a client sending its body slowly held the process up
        # until systemd killed it (an outside audit). An import cancelled is rolled back whole.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        # An idle connection outlives the client's and the proxy's pools (ENS_KEEP_ALIVE_SECONDS).
        timeout_keep_alive=settings.keep_alive_seconds,
    )


def _check_certificate(certfile: str, keyfile: str) -> None:
    """Loaded here first, as uvicorn will: a file missing or not a certificate and its key was a
    traceback whose message (withheld) was the only place naming the file (an outside audit)."""
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
    except OSError as exc:  # ssl.SSLError is one
        reason = exc.strerror or getattr(exc, "reason", None) or type(exc).__name__
        fail(f"--ssl-certfile {certfile} and --ssl-keyfile {keyfile} cannot be loaded ({reason})")
