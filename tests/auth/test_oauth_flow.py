"""The whole OAuth flow with the official Python SDK's `OAuthClientProvider` against the generated
server (setup_proxies) in front of a real provider that sends RFC 9207 `iss`:

  POST /mcp → 401 → protected-resource metadata → authorization-server metadata → dynamic
  registration → authorize (PKCE S256, `resource`) → the provider's login and consent → the
  server's callback → the client's redirect URI (code, state, iss) → token → the tool call.

The SDK checks the PRM `resource`, the metadata `issuer` against the discovered server and the
returned `iss` against that issuer. The user's browser is browser.log_in (headless)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field

import anyio
import httpx2
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from browser import LoginResult, log_in
from conftest import CONFIDENTIAL_CLIENT, PUBLIC_CLIENT, McpServer, OAuthProvider, free_port
from tokens import AUDIENCE, decode_unverified
from upstream import RecordingUpstream


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


@dataclass
class Flow:
    """What one SDK session did: every HTTP exchange (its own and the browser's), the
    authorization URL it built, what came back to its redirect URI, and its stored state."""

    exchanges: list[tuple[str, str, int]] = field(default_factory=list)
    authorization_url: str = ""
    login: LoginResult | None = None
    storage: MemoryStorage = field(default_factory=MemoryStorage)
    tool_result: object = None

    def steps(self) -> list[str]:
        return [f"{m} {urllib.parse.urlsplit(u).path} {s}" for m, u, s in self.exchanges]


def run_flow(server: McpServer, item_id: str) -> Flow:
    flow = Flow()
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"

    async def on_response(response: httpx2.Response) -> None:
        flow.exchanges.append((response.request.method, str(response.request.url), response.status_code))

    async def redirect_handler(authorization_url: str) -> None:
        flow.authorization_url = authorization_url
        flow.login = await log_in(authorization_url, redirect_uri)
        for visit in flow.login.visits:
            flow.exchanges.append((visit.method, visit.url, visit.status))

    async def callback_handler() -> AuthorizationCodeResult:
        assert flow.login is not None
        query = flow.login.query
        assert "code" in query, f"no code at the client's redirect URI: {flow.login.location}"
        return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))

    auth = OAuthClientProvider(
        server_url=server.url,
        client_metadata=OAuthClientMetadata(
            client_name="mcpgen auth acceptance",
            redirect_uris=[redirect_uri],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=flow.storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )

    async def main() -> None:
        with anyio.fail_after(120):
            http = httpx2.AsyncClient(auth=auth, timeout=30, event_hooks={"response": [on_response]})
            async with http, Client(streamable_http_client(server.url, http_client=http)) as client:
                flow.tool_result = await client.call_tool("get_item", {"id": item_id})

    try:
        anyio.run(main)
    except BaseException as e:
        raise AssertionError(f"the SDK's OAuth flow failed: {e!r}\nsteps so far:\n  " + "\n  ".join(flow.steps())) from e
    return flow


def in_order(steps: list[str], expected: list[str]) -> bool:
    """Whether each expected prefix matches a step, in this order."""
    position = 0
    for want in expected:
        while position < len(steps) and not steps[position].startswith(want):
            position += 1
        if position == len(steps):
            return False
        position += 1
    return True


def check_flow(flow: Flow, server: McpServer, provider: OAuthProvider, upstream: RecordingUpstream, item_id: str) -> None:
    result = flow.tool_result
    assert result is not None and not result.is_error, result  # type: ignore[attr-defined]
    assert result.structured_content == {"id": item_id, "name": "Widget"}  # type: ignore[attr-defined]
    request = upstream.only()
    assert (request.method, request.path) == ("GET", f"/api/items/{item_id}")
    assert "authorization" not in request.headers, "forward_token is off: the token must not go upstream"

    steps = flow.steps()
    expected = [
        "POST /mcp 401",
        "GET /.well-known/oauth-protected-resource",
        "GET /.well-known/oauth-authorization-server 200",
        "POST /oauth/register 201",
        "GET /oauth/authorize 302",
        "GET /auth",
        "GET /oauth/callback",
        "POST /oauth/token 200",
        "POST /mcp 200",
    ]
    assert in_order(steps, expected), "unexpected flow:\n  " + "\n  ".join(steps)

    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(flow.authorization_url).query))
    assert flow.authorization_url.startswith(f"{server.base}/oauth/authorize?"), flow.authorization_url
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43, query
    assert query["resource"] == server.url, query

    assert flow.storage.client_info is not None and flow.storage.client_info.client_secret is None
    assert flow.storage.tokens is not None
    header, claims = decode_unverified(flow.storage.tokens.access_token)
    assert header["alg"] == "RS256" and claims["iss"] == provider.issuer and claims["aud"] == AUDIENCE, (header, claims)
    assert "items:read" in claims["scope"].split(), claims


def test_full_flow_with_public_provider_client(
    oauth_server: McpServer, provider: OAuthProvider, upstream: RecordingUpstream
) -> None:
    flow = run_flow(oauth_server, "31")
    check_flow(flow, oauth_server, provider, upstream, "31")
    assert flow.storage.client_info.client_id == PUBLIC_CLIENT  # type: ignore[union-attr]


def test_full_flow_with_confidential_provider_client(
    oauth_secret_server: McpServer, provider: OAuthProvider, upstream: RecordingUpstream
) -> None:
    """The provider's client needs its secret at the token endpoint (client_secret_post): only the
    server's token proxy has it; the SDK stays a public client and never sees it."""
    flow = run_flow(oauth_secret_server, "32")
    check_flow(flow, oauth_secret_server, provider, upstream, "32")
    assert flow.storage.client_info.client_id == CONFIDENTIAL_CLIENT  # type: ignore[union-attr]
    assert provider.client_secret not in repr(flow.storage.client_info)
    assert provider.client_secret not in repr(flow.storage.tokens)
