"""Generated clients name their functions after each operation's ``operationId``: every route names
its operation, in camelCase, once; the app refuses to start otherwise."""

from __future__ import annotations

import re

import pytest
from litestar import get

from ens.app import create_app
from tests.helpers.openapi import operations

EXPECTED_OPERATION_IDS = {
    ("get", "/v1/spaces/{space}/vitals"): "listVitals",
    ("post", "/v1/spaces/{space}/vitals"): "recordVitals",
    ("get", "/v1/spaces/{space}/vitals/{id}"): "getVital",
    ("patch", "/v1/spaces/{space}/vitals/{id}"): "correctVital",
    ("delete", "/v1/spaces/{space}/vitals/{id}"): "deleteVital",
    ("get", "/v1/spaces/{space}/vitals/summary"): "getVitalsSummary",
    ("get", "/v1/spaces/{space}/vitals/changes"): "getVitalsChanges",
    ("get", "/v1/vital-types"): "listVitalTypes",
    ("get", "/v1/vaccines"): "listVaccines",
    ("get", "/v1/spaces/{space}/vaccinations"): "listVaccinations",
    ("post", "/v1/spaces/{space}/vaccinations"): "recordVaccination",
    ("get", "/v1/spaces/{space}/vaccinations/schedule"): "getVaccinationSchedule",
    ("get", "/v1/spaces/{space}/vaccinations/{id}"): "getVaccination",
    ("patch", "/v1/spaces/{space}/vaccinations/{id}"): "updateVaccination",
    ("delete", "/v1/spaces/{space}/vaccinations/{id}"): "deleteVaccination",
    ("get", "/v1/spaces/{space}"): "getSpaceSummary",
    ("delete", "/v1/spaces/{space}"): "closeSpace",
    ("post", "/v1/spaces/{space}/reopen"): "reopenSpace",
    ("get", "/v1/spaces/{space}/access-history"): "listAccessHistory",
    ("get", "/v1/spaces/{space}/grants"): "listGrants",
    ("delete", "/v1/spaces/{space}/grants/{id}"): "revokeGrant",
    ("get", "/v1/me"): "getMe",
    ("get", "/v1/me/sessions"): "listSessions",
    ("delete", "/v1/me/sessions/{id}"): "revokeSession",
    ("post", "/v1/me/otp/recovery-codes"): "renewRecoveryCodes",
    ("get", "/v1/apps"): "listApps",
    ("get", "/.well-known/oauth-authorization-server"): "getAuthorizationServerMetadata",
    ("get", "/oauth/authorize"): "authorize",
    ("get", "/oauth/callback"): "oauthCallback",
    ("get", "/oauth/pro/callback"): "oauthProCallback",
    ("get", "/v1/pro/patients"): "listPatients",
    ("post", "/v1/pro/access-requests"): "requestPatientAccess",
    ("post", "/v1/pro/emergency-access"): "openEmergencyAccess",
    ("get", "/v1/spaces/{space}/professionals"): "listProfessionals",
    ("post", "/v1/spaces/{space}/professionals"): "authoriseProfessional",
    ("get", "/v1/spaces/{space}/professionals/{id}"): "getProfessional",
    ("patch", "/v1/spaces/{space}/professionals/{id}"): "renewProfessional",
    ("delete", "/v1/spaces/{space}/professionals/{id}"): "revokeProfessional",
    ("post", "/v1/spaces/{space}/professionals/{id}/block"): "blockProfessional",
    ("get", "/v1/spaces/{space}/access-requests"): "listAccessRequests",
    ("post", "/v1/spaces/{space}/access-requests/{id}/approve"): "approveAccessRequest",
    ("post", "/v1/spaces/{space}/access-requests/{id}/refuse"): "refuseAccessRequest",
    ("get", "/oauth/logout"): "logoutPage",
    ("post", "/oauth/logout"): "logout",
    ("post", "/oauth/token"): "token",
    ("post", "/oauth/revoke"): "revokeToken",
    ("get", "/health"): "health",
    ("get", "/ready"): "ready",
}


def test_every_operation_has_a_stable_camel_case_id(openapi):
    ids = {(method, path): operation.get("operationId") for method, path, operation in operations(openapi)}
    assert {key: ids.get(key) for key in EXPECTED_OPERATION_IDS} == EXPECTED_OPERATION_IDS
    assert all(re.fullmatch(r"[a-z][a-zA-Z0-9]*", str(name)) for name in ids.values()), ids
    assert len(set(ids.values())) == len(ids)


@get("/v1/forgotten-name", opt={"public": True})
async def route_without_operation_id() -> None:
    return None


@get("/v1/badly-named", opt={"public": True}, operation_id="get_badly_named")
async def route_with_snake_case_id() -> None:
    return None


@get("/v1/twin", opt={"public": True}, operation_id="getMe")
async def route_with_a_taken_id() -> None:
    return None


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (route_without_operation_id, "/v1/forgotten-name.*operation_id"),
        (route_with_snake_case_id, "get_badly_named.*camelCase"),
        (route_with_a_taken_id, "unique"),
    ],
)
def test_the_app_refuses_to_start_with_a_route_lacking_a_proper_operation_id(settings, migrated, route, message):
    with pytest.raises(Exception, match=message):
        create_app(settings, extra_routes=[route])
