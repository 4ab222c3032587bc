"""A lean HTTP/1.1 client for the ingestion load: one keep-alive connection, requests written as
prepared bytes, answers read by their ``Content-Length``.

Server, PostgreSQL and load generator share the machine's two cores, so what the client spends is
taken from the two others. httpx spent 10 us of CPU a measure posting batches of 100 (about a
third of the server's own), this client 1 to 2: the same reason the page reads are driven by wrk.
It speaks only what the bench needs: plain HTTP (TLS ends in front of ``ens serve``, as in
production), answers with a ``Content-Length``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import TracebackType


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class Connection:
    """``async with Connection(host, port) as http: await http.post(path, headers, body)``."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Connection:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()

    def request(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        """The request's bytes (build them once, send them as often as needed)."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def send(self, request: bytes) -> Answer:
        assert self._reader is not None and self._writer is not None, "use the connection in 'async with'"
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length = None
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                raise RuntimeError(f"the bench's client reads answers by their length, not {value.strip()}")
        return Answer(status, await self._reader.readexactly(length or 0))
