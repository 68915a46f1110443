"""Opaque access tokens (issue 16): `token_validation: introspection` against a real provider
(provider.mjs) that issues reference tokens for the API and answers RFC 7662 introspection, with
the generated server (setup_proxies, a confidential provider client) in front of it.

- The official SDK's whole OAuth flow ends with an opaque token that the server accepts by
  introspecting it (the provider's log shows the introspection, authenticated with the client).
- A random string is refused (401, `invalid_token`); introspection answers are kept a few
  seconds (MCP_INTROSPECTION_CACHE_SECS), so two calls ask once; a token revoked at the
  provider is refused once that bound has passed.
- Refresh tokens (issue 16, item 5): a client asking `offline_access` gets a refresh token
  through the token proxy, and refreshing through the proxy gives a new token that works.
- When the provider cannot answer, the server says 503 and accepts nothing."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import urllib.parse
from typing import Iterator

import httpx2
import pytest

from browser import log_in
from conftest import McpServer, Process, build_server, free_port, start_provider
from helpers import initialize, post_mcp, rpc_result, tools_call, www_authenticate
from test_oauth_flow import run_flow
from tokens import AUDIENCE, Keys
from upstream import RecordingUpstream

CLIENT = "mcp-introspecting"
CACHE_SECS = 3


class Opaque:
    def __init__(self, issuer: str, process: Process, secret: str, server: McpServer) -> None:
        self.issuer, self.process, self.secret, self.server = issuer, process, secret, server

    def introspections(self) -> int:
        return self.process.log().count("POST /token/introspection -> 200")

    def revoke(self, token: str) -> None:
        basic = base64.b64encode(f"{CLIENT}:{self.secret}".encode()).decode()
        r = httpx2.post(
            f"{self.issuer}/token/revocation",
            data={"token": token, "token_type_hint": "access_token"},
            headers={"authorization": f"Basic {basic}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def opaque(upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Opaque]:
    port = free_port()
    secret = secrets.token_urlsafe(24)
    config = {
        "jwks": Keys.generate().provider_jwks(),
        "audience": AUDIENCE,
        "resource_scope": "items:read items:write",
        "cookie_keys": [secrets.token_urlsafe(16)],
        "access_token_format": "opaque",
        "clients": [
            {
                "client_id": CLIENT,
                "client_secret": secret,
                "token_endpoint_auth_method": "client_secret_basic",
                "redirect_uris": [f"http://127.0.0.1:{port}/oauth/callback"],
            }
        ],
    }
    issuer, process = start_provider(config, tmp_path_factory, "provider-opaque")
    binary = build_server("mcpgen-auth-oauth-introspection", "tests/auth/auth-oauth-introspection.yaml")
    env = {**oauth_env_for(issuer, secret), "MCP_INTROSPECTION_CACHE_SECS": str(CACHE_SECS)}
    server = McpServer(binary, port, upstream.base_url, "oauth-introspection", env)
    yield Opaque(issuer, process, secret, server)
    server.stop()
    process.stop()


def oauth_env_for(issuer: str, secret: str) -> dict[str, str]:
    return {
        "OAUTH_ISSUER": issuer,
        "OAUTH_METADATA_URL": f"{issuer}/.well-known/openid-configuration",
        "OAUTH_CLIENT_ID": CLIENT,
        "OAUTH_CLIENT_SECRET": secret,
    }


def call(server: McpServer, token: str, item: str = "5") -> httpx2.Response:
    return post_mcp(server.url, tools_call("get_item", {"id": item}), f"Bearer {token}")


def test_opaque_tokens_are_introspected(opaque: Opaque, upstream: RecordingUpstream) -> None:
    flow = run_flow(opaque.server, "41")
    assert flow.tool_result is not None and not flow.tool_result.is_error, flow.tool_result  # type: ignore[attr-defined]
    assert flow.storage.tokens is not None
    token = flow.storage.tokens.access_token
    assert token.count(".") != 2, f"the provider was to issue an opaque token: {token}"
    assert opaque.introspections() >= 1, opaque.process.log()
    # The answer is kept: two more calls now ask the provider at most once more.
    before = opaque.introspections()
    for _ in range(2):
        response = call(opaque.server, token)
        assert response.status_code == 200, response.text
        result = rpc_result(response)
        assert result is not None and "error" not in result and not result["result"].get("isError"), result
    assert opaque.introspections() - before <= 1

    # A random string is no token.
    response = call(opaque.server, secrets.token_urlsafe(32))
    assert response.status_code == 401, response.text
    scheme, params = www_authenticate(response)
    assert scheme == "Bearer" and params["error"] == "invalid_token", params
    assert "not active" in params["error_description"], params

    # Revoked at the provider: refused once the kept answer has expired.
    opaque.revoke(token)
    time.sleep(CACHE_SECS + 0.5)
    response = call(opaque.server, token)
    assert response.status_code == 401, response.text
    assert www_authenticate(response)[1]["error"] == "invalid_token"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def test_refresh_tokens_go_through_the_token_proxy(opaque: Opaque) -> None:
    server = opaque.server
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    verifier, challenge = pkce()
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT,
            "redirect_uri": redirect_uri,
            "scope": "offline_access items:read",
            "prompt": "consent",
            "state": "s-refresh",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": server.url,
        }
    )
    import anyio

    login = anyio.run(log_in, f"{server.base}/oauth/authorize?{query}", redirect_uri)
    assert "code" in login.query and login.query["state"] == "s-refresh", login.query
    tokens = httpx2.post(
        f"{server.base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": login.query["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_id": CLIENT,
            "resource": server.url,
        },
        timeout=15,
    )
    assert tokens.status_code == 200, tokens.text
    first = tokens.json()
    assert "refresh_token" in first, f"offline_access was asked for: {first}"
    assert call(server, first["access_token"]).status_code == 200

    refreshed = httpx2.post(
        f"{server.base}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "resource": server.url},
        timeout=15,
    )
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["access_token"] != first["access_token"]
    response = call(server, second["access_token"], "42")
    assert response.status_code == 200, response.text
    result = rpc_result(response)
    assert result is not None and not result["result"].get("isError"), result
    # A refresh token is no access token.
    assert call(server, first["refresh_token"]).status_code == 401
    # The client secret stays on the server.
    assert opaque.secret not in tokens.text + refreshed.text


def test_provider_failure_is_503_never_acceptance(opaque: Opaque) -> None:
    """Runs last in this module: it stops the provider."""
    assert post_mcp(opaque.server.url, initialize(), "Bearer x").status_code == 401
    opaque.process.stop()
    response = call(opaque.server, secrets.token_urlsafe(32))
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "temporarily_unavailable"
