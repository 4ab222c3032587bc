"""The app's OpenAPI document, walked the way client generators walk it."""

from __future__ import annotations

from typing import Any

OPERATIONS = ("get", "put", "post", "patch", "delete")

Document = dict[str, Any]


def operations(document: Document) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every documented operation."""
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in OPERATIONS
    ]


def resolve(document: Document, schema: dict[str, Any]) -> dict[str, Any]:
    """The schema a ``$ref`` names (followed until it is not a reference)."""
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def ref_name(media: dict[str, Any]) -> str:
    """The component a media type's schema refers to."""
    return str(media["schema"]["$ref"]).rsplit("/", 1)[-1]
