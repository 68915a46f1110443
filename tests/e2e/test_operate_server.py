"""Operating the generated server (issue 15, DESIGN.md §6), driven by the official Python SDK:
`/readyz` and SIGTERM draining, `/metrics` parsed by Prometheus's own text parser
(`prometheus_client`) with counts matching the calls made, and W3C trace context continued
into the upstream request. Each test starts its own upstream and server."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import anyio
import pytest
from mcp import Client, types
from mcp.client.streamable_http import streamable_http_client
from prometheus_client.parser import text_string_to_metric_families

from conftest import HttpServer, free_port
from upstream import Canned, Recorded, RecordingUpstream

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN}-01"


def item(req: Recorded) -> Canned:
    """`/items/<id>`: 500 for id `boom`, a 1.8 s wait for `slow`, else the item."""
    ident = req.path.rsplit("/", 1)[1]
    if ident == "boom":
        return Canned(500, b'{"error":"boom"}', "application/json")
    body = json.dumps({"id": ident, "name": "Widget", "price": None, "tags": []}).encode()
    return Canned(200, body, "application/json", delay=1.8 if ident == "slow" else 0.0)


@pytest.fixture()
def shop() -> Iterator[RecordingUpstream]:
    upstream = RecordingUpstream().start()
    upstream.fallback(item)
    yield upstream
    upstream.stop()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


async def calls(url: str, batch: list[tuple[str, dict[str, Any]]], meta: dict | None = None) -> list[types.CallToolResult]:
    async with Client(streamable_http_client(url), read_timeout_seconds=30) as client:
        return [await client.call_tool(name, args, meta=meta) for name, args in batch]


def run_calls(url: str, batch: list[tuple[str, dict[str, Any]]], meta: dict | None = None) -> list[types.CallToolResult]:
    out: list[list[types.CallToolResult]] = []

    async def main() -> None:
        out.append(await calls(url, batch, meta))

    anyio.run(main)
    return out[0]


def post_call(url: str, name: str, arguments: dict[str, Any], headers: dict[str, str] | None = None) -> dict:
    """One stateless `tools/call` POST (protocol 2025-06-18, no initialize: allowed for a
    stateless server) on one connection; the JSON-RPC response."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
            **(headers or {}),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, parsed by prometheus_client, by name and
    sorted labels."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(parsed: dict, name: str, **labels: str) -> float:
    return parsed.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_the_calls_made_by_outcome(server_bin: Path, shop: RecordingUpstream) -> None:
    server = HttpServer(server_bin, shop.base_url, "operate-metrics")
    try:
        base = server.url.removesuffix("/mcp")
        before = samples(get(f"{base}/metrics")[1])
        assert value(before, "mcp_calls_in_flight") == 0
        results = run_calls(
            server.url,
            [("get_item", {"id": str(i)}) for i in range(5)]
            + [("get_item", {"id": "boom"})] * 2
            + [("get_item", {"id": 7})] * 3  # not a string: rejected before any upstream request
            + [("get_item", {})],  # `id` missing: rejected
        )
        assert [r.is_error for r in results] == [False] * 5 + [True] * 6
        # An unknown tool: a JSON-RPC error, counted as rejected under `_unknown`.
        with pytest.raises(Exception):
            run_calls(server.url, [("no_such_tool", {})])
        status, text = get(f"{base}/metrics")
        assert status == 200
        parsed = samples(text)
        assert value(parsed, "mcp_tool_calls_total", tool="get_item", outcome="success") == 5
        assert value(parsed, "mcp_tool_calls_total", tool="get_item", outcome="tool_error") == 2
        assert value(parsed, "mcp_tool_calls_total", tool="get_item", outcome="rejected") == 4
        assert value(parsed, "mcp_tool_calls_total", tool="_unknown", outcome="rejected") == 1
        assert value(parsed, "mcp_tool_call_duration_seconds_count", tool="get_item") == 11
        assert value(parsed, "mcp_tool_call_duration_seconds_bucket", tool="get_item", le="+Inf") == 11
        assert value(parsed, "mcp_upstream_responses_total", status_class="2xx") == 5
        assert value(parsed, "mcp_upstream_responses_total", status_class="5xx") == 2
        assert len(shop.requests) == 7, "rejected calls never reach the upstream"
        assert value(parsed, "mcp_calls_in_flight") == 0
        # Every /mcp request (initialize, notifications, tools/list, calls) and the first scrape.
        assert value(parsed, "mcp_http_requests_total", path="/metrics", status="200") == 1
        assert value(parsed, "mcp_http_requests_total", path="/mcp", status="200") >= 12
        assert value(parsed, "mcp_auth_rejections_total", reason="missing_token") == 0
        # Unknown paths share one label.
        assert get(f"{base}/wp-login.php")[0] == 404
        parsed = samples(get(f"{base}/metrics")[1])
        assert value(parsed, "mcp_http_requests_total", path="other", status="404") == 1
        assert server.alive(), server.log()
    finally:
        server.stop()


def test_metrics_on_their_own_address(server_bin: Path, shop: RecordingUpstream) -> None:
    metrics_port = free_port()
    server = HttpServer(
        server_bin, shop.base_url, "operate-metrics-bind", extra=["--metrics-bind", f"127.0.0.1:{metrics_port}"]
    )
    try:
        base = server.url.removesuffix("/mcp")
        assert get(f"{base}/metrics")[0] == 404
        run_calls(server.url, [("get_item", {"id": "1"})])
        status, text = get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert status == 200
        assert value(samples(text), "mcp_tool_calls_total", tool="get_item", outcome="success") == 1
    finally:
        server.stop()


def test_sigterm_drains_then_finishes_the_calls_in_flight(server_bin: Path, shop: RecordingUpstream) -> None:
    server = HttpServer(server_bin, shop.base_url, "operate-drain", extra=["--drain-secs", "2"])
    try:
        base = server.url.removesuffix("/mcp")
        assert get(f"{base}/readyz") == (200, "ready")
        server.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        # 503 at once; the server keeps serving calls while draining.
        deadline = started + 1
        while get(f"{base}/readyz")[0] != 503:
            assert time.monotonic() < deadline, "/readyz still 200 one second after SIGTERM"
            time.sleep(0.02)
        assert get(f"{base}/readyz") == (503, "draining")
        assert get(f"{base}/healthz") == (200, "ok")
        [result] = run_calls(server.url, [("get_item", {"id": "during-drain"})])
        assert not result.is_error, result
        # A call that starts before the drain ends and waits 1.8 s at the upstream (the upstream timeout is 2 s): the server
        # stops accepting while it runs (new connections are refused), and it still completes.
        slow: list[dict] = []
        time.sleep(max(0.0, started + 0.8 - time.monotonic()))
        thread = threading.Thread(target=lambda: slow.append(post_call(server.url, "get_item", {"id": "slow"})))
        thread.start()
        time.sleep(max(0.0, started + 2.3 - time.monotonic()))
        assert thread.is_alive(), "the slow call is still in flight after the drain"
        with pytest.raises(OSError):
            urllib.request.urlopen(f"{base}/healthz", timeout=2)
        thread.join(10)
        assert slow and not slow[0]["result"].get("isError"), (slow, server.log())
        assert slow[0]["result"]["structuredContent"]["id"] == "slow"
        server.process.wait(10)
        assert server.process.returncode == 0, server.log()
        elapsed = time.monotonic() - started
        assert 2 <= elapsed < 8, elapsed
        log = server.log()
        assert "draining" in log and "shutting down" in log, log
        assert "panicked" not in log
    finally:
        server.stop()


def test_a_traceparent_continues_into_the_upstream_request(server_bin: Path, shop: RecordingUpstream) -> None:
    server = HttpServer(server_bin, shop.base_url, "operate-trace")
    try:
        # In params._meta (MCP SEP-414), with a tracestate.
        shop.clear()
        run_calls(server.url, [("get_item", {"id": "1"})], meta={"traceparent": TRACEPARENT, "tracestate": "k=v"})
        sent = shop.only().headers
        version, trace_id, span_id, flags = sent["traceparent"].split("-")
        assert (version, trace_id, flags) == ("00", TRACE_ID, "01")
        assert span_id != PARENT_SPAN and len(span_id) == 16, "the server's own span id"
        assert sent["tracestate"] == "k=v"
        # On the HTTP request (the plain tools/call route).
        shop.clear()
        other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
        answer = post_call(server.url, "get_item", {"id": "2"}, {"traceparent": other})
        assert answer["result"]["structuredContent"]["id"] == "2"
        sent = shop.only().headers
        assert sent["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
        assert sent["traceparent"].endswith("-00")
        assert "b7ad6b7169203331" not in sent["traceparent"]
        # Without one, nothing is invented (no exporter: no trace of our own).
        shop.clear()
        run_calls(server.url, [("get_item", {"id": "3"})])
        assert "traceparent" not in shop.only().headers
    finally:
        server.stop()


def test_json_logs(server_bin: Path, shop: RecordingUpstream) -> None:
    server = HttpServer(server_bin, shop.base_url, "operate-json-logs", extra=["--log-format", "json"])
    try:
        run_calls(server.url, [("get_item", {"id": "1"})])
    finally:
        server.stop()
    lines = [line for line in server.log_path.read_text().splitlines() if line.strip()]
    assert lines
    for line in lines:
        record = json.loads(line)
        assert {"timestamp", "level", "fields"} <= record.keys(), record
    assert any("tools at http://" in json.loads(line)["fields"].get("message", "") for line in lines)


def test_healthcheck_flag(server_bin: Path, shop: RecordingUpstream) -> None:
    server = HttpServer(server_bin, shop.base_url, "operate-healthcheck")
    try:
        ok = subprocess.run([str(server_bin), "--healthcheck", "--bind", f"0.0.0.0:{server.port}"], capture_output=True, timeout=10)
        assert ok.returncode == 0, ok.stderr
    finally:
        server.stop()
    down = subprocess.run([str(server_bin), "--healthcheck", "--bind", f"127.0.0.1:{server.port}"], capture_output=True, timeout=10)
    assert down.returncode == 1
    assert b"unhealthy" in down.stderr
