"""RFC 6749 §5.2 (and RFC 7009 §2.2.1, which uses the same format): every malformed request to the
token or revocation endpoint is answered 400 ``{"error": "invalid_request", "error_description"}``
with ``Cache-Control: no-store`` — a repeated parameter (§3.1, §3.2), a body that is not
form-encoded, a body that is not UTF-8 (Appendix B) — never problem+json, never a 500."""

from __future__ import annotations

import pytest

FORM = "application/x-www-form-urlencoded"
ENDPOINTS = ["/oauth/token", "/oauth/revoke"]

MALFORMED: dict[str, tuple[bytes, dict[str, str]]] = {
    "repeated grant_type": (
        b"grant_type=authorization_code&grant_type=refresh_token&client_id=ens-mobile&token=x",
        {"content-type": FORM},
    ),
    "repeated client_id": (
        b"grant_type=refresh_token&client_id=ens-mobile&client_id=other&token=x&refresh_token=x",
        {"content-type": FORM},
    ),
    "repeated token": (b"token=a&token=b&client_id=ens-mobile&grant_type=refresh_token", {"content-type": FORM}),
    "json body": (
        b'{"grant_type": "refresh_token", "refresh_token": "x", "token": "x", "client_id": "ens-mobile"}',
        {"content-type": "application/json"},
    ),
    "multipart body": (
        b'--b\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nrefresh_token\r\n--b--\r\n',
        {"content-type": "multipart/form-data; boundary=b"},
    ),
    "no content type": (b"grant_type=refresh_token&refresh_token=x&token=x&client_id=ens-mobile", {}),
    "bytes that are not utf-8": (
        b"grant_type=refresh_token&client_id=ens-mobile&token=\xff\xfe&refresh_token=\xff\xfe",
        {"content-type": FORM},
    ),
    "percent-encoded bytes that are not utf-8": (
        b"grant_type=refresh_token&client_id=ens-mobile&token=%ff%fe&refresh_token=%ff%fe",
        {"content-type": FORM},
    ),
}


def _assert_rfc6749(response, status: int = 400, error: str = "invalid_request") -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == error and body["error_description"], body
    assert set(body) == {"error", "error_description"}


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_malformed_request_is_invalid_request(fake_client, path, case):
    # A repeated name the endpoint does not read (token at /oauth/token) is still a malformed request.
    body, headers = MALFORMED[case]
    response = await fake_client.post(path, content=body, headers=headers)
    _assert_rfc6749(response)


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_the_description_names_the_repeated_parameter(fake_client, path):
    response = await fake_client.post(
        path, content=b"client_id=ens-mobile&client_id=ens-mobile", headers={"content-type": FORM}
    )
    _assert_rfc6749(response)
    assert "client_id" in response.json()["error_description"]


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_an_oversize_body_is_refused_in_the_same_format(fake_client, fake_settings, path):
    body = b"token=" + b"x" * (fake_settings.max_body_bytes + 1)
    response = await fake_client.post(path, content=body, headers={"content-type": FORM})
    _assert_rfc6749(response, status=413)


async def test_a_well_formed_form_with_a_charset_still_reaches_the_checks_of_the_grant(fake_client):
    response = await fake_client.post(
        "/oauth/token",
        content=b"grant_type=refresh_token&client_id=ens-mobile&refresh_token=caf%C3%A9",
        headers={"content-type": f"{FORM}; charset=UTF-8"},
    )
    _assert_rfc6749(response, error="invalid_grant")
    unknown = await fake_client.post(
        "/oauth/revoke",
        content=b"token=nothing-of-ours&client_id=ens-mobile&extra=ignored",
        headers={"content-type": FORM},
    )
    assert unknown.status_code == 200  # RFC 7009 §2.2: an unknown token is not an error


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=refresh_token&client_id=ens-mobile",
        b"grant_type=refresh_token&client_id=ens-mobile&refresh_token=",
        b"grant_type=authorization_code&client_id=ens-mobile&code=abc&code_verifier=" + b"v" * 43,
    ],
    ids=["no refresh_token", "empty refresh_token", "no redirect_uri"],
)
async def test_a_missing_required_parameter_is_invalid_request_not_invalid_grant(fake_client, body):
    # RFC 6749 §5.2: invalid_request is "missing a required parameter"; invalid_grant is a grant
    # that does not hold. A client told invalid_grant throws its session away.
    response = await fake_client.post("/oauth/token", content=body, headers={"content-type": FORM})
    _assert_rfc6749(response)


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_a_wrong_method_is_told_in_the_same_format(fake_client, path):
    """RFC 6749 §3.2: the token endpoint takes POST; a GET is 405 naming POST, as JSON an OAuth
    client reads, not problem+json."""
    response = await fake_client.get(path)
    _assert_rfc6749(response, status=405)
    assert "POST" in response.headers["allow"]
