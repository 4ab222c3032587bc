"""``ens serve``: the API under uvicorn, from the ``ens.app:create_app`` factory."""

from __future__ import annotations

from ens.cli.refusal import fail
from ens.core.settings import Settings


def run_server(
    settings: Settings, host: str, *, port: int, workers: int, certfile: str | None, keyfile: str | None
) -> None:
    import uvicorn

    if bool(certfile) != bool(keyfile):
        fail("--ssl-certfile and --ssl-keyfile go together (TLS ended by ens serve itself)")
    uvicorn.run(
        "ens.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        proxy_headers=True,
        server_header=False,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )
