"""Attacks through a tool call's input and the server's configuration (issue 14, findings 4, 10
and 11), replayed the way the security review made them, each bounded in count and time:

- finding 4: a user name and password in the upstream URL were logged at INFO at start-up
  (HTTP and stdio); now no log line, at RUST_LOG=debug, carries them, while the upstream still
  receives them as basic authentication;
- finding 10: the media type of a `data:` URI was copied into a multipart part header unchecked
  (CRLF injection); now such a call is a tool error and nothing reaches the upstream;
- finding 11: did-you-mean compared a 4 MiB unknown argument name with every known name (0.26 s
  of CPU in release per call); now a long name gets no suggestion and the call returns at once,
  with the name quoted short.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import LOG_DIR, HttpServer
from upstream import Canned, Recorded, RecordingUpstream

MCP_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-06-18",
}
USER = "svc-attack"
PASSWORD = "pw-Zq7vK2mXr9"
# A body limit above the 4 MiB key (the default limit is 4 MiB).
BIG_BODY = str(16 * 1024 * 1024)


@pytest.fixture(scope="module")
def server(server_bin: Path, upstream: RecordingUpstream) -> Iterator[HttpServer]:
    s = HttpServer(server_bin, upstream.base_url, "attack-inputs", env={"RUST_LOG": "debug"}, extra=["--max-body-bytes", BIG_BODY])
    yield s
    s.stop()


def rpc(port: int, method: str, params: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/mcp", body=body, headers=MCP_HEADERS)
        response = conn.getresponse()
        raw = response.read()
        assert response.status == 200, raw[:500]
        return json.loads(raw)
    finally:
        conn.close()


def text_of(result: dict[str, Any]) -> str:
    return "\n".join(c.get("text", "") for c in result.get("content", []))


# --- finding 10: CRLF in a data: URI's media type ---------------------------------------------------


@pytest.mark.parametrize(
    "file",
    [
        "data:image/png\r\nX-Injected: yes;base64,aGVsbG8=",
        "data:image/png\nX-Injected: yes,hello",
        "data:text/plain\r\n\r\n--injected-part;base64,aGVsbG8=",
    ],
)
def test_a_data_uri_cannot_inject_multipart_headers(server: HttpServer, upstream: RecordingUpstream, file: str) -> None:
    upstream.clear()
    answer = rpc(server.port, "tools/call", {"name": "upload", "arguments": {"file": file}})
    result = answer["result"]
    assert result.get("isError") is True, result
    assert "media type" in text_of(result), text_of(result)
    assert upstream.requests == [], "nothing reaches the upstream"


def test_a_valid_data_uri_still_sets_the_part_type(server: HttpServer, upstream: RecordingUpstream) -> None:
    upstream.route("POST", "/api/upload", lambda req: Canned(200, json.dumps({"size": len(req.body)}).encode(), "application/json"))
    upstream.clear()
    answer = rpc(server.port, "tools/call", {"name": "upload", "arguments": {"file": "data:image/png;base64,aGVsbG8="}})
    assert answer["result"].get("isError") is not True, answer
    (req,) = upstream.requests
    assert b"content-type: image/png\r\n" in req.body
    assert b"X-Injected" not in req.body


# --- finding 11: did-you-mean on a huge name ----------------------------------------------------------


def test_a_4_mib_unknown_argument_name_returns_quickly(server: HttpServer, upstream: RecordingUpstream) -> None:
    huge = "idd" * (4 * 1024 * 1024 // 3)
    upstream.clear()
    started = time.monotonic()
    answer = rpc(server.port, "tools/call", {"name": "get_item", "arguments": {"id": "1", huge: 1}})
    seconds = time.monotonic() - started
    # A blow-up guard, not a benchmark: the review measured 0.26 s of CPU in release; a debug
    # build comparing the whole name would take many seconds.
    assert seconds < 2.0, f"{seconds:.2f} s"
    result = answer["result"]
    assert result.get("isError") is True
    text = text_of(result)
    assert "Unknown argument" in text and "did you mean" not in text, text[:300]
    assert len(text) < 4096, f"the error quotes {len(text)} characters"
    assert upstream.requests == []


def test_a_4_mib_unknown_tool_name_returns_quickly(server: HttpServer) -> None:
    huge = "get_itme" * (4 * 1024 * 1024 // 8)
    started = time.monotonic()
    answer = rpc(server.port, "tools/call", {"name": huge, "arguments": {}})
    seconds = time.monotonic() - started
    assert seconds < 2.0, f"{seconds:.2f} s"
    error = answer["error"]
    assert "unknown tool" in error["message"]
    assert len(error["message"]) < 4096


def test_ordinary_typos_still_get_a_suggestion(server: HttpServer) -> None:
    answer = rpc(server.port, "tools/call", {"name": "get_item", "arguments": {"idd": "1"}})
    assert "did you mean `id`" in text_of(answer["result"]), answer


# --- finding 4: credentials of the upstream URL in the logs --------------------------------------------


def secrets_in(text: str) -> list[str]:
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return [s for s in (PASSWORD, basic, f"{USER}:") if s in text]


def test_upstream_url_credentials_are_sent_but_never_logged(server_bin: Path, upstream: RecordingUpstream) -> None:
    port = upstream.base_url.split(":")[-1].split("/")[0]
    url = f"http://{USER}:{PASSWORD}@127.0.0.1:{port}/api"
    upstream.route("GET", "/api/items/creds", Canned(200, b'{"id": "creds", "name": "x"}', "application/json"))
    upstream.clear()
    server = HttpServer(server_bin, url, "attack-url-credentials", env={"RUST_LOG": "debug"})
    try:
        answer = rpc(server.port, "tools/call", {"name": "get_item", "arguments": {"id": "creds"}})
        assert answer["result"].get("isError") is not True, answer
        (req,) = upstream.requests
        assert req.headers["authorization"] == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        log = server.log()
        assert "upstream http://127.0.0.1:" in log, log[-2000:]
    finally:
        server.stop()
    assert secrets_in(server.log_path.read_text(errors="replace")) == [], "credentials in the HTTP server's log"

    # stdio: the start-up line, then end of input.
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [str(server_bin), "--transport", "stdio", "--upstream-url", url],
        input=b"",
        capture_output=True,
        env={**os.environ, "RUST_LOG": "debug"},
        timeout=20,
    )
    stderr = done.stderr.decode(errors="replace")
    (LOG_DIR / "attack-url-credentials-stdio.log").write_text(stderr)
    assert "over stdio, upstream http://127.0.0.1:" in stderr, stderr[-2000:]
    assert secrets_in(stderr) == [], "credentials in the stdio server's log"

    # An invalid URL with credentials: the start-up error does not show them either.
    done = subprocess.run(
        [str(server_bin), "--upstream-url", f"ftp://{USER}:{PASSWORD}@127.0.0.1/api", "--bind", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=20,
    )
    assert done.returncode == 2
    stderr = done.stderr.decode(errors="replace")
    assert "invalid upstream URL" in stderr, stderr
    assert secrets_in(stderr) == [], stderr
