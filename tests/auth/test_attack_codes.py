"""Issue 14, finding 5 and the bounds of finding 1: `/oauth/token` used to remove a code from its
table before checking the request (so one wrong request disarmed the `redirect_uri` binding for
the real one), and a code it never issued skipped the binding altogether. Now a code is the
provider's code sealed with the login's bindings: every check runs before the provider sees the
code, a refused request changes nothing, and a code this server did not seal is refused. Every
parameter of the proxies has a length bound, refused with a 400 that names it.

Logins go through the real provider (browser.log_in); the codes are the provider's, sealed."""

from __future__ import annotations

import base64
import hashlib
import urllib.parse

import anyio
import httpx2
import pytest

from browser import log_in
from conftest import PUBLIC_CLIENT, McpServer

CLIENT_REDIRECT = "http://127.0.0.1:53682/callback"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def authorize_query(server: McpServer, **overrides: str) -> dict[str, str]:
    params = {
        "resource": server.url,
        "response_type": "code",
        "client_id": PUBLIC_CLIENT,
        "redirect_uri": CLIENT_REDIRECT,
        "state": "st-codes",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "scope": "items:read",
    }
    params.update(overrides)
    return params


def login(server: McpServer) -> str:
    """A real login; the code the client's redirect URI receives."""
    url = f"{server.base}/oauth/authorize?{urllib.parse.urlencode(authorize_query(server))}"

    async def main():  # noqa: ANN202
        with anyio.fail_after(60):
            return await log_in(url, CLIENT_REDIRECT)

    result = anyio.run(main)
    assert result.query.get("state") == "st-codes" and result.query.get("code"), result.query
    return result.query["code"]


def token(server: McpServer, **fields: str | None) -> httpx2.Response:
    form: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "redirect_uri": CLIENT_REDIRECT,
        "client_id": PUBLIC_CLIENT,
        "code_verifier": VERIFIER,
        "resource": server.url,
    }
    form.update(fields)
    with httpx2.Client(timeout=15) as http:
        return http.post(f"{server.base}/oauth/token", data={k: v for k, v in form.items() if v is not None})


def refused(response: httpx2.Response, error: str, says: str) -> None:
    assert response.status_code == 400, f"HTTP {response.status_code}: {response.text[:300]}"
    body = response.json()
    assert body["error"] == error and says in body["error_description"], body


def test_a_refused_token_request_does_not_disarm_the_code(oauth_server: McpServer) -> None:
    code = login(oauth_server)
    # Each wrong request is refused before the provider sees the code...
    refused(token(oauth_server, code=code, redirect_uri="http://127.0.0.1:1/other"), "invalid_grant", "redirect_uri")
    refused(token(oauth_server, code=code, redirect_uri=None), "invalid_grant", "redirect_uri")
    refused(token(oauth_server, code=code, code_verifier="x" * 43), "invalid_grant", "PKCE")
    refused(token(oauth_server, code=code, client_id="someone-else"), "invalid_grant", "another client")
    refused(token(oauth_server, code=code + "A"), "invalid_grant", "not one this server issued")
    # ...so the real one still gets the tokens, once: the provider's code is single use.
    first = token(oauth_server, code=code)
    assert first.status_code == 200 and first.json().get("access_token"), first.text[:300]
    assert first.headers.get("cache-control") == "no-store"
    again = token(oauth_server, code=code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text[:300]


def test_codes_and_states_it_did_not_seal_are_refused(oauth_server: McpServer, oauth_secret_server: McpServer) -> None:
    refused(token(oauth_server, code="never-issued"), "invalid_grant", "not one this server issued")
    # A sealed `state` (what the provider sees) is not a code.
    with httpx2.Client(timeout=15, follow_redirects=False) as http:
        response = http.get(f"{oauth_server.base}/oauth/authorize", params=authorize_query(oauth_server))
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.headers["location"]).query))["state"]
    refused(token(oauth_server, code=state), "invalid_grant", "not one this server issued")
    # A code of another server (another key, as a replica with another MCP_STATE_KEY) is not one.
    code = login(oauth_server)
    refused(token(oauth_secret_server, code=code), "invalid_grant", "MCP_STATE_KEY")
    # Nor is a state of another server at the callback.
    with httpx2.Client(timeout=15, follow_redirects=False) as http:
        response = http.get(f"{oauth_secret_server.base}/oauth/callback", params={"state": state, "code": "c"})
    refused(response, "invalid_request", "the `state` is not one this server issued")


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ({"redirect_uri": "http://127.0.0.1:53682/" + "a" * 2030}, "`redirect_uri` is longer than 2048 bytes"),
        ({"state": "s" * 513}, "`state` is longer than 512 bytes"),
        ({"client_id": "c" * 513}, "`client_id` is longer than 512 bytes"),
        ({"nonce": "n" * 2049}, "`nonce` is longer than 2048 bytes"),
        ({"x": "y" * 9000}, "query string is longer than 8192 bytes"),
        ({"code_challenge": CHALLENGE + "A"}, "PKCE is required"),
        ({"code_challenge": "short"}, "PKCE is required"),
        ({"code_challenge_method": "plain"}, "PKCE is required"),
    ],
)
def test_authorize_bounds_every_parameter(oauth_server: McpServer, override: dict[str, str], says: str) -> None:
    with httpx2.Client(timeout=15, follow_redirects=False) as http:
        response = http.get(f"{oauth_server.base}/oauth/authorize", params=authorize_query(oauth_server, **override))
    refused(response, "invalid_request", says)


def test_the_longest_accepted_values_pass(oauth_server: McpServer) -> None:
    redirect = "http://127.0.0.1:53682/" + "a" * (2048 - len("http://127.0.0.1:53682/"))
    with httpx2.Client(timeout=15, follow_redirects=False) as http:
        response = http.get(
            f"{oauth_server.base}/oauth/authorize",
            params=authorize_query(oauth_server, redirect_uri=redirect, state="s" * 512, client_id="c" * 512),
        )
    assert response.status_code == 302, response.text[:300]


def test_callback_and_token_bound_their_parameters(oauth_server: McpServer) -> None:
    with httpx2.Client(timeout=15, follow_redirects=False) as http:
        response = http.get(f"{oauth_server.base}/oauth/callback", params={"state": "s", "code": "c" * 4097})
        refused(response, "invalid_request", "`code` is longer than 4096 bytes")
        response = http.get(f"{oauth_server.base}/oauth/callback", params={"state": "s" * 8193})
        refused(response, "invalid_request", "longer than")
    refused(token(oauth_server, code="c", code_verifier="short"), "invalid_request", "code_verifier")
    refused(token(oauth_server, code="c" * 8193), "invalid_request", "`code` is longer than 8192 bytes")
    refused(token(oauth_server, code="c", redirect_uri="r" * 2049), "invalid_request", "`redirect_uri` is longer")
    with httpx2.Client(timeout=15) as http:
        response = http.post(f"{oauth_server.base}/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "r" * 20_000})
    assert response.status_code == 413, f"HTTP {response.status_code}: {response.text[:200]}"
