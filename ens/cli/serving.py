"""``ens serve``: the API under uvicorn, from the ``ens.app:create_app`` factory."""

from __future__ import annotations

from ens.cli.refusal import fail
from ens.core.log import uvicorn_log_config
from ens.core.settings import Settings


def run_server(
    settings: Settings, host: str, *, port: int, workers: int, certfile: str | None, keyfile: str | None
) -> None:
    import uvicorn

    if bool(certfile) != bool(keyfile):
        fail("--ssl-certfile and --ssl-keyfile go together (TLS ended by ens serve itself)")
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
    )
