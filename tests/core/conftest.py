from __future__ import annotations

import json

import httpx
import pytest

from tests.helpers.openapi import Document


@pytest.fixture(scope="session")
async def openapi_json(client: httpx.AsyncClient) -> bytes:
    """``/schema/openapi.json`` as the test app serves it (its test routes included)."""
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.content


@pytest.fixture(scope="session")
def openapi(openapi_json: bytes) -> Document:
    document: Document = json.loads(openapi_json)
    return document
