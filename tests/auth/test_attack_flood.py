"""Issue 14, finding 1: the OAuth proxies' endpoints need no authentication, and they used to
remember every login in progress and every code handed out in global tables (2,000 authorize
requests with 60 KB `redirect_uri`s took RSS from 21 to 136 MiB; 8,000 more filled the table and
every real user got 503; 10,000 junk callback codes took it to 369 MiB).

Here a fresh OAuth-mode server (the crate of auth-oauth.yaml) takes 10,000 unauthenticated
requests over 32 connections, as the review sent them:
  - 2,500 /oauth/authorize with 60 KB `redirect_uri`s: refused (4xx);
  - 2,500 /oauth/authorize with the longest `redirect_uri` and `state` accepted (2,048 and 512
    bytes), each `state` different: redirected to the provider (nothing is kept);
  - 2,500 /oauth/callback with a genuine sealed `state` and a different 4,000-byte junk code
    each: handed on to the client sealed (nothing is kept);
  - 2,500 /oauth/callback with 60 KB junk codes and states: refused (4xx).
Then the official SDK's OAuth login against the real provider still succeeds, and the server's
resident memory (VmRSS, and its peak VmHWM, from /proc/PID/status) stayed under 50 MiB."""

from __future__ import annotations

import asyncio
import secrets
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Iterator

import httpx2
import pytest

from conftest import PUBLIC_CLIENT, McpServer, OAuthProvider, build_server, oauth_env
from test_oauth_flow import check_flow, run_flow
from upstream import RecordingUpstream

EACH = 2500
CONNECTIONS = 32
RSS_LIMIT_MIB = 50
FLOOD_TIME_LIMIT = 90
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
CLIENT_REDIRECT = "http://127.0.0.1:53682/callback"


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


@pytest.fixture(scope="module")
def attacked(provider: OAuthProvider, oauth_ports: dict[str, int], upstream: RecordingUpstream) -> Iterator[McpServer]:
    binary = build_server("mcpgen-auth-oauth", "tests/auth/auth-oauth.yaml")
    server = McpServer(binary, oauth_ports["attack"], upstream.base_url, "oauth-attacked", oauth_env(provider, PUBLIC_CLIENT))
    yield server
    server.stop()


def authorize_target(redirect_uri: str, state: str) -> str:
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": PUBLIC_CLIENT,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
        }
    )
    return f"/oauth/authorize?{query}"


def callback_target(state: str, code: str) -> str:
    return "/oauth/callback?" + urllib.parse.urlencode({"state": state, "code": code})


async def flood(port: int, requests: list[tuple[str, str]]) -> dict[str, list[tuple[int, str]]]:
    """Sends every (kind, target) as GET over CONNECTIONS kept-alive connections (raw HTTP/1.1: a
    client library would be the bottleneck); returns each kind's (status, Location)."""
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    results: dict[str, list[tuple[int, str]]] = {}

    async def worker() -> None:
        reader = writer = None
        while not queue.empty():
            kind, target = queue.get_nowait()
            for attempt in range(3):
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
                    assert reader is not None
                    writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
                    await writer.drain()
                    status_line = await reader.readline()
                    if not status_line:
                        raise ConnectionResetError("closed")
                    status = int(status_line.split()[1])
                    headers: dict[str, str] = {}
                    while (line := await reader.readline()) not in (b"\r\n", b""):
                        name, _, value = line.decode("latin-1").partition(":")
                        headers[name.strip().lower()] = value.strip()
                    await reader.readexactly(int(headers.get("content-length", "0")))
                    if headers.get("connection", "").lower() == "close":
                        writer.close()
                        reader = writer = None
                    results.setdefault(kind, []).append((status, headers.get("location", "")))
                    break
                except (ConnectionError, asyncio.IncompleteReadError):
                    if writer is not None:
                        writer.close()
                    reader = writer = None
                    if attempt == 2:
                        results.setdefault(kind, []).append((0, "connection failed"))
        if writer is not None:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return results


@pytest.mark.timeout(240)
def test_a_flood_of_unauthenticated_proxy_requests_keeps_nothing(
    attacked: McpServer, provider: OAuthProvider, upstream: RecordingUpstream
) -> None:
    # One genuine authorization first: its sealed `state` (what the provider would send back)
    # and the provider's metadata fetched, as on a server that has been running a while.
    with httpx2.Client(timeout=15, follow_redirects=False) as http:
        first = http.get(f"{attacked.base}{authorize_target(CLIENT_REDIRECT, 'genuine')}")
    assert first.status_code == 302, first.text
    sealed_state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(first.headers["location"]).query))["state"]
    assert "genuine" not in sealed_state
    rss_before, _ = memory_mib(attacked.process.pid)

    huge = "http://127.0.0.1:53682/" + "a" * 60_000
    prefix = "http://127.0.0.1:53682/cb?p="
    longest = prefix + "x" * (2048 - len(prefix))
    requests: list[tuple[str, str]] = []
    for i in range(EACH):
        requests.append(("huge authorize", authorize_target(huge, f"s{i}")))
        requests.append(("longest authorize", authorize_target(longest, f"{i:08d}" + "s" * 504)))
        requests.append(("junk code", callback_target(sealed_state, f"{i:08d}" + secrets.token_hex(1996))))
        requests.append(("huge callback", callback_target("x" * 30_000 + str(i), "c" * 30_000)))
    started = time.monotonic()
    results = asyncio.run(asyncio.wait_for(flood(attacked.port, requests), FLOOD_TIME_LIMIT))
    elapsed = time.monotonic() - started
    assert attacked.alive(), attacked.log()[-2000:]
    rss_after_flood, peak = memory_mib(attacked.process.pid)

    statuses = {kind: Counter(status for status, _ in got) for kind, got in results.items()}
    assert sum(len(got) for got in results.values()) == 4 * EACH, statuses
    # Refused without being kept: 400 from the proxy (414/431 would be the HTTP layer's limits).
    for kind in ("huge authorize", "huge callback"):
        assert set(statuses[kind]) <= {400, 414, 431}, (kind, statuses[kind])
    assert statuses["longest authorize"] == Counter({302: EACH}), statuses["longest authorize"]
    assert statuses["junk code"] == Counter({302: EACH}), statuses["junk code"]
    # Each junk code went to the genuine login's redirect_uri, sealed (never as sent).
    for _, location in results["junk code"]:
        assert location.startswith(CLIENT_REDIRECT + "?"), location[:200]
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        code = query["code"]
        assert query["state"] == "genuine" and len(code) > 4000, query.keys()
        assert not set(code) <= set("0123456789abcdef"), "the junk code came back as sent"

    # A real user still logs in, through the SDK and the real provider.
    flow = run_flow(attacked, "51")
    check_flow(flow, attacked, provider, upstream, "51")
    rss_after, peak = memory_mib(attacked.process.pid)
    print(
        f"flood of {4 * EACH} requests in {elapsed:.1f} s; RSS {rss_before:.1f} MiB before, "
        f"{rss_after_flood:.1f} after the flood, {rss_after:.1f} after a login; peak {peak:.1f} MiB; {statuses}"
    )
    assert elapsed < FLOOD_TIME_LIMIT
    assert peak < RSS_LIMIT_MIB, f"peak RSS {peak:.1f} MiB (before the flood: {rss_before:.1f} MiB)"
    assert rss_after < RSS_LIMIT_MIB, f"RSS {rss_after:.1f} MiB (before the flood: {rss_before:.1f} MiB)"
