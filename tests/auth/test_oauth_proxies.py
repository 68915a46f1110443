"""mode: oauth with `setup_proxies` / `setup_fake_dynamic_registration`: the discovery documents
and the proxy endpoints of the generated server, in front of the real provider.

The authorize redirect's query is compared with expected/authorize-redirect.txt (sorted keys,
ports replaced by {server} / {provider}, scope tokens sorted, the sealed `state` as {sealed});
run with UPDATE_SNAPSHOTS=1 to rewrite it after a deliberate change, and review the diff."""

from __future__ import annotations

import os
import re
import secrets
import urllib.parse
from pathlib import Path

import anyio
import httpx2
import pytest

from browser import log_in
from conftest import CONFIDENTIAL_CLIENT, PUBLIC_CLIENT, McpServer, OAuthProvider
from tokens import AUDIENCE

HERE = Path(__file__).resolve().parent
SNAPSHOT = HERE / "expected" / "authorize-redirect.txt"
CLIENT_REDIRECT = "http://127.0.0.1:53682/callback"
SNAPSHOT_STATE = "st-4d1f0c"
# Rewritten by the proxy: our issuer and endpoints, PKCE S256, and RFC 9207 support (the
# callback sends `iss`); everything else is the provider's.
OURS = {
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "registration_endpoint",
    "code_challenge_methods_supported",
    "authorization_response_iss_parameter_supported",
}
# May be dropped (a provider's PAR endpoint would let clients go around the authorize proxy), but
# never left pointing at the provider.
BYPASSES = {"pushed_authorization_request_endpoint", "require_pushed_authorization_requests"}


def get(url: str, **kw) -> httpx2.Response:  # noqa: ANN003
    with httpx2.Client(timeout=15, follow_redirects=False) as http:
        return http.get(url, **kw)


def authorize_params(server: McpServer, **overrides: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": PUBLIC_CLIENT,
        "redirect_uri": CLIENT_REDIRECT,
        "scope": "items:write",
        "state": f"st-{secrets.token_urlsafe(8)}",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "resource": server.url,
        "nonce": "n-0S6_WzA2Mj",
        "prompt": "consent",
    }
    params.update(overrides)
    return params


def authorize(server: McpServer, **overrides: str) -> httpx2.Response:
    query = urllib.parse.urlencode(authorize_params(server, **overrides))
    return get(f"{server.base}/oauth/authorize?{query}")


# --- discovery --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"])
def test_protected_resource_metadata(oauth_server: McpServer, path: str) -> None:
    response = get(f"{oauth_server.base}{path}")
    assert response.status_code == 200, f"HTTP {response.status_code}"
    prm = response.json()
    assert prm["resource"] == oauth_server.url
    # With setup_proxies the server is the clients' authorization server.
    assert [s.rstrip("/") for s in prm["authorization_servers"]] == [oauth_server.base], prm
    assert {"items:read", "items:admin"} <= set(prm.get("scopes_supported", [])), prm


@pytest.mark.parametrize("which", ["public", "confidential"])
def test_metadata_proxy_keeps_the_providers_fields(
    which: str, oauth_server: McpServer, oauth_secret_server: McpServer, provider: OAuthProvider
) -> None:
    server = oauth_server if which == "public" else oauth_secret_server
    response = get(f"{server.base}/.well-known/oauth-authorization-server")
    assert response.status_code == 200, f"HTTP {response.status_code}"
    ours = response.json()
    theirs = provider.metadata()
    # RFC 8414 §3.3: the issuer is the server the client discovered (the PRM's authorization server).
    assert ours["issuer"].rstrip("/") == server.base, ours["issuer"]
    assert ours["authorization_endpoint"] == f"{server.base}/oauth/authorize"
    assert ours["token_endpoint"] == f"{server.base}/oauth/token"
    assert ours["registration_endpoint"] == f"{server.base}/oauth/register"
    assert ours["code_challenge_methods_supported"] == ["S256"]
    assert ours.get("authorization_response_iss_parameter_supported") is True
    kept = {k: v for k, v in theirs.items() if k not in OURS | BYPASSES}
    assert {k: ours.get(k) for k in kept} == kept, "fields of the provider's metadata changed or dropped"
    for key in BYPASSES & ours.keys():
        assert not str(ours[key]).startswith(provider.issuer) and ours[key] is not True, f"{key}: {ours[key]}"
    assert provider.client_secret not in response.text


# --- /oauth/authorize ---------------------------------------------------------------------------


SEALED = re.compile(r"[A-Za-z0-9_-]{60,}")


def normalised_redirect(location: str, server: McpServer, provider: OAuthProvider) -> str:
    def norm(value: str) -> str:
        return value.replace(server.base, "{server}").replace(provider.issuer, "{provider}")

    parts = urllib.parse.urlsplit(location)
    lines = [f"location={norm(urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, '', '')))}"]
    for key, value in sorted(urllib.parse.parse_qsl(parts.query, keep_blank_values=True)):
        if key == "scope":
            tokens = value.split()
            assert len(tokens) == len(set(tokens)), f"duplicate scopes in {value!r}"
            value = " ".join(sorted(tokens))
        if key == "state":
            # The client's state, redirect_uri, client_id and PKCE challenge, sealed: random.
            assert SEALED.fullmatch(value), f"the state sent to the provider is not sealed: {value!r}"
            value = "{sealed}"
        lines.append(f"{key}={norm(value)}")
    return "\n".join(lines) + "\n"


def test_authorize_redirect_query_snapshot(oauth_server: McpServer, provider: OAuthProvider) -> None:
    response = authorize(oauth_server, state=SNAPSHOT_STATE)
    assert response.status_code == 302, f"HTTP {response.status_code}: {response.text[:300]}"
    actual = normalised_redirect(response.headers["location"], oauth_server, provider)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(actual)
    assert actual == SNAPSHOT.read_text(), f"authorize redirect differs from {SNAPSHOT.name}:\n{actual}"


def test_authorize_keeps_state_pkce_resource_nonce_prompt(oauth_server: McpServer, provider: OAuthProvider) -> None:
    """The same contract as the snapshot, as readable assertions."""
    state = f"xyz-Ünïcode & more {secrets.token_urlsafe(6)}"
    response = authorize(oauth_server, state=state, nonce="n 2")
    assert response.status_code == 302, f"HTTP {response.status_code}"
    location = response.headers["location"]
    assert location.startswith(f"{provider.issuer}/auth?"), location
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    sent = authorize_params(oauth_server, state=state, nonce="n 2")
    for key in ("code_challenge", "code_challenge_method", "resource", "nonce", "prompt", "response_type"):
        assert query.get(key) == sent[key], f"{key}: {query.get(key)!r} != {sent[key]!r}"
    # The client's state travels sealed (and comes back to the client as it was: the callback
    # test below); nothing of it is readable at the provider.
    assert SEALED.fullmatch(query["state"]) and "Ünïcode" not in urllib.parse.unquote(location), query["state"]
    assert query["client_id"] == PUBLIC_CLIENT
    assert query["audience"] == AUDIENCE
    assert query["redirect_uri"] == f"{oauth_server.base}/oauth/callback"
    assert {"openid", "items:read", "items:write"} <= set(query["scope"].split())


def test_authorize_uses_the_configured_client_id(oauth_secret_server: McpServer, provider: OAuthProvider) -> None:
    response = authorize(oauth_secret_server, client_id="whatever-the-client-registered")
    assert response.status_code == 302, f"HTTP {response.status_code}"
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.headers["location"]).query))
    assert query["client_id"] == CONFIDENTIAL_CLIENT
    assert "client_secret" not in query and provider.client_secret not in response.headers["location"]


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        "http://evil.example:53682/callback",
        "http://127.0.0.1.evil.example/callback",
        "http://localhost@evil.example/callback",
        "javascript://127.0.0.1/%0aalert(1)",
    ],
)
def test_foreign_redirect_uri_is_refused(oauth_server: McpServer, redirect_uri: str) -> None:
    response = authorize(oauth_server, redirect_uri=redirect_uri)
    assert response.status_code == 400, f"HTTP {response.status_code} Location: {response.headers.get('location')}"
    assert "evil.example" not in response.headers.get("location", "")


@pytest.mark.parametrize(
    "redirect_uri",
    ["http://127.0.0.1:53682/callback", "http://localhost:8976/oauth/callback", "http://[::1]:33418/cb"],
)
def test_loopback_redirect_uris_are_accepted(oauth_server: McpServer, redirect_uri: str) -> None:
    response = authorize(oauth_server, redirect_uri=redirect_uri)
    assert response.status_code == 302, f"HTTP {response.status_code}: {response.text[:300]}"


# --- /oauth/callback (driven through the provider's real login) ----------------------------------


def test_callback_hands_the_code_to_the_client_under_our_issuer(oauth_server: McpServer, provider: OAuthProvider) -> None:
    params = authorize_params(oauth_server, scope="items:read")
    query = urllib.parse.urlencode(params)

    async def main():  # noqa: ANN202
        with anyio.fail_after(60):
            return await log_in(f"{oauth_server.base}/oauth/authorize?{query}", CLIENT_REDIRECT)

    result = anyio.run(main)
    assert result.query.get("code"), result.query
    assert result.query.get("state") == params["state"]
    metadata = get(f"{oauth_server.base}/.well-known/oauth-authorization-server").json()
    assert result.query.get("iss") == metadata["issuer"], "RFC 9207: iss must be the issuer the client discovered"
    # The provider redirected to the server's callback, and the server on to the client.
    urls = [v.url for v in result.visits]
    assert any(u.startswith(f"{provider.issuer}/auth") for u in urls), urls
    assert any(u.startswith(f"{oauth_server.base}/oauth/callback?") for u in urls), urls


# --- /oauth/register and /oauth/token -------------------------------------------------------------


@pytest.mark.parametrize("which", ["public", "confidential"])
def test_register_returns_201_and_never_a_secret(
    which: str, oauth_server: McpServer, oauth_secret_server: McpServer, provider: OAuthProvider
) -> None:
    server = oauth_server if which == "public" else oauth_secret_server
    body = {
        "redirect_uris": [CLIENT_REDIRECT],
        "client_name": "auth acceptance",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_post",
    }
    with httpx2.Client(timeout=15) as http:
        response = http.post(f"{server.base}/oauth/register", json=body)
    assert response.status_code == 201, f"HTTP {response.status_code}: {response.text[:300]}"
    registered = response.json()
    assert registered["client_id"] == (PUBLIC_CLIENT if which == "public" else CONFIDENTIAL_CLIENT)
    assert "client_secret" not in registered, registered
    assert registered.get("token_endpoint_auth_method", "none") == "none", registered
    assert provider.client_secret not in response.text


def test_token_proxy_relays_provider_errors(oauth_secret_server: McpServer, provider: OAuthProvider) -> None:
    form = {
        "grant_type": "authorization_code",
        "code": "not-a-code",
        "redirect_uri": CLIENT_REDIRECT,
        "client_id": CONFIDENTIAL_CLIENT,
        "code_verifier": "v" * 64,
    }
    with httpx2.Client(timeout=15) as http:
        response = http.post(f"{oauth_secret_server.base}/oauth/token", data=form)
    assert response.status_code == 400, f"HTTP {response.status_code}: {response.text[:300]}"
    assert response.json().get("error") == "invalid_grant", response.text[:300]
    assert provider.client_secret not in response.text
