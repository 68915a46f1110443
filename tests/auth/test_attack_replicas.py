"""Issue 14, "proxy state without a table": three replicas of one OAuth-mode server (the crate of
auth-oauth.yaml, the same MCP_STATE_KEY on each) behind a real haproxy on loopback, without
affinity. The official Python SDK's OAuth flow runs against the real provider with the login's
three proxy steps forced onto different replicas — /oauth/authorize to the first, /oauth/callback
to the second, /oauth/token to the third (haproxy path rules) — so each step must work from what
the previous step sealed, with no table. haproxy's log shows which replica served each request.
Then 1,000 tool calls through a round-robin backend over the three: 0 failed.

haproxy comes from the system's packages (tests/auth/run.sh installs it when missing)."""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from conftest import PUBLIC_CLIENT, McpServer, OAuthProvider, Process, build_server, free_port, oauth_env
from test_oauth_flow import check_flow, run_flow
from upstream import RecordingUpstream

REPLICAS = 3
CALLS = 1000
# Concurrent SDK clients the calls are spread over.
CLIENTS = 8
# Forced steps: path → the replica (index) that must serve it.
STEPS = {"/oauth/authorize": 0, "/oauth/callback": 1, "/oauth/token": 2}
# One log line per request: "<backend>/<server> <status> <method> <path>".
LOG_LINE = re.compile(r"^(\S+)/(\S+) (\d{3}) (\S+) (\S+)$")


def haproxy_binary() -> str:
    found = os.environ.get("AUTH_HAPROXY") or shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(found).exists():
        pytest.fail("haproxy is not installed (tests/auth/run.sh installs it)", pytrace=False)
    return found


def haproxy_config(port: int, replicas: list[McpServer]) -> str:
    servers = "\n".join(f"    server r{i} 127.0.0.1:{r.port}" for i, r in enumerate(replicas))
    forced = []
    rules = []
    for path, index in STEPS.items():
        name = path.rsplit("/", 1)[1]
        rules.append(f"    use_backend step_{name} if {{ path {path} }}")
        forced.append(f"backend step_{name}\n    server r{index} 127.0.0.1:{replicas[index].port}\n")
    return f"""global
    log stdout format raw local0
defaults
    mode http
    log global
    log-format "%b/%s %ST %HM %HP"
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend balancer
    bind 127.0.0.1:{port}
{chr(10).join(rules)}
    default_backend round_robin
backend round_robin
    balance roundrobin
{servers}
{chr(10).join(forced)}"""


@dataclass
class Balanced:
    """The load balancer's address (what clients and the provider see) and what is behind it."""

    base: str
    url: str
    replicas: list[McpServer]
    haproxy: Process

    def served(self) -> list[tuple[str, str, int, str, str]]:
        """(backend, server, status, method, path) of every request haproxy logged so far."""
        out = []
        for line in self.haproxy.log().splitlines():
            match = LOG_LINE.match(line.strip())
            if match:
                backend, server, status, method, path = match.groups()
                out.append((backend, server, int(status), method, path))
        return out


@pytest.fixture(scope="module")
def balanced(provider: OAuthProvider, oauth_ports: dict[str, int], upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Balanced]:
    binary = build_server("mcpgen-auth-oauth", "tests/auth/auth-oauth.yaml")
    port = oauth_ports["replicas"]
    base = f"http://127.0.0.1:{port}"
    env = {**oauth_env(provider, PUBLIC_CLIENT), "MCP_STATE_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
    replicas: list[McpServer] = []
    haproxy = None
    try:
        for i in range(REPLICAS):
            replicas.append(McpServer(binary, free_port(), upstream.base_url, f"replica-{i}", env, public_url=base))
        config = tmp_path_factory.mktemp("haproxy") / "haproxy.cfg"
        config.write_text(haproxy_config(port, replicas))
        haproxy = Process([haproxy_binary(), "-db", "-f", str(config)], "haproxy")
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if not haproxy.alive() or time.monotonic() > deadline:
                pytest.fail(f"haproxy did not come up on {base}: {haproxy.log()}", pytrace=False)
            time.sleep(0.1)
        yield Balanced(base, f"{base}/mcp", replicas, haproxy)
    finally:
        if haproxy is not None:
            haproxy.stop()
        for replica in replicas:
            replica.stop()


def test_replicas_with_a_state_key_say_nothing_of_a_single_instance(balanced: Balanced, oauth_server: McpServer) -> None:
    for replica in balanced.replicas:
        assert "MCP_STATE_KEY is not set" not in replica.log(), replica.log()
    # The suite's single server runs without a key: it says that logins need a single replica.
    assert "MCP_STATE_KEY is not set" in oauth_server.log(), oauth_server.log()
    assert "every step of a login must reach this same instance" in oauth_server.log()


@pytest.mark.timeout(240)
def test_login_with_each_proxy_step_on_another_replica_then_1000_calls(
    balanced: Balanced, provider: OAuthProvider, upstream: RecordingUpstream
) -> None:
    before = len(balanced.served())
    flow = run_flow(balanced, "41")  # type: ignore[arg-type]
    check_flow(flow, balanced, provider, upstream, "41")  # type: ignore[arg-type]

    # Each proxy step was served by the replica it was forced to, and by no other.
    served = balanced.served()[before:]
    for path, index in STEPS.items():
        steps = [(b, s, status) for b, s, status, _, p in served if p == path]
        assert steps, f"haproxy logged no {path}: {served}"
        assert {s for _, s, _ in steps} == {f"r{index}"}, f"{path} served by {steps}"
        assert all(status in (200, 302) for _, _, status in steps), f"{path}: {steps}"
    # Three different processes, each of which saw only its step of the login.
    assert len({r.process.pid for r in balanced.replicas}) == REPLICAS

    # 1,000 tool calls with the access token, round-robin over the three.
    assert flow.storage.tokens is not None
    token = flow.storage.tokens.access_token
    upstream.clear()
    before = len(balanced.served())
    failures: list[str] = []
    done = 0

    async def one_client(count: int) -> None:
        nonlocal done
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
        async with http, Client(streamable_http_client(balanced.url, http_client=http)) as client:
            for i in range(count):
                try:
                    result = await client.call_tool("get_item", {"id": f"c{i}"})
                except Exception as e:  # noqa: BLE001 - every failure is counted and shown
                    failures.append(repr(e))
                    continue
                if result.is_error or result.structured_content != {"id": f"c{i}", "name": "Widget"}:
                    failures.append(repr(result)[:300])
                done += 1

    async def main() -> None:
        with anyio.fail_after(180):
            async with anyio.create_task_group() as group:
                for _ in range(CLIENTS):
                    group.start_soon(one_client, CALLS // CLIENTS)

    started = time.monotonic()
    anyio.run(main)
    elapsed = time.monotonic() - started
    assert failures == [], f"{len(failures)} of {CALLS} calls failed: {failures[:5]}"
    assert done == CALLS
    calls = [r for r in upstream.requests if r.method == "GET" and r.path.startswith("/api/items/c")]
    assert len(calls) == CALLS, len(calls)
    per_replica = Counter(s for b, s, _, _, p in balanced.served()[before:] if b == "round_robin" and p == "/mcp")
    assert set(per_replica) == {f"r{i}" for i in range(REPLICAS)}, per_replica
    assert min(per_replica.values()) >= CALLS // REPLICAS - 10, per_replica
    print(f"{CALLS} calls through haproxy in {elapsed:.1f} s; /mcp requests per replica: {dict(per_replica)}")
