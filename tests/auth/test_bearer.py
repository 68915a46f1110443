"""mode: bearer (tests/auth/auth-bearer.yaml): `Authorization: Bearer …` is required on /mcp and
checked against MCP_TOKENS; the caller's header is forwarded to the upstream API (`forward: true`).
Driven by the official Python SDK over Streamable HTTP, and through `mcp-remote` (the stdio bridge
of the Claude Desktop configuration in the generated README) driven by the SDK's stdio client."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from conftest import BEARER_TOKENS, MCP_REMOTE, NODE, McpServer
from helpers import initialize, post_mcp, tools_call, www_authenticate
from upstream import RecordingUpstream

TOKEN = BEARER_TOKENS[1]


async def call_get_item(client: Client, item_id: str) -> None:
    result = await client.call_tool("get_item", {"id": item_id})
    assert not result.is_error, result
    assert result.structured_content == {"id": item_id, "name": "Widget"}


def assert_upstream_got_token(upstream: RecordingUpstream, item_id: str) -> None:
    """The one upstream request is the tool's, carrying the caller's Authorization header."""
    request = upstream.only()
    assert (request.method, request.path) == ("GET", f"/api/items/{item_id}")
    assert request.headers.get("authorization") == f"Bearer {TOKEN}"


def test_sdk_client_with_bearer_token_reaches_upstream_with_that_header(
    bearer_server: McpServer, upstream: RecordingUpstream
) -> None:
    async def main() -> None:
        with anyio.fail_after(60):
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
            async with http, Client(streamable_http_client(bearer_server.url, http_client=http)) as client:
                tools = {t.name for t in (await client.list_tools()).tools}
                assert tools == {"get_item", "delete_item"}
                await call_get_item(client, "41")

    anyio.run(main)
    assert_upstream_got_token(upstream, "41")


def test_every_configured_token_is_accepted(bearer_server: McpServer, upstream: RecordingUpstream) -> None:
    for token in BEARER_TOKENS:
        upstream.clear()
        response = post_mcp(bearer_server.url, tools_call("get_item", {"id": "7"}), f"Bearer {token}")
        assert response.status_code == 200, f"{token}: HTTP {response.status_code} {response.text[:300]}"
        assert upstream.only().headers.get("authorization") == f"Bearer {token}"


def test_wrong_token_is_401(bearer_server: McpServer, upstream: RecordingUpstream) -> None:
    for token in ["tok-gamma-000000", TOKEN[:-1], TOKEN + "x", f"{BEARER_TOKENS[0]},{TOKEN}"]:
        response = post_mcp(bearer_server.url, tools_call("get_item", {"id": "7"}), f"Bearer {token}")
        assert response.status_code == 401, f"{token!r}: HTTP {response.status_code} {response.text[:300]}"
        scheme, _ = www_authenticate(response)
        assert scheme == "Bearer"
    assert upstream.requests == []


def test_wrong_token_fails_the_sdk_client(bearer_server: McpServer, upstream: RecordingUpstream) -> None:
    statuses: list[int] = []

    async def on_response(response: httpx2.Response) -> None:
        statuses.append(response.status_code)

    async def main() -> None:
        with anyio.fail_after(60):
            http = httpx2.AsyncClient(
                headers={"Authorization": "Bearer tok-gamma-000000"}, timeout=30, event_hooks={"response": [on_response]}
            )
            async with http:
                # The SDK reports the 401 as a failed request (it has no credentials to retry with).
                with pytest.raises(Exception):
                    async with Client(streamable_http_client(bearer_server.url, http_client=http)) as client:
                        await client.call_tool("get_item", {"id": "7"})

    anyio.run(main)
    assert statuses and set(statuses) == {401}, statuses
    assert upstream.requests == []


def test_no_token_is_401_with_bearer_challenge(bearer_server: McpServer, upstream: RecordingUpstream) -> None:
    for body in (initialize(), tools_call("get_item", {"id": "7"})):
        response = post_mcp(bearer_server.url, body)
        assert response.status_code == 401, f"HTTP {response.status_code} {response.text[:300]}"
        scheme, _ = www_authenticate(response)
        assert scheme == "Bearer"
    assert upstream.requests == []


def test_other_schemes_are_401(bearer_server: McpServer) -> None:
    for authorization in [f"Basic {TOKEN}", TOKEN, "Bearer", f"bearer{TOKEN}"]:
        response = post_mcp(bearer_server.url, initialize(), authorization)
        assert response.status_code == 401, f"{authorization!r}: HTTP {response.status_code}"


def test_healthz_needs_no_token(bearer_server: McpServer) -> None:
    with httpx2.Client(timeout=10) as http:
        assert http.get(f"{bearer_server.base}/healthz").status_code == 200


def test_through_mcp_remote_with_auth_header_env(
    bearer_server: McpServer, upstream: RecordingUpstream, tmp_path: Path
) -> None:
    """As the Claude Desktop config runs it: `npx mcp-remote URL --header "Authorization:${AUTH_HEADER}"`
    with AUTH_HEADER="Bearer <token>" in its environment (mcp-remote expands the reference)."""
    assert MCP_REMOTE.exists(), f"mcp-remote is not installed at {MCP_REMOTE}"
    params = StdioServerParameters(
        command=str(NODE),
        args=[str(MCP_REMOTE), bearer_server.url, "--header", "Authorization:${AUTH_HEADER}", "--transport", "http-only"],
        env={
            "AUTH_HEADER": f"Bearer {TOKEN}",
            "HOME": str(tmp_path),
            "MCP_REMOTE_CONFIG_DIR": str(tmp_path / "mcp-auth"),
            "PATH": os.environ.get("PATH", ""),
        },
    )

    async def main() -> None:
        with anyio.fail_after(90):
            async with Client(params, read_timeout_seconds=60) as client:
                tools = {t.name for t in (await client.list_tools()).tools}
                assert tools == {"get_item", "delete_item"}
                await call_get_item(client, "99")

    anyio.run(main)
    assert_upstream_got_token(upstream, "99")
