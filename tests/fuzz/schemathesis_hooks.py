"""Schemathesis hooks for the fuzzing runs (``SCHEMATHESIS_HOOKS``).

Every POST behind a token documents an optional ``Idempotency-Key``. Generated keys repeat (a
seeded run draws the same few short strings again and again), and a repeated key is, by the
contract, a replay of the first answer or a 422: the fuzzer's POSTs would then create nothing after
the first, and the stateful chains (create -> read -> change -> remove) would follow ids of items
long removed. Each request that carries a key gets a key of its own: the header is still sent,
without accidental collisions (the suite tests deliberate ones, tests/core/test_api_conventions.py).

Every GET documents ``If-None-Match`` and its 304. The fuzzer sends the header, and a 304 has no
body: a stateful chain that gets one cannot take an id from it and ends there (measured on the
guardian's seeded run: 8 links followed with the header sent, 24 without). The header is left out
of the fuzzer's requests; the suite tests the 304 (tests/core/test_api_conventions.py,
tests/core/test_generated_python_client.py).
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    headers = case.headers
    if headers and "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4().hex}"
    if headers:
        headers.pop("If-None-Match", None)
