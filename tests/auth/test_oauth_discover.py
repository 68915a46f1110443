"""mode: oauth in tool mode discover: `execute_tool` and `execute_read_only_tool` run a tool with
exactly the auth of a direct call. A token without the tool's OpenAPI scopes gets the same HTTP
403 `insufficient_scope` step-up (status, `WWW-Authenticate` parameters, body) as the direct call,
before any upstream request; with the scope the call goes through. The server is the binary of
`oauth_server` (test_oauth_tokens.py) started a second time with `--tool-mode discover`."""

from __future__ import annotations

from conftest import McpServer
from helpers import post_mcp, rpc_result, tools_call, www_authenticate
from tokens import Minter
from upstream import RecordingUpstream


def execute(tool: str, arguments: dict, via: str = "execute_tool") -> dict:
    return tools_call(via, {"name": tool, "arguments": arguments})


def test_execute_tool_gets_the_step_up_of_a_direct_call(
    oauth_server: McpServer, oauth_discover_server: McpServer, upstream: RecordingUpstream, minter: Minter
) -> None:
    """delete_item needs items:admin; the token grants items:read and items:write."""
    token = f"Bearer {minter.rs256(scope='openid items:read items:write')}"
    server = oauth_discover_server
    direct = post_mcp(server.url, tools_call("delete_item", {"id": "7"}), token)
    through = post_mcp(server.url, execute("delete_item", {"id": "7"}), token)
    assert direct.status_code == 403, f"HTTP {direct.status_code}: {direct.text[:300]}"
    assert through.status_code == 403, f"HTTP {through.status_code}: {through.text[:300]}"
    assert www_authenticate(through) == www_authenticate(direct)
    assert through.json() == direct.json()
    scheme, params = www_authenticate(through)
    assert scheme == "Bearer"
    assert params.get("error") == "insufficient_scope", params
    assert "items:admin" in params.get("scope", "").split(), params
    assert params.get("resource_metadata", "").startswith(f"{server.base}/.well-known/oauth-protected-resource"), params

    # The same parameters as the mode-all server's direct call (its own metadata URL aside).
    all_mode = post_mcp(oauth_server.url, tools_call("delete_item", {"id": "7"}), token)
    assert all_mode.status_code == 403
    _, all_params = www_authenticate(all_mode)
    strip = lambda p: {k: v for k, v in p.items() if k != "resource_metadata"}  # noqa: E731
    assert strip(params) == strip(all_params)

    # execute_read_only_tool is judged the same way: the scope check comes first.
    read_only = post_mcp(server.url, execute("delete_item", {"id": "7"}, "execute_read_only_tool"), token)
    assert read_only.status_code == 403
    assert www_authenticate(read_only) == www_authenticate(direct)
    assert upstream.requests == [], "a call without its scope reached the upstream"


def test_execute_tool_with_the_scope_goes_through(
    oauth_discover_server: McpServer, upstream: RecordingUpstream, minter: Minter
) -> None:
    token = f"Bearer {minter.rs256(scope='items:read items:admin')}"
    response = post_mcp(oauth_discover_server.url, execute("delete_item", {"id": "5"}), token)
    assert response.status_code == 200, f"HTTP {response.status_code} {response.headers.get('www-authenticate')}"
    message = rpc_result(response)
    assert message and not message["result"].get("isError"), response.text[:500]
    assert (upstream.only().method, upstream.only().path) == ("DELETE", "/api/items/5")

    # A read-only tool through execute_read_only_tool, with its scope (items:read).
    upstream.clear()
    response = post_mcp(oauth_discover_server.url, execute("get_item", {"id": "6"}, "execute_read_only_tool"), token)
    assert response.status_code == 200
    message = rpc_result(response)
    assert message and not message["result"].get("isError"), response.text[:500]
    assert upstream.only().path == "/api/items/6"

    # Without any scope, get_item's step-up asks for items:read, through execute_tool too.
    bare = f"Bearer {minter.rs256(scope=None)}"
    upstream.clear()
    response = post_mcp(oauth_discover_server.url, execute("get_item", {"id": "6"}), bare)
    assert response.status_code == 403
    _, params = www_authenticate(response)
    assert params.get("error") == "insufficient_scope" and "items:read" in params.get("scope", "").split(), params
    assert upstream.requests == []
