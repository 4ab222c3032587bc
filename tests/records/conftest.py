"""The records tests also read the OpenAPI document (its descriptions are part of the contract)."""

from tests.core.conftest import openapi, openapi_json

__all__ = ["openapi", "openapi_json"]
