"""Tool mode `discover` and `--toolsets`, end to end: the crate generated from GitHub's description
(npm @octokit/openapi, 1,000+ operations), driven by the official Python MCP SDK over Streamable
HTTP (negotiated and legacy handshake, the latter through the server's direct route) and stdio,
in front of a recording upstream. Every request assertion is against what the upstream received."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import urllib.request
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator

import anyio
import pytest
from mcp import Client, MCPError, types
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from conftest import GITHUB_CRATE_DIR, TRANSPORTS, HttpServer, server_args
from upstream import Canned, RecordingUpstream

DISCOVERY = ["search_tools", "describe_tools", "execute_tool", "execute_read_only_tool"]
ISSUES = [{"number": 1, "title": "Crash on start", "state": "open"}]
REPO_JSON = {"id": 7, "name": "hello", "full_name": "octo/hello"}
NEW_ISSUE = {"number": 2, "title": "New", "state": "open"}


def as_json(value: Any, status: int = 200) -> Canned:
    return Canned(status, json.dumps(value).encode(), "application/json")


@pytest.fixture(scope="session")
def github_upstream() -> Iterator[RecordingUpstream]:
    server = RecordingUpstream().start()
    server.route("GET", "/api/repos/octo/hello/issues", as_json(ISSUES))
    server.route("POST", "/api/repos/octo/hello/issues", as_json(NEW_ISSUE, status=201))
    server.route("GET", "/api/repos/octo/hello", as_json(REPO_JSON))
    server.route("DELETE", "/api/repos/octo/hello", Canned(204))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh(github_upstream: RecordingUpstream) -> None:
    github_upstream.clear()


def start(binary, upstream: RecordingUpstream, label: str, extra: list[str]) -> HttpServer:
    return HttpServer(binary, upstream.base_url, label, extra=extra)


@pytest.fixture(scope="session")
def discover_server(github_bin, github_upstream) -> Iterator[HttpServer]:
    # GitHub's API is large enough that `tools: mode: auto` generates discover as the default.
    server = start(github_bin, github_upstream, "github-discover", [])
    yield server
    server.stop()


@pytest.fixture(scope="session")
def issues_server(github_bin, github_upstream) -> Iterator[HttpServer]:
    server = start(github_bin, github_upstream, "github-issues", ["--toolsets", "issues"])
    yield server
    server.stop()


@pytest.fixture(scope="session")
def all_server(github_bin, github_upstream) -> Iterator[HttpServer]:
    # The environment variable instead of the flag.
    server = HttpServer(github_bin, github_upstream.base_url, "github-all", {"MCP_TOOL_MODE": "all"})
    yield server
    server.stop()


def test_an_unknown_toolset_stops_the_start_up(github_bin) -> None:
    for args, env in [(["--toolsets", "issues,nope"], {}), ([], {"MCP_TOOLSETS": "nope"})]:
        done = subprocess.run(
            [str(github_bin), "--transport", "stdio", *args],
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 2, done
        assert "unknown toolset `nope` in --toolsets (MCP_TOOLSETS); this server's toolsets: actions, " in done.stderr
        assert ", issues, " in done.stderr and done.stdout == ""


Open = Callable[..., contextlib.AbstractAsyncContextManager[Client]]


@pytest.fixture(params=TRANSPORTS)
def connect(request: pytest.FixtureRequest, github_bin, github_upstream) -> Open:
    """`async with connect(toolsets=None) as client`: an SDK client of the discover-mode GitHub
    server over this test's transport; `toolsets="issues"` serves that toolset only."""
    transport = request.param

    @contextlib.asynccontextmanager
    async def open_client(toolsets: str | None = None) -> AsyncIterator[Client]:
        if transport == "stdio":
            extra = ["--toolsets", toolsets] if toolsets else []
            params = StdioServerParameters(
                command=str(github_bin),
                args=["--transport", "stdio", *server_args(github_upstream.base_url), *extra],
                env={"RUST_LOG": "warn"},
            )
            client = Client(params, read_timeout_seconds=60)
        else:
            server = request.getfixturevalue("issues_server" if toolsets else "discover_server")
            client = Client(
                streamable_http_client(server.url),
                mode="legacy" if transport == "http-legacy" else "auto",
                read_timeout_seconds=60,
            )
        async with client:
            yield client

    return open_client


def run(connect: Open, body: Callable[[Client], Awaitable[None]], **kw: Any) -> None:
    async def main() -> None:
        async with connect(**kw) as client:
            await body(client)

    anyio.run(main)


def text_of(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def ok(client: Client, name: str, args: dict[str, Any]) -> types.CallToolResult:
    result = await client.call_tool(name, args)
    assert not result.is_error, text_of(result)
    return result


async def fails(client: Client, name: str, args: dict[str, Any]) -> str:
    result = await client.call_tool(name, args)
    assert result.is_error, result
    return text_of(result)


async def same_as_direct(
    client: Client, upstream: RecordingUpstream, name: str, arguments: dict[str, Any], through: types.CallToolResult
) -> None:
    """A direct call of `name` sends the upstream the same request as the call `through` a
    discovery tool did, and gets the same result."""
    first = upstream.only()
    upstream.clear()
    direct = await client.call_tool(name, arguments)
    again = upstream.only()
    assert (again.method, again.target, again.body) == (first.method, first.target, first.body)
    assert direct.model_dump() == through.model_dump()


async def search(client: Client, query: str, **more: Any) -> list[dict[str, Any]]:
    result = await ok(client, "search_tools", {"query": query, **more})
    results = result.structured_content["results"]
    for hit in results:
        assert sorted(hit) == ["method", "name", "path", "summary", "title", "toolset"], hit
    return results


def post(url: str, message: dict[str, Any]) -> bytes:
    """One JSON-RPC request as a client of protocol 2025-06-18 sends it (stateless server)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(message).encode(),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


# --- the listing ----------------------------------------------------------------------------


def test_the_first_tools_list_fits_a_small_budget(discover_server: HttpServer) -> None:
    body = post(discover_server.url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    result = json.loads(body)["result"]
    assert [t["name"] for t in result["tools"]] == DISCOVERY
    assert "nextCursor" not in result
    tokens = len(json.dumps(result, separators=(",", ":")).encode()) / 4
    assert tokens < 2000, f"discover mode's tools/list is {tokens:.0f} tokens"
    # The whole HTTP response too (JSON-RPC envelope included).
    assert len(body) / 4 < 2000


def test_discover_mode_lists_the_discovery_tools(connect: Open) -> None:
    async def body(client: Client) -> None:
        listed = await client.list_tools()
        assert [t.name for t in listed.tools] == DISCOVERY
        assert listed.next_cursor is None
        tools = {t.name: t for t in listed.tools}
        assert tools["execute_read_only_tool"].annotations.read_only_hint is True
        assert tools["search_tools"].annotations.read_only_hint is True
        assert tools["execute_tool"].annotations.read_only_hint is not True

    run(connect, body)


# --- search -> describe -> execute ----------------------------------------------------------------


def test_search_describe_execute_reaches_the_upstream(connect: Open, github_upstream: RecordingUpstream) -> None:
    async def body(client: Client) -> None:
        results = await search(client, "list the issues of a repository", limit=10)
        assert 1 <= len(results) <= 10
        names = [r["name"] for r in results]
        assert "issues_list_for_repo" in names, names
        hit = results[names.index("issues_list_for_repo")]
        assert (hit["method"], hit["path"], hit["toolset"]) == ("GET", "/repos/{owner}/{repo}/issues", "issues")
        assert len(await search(client, "issue", limit=3)) == 3

        described = await ok(client, "describe_tools", {"names": ["issues_list_for_repo", "issues_create"]})
        tools = described.structured_content["tools"]
        assert [t["name"] for t in tools] == ["issues_list_for_repo", "issues_create"]
        schema = tools[0]["inputSchema"]
        assert {"owner", "repo", "state", "per_page"} <= set(schema["properties"])
        assert set(schema["required"]) == {"owner", "repo"}
        assert tools[0]["annotations"]["readOnlyHint"] is True
        assert github_upstream.requests == []

        result = await ok(
            client,
            "execute_tool",
            {"name": "issues_list_for_repo", "arguments": {"owner": "octo", "repo": "hello", "state": "open", "per_page": 5}},
        )
        sent = github_upstream.only()
        assert (sent.method, sent.path) == ("GET", "/api/repos/octo/hello/issues")
        assert sorted(sent.query.split("&")) == ["per_page=5", "state=open"]
        assert sent.body == b""
        assert result.structured_content == {"result": ISSUES}

        github_upstream.clear()
        arguments = {"owner": "octo", "repo": "hello", "title": "New", "labels": ["bug"]}
        result = await ok(client, "execute_tool", {"name": "issues_create", "arguments": arguments})
        sent = github_upstream.only()
        assert (sent.method, sent.path, sent.query) == ("POST", "/api/repos/octo/hello/issues", "")
        assert sent.headers["content-type"].startswith("application/json")
        assert json.loads(sent.body) == {"title": "New", "labels": ["bug"]}
        # GitHub's issue schema is not a plain object: the result is wrapped, as a direct call's.
        assert result.structured_content in (NEW_ISSUE, {"result": NEW_ISSUE})
        await same_as_direct(client, github_upstream, "issues_create", arguments, result)

    run(connect, body)


def test_execute_tool_checks_arguments_as_a_direct_call(connect: Open, github_upstream: RecordingUpstream) -> None:
    async def body(client: Client) -> None:
        through = await fails(client, "execute_tool", {"name": "repos_get", "arguments": {"owner": "octo", "rpo": "x"}})
        direct = await fails(client, "repos_get", {"owner": "octo", "rpo": "x"})
        assert through == direct
        assert "Unknown argument `rpo` (did you mean `repo`?)" in through
        through = await fails(client, "execute_tool", {"name": "repos_get", "arguments": {"owner": "octo"}})
        assert through == await fails(client, "repos_get", {"owner": "octo"})
        assert "missing field `repo`" in through
        assert github_upstream.requests == []

    run(connect, body)


def test_execute_read_only_tool(connect: Open, github_upstream: RecordingUpstream) -> None:
    async def body(client: Client) -> None:
        message = await fails(client, "execute_read_only_tool", {"name": "repos_delete", "arguments": {"owner": "octo", "repo": "hello"}})
        assert "`repos_delete` (DELETE /repos/{owner}/{repo}) is not read-only" in message
        assert github_upstream.requests == []

        arguments = {"owner": "octo", "repo": "hello"}
        result = await ok(client, "execute_read_only_tool", {"name": "repos_get", "arguments": arguments})
        sent = github_upstream.only()
        assert (sent.method, sent.path, sent.query) == ("GET", "/api/repos/octo/hello", "")
        assert result.structured_content in (REPO_JSON, {"result": REPO_JSON})
        # A generated tool stays callable by name in discover mode (listing changes, calling
        # not), and answers exactly as through execute_read_only_tool.
        await same_as_direct(client, github_upstream, "repos_get", arguments, result)

    run(connect, body)


def test_unknown_names_get_a_did_you_mean(connect: Open, github_upstream: RecordingUpstream) -> None:
    async def body(client: Client) -> None:
        message = await fails(client, "execute_tool", {"name": "issues_list_for_rep", "arguments": {}})
        assert message.startswith("Unknown tool `issues_list_for_rep`. Did you mean "), message
        assert "`issues_list_for_repo`" in message
        message = await fails(client, "describe_tools", {"names": ["repos_gett"]})
        assert "Unknown tool `repos_gett`" in message and "`repos_get`" in message
        message = await fails(client, "search_tools", {"query": "x", "limit": 51})
        assert "between 1 and 50" in message
        message = await fails(client, "search_tools", {"query": "x", "toolset": "no_such_toolset"})
        assert "Unknown toolset `no_such_toolset`" in message and "issues" in message
        with pytest.raises(MCPError) as raised:
            await client.call_tool("no_such_tool", {})
        assert raised.value.code == -32602
        assert github_upstream.requests == []

    run(connect, body)


# --- toolsets -------------------------------------------------------------------------------------


def test_toolsets_hide_the_rest(connect: Open, github_upstream: RecordingUpstream) -> None:
    async def body(client: Client) -> None:
        assert [t.name for t in (await client.list_tools()).tools] == DISCOVERY
        results = await search(client, "get a repository", limit=50)
        assert results, "the issues toolset has matches"
        assert {r["toolset"] for r in results} == {"issues"}
        assert all(r["name"] != "repos_get" for r in results)
        message = await fails(client, "search_tools", {"query": "repository", "toolset": "repos"})
        assert "Unknown toolset `repos`" in message and "this server's toolsets: issues" in message

        message = await fails(client, "describe_tools", {"names": ["repos_get"]})
        assert message.startswith("Unknown tool `repos_get`.")
        message = await fails(client, "execute_tool", {"name": "repos_gett", "arguments": {"owner": "o", "repo": "r"}})
        assert "`repos_get`" not in message, "never a tool outside the served toolsets"
        for name in ["execute_tool", "execute_read_only_tool"]:
            message = await fails(client, name, {"name": "repos_get", "arguments": {"owner": "octo", "repo": "hello"}})
            assert message.startswith("Unknown tool `repos_get`.")
        with pytest.raises(MCPError) as raised:
            await client.call_tool("repos_get", {"owner": "octo", "repo": "hello"})
        assert raised.value.code == -32602
        assert github_upstream.requests == []

        await ok(client, "execute_tool", {"name": "issues_list_for_repo", "arguments": {"owner": "octo", "repo": "hello"}})
        assert github_upstream.only().path == "/api/repos/octo/hello/issues"

    run(connect, body, toolsets="issues")


# --- mode all -------------------------------------------------------------------------------------


def test_mode_all_pages_through_every_tool(all_server: HttpServer, discover_server: HttpServer, github_bin) -> None:
    generated = json.loads((GITHUB_CRATE_DIR / "src" / "tools.json").read_text())
    expected = [t["name"] for t in generated["tools"]]
    assert len(expected) > 1000

    async def main() -> None:
        async with Client(streamable_http_client(all_server.url), read_timeout_seconds=120) as client:
            names: list[str] = []
            pages = 0
            cursor = None
            wanted = {"issues_list_for_repo": None, "repos_delete": None}
            while True:
                page = await client.list_tools(cursor=cursor, cache_mode="bypass")
                pages += 1
                for tool in page.tools:
                    names.append(tool.name)
                    if tool.name in wanted:
                        wanted[tool.name] = tool.model_dump(by_alias=True, exclude_none=True, mode="json")
                cursor = page.next_cursor
                if cursor is None:
                    break
                assert pages < 100
            assert names == expected
            assert pages == -(-len(expected) // 100)
            # The discovery tools are not callable in mode all.
            with pytest.raises(MCPError) as raised:
                await client.call_tool("search_tools", {"query": "issues"})
            assert raised.value.code == -32602

        # describe_tools gives exactly what mode all lists.
        async with Client(streamable_http_client(discover_server.url), read_timeout_seconds=60) as client:
            described = await ok(client, "describe_tools", {"names": list(wanted)})
            assert described.structured_content["tools"] == list(wanted.values())
            # A cursor of another configuration (mode all's) is refused.
            with pytest.raises(MCPError):
                await client.list_tools(cursor=first_cursor, cache_mode="bypass")

    first = json.loads(post(all_server.url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))["result"]
    first_cursor = first["nextCursor"]
    assert len(first["tools"]) == 100
    anyio.run(main)


# --- the direct route -----------------------------------------------------------------------------


def test_direct_route_answers_discovery_calls_exactly_as_rmcp(github_bin, github_upstream: RecordingUpstream) -> None:
    """The direct route (src/direct.rs) takes the discovery tools' calls in discover mode, and its
    answers are rmcp's byte for byte; a tool outside `--toolsets` is left to rmcp (-32602)."""
    from test_direct_route import DIRECT, VIA_RMCP
    from test_direct_route import post as post_with

    calls = [
        ("search_tools", {"query": "list the issues of a repository", "limit": 3}),
        ("search_tools", {"query": "x", "limit": 0}),
        ("describe_tools", {"names": ["issues_list_for_repo"]}),
        ("describe_tools", {"names": ["repos_get"]}),
        ("execute_tool", {"name": "issues_list_for_repo", "arguments": {"owner": "octo", "repo": "hello"}}),
        ("execute_tool", {"name": "issues_list_for_rep", "arguments": {}}),
        ("execute_read_only_tool", {"name": "issues_create", "arguments": {"owner": "o", "repo": "r", "title": "t"}}),
        ("issues_list_for_repo", {"owner": "octo", "repo": "hello"}),
    ]
    server = HttpServer(
        github_bin,
        github_upstream.base_url,
        "github-direct",
        {"RUST_LOG": "info,mcp_fastpath=debug"},
        ["--toolsets", "issues"],
    )
    try:
        for number, (name, arguments) in enumerate(calls, 1):
            body = {"jsonrpc": "2.0", "id": number, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
            direct = post_with(server.url, body, DIRECT)
            via_rmcp = post_with(server.url, body, VIA_RMCP)
            assert direct[0] == 200, direct
            assert direct == via_rmcp, f"{name} {arguments}"
        unserved = {"jsonrpc": "2.0", "id": 99, "method": "tools/call", "params": {"name": "repos_get", "arguments": {"owner": "o", "repo": "r"}}}
        direct = post_with(server.url, unserved, DIRECT)
        assert direct == post_with(server.url, unserved, VIA_RMCP)
        assert json.loads(direct[2])["error"]["code"] == -32602
        assert server.log().count("tools/call answered directly") == len(calls), server.log()
    finally:
        server.stop()
    assert [r.path for r in github_upstream.requests] == ["/api/repos/octo/hello/issues"] * 4
