"""Issue 14, finding 2: a secret the server sends to a token endpoint — the OAuth client secret
(`client_secret_post`, in the body) of the token proxy and the upstream client-credentials
secrets (`client_secret_basic` and `client_secret_post`) — must never reach another origin when
the token endpoint answers 307 (reqwest's default policy re-sends the body there), and the token
proxy must not relay a provider's error body unredacted.

A token endpoint that redirects is played by a second recording HTTP listener on loopback (its
own port: another origin), redirecting with 307 to a third one, which records everything it
receives and must receive nothing. The servers run at RUST_LOG=debug; no log line of theirs may
carry a secret. The real provider of the suite supplies everything else (metadata, keys, its own
`invalid_grant` answer)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import urllib.parse
from typing import Any, Iterator

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from conftest import (
    CC_CLIENT,
    CONFIDENTIAL_CLIENT,
    OIDC_CC_CLIENT,
    McpServer,
    OAuthProvider,
    build_server,
    free_port,
    oauth_env,
)
from upstream import Canned, Recorded, RecordingUpstream

CLIENT_REDIRECT = "http://127.0.0.1:53682/callback"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
# Logs of every server started here, grepped by the last test.
LOGS: list[McpServer] = []


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[RecordingUpstream]:
    """Another origin: whatever a redirect delivers lands here."""
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redirecting(provider: OAuthProvider, elsewhere: RecordingUpstream) -> Iterator[RecordingUpstream]:
    """The provider's metadata with its token endpoint here; every token endpoint here answers
    307 to `elsewhere` (the routes a test changes are set again by the next)."""
    server = RecordingUpstream().start()
    origin = f"http://127.0.0.1:{server.port}"
    metadata = {**provider.metadata(), "token_endpoint": f"{origin}/token"}
    server.route("GET", "/.well-known/openid-configuration", Canned(200, json.dumps(metadata).encode(), "application/json"))
    discovery = {"issuer": provider.issuer, "token_endpoint": f"{origin}/cc-token-post"}
    server.route("GET", "/.well-known/cc-discovery", Canned(200, json.dumps(discovery).encode(), "application/json"))
    yield server
    server.stop()


def redirect_to(elsewhere: RecordingUpstream) -> Canned:
    return Canned(307, b"", "text/plain", headers={"Location": f"http://127.0.0.1:{elsewhere.port}/steal"})


def secrets_of(provider: OAuthProvider) -> list[str]:
    """Every secret, in the forms it is sent in (raw, form-encoded, base64 basic credentials)."""
    out = [provider.client_secret, *provider.cc_secrets.values()]
    for client, secret in [(CONFIDENTIAL_CLIENT, provider.client_secret), *provider.cc_secrets.items()]:
        out.append(urllib.parse.quote_plus(secret))
        out.append(base64.b64encode(f"{client}:{secret}".encode()).decode())
    return out


def assert_no_secret(text: str, provider: OAuthProvider, where: str) -> None:
    for secret in secrets_of(provider):
        assert secret not in text, f"a secret in {where}: {text[:600]!r}"


@pytest.fixture(scope="module")
def proxy(provider: OAuthProvider, redirecting: RecordingUpstream, upstream: RecordingUpstream) -> Iterator[McpServer]:
    """oauth mode with proxies for the confidential client (client_secret_post), its provider
    metadata from `redirecting`."""
    binary = build_server("mcpgen-auth-oauth-secret", "tests/auth/auth-oauth-secret.yaml")
    env = {
        **oauth_env(provider, CONFIDENTIAL_CLIENT, provider.client_secret),
        "OAUTH_METADATA_URL": f"http://127.0.0.1:{redirecting.port}/.well-known/openid-configuration",
        "RUST_LOG": "debug",
    }
    server = McpServer(binary, free_port(), upstream.base_url, "secrets-oauth-proxy", env)
    LOGS.append(server)
    yield server
    server.stop()


def sealed_code(server: McpServer, provider_code: str) -> str:
    """A code the server hands out: an authorization started (its sealed `state`), and the
    server's callback reached with `provider_code`, as the provider would redirect there."""
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": CONFIDENTIAL_CLIENT,
            "redirect_uri": CLIENT_REDIRECT,
            "state": "st-1",
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
        }
    )
    with httpx2.Client(timeout=15, follow_redirects=False) as http:
        authorize = http.get(f"{server.base}/oauth/authorize?{query}")
        assert authorize.status_code == 302, authorize.text
        state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize.headers["location"]).query))["state"]
        callback = http.get(f"{server.base}/oauth/callback?" + urllib.parse.urlencode({"state": state, "code": provider_code}))
    assert callback.status_code == 302, callback.text
    back = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback.headers["location"]).query))
    assert back["state"] == "st-1" and back["code"] != provider_code, back
    return back["code"]


def redeem(server: McpServer, code: str) -> httpx2.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CLIENT_REDIRECT,
        "client_id": CONFIDENTIAL_CLIENT,
        "code_verifier": VERIFIER,
    }
    with httpx2.Client(timeout=15) as http:
        return http.post(f"{server.base}/oauth/token", data=form)


def test_the_token_proxy_never_follows_a_redirect_to_another_origin(
    proxy: McpServer, redirecting: RecordingUpstream, elsewhere: RecordingUpstream, provider: OAuthProvider
) -> None:
    redirecting.route("POST", "/token", redirect_to(elsewhere))
    redirecting.clear()
    elsewhere.clear()
    response = redeem(proxy, sealed_code(proxy, "provider-code-1"))
    assert response.status_code == 502, response.text
    assert response.json()["error"] == "temporarily_unavailable", response.text
    assert "307" in response.json()["error_description"], response.text
    assert "location" not in response.headers and "127.0.0.1:" + str(elsewhere.port) not in response.text
    assert_no_secret(response.text, provider, "the token proxy's answer")
    # The provider's origin got the request (with the secret: it is the provider); nothing else did.
    sent = [r for r in redirecting.requests if r.path == "/token"]
    assert sent and provider.client_secret in urllib.parse.unquote_plus(sent[0].body.decode()), sent
    assert "code=provider-code-1" in sent[0].body.decode(), "the provider gets its own code, unsealed"
    assert elsewhere.requests == [], f"a redirect reached another origin: {elsewhere.requests}"
    assert "redirected to another origin" in proxy.log(), proxy.log()[-3000:]


def test_a_providers_error_is_relayed_without_the_secret(
    proxy: McpServer, redirecting: RecordingUpstream, provider: OAuthProvider
) -> None:
    """A provider that echoes what it received in its error answer."""

    def echoing_error(req: Recorded) -> Canned:
        # The proxy tries client_secret_post, then (after invalid_client) client_secret_basic.
        body = {
            "error": "invalid_client",
            "error_description": f"refused: {req.body.decode()} {req.headers.get('authorization', '')}",
            "received": req.body.decode(),
        }
        return Canned(400, json.dumps(body).encode(), "application/json")

    redirecting.route("POST", "/token", echoing_error)
    redirecting.clear()
    response = redeem(proxy, sealed_code(proxy, "provider-code-2"))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_client"
    # Both ways were tried; the last answer (to client_secret_basic) is relayed.
    attempts = [r for r in redirecting.requests if r.path == "/token"]
    assert len(attempts) == 2 and "authorization" in attempts[1].headers, attempts
    assert body["error_description"].endswith(" Basic [REDACTED]"), body
    assert "received" not in body, body
    assert_no_secret(response.text, provider, "the relayed error")


def test_the_real_providers_invalid_grant_is_relayed(oauth_secret_server: McpServer, provider: OAuthProvider) -> None:
    """A sealed code carrying a code the provider never issued: the provider's own answer."""
    response = redeem(oauth_secret_server, sealed_code(oauth_secret_server, "not-a-code-of-the-provider"))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant", response.text
    assert set(response.json()) <= {"error", "error_description", "error_uri"}, response.text
    assert_no_secret(response.text, provider, "the relayed error")


def call(url: str, tools: list[str]) -> list[Any]:
    results: list[Any] = []

    async def main() -> None:
        with anyio.fail_after(60):
            http = httpx2.AsyncClient(timeout=30)
            async with http, Client(streamable_http_client(url, http_client=http)) as client:
                for tool in tools:
                    results.append(await client.call_tool(tool, {}))

    anyio.run(main)
    return results


def test_client_credentials_secrets_never_follow_a_redirect_to_another_origin(
    provider: OAuthProvider, redirecting: RecordingUpstream, elsewhere: RecordingUpstream, upstream: RecordingUpstream
) -> None:
    """fixtures/upstream-auth: `partner_cc` (client_secret_basic, a configured token URL) and
    `oidc` (client_secret_post, from discovery), both token endpoints answering 307."""
    origin = f"http://127.0.0.1:{redirecting.port}"
    redirecting.route("POST", "/cc-token", redirect_to(elsewhere))
    redirecting.route("POST", "/cc-token-post", redirect_to(elsewhere))
    redirecting.clear()
    elsewhere.clear()
    binary = build_server("mcpgen-upstream-auth", "fixtures/upstream-auth/auth.yaml", "fixtures/upstream-auth/openapi.yaml")
    env = {
        "PARTNER_CLIENT_ID": CC_CLIENT,
        "PARTNER_CLIENT_SECRET": provider.cc_secrets[CC_CLIENT],
        "PARTNER_TOKEN_URL": f"{origin}/cc-token",
        "OIDC_CLIENT_ID": OIDC_CC_CLIENT,
        "OIDC_CLIENT_SECRET": provider.cc_secrets[OIDC_CC_CLIENT],
        "OIDC_DISCOVERY_URL": f"{origin}/.well-known/cc-discovery",
        "RUST_LOG": "debug",
    }
    server = McpServer(binary, free_port(), upstream.base_url, "secrets-client-credentials", env)
    LOGS.append(server)
    try:
        results = call(server.url, ["client_credentials", "openid"])
    finally:
        server.stop()
    for result in results:
        assert result.is_error, result
        text = "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")
        assert "Cannot get an access token" in text and "307" in text, text
        assert_no_secret(text, provider, "a tool error")
    sent = {r.path: r for r in redirecting.requests if r.method == "POST"}
    assert set(sent) == {"/cc-token", "/cc-token-post"}, sent
    assert sent["/cc-token"].headers["authorization"].startswith("Basic "), "client_secret_basic"
    assert provider.cc_secrets[OIDC_CC_CLIENT] in urllib.parse.unquote_plus(sent["/cc-token-post"].body.decode())
    assert elsewhere.requests == [], f"a redirect reached another origin: {elsewhere.requests}"
    assert not any(r.path.startswith("/api/") for r in upstream.requests), "no token: no upstream call"


def test_no_secret_in_a_debug_log(provider: OAuthProvider) -> None:
    assert len(LOGS) == 2, "the tests above ran"
    for server in LOGS:
        log = server.log_path.read_text(errors="replace")
        assert "DEBUG" in log, f"{server.label} did not log at debug"
        assert_no_secret(log, provider, f"the log of {server.label}")
