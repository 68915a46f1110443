"""Raw HTTP helpers: one JSON-RPC POST to /mcp with the headers a 2025-11-25 client sends, and
an RFC 7235 / RFC 6750 `WWW-Authenticate` parser."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2

PROTOCOL_VERSION = "2025-11-25"


def rpc(method: str, params: dict[str, Any] | None = None, id: int = 1) -> dict[str, Any]:  # noqa: A002
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        body["params"] = params
    return body


def tools_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return rpc("tools/call", {"name": name, "arguments": arguments})


def initialize() -> dict[str, Any]:
    return rpc(
        "initialize",
        {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": {"name": "auth-tests", "version": "1"}},
    )


def post_mcp(url: str, body: dict[str, Any], authorization: str | None = None) -> httpx2.Response:
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": PROTOCOL_VERSION,
    }
    if authorization is not None:
        headers["authorization"] = authorization
    with httpx2.Client(timeout=15) as http:
        return http.post(url, content=json.dumps(body), headers=headers)


def rpc_result(response: httpx2.Response) -> dict[str, Any] | None:
    """The JSON-RPC message of a response (plain JSON or the first SSE `data:` line)."""
    try:
        return response.json()
    except ValueError:
        for line in response.text.splitlines():
            if line.startswith("data:") and len(line) > 6:
                return json.loads(line[5:])
    return None


_PARAM = re.compile(r'\s*([A-Za-z0-9_\-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*(?:,|$)')


def www_authenticate(response: httpx2.Response) -> tuple[str, dict[str, str]]:
    """(scheme, params) of the response's one `WWW-Authenticate` challenge."""
    values = response.headers.get_list("www-authenticate")
    assert len(values) == 1, f"expected one WWW-Authenticate header, got {values!r}"
    value = values[0].strip()
    scheme, _, rest = value.partition(" ")
    params: dict[str, str] = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        match = _PARAM.match(rest, pos)
        assert match, f"unparsable WWW-Authenticate {value!r} at {rest[pos:]!r}"
        key = match.group(1).lower()
        assert key not in params, f"{key} twice in WWW-Authenticate {value!r}"
        quoted = match.group(2)
        params[key] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match.group(3)
        pos = match.end()
    return scheme, params
