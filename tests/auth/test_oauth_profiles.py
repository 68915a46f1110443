"""Provider profiles (issue 16) against oidc-provider configured to deviate as the providers do:
it refuses RFC 8707 `resource` (as Entra ID does, AADSTS901002), so an access token for the API
comes only from Auth0's `audience` parameter or Entra ID's `<audience>/.default` scope. The
official SDK's OAuth flow (which always sends `resource`) succeeds through the generated server
with `provider: auth0` and with `provider: entra`, because each profile drops `resource` and asks
the provider's way; the provider's log shows what it was sent.

Keycloak and Okta: oidc-provider mounted under the issuer's path, as a Keycloak realm
(`/realms/<realm>`) or an Okta custom authorization server (`/oauth2/<id>`), with nothing served
outside it, and no `oauth_metadata_url` configured: each profile finds the metadata where that
provider publishes it (Okta's RFC 8414 document under the issuer first), and sends what that
provider takes — Keycloak `resource` but no `audience`; Okta neither (its authorization server's
audience is fixed; this provider refuses both, as a strict one would).

Google's and GitHub's profiles check opaque tokens at Google's tokeninfo and GitHub's check-a-token
endpoints, which oidc-provider cannot stand in for: runtime unit tests cover them (oauth.rs)."""

from __future__ import annotations

import secrets
import urllib.parse
from typing import Iterator

import httpx2
import pytest

from conftest import McpServer, Process, build_server, free_port, start_provider
from test_oauth_flow import run_flow
from tokens import AUDIENCE, Keys, decode_unverified
from upstream import RecordingUpstream

CLIENT = "mcp-profiles"


def start(
    name: str, auth_file: str, provider_config: dict, upstream: RecordingUpstream, tmp: pytest.TempPathFactory
) -> tuple[McpServer, Process]:
    """The provider (its issuer under `provider_config["mount_path"]`, if any) and the server."""
    port = free_port()
    config = {
        "jwks": Keys.generate().provider_jwks(),
        "audience": AUDIENCE,
        "resource_scope": "items:read items:write",
        "cookie_keys": [secrets.token_urlsafe(16)],
        "reject_resource": True,
        "clients": [
            {
                "client_id": CLIENT,
                "token_endpoint_auth_method": "none",
                "redirect_uris": [f"http://127.0.0.1:{port}/oauth/callback"],
            }
        ],
        **provider_config,
    }
    origin, process = start_provider(config, tmp, f"provider-{name}")
    issuer = origin + config.get("mount_path", "")
    binary = build_server(f"mcpgen-auth-oauth-{name}", auth_file)
    env = {
        "OAUTH_ISSUER": issuer,
        "OAUTH_METADATA_URL": f"{issuer}/.well-known/openid-configuration",
        "OAUTH_CLIENT_ID": CLIENT,
    }
    server = McpServer(binary, port, upstream.base_url, f"oauth-{name}", env)
    server.issuer = issuer  # type: ignore[attr-defined]
    server.origin = origin  # type: ignore[attr-defined]
    return server, process


@pytest.fixture(scope="module")
def auth0(upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[McpServer, Process]]:
    server, process = start("auth0", "tests/auth/auth-oauth-auth0.yaml", {}, upstream, tmp_path_factory)
    yield server, process
    server.stop()
    process.stop()


@pytest.fixture(scope="module")
def entra(upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[McpServer, Process]]:
    server, process = start(
        "entra", "tests/auth/auth-oauth-entra.yaml", {"entra_default_scope": True}, upstream, tmp_path_factory
    )
    yield server, process
    server.stop()
    process.stop()


@pytest.fixture(scope="module")
def keycloak(upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[McpServer, Process]]:
    server, process = start(
        "keycloak",
        "tests/auth/auth-oauth-keycloak.yaml",
        {"mount_path": "/realms/mcpgen", "reject_resource": False, "reject_audience": True},
        upstream,
        tmp_path_factory,
    )
    yield server, process
    server.stop()
    process.stop()


@pytest.fixture(scope="module")
def okta(upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[McpServer, Process]]:
    server, process = start(
        "okta",
        "tests/auth/auth-oauth-okta.yaml",
        {"mount_path": "/oauth2/aus7mcpgen", "rfc8414_alias": True, "fixed_audience": True, "reject_audience": True},
        upstream,
        tmp_path_factory,
    )
    yield server, process
    server.stop()
    process.stop()


def provider_authorize_query(flow) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The query of the browser's request to the provider's /auth (the proxy's redirect)."""
    for method, url, _ in flow.exchanges:
        parts = urllib.parse.urlsplit(url)
        if method == "GET" and parts.path.endswith("/auth") and not parts.path.startswith("/oauth/"):
            return dict(urllib.parse.parse_qsl(parts.query))
    raise AssertionError(f"no request to the provider's /auth: {flow.steps()}")


def check(flow, item: str, upstream: RecordingUpstream) -> dict:  # type: ignore[no-untyped-def]
    result = flow.tool_result
    assert result is not None and not result.is_error, result
    assert result.structured_content == {"id": item, "name": "Widget"}
    assert upstream.only().path == f"/api/items/{item}"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(flow.authorization_url).query)
    assert "resource" in query, "the SDK sends RFC 8707 resource"
    _, claims = decode_unverified(flow.storage.tokens.access_token)
    assert claims["aud"] == AUDIENCE, claims
    return provider_authorize_query(flow)


def test_auth0_profile_sends_audience_not_resource(
    auth0: tuple[McpServer, Process], upstream: RecordingUpstream
) -> None:
    server, process = auth0
    flow = run_flow(server, "51")
    sent = check(flow, "51", upstream)
    assert sent.get("audience") == AUDIENCE and "resource" not in sent, sent
    assert "AADSTS901002" not in process.log()
    # The control: the provider does refuse `resource`, as the generic profile would send it.
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    callback = f"{server.base}/oauth/callback"
    query = urllib.parse.urlencode(
        {
            "client_id": CLIENT, "response_type": "code", "redirect_uri": callback, "scope": "openid",
            "resource": server.url, "code_challenge": challenge, "code_challenge_method": "S256",
        }
    )
    response = httpx2.get(f"{server.issuer}/auth?{query}", timeout=10)  # type: ignore[attr-defined]
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(callback) and "error=invalid_target" in location, location


def test_entra_profile_asks_for_default_scope_without_resource(
    entra: tuple[McpServer, Process], upstream: RecordingUpstream
) -> None:
    server, process = entra
    flow = run_flow(server, "52")
    sent = check(flow, "52", upstream)
    assert "resource" not in sent and "audience" not in sent, sent
    scopes = sent["scope"].split()
    assert f"{AUDIENCE.rstrip('/')}/.default" in scopes and "openid" in scopes, scopes
    assert "items:read" not in scopes, "Entra ID scopes are the API's, asked for as .default"
    assert "AADSTS901002" not in process.log()


def metadata_requests(process: Process) -> list[str]:
    """The provider's metadata documents the server asked for, in order (`METHOD path -> status`)."""
    return [
        line.split(" (", 1)[0]
        for line in process.log().splitlines()
        if line.startswith("GET ") and "/.well-known/" in line
    ]


def test_keycloak_profile_finds_the_realms_metadata_and_sends_no_audience(
    keycloak: tuple[McpServer, Process], upstream: RecordingUpstream
) -> None:
    server, process = keycloak
    assert server.issuer.endswith("/realms/mcpgen")  # type: ignore[attr-defined]
    flow = run_flow(server, "53")
    sent = check(flow, "53", upstream)
    # Keycloak takes RFC 8707 `resource`; `aud` comes from its audience mappers, not a parameter.
    assert sent.get("resource") == server.url and "audience" not in sent, sent
    fetched = metadata_requests(process)
    assert fetched and fetched[0] == "GET /realms/mcpgen/.well-known/openid-configuration -> 200", fetched
    # The control: nothing is served outside the realm, and an `audience` is refused.
    assert httpx2.get(f"{server.origin}/.well-known/openid-configuration", timeout=10).status_code == 404  # type: ignore[attr-defined]
    query = urllib.parse.urlencode({"client_id": CLIENT, "response_type": "code", "scope": "openid", "audience": AUDIENCE})
    assert httpx2.get(f"{server.issuer}/auth?{query}", timeout=10).status_code == 400  # type: ignore[attr-defined]


def test_okta_profile_reads_rfc8414_metadata_and_sends_neither_resource_nor_audience(
    okta: tuple[McpServer, Process], upstream: RecordingUpstream
) -> None:
    server, process = okta
    flow = run_flow(server, "54")
    sent = check(flow, "54", upstream)
    # The authorization server's audience is fixed: the token is the API's without asking.
    assert "resource" not in sent and "audience" not in sent, sent
    fetched = metadata_requests(process)
    assert fetched and fetched[0] == "GET /oauth2/aus7mcpgen/.well-known/oauth-authorization-server -> 200", fetched
    assert not any("openid-configuration" in f for f in fetched), fetched
    assert "AADSTS901002" not in process.log()
