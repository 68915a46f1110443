"""Token exchange for the upstream API (issue 16, RFC 8693): `upstream.oauth.token_exchange` of
tests/auth/auth-oauth-exchange.yaml, against a real provider (provider.mjs: oidc-provider with an
RFC 8693 grant registered through `registerGrantType`, which authenticates the client, finds the
subject token among the access tokens it issued, and issues a real, introspectable access token
for the requested audience), the official Python SDK as the MCP client, and the recording
upstream.

- The upstream receives the exchanged token: not the caller's, and one the provider's
  introspection says is active, for the upstream audience, for the caller's user.
- The issued token is kept per caller token: a second call (and concurrent calls) with the same
  caller token make no new exchange; another caller token gets its own.
- A kept token the upstream refuses (401) is dropped and the call retried once after a new
  exchange.
- A refused exchange (an audience the provider does not allow this client, a client without the
  grant, a token endpoint that cannot be reached) is a tool error naming the cause, with no
  upstream request and no token or secret in it.
- No caller token, exchanged token or secret appears in the server's logs (debug level).
- With `oauth.provider: entra` (tests/auth/auth-oauth-entra-obo.yaml) the exchange is Entra ID's
  on-behalf-of request, against a provider that takes only that form (provider.mjs
  `on_behalf_of`: the `jwt-bearer` grant with the caller's JWT as `assertion`,
  `requested_token_use=on_behalf_of`, a `<resource>/.default` scope, and a client registered for
  client_secret_post, as Microsoft documents the secret in the body)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Callable, Iterator

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from conftest import McpServer, Process, build_server, free_port, start_provider
from test_oauth_flow import run_flow
from tokens import AUDIENCE, Keys, decode_unverified
from upstream import Canned, Recorded, RecordingUpstream

CLIENT = "mcp-exchanging"
NO_GRANT_CLIENT = "mcp-no-exchange"
UPSTREAM_AUDIENCE = "https://upstream.mcpgen.test/"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
# Every token the upstream received (the log check greps for each).
ISSUED: set[str] = set()


class Setup:
    def __init__(self, issuer: str, process: Process, secrets_: dict[str, str], binary: Path) -> None:
        self.issuer, self.process, self.secrets, self.binary = issuer, process, secrets_, binary
        self.servers: list[McpServer] = []
        self.first_upstream: list[Recorded] = []

    @property
    def server(self) -> McpServer:
        """The server the SDK logs in through (the first one started)."""
        return self.servers[0]

    def exchanges(self, client: str = CLIENT) -> int:
        """Token exchanges the provider granted to `client` so far."""
        return self.process.log().count(f"grant.success {TOKEN_EXCHANGE} client={client} ")

    def introspect(self, token: str) -> dict[str, Any]:
        response = httpx2.post(
            f"{self.issuer}/token/introspection",
            data={"token": token},
            auth=(CLIENT, self.secrets[CLIENT]),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            "OAUTH_ISSUER": self.issuer,
            "OAUTH_METADATA_URL": f"{self.issuer}/.well-known/openid-configuration",
            "OAUTH_CLIENT_ID": CLIENT,
            "OAUTH_CLIENT_SECRET": self.secrets[CLIENT],
            "EXCHANGE_TOKEN_URL": f"{self.issuer}/token",
            "EXCHANGE_AUDIENCE": UPSTREAM_AUDIENCE,
            "EXCHANGE_CLIENT_ID": CLIENT,
            "EXCHANGE_CLIENT_SECRET": self.secrets[CLIENT],
            "RUST_LOG": "debug",
            **overrides,
        }

    def start(self, label: str, upstream: RecordingUpstream, port: int | None = None, **overrides: str) -> McpServer:
        """The binary started with these settings (on `port`, whose callback the provider lists,
        for logins; others serve callers that bring their tokens)."""
        server = McpServer(self.binary, port or free_port(), upstream.base_url, label, self.env(**overrides))
        self.servers.append(server)
        return server


@pytest.fixture(scope="module")
def setup(upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    port = free_port()
    client_secrets = {CLIENT: secrets.token_urlsafe(24), NO_GRANT_CLIENT: secrets.token_urlsafe(24)}
    config = {
        "jwks": Keys.generate().provider_jwks(),
        "audience": AUDIENCE,
        "resource_scope": "items:read items:write",
        "cookie_keys": [secrets.token_urlsafe(16)],
        "access_token_format": "opaque",
        "clients": [
            {
                "client_id": CLIENT,
                "client_secret": client_secrets[CLIENT],
                "token_endpoint_auth_method": "client_secret_basic",
                "redirect_uris": [f"http://127.0.0.1:{port}/oauth/callback"],
                "grant_types": ["authorization_code", "refresh_token", TOKEN_EXCHANGE],
            },
            {
                # Known to the provider, but without the token exchange grant.
                "client_id": NO_GRANT_CLIENT,
                "client_secret": client_secrets[NO_GRANT_CLIENT],
                "token_endpoint_auth_method": "client_secret_basic",
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
            },
        ],
        "token_exchange": {CLIENT: {"audiences": [UPSTREAM_AUDIENCE], "scope": "items:read", "ttl": 600}},
    }
    issuer, process = start_provider(config, tmp_path_factory, "provider-exchange")
    binary = build_server("mcpgen-auth-oauth-exchange", "tests/auth/auth-oauth-exchange.yaml")
    setup = Setup(issuer, process, client_secrets, binary)
    setup.start("oauth-exchange", upstream, port)
    yield setup
    for s in setup.servers:
        s.stop()
    process.stop()


@pytest.fixture(scope="module")
def caller_token(setup: Setup, upstream: RecordingUpstream) -> str:
    """An access token from the SDK's whole OAuth flow through the generated server (the flow's
    own tool call is the first exchange; test_the_upstream_gets_an_exchanged_token checks it)."""
    upstream.clear()
    flow = run_flow(setup.server, "61")
    assert flow.tool_result is not None and not flow.tool_result.is_error, flow.tool_result  # type: ignore[attr-defined]
    assert flow.storage.tokens is not None
    setup.first_upstream = list(upstream.requests)
    return flow.storage.tokens.access_token


def call_tools(url: str, token: str, calls: list[tuple[str, dict[str, Any]]], concurrent: bool = False) -> list[Any]:
    """Calls through one SDK client with `Authorization: Bearer <token>`; returns the results."""
    results: list[Any] = []

    async def main() -> None:
        with anyio.fail_after(60):
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
            async with http, Client(streamable_http_client(url, http_client=http)) as client:
                if concurrent:
                    async def one(name: str, args: dict[str, Any]) -> None:
                        results.append(await client.call_tool(name, args))

                    async with anyio.create_task_group() as group:
                        for name, args in calls:
                            group.start_soon(one, name, args)
                else:
                    for name, args in calls:
                        results.append(await client.call_tool(name, args))

    anyio.run(main)
    return results


def text_of(result: Any) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def bearer_of(req: Recorded) -> str:
    scheme, _, token = req.headers.get("authorization", "").partition(" ")
    assert scheme == "Bearer" and token, req.headers
    ISSUED.add(token)
    return token


def test_the_upstream_gets_an_exchanged_token(setup: Setup, caller_token: str, upstream: RecordingUpstream) -> None:
    (first,) = setup.first_upstream
    assert first.path == "/api/items/61"
    exchanged = bearer_of(first)
    assert exchanged != caller_token, "the caller's own token went upstream"
    assert caller_token not in repr(first.headers) + first.target + first.body.decode(errors="replace")
    assert setup.exchanges() == 1, setup.process.log()

    issued = setup.introspect(exchanged)
    caller = setup.introspect(caller_token)
    assert issued["active"] is True, issued
    assert issued["aud"] == UPSTREAM_AUDIENCE and issued["client_id"] == CLIENT, issued
    assert issued["scope"] == "items:read", issued
    assert caller["active"] is True and caller["aud"] == AUDIENCE, caller
    assert issued["sub"] == caller["sub"], (issued, caller)

    # A second call with the same caller token: the kept token, no new exchange.
    upstream.clear()
    (result,) = call_tools(setup.server.url, caller_token, [("get_item", {"id": "62"})])
    assert not result.is_error, text_of(result)
    assert result.structured_content == {"id": "62", "name": "Widget"}
    assert bearer_of(upstream.only()) == exchanged
    assert setup.exchanges() == 1


def test_concurrent_calls_with_a_new_caller_token_exchange_once(setup: Setup, caller_token: str, upstream: RecordingUpstream) -> None:
    flow = run_flow(setup.server, "63")
    assert flow.storage.tokens is not None
    other = flow.storage.tokens.access_token
    assert other != caller_token
    # Another instance, which has exchanged nothing yet: eight calls at once, one exchange.
    server = setup.start("exchange-concurrent", upstream)
    before = setup.exchanges()
    upstream.clear()
    results = call_tools(server.url, other, [("get_item", {"id": str(70 + i)}) for i in range(8)], concurrent=True)
    assert all(not r.is_error for r in results), [text_of(r) for r in results if r.is_error]
    tokens = {bearer_of(r) for r in upstream.requests}
    assert len(upstream.requests) == 8 and len(tokens) == 1, tokens
    assert setup.exchanges() == before + 1, setup.process.log()
    # Each caller token has its own exchanged token.
    assert tokens.isdisjoint({bearer_of(setup.first_upstream[0]), other, caller_token})


def test_a_refused_kept_token_is_exchanged_again_once(setup: Setup, caller_token: str, upstream: RecordingUpstream) -> None:
    kept = bearer_of(setup.first_upstream[0])

    def refuse_kept(req: Recorded) -> Canned:
        if bearer_of(req) == kept:
            return Canned(401, b'{"error": "invalid_token"}', "application/json", headers={"WWW-Authenticate": "Bearer"})
        return Canned(200, b'{"id": "64", "name": "Widget"}', "application/json")

    upstream.route("GET", "/api/items/64", refuse_kept)
    try:
        before = setup.exchanges()
        upstream.clear()
        (result,) = call_tools(setup.server.url, caller_token, [("get_item", {"id": "64"})])
        assert not result.is_error, text_of(result)
        first, second = upstream.requests
        assert bearer_of(first) == kept and bearer_of(second) not in (kept, caller_token)
        assert setup.exchanges() == before + 1
        # A token exchanged for this very call that is refused too: the API's answer, no loop.
        upstream.route("GET", "/api/items/64", Canned(401, b"go away", "text/plain"))
        upstream.clear()
        (result,) = call_tools(setup.server.url, caller_token, [("get_item", {"id": "64"})])
        assert result.is_error and "HTTP 401" in text_of(result), text_of(result)
        assert len(upstream.requests) <= 2
        assert setup.exchanges() <= before + 2
    finally:
        upstream.route("GET", "/api/items/64", lambda req: Canned(200, b'{"id": "64", "name": "Widget"}', "application/json"))


def refused(
    setup: Setup, caller_token: str, upstream: RecordingUpstream, label: str, **overrides: str
) -> str:
    server = setup.start(label, upstream, **overrides)
    upstream.clear()
    (result,) = call_tools(server.url, caller_token, [("get_item", {"id": "65"})])
    message = text_of(result)
    assert result.is_error, message
    assert upstream.requests == [], "the API was called after a failed exchange"
    assert "Cannot exchange the caller's access token for securityScheme `oauth`" in message, message
    for secret in [caller_token, *setup.secrets.values()]:
        assert secret not in message
    return message


def test_a_refused_audience_is_a_tool_error_naming_the_cause(setup: Setup, caller_token: str, upstream: RecordingUpstream) -> None:
    message = refused(setup, caller_token, upstream, "exchange-audience", EXCHANGE_AUDIENCE="https://elsewhere.mcpgen.test/")
    assert "HTTP 400 Bad Request" in message and "`invalid_target`" in message, message
    assert "https://elsewhere.mcpgen.test/ is not allowed for this client" in message, message


def test_a_client_without_the_grant_is_a_tool_error_naming_the_cause(setup: Setup, caller_token: str, upstream: RecordingUpstream) -> None:
    before = setup.exchanges(NO_GRANT_CLIENT)
    message = refused(
        setup,
        caller_token,
        upstream,
        "exchange-client",
        EXCHANGE_CLIENT_ID=NO_GRANT_CLIENT,
        EXCHANGE_CLIENT_SECRET=setup.secrets[NO_GRANT_CLIENT],
    )
    assert "HTTP 400 Bad Request" in message and "`invalid_request`" in message, message
    assert "grant type is not allowed for this client" in message, message
    assert setup.exchanges(NO_GRANT_CLIENT) == before


def test_an_unreachable_token_endpoint_is_a_tool_error(setup: Setup, caller_token: str, upstream: RecordingUpstream) -> None:
    message = refused(
        setup, caller_token, upstream, "exchange-down", EXCHANGE_TOKEN_URL=f"http://127.0.0.1:{free_port()}/token"
    )
    assert "the token endpoint cannot be reached" in message, message


def test_no_token_or_secret_in_the_logs(setup: Setup, caller_token: str) -> None:
    """Runs last: every server of this module has logged what it does (at debug level)."""
    assert "exchanged a caller's access token" in setup.server.log()
    issued = ISSUED | {bearer_of(r) for r in setup.first_upstream}
    assert len(issued) >= 3, issued
    for server in setup.servers:
        log = server.log()
        for secret in [caller_token, *issued, *setup.secrets.values()]:
            assert secret not in log, f"{server.label}: a token or secret in the log"


OBO_LOGIN_CLIENT = "mcp-entra"
OBO_CLIENT = "mcp-obo"
OBO_RESOURCE = "api://upstream.mcpgen.test"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def test_entra_exchanges_with_the_on_behalf_of_grant(upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory) -> None:
    port = free_port()
    secret = secrets.token_urlsafe(24)
    config = {
        "jwks": Keys.generate().provider_jwks(),
        "audience": AUDIENCE,
        "resource_scope": "items:read items:write",
        "cookie_keys": [secrets.token_urlsafe(16)],
        # As Entra ID: no RFC 8707 `resource`; the API asked for as `<audience>/.default`.
        "reject_resource": True,
        "entra_default_scope": True,
        "clients": [
            {
                "client_id": OBO_LOGIN_CLIENT,
                "token_endpoint_auth_method": "none",
                "redirect_uris": [f"http://127.0.0.1:{port}/oauth/callback"],
            },
            {
                "client_id": OBO_CLIENT,
                "client_secret": secret,
                "token_endpoint_auth_method": "client_secret_post",
                "grant_types": [JWT_BEARER],
                "response_types": [],
                "redirect_uris": [],
            },
        ],
        "on_behalf_of": {OBO_CLIENT: {"resources": [OBO_RESOURCE], "scope": "items:read"}},
    }
    issuer, process = start_provider(config, tmp_path_factory, "provider-entra-obo")
    server = None
    try:
        binary = build_server("mcpgen-auth-oauth-entra-obo", "tests/auth/auth-oauth-entra-obo.yaml")
        env = {
            "OAUTH_ISSUER": issuer,
            "OAUTH_METADATA_URL": f"{issuer}/.well-known/openid-configuration",
            "OAUTH_CLIENT_ID": OBO_LOGIN_CLIENT,
            "EXCHANGE_TOKEN_URL": f"{issuer}/token",
            "EXCHANGE_CLIENT_ID": OBO_CLIENT,
            "EXCHANGE_CLIENT_SECRET": secret,
            "RUST_LOG": "debug",
        }
        server = McpServer(binary, port, upstream.base_url, "oauth-entra-obo", env)
        flow = run_flow(server, "66")
        result = flow.tool_result
        assert result is not None and not result.is_error, result  # type: ignore[attr-defined]
        assert flow.storage.tokens is not None
        caller_jwt = flow.storage.tokens.access_token
        _, claims = decode_unverified(caller_jwt)
        sent = bearer_of(upstream.only())
        assert sent != caller_jwt and sent.count(".") != 2, "the caller's JWT went upstream"
        granted = process.log().count(f"grant.success {JWT_BEARER} client={OBO_CLIENT} scope={OBO_RESOURCE}/.default")
        assert granted == 1, process.log()
        response = httpx2.post(
            f"{issuer}/token/introspection", data={"token": sent}, auth=(OBO_CLIENT, secret), timeout=10
        )
        issued = response.json()
        assert issued["active"] is True and issued["aud"] == OBO_RESOURCE, issued
        assert issued["sub"] == claims["sub"] and issued["client_id"] == OBO_CLIENT, (issued, claims)
        log = server.log()
        for value in (caller_jwt, sent, secret):
            assert value not in log
    finally:
        if server is not None:
            server.stop()
        process.stop()
