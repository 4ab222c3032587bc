"""The OpenAPI document's settings and description, and on each space operation, who may call it."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin, ScalarRenderPlugin

from ens.app.doors import SPACE_PATH
from ens.core.openapi import require_operation_id
from ens.spaces.door import Need
from ens.spaces.matrix import access_matrix
from ens.spaces.rights import Action, table_markdown, who_may


def openapi_config(*, interactive: bool) -> OpenAPIConfig:
    """The document's title, pages and description (the rules the contract leaves open, the table of rights).

    ``interactive`` (development): ``/schema`` is also a page to try the API, whose script comes from
    a CDN. Not in production: a third party's script would run on the origin of the login pages and
    their cookies; ``/schema`` and ``/schema/openapi.json`` are the document alone."""
    plugins: list[OpenAPIRenderPlugin] = (
        [ScalarRenderPlugin(), JsonRenderPlugin()] if interactive else [JsonRenderPlugin()]
    )
    return OpenAPIConfig(
        title="ENS API",
        version="1",
        path="/schema",
        render_plugins=plugins,
        description="The patient health space API. Errors are RFC 9457 problem+json, except on the OAuth "
        "token and revocation endpoints, which answer RFC 6749 error JSON. Rules the contract leaves open: "
        "no text may hold a NUL character (a body field: 422 at its pointer; the address: 400); a missing required "
        "field is 422 at its own pointer; If-Match "
        "compares strongly (a W/ tag is 412); an Idempotency-Key whose request died is 409 until its lease "
        "has passed (60 s by default), then a retry runs again; CSV cells that would start a spreadsheet "
        "formula are prefixed with a single quote; every GET but the export's also answers HEAD (its status "
        "and headers, no body; a row in the space's access history as a read).\n\n"
        "Who may do what on a space (a curator reads only while the holder's recorded consent lasts; a "
        "parent's right ends on the child's 18th birthday in the space's time zone; a measure relating only "
        "to property opens nothing; a holder under 18 may not write directives, designate the trusted "
        "person or erase; apps reach only their granted space and the scopes of their grant):\n\n"
        + table_markdown()
        + "\n\nHealth professionals reach a space while the holder's authorisation runs (until the same "
        "date next year, exclusive, in the space's time zone), or read-only for 24 hours after an emergency "
        "access; what each profession reads and writes is the access matrix (each operation names the "
        "professions it lets through).",
        operation_id_creator=require_operation_id,
    )


def document_rights(app: Litestar) -> None:
    """Each operation under the space door says who may call it, from the one table of rights."""
    paths = app.openapi_schema.paths or {}
    for route in app.routes:
        if not route.path.startswith(SPACE_PATH):
            continue
        item = paths.get(re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.path))
        for handler in getattr(route, "route_handlers", []):
            need = handler.opt.get("need")
            for method in handler.http_methods - {"OPTIONS", "HEAD"}:
                operation = getattr(item, method.lower(), None) if item is not None else None
                if operation is None or need is None:
                    continue
                scope = (
                    f" Apps: with a {need.app_scope} scope of {need.resource}." if need.app_scope else " Apps: never."
                )
                pros = _professionals_who_may(need)
                operation.description = f"{operation.description or ''}\n\n{who_may(need.action)}{scope}{pros}".strip()


def _professionals_who_may(need: Need) -> str:
    """The sentence saying which professions the access matrix lets through this operation."""
    matrix = access_matrix()
    if need.action is Action.READ:
        codes = [code for code in matrix.professions if matrix.may(code, need.matrix_name, write=False)]
    elif need.action is Action.WRITE_DATA:
        codes = [code for code in matrix.professions if matrix.may(code, need.matrix_name, write=True)]
    else:
        codes = []
    if not codes:
        return " Professionals: never."
    names = ", ".join(f"{matrix.label(code)} ({code})" for code in codes)
    emergency = " (also in an emergency access)" if need.action is Action.READ else " (never in an emergency access)"
    return f" Professionals (the access matrix): {names}{emergency}."
