"""Attacks on the generated server's HTTP limits (issue 14, findings 3 and 9, and the limit
flags), replayed the way the security review made them, each bounded in count and time:

- Slowloris (finding 3): 300 idle half-open connections (a partial request head each) while the
  process has 256 file descriptors (the review's machine: `ulimit -n 256`) made `/healthz` time
  out; now the connection idle the longest is closed to make room, and `/healthz` answers
  within 2 s. The same with `--max-connections` far below the descriptor limit, where the
  server's open descriptors stay bounded.
- Idle and slow clients are closed after `--header-read-timeout`; a body that does not arrive
  within `--body-read-timeout` gets 408; a body above `--max-body-bytes` gets 413; `/mcp`
  requests beyond `--max-calls-in-flight` get 503 with Retry-After.
- Stateful sessions (finding 9): 1,000 `initialize` requests with `--max-sessions 50` keep at
  most 50 sessions (the least recently used is closed: its client gets 404), and the server's
  memory stays bounded.
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from conftest import LOG_DIR, free_port, server_args
from upstream import Canned, RecordingUpstream, stop_process, wait_until_healthy

HEALTHZ_BOUND = 2.0
MCP_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-06-18",
}


class Server:
    """The generated server over HTTP with extra flags, optionally with a lower limit of open
    files (RLIMIT_NOFILE), killed at the end of the test."""

    def __init__(self, binary: Path, upstream_url: str, label: str, extra: list[str], nofile: int | None = None) -> None:
        self.port = free_port()
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{label}.log"
        self._log = self.log_path.open("wb")

        def limit_files() -> None:
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.process = subprocess.Popen(
            [str(binary), *server_args(upstream_url), "--bind", f"127.0.0.1:{self.port}", *extra],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=limit_files,
        )
        wait_until_healthy(self.process, f"http://127.0.0.1:{self.port}/healthz", 20, self.log, self.stop)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def open_files(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


@pytest.fixture
def started(server_bin: Path, upstream: RecordingUpstream) -> Iterator:
    servers: list[Server] = []

    def start(label: str, *extra: str, nofile: int | None = None) -> Server:
        server = Server(server_bin, upstream.base_url, label, list(extra), nofile)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def half_open(port: int, count: int) -> list[socket.socket]:
    """`count` connections, each with the start of a request head and nothing more."""
    held = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        held.append(s)
    return held


def close_all(sockets: list[socket.socket]) -> None:
    for s in sockets:
        s.close()


def healthz_seconds(port: int) -> float:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HEALTHZ_BOUND + 3)
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        assert response.status == 200 and response.read() == b"ok"
    finally:
        conn.close()
    return time.monotonic() - started


def closed_by_server(s: socket.socket) -> bool:
    s.settimeout(0.2)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def post_mcp(port: int, body: bytes, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/mcp", body=body, headers={**MCP_HEADERS, **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def call(name: str, arguments: dict, id_: int = 1) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": id_, "method": "tools/call", "params": {"name": name, "arguments": arguments}}).encode()


# --- finding 3: Slowloris ---------------------------------------------------------------------------


def test_healthz_answers_while_300_half_open_connections_exhaust_the_descriptors(started) -> None:
    server = started("attack-slowloris-fds", nofile=256)
    held = half_open(server.port, 300)
    try:
        for _ in range(5):
            seconds = healthz_seconds(server.port)
            assert seconds < HEALTHZ_BOUND, f"/healthz took {seconds:.2f} s with 300 idle connections"
        assert server.process.poll() is None
        # The cap stays below the descriptors, which leaves some for upstream calls.
        assert "at most 192 connections instead of 1024" in server.log()
        assert server.open_files() <= 256 - 32, server.open_files()
    finally:
        close_all(held)


def test_idle_connections_beyond_the_cap_are_closed_and_descriptors_stay_bounded(started) -> None:
    server = started("attack-slowloris-cap", "--max-connections", "50")
    baseline = server.open_files()
    held = half_open(server.port, 300)
    try:
        for _ in range(5):
            seconds = healthz_seconds(server.port)
            assert seconds < HEALTHZ_BOUND, f"/healthz took {seconds:.2f} s with 300 idle connections"
        assert server.open_files() <= baseline + 50 + 2, server.open_files()
        # The oldest were closed to make room, the newest are kept.
        assert sum(closed_by_server(s) for s in held[:200]) >= 190
    finally:
        close_all(held)


def test_idle_and_slow_connections_are_closed_after_the_header_read_timeout(started) -> None:
    server = started("attack-header-timeout", "--header-read-timeout", "2")
    baseline = server.open_files()
    held = half_open(server.port, 100)
    silent = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(20)]
    try:
        time.sleep(3.5)
        assert all(closed_by_server(s) for s in held), "a slow request head outlived the timeout"
        assert all(closed_by_server(s) for s in silent), "a silent connection outlived the timeout"
        assert server.open_files() <= baseline + 2
        # A connection that keeps sending requests is not cut: each response restarts its clock.
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        for _ in range(3):
            conn.request("GET", "/healthz")
            assert conn.getresponse().read() == b"ok"
            time.sleep(1.0)
        conn.close()
    finally:
        close_all(held + silent)


def test_a_body_that_does_not_arrive_gets_408(started) -> None:
    server = started("attack-body-timeout", "--body-read-timeout", "2")
    s = socket.create_connection(("127.0.0.1", server.port), timeout=8)
    try:
        started_at = time.monotonic()
        s.sendall(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Accept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\":"
        )
        answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert time.monotonic() - started_at < 5
    finally:
        s.close()


def test_a_body_above_the_size_limit_gets_413(started) -> None:
    server = started("attack-body-size", "--max-body-bytes", "100000")
    status, _, body = post_mcp(server.port, call("get_item", {"id": "1", "pad": "x" * 200_000}))
    assert status == 413, body[:300]
    assert b"MCP_MAX_BODY_BYTES" in body


def test_calls_beyond_the_in_flight_cap_get_503(started, upstream: RecordingUpstream) -> None:
    upstream.route("GET", "/api/items/held", Canned(200, b'{"id": "held", "name": "x"}', "application/json", delay=2.0))
    server = started("attack-in-flight", "--max-calls-in-flight", "2")
    statuses: list[int] = []

    def one() -> None:
        status, _, _ = post_mcp(server.port, call("get_item", {"id": "held"}))
        statuses.append(status)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.7)
    status, headers, body = post_mcp(server.port, call("get_item", {"id": "held"}))
    assert status == 503, body[:300]
    assert headers.get("retry-after") == "1"
    assert b"MCP_MAX_CALLS_IN_FLIGHT" in body
    assert healthz_seconds(server.port) < HEALTHZ_BOUND, "/healthz is not capped"
    for t in threads:
        t.join(10)
    assert statuses == [200, 200]
    # Once they finish, calls are accepted again.
    status, _, _ = post_mcp(server.port, call("get_item", {"id": "1"}))
    assert status == 200


# --- finding 9: stateful sessions ---------------------------------------------------------------------


INITIALIZE = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "attack", "version": "1"}},
    }
).encode()


def test_stateful_sessions_are_capped(started) -> None:
    server = started("attack-sessions", "--stateful", "--max-sessions", "50")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    sessions: list[str] = []

    def initialize() -> str:
        conn.request("POST", "/mcp", body=INITIALIZE, headers=MCP_HEADERS)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status
        session = response.getheader("mcp-session-id")
        assert session
        return session

    for _ in range(100):
        sessions.append(initialize())
    before = server.rss_kib()
    for _ in range(900):
        sessions.append(initialize())
    grown = server.rss_kib() - before
    conn.close()
    # 900 more sessions: memory of 50 at most (the review saw +153 MiB for 3,000).
    assert grown < 20 * 1024, f"RSS grew by {grown} KiB"

    def status_of(session: str) -> int:
        body = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).encode()
        status, _, _ = post_mcp(server.port, body, {"Mcp-Session-Id": session})
        return status

    assert status_of(sessions[0]) == 404, "the oldest session was closed"
    assert status_of(sessions[-1]) == 200, "the newest session works"
    assert "at most 50 sessions are kept" in server.log()
