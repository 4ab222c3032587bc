"""The read ceiling: a bare litestar endpoint, served exactly as ``ens serve`` serves ENS.

``python -m bench.bare --port N [--workers 1]`` runs uvicorn with the arguments of
``ens.cli.serving.run_server`` (factory, access log off, proxy headers, no server header) and the
process settings of ``ens.app``'s lifespan (the garbage collector frozen and tuned), on one route that
answers a small JSON document: no middleware, no token, no database. A page of ENS read under the
same wrk settings in the same run is divided by this one's requests per second.
"""

from __future__ import annotations

import argparse
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, get

PATH = "/bare"


@get(PATH, sync_to_thread=False)
def bare() -> dict[str, object]:
    return {"items": [], "nextCursor": None}


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    # What ens.app's lifespan does to the process, so that the ceiling runs under the same settings.
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    yield


def create_app() -> Litestar:
    return Litestar(route_handlers=[bare], lifespan=[lifespan], openapi_config=None)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.bare")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    # The arguments of ens.cli.serving.run_server, the log level of bench.world.production_environment.
    uvicorn.run(
        "bench.bare:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )


if __name__ == "__main__":
    main()
