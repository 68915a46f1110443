"""The generated server answers a plain stateless `tools/call` of a pre-2026 client on a direct
route (src/direct.rs) instead of through rmcp's per-request service. These tests send the same
JSON-RPC request both ways — once as it qualifies, once with an `Accept` header rmcp accepts but
the direct route leaves to rmcp — and require the same status, content type and body bytes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from conftest import HttpServer
from test_e2e import item_or_nothing
from upstream import Canned, RecordingUpstream

PLAIN = {"content-type": "application/json", "mcp-protocol-version": "2025-11-25"}
DIRECT = {**PLAIN, "accept": "application/json, text/event-stream"}
VIA_RMCP = {**PLAIN, "accept": "application/json, text/event-stream;q=1"}


def post(url: str, body: Any, headers: dict[str, str]) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type", ""), error.read()


CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get_item", {"id": "1"}),  # structured JSON result
    ("get_item", {"id": "direct-missing"}),  # upstream 404: a tool error
    ("get_item", {}),  # missing argument
    ("get_item", {"id": "1", "idd": 2}),  # unknown argument
    ("get_item", {"id": 5}),  # wrong type
]


def test_direct_route_answers_exactly_as_rmcp(server_bin: Path, upstream: RecordingUpstream) -> None:
    upstream.fallback(item_or_nothing)
    upstream.route("GET", "/api/items/direct-missing", Canned(404, b'{"detail":"none"}', "application/json"))
    server = HttpServer(
        server_bin, upstream.base_url, "http-direct", {"RUST_LOG": "info,mcp_fastpath=debug"}
    )
    try:
        for number, (name, arguments) in enumerate(CALLS, 1):
            body = {
                "jsonrpc": "2.0",
                "id": number,
                "method": "tools/call",
                "params": {"name": name, "arguments": arguments},
            }
            direct = post(server.url, body, DIRECT)
            via_rmcp = post(server.url, body, VIA_RMCP)
            assert direct[0] == 200, direct
            assert direct == via_rmcp, f"{name} {arguments}"
            assert json.loads(direct[2])["id"] == number
        # String ids, and requests the direct route must leave to rmcp: the answers are rmcp's.
        for body in [
            {"jsonrpc": "2.0", "id": "abc", "method": "tools/call", "params": {"name": "get_item", "arguments": {"id": "2"}}},
            {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "no_such_tool"}},
            {"jsonrpc": "2.0", "id": 10, "method": "tools/list"},
            {"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": {"name": "get_item", "arguments": {"id": "3"}, "_meta": {"progressToken": 1}}},
        ]:
            assert post(server.url, body, DIRECT) == post(server.url, body, VIA_RMCP), body
        error = json.loads(post(server.url, {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "no_such_tool"}}, DIRECT)[2])
        assert error["error"]["code"] == -32602
        # Exactly the qualifying calls of known tools were answered directly.
        answered = server.log().count("tools/call answered directly")
        assert answered == len(CALLS) + 1, server.log()
    finally:
        server.stop()
    assert upstream.requests, "the calls reached the upstream"
