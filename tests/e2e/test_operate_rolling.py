"""A rolling restart without a failed call (issue 15): three replicas of the generated server
behind a real load balancer on loopback (haproxy, from the system's packages, health-checking
`/readyz`), several clients of the official Python SDK calling tools through it, and each replica
SIGTERMed and started again in turn. The server's drain (`/readyz` 503 while it keeps serving,
then closing with the calls in flight finished) is what makes that work: the load balancer takes
a replica out before it closes."""

from __future__ import annotations

import shutil
import signal
import subprocess
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import anyio
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from conftest import LOG_DIR, free_port, server_args
from test_operate_server import item
from upstream import Canned, Recorded, RecordingUpstream, stop_process, wait_until_healthy

REPLICAS = 3
CLIENTS = 4
DRAIN_SECS = 2
# haproxy's health checks: every 200 ms, out after one failure, back after two successes.
CHECK = "inter 200ms fall 1 rise 2"


class Replica:
    def __init__(self, binary: Path, upstream_url: str, port: int, generation: int) -> None:
        self.port = port
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"rolling-{port}-{generation}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                str(binary),
                *server_args(upstream_url),
                "--bind",
                f"127.0.0.1:{port}",
                "--drain-secs",
                str(DRAIN_SECS),
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_until_healthy(self.process, f"http://127.0.0.1:{port}/readyz", 20, self.log, self.kill)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def terminate(self) -> int:
        """SIGTERM, as Kubernetes sends it; the exit status."""
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(DRAIN_SECS + 10)
        self._log.close()
        return status

    def kill(self) -> None:
        stop_process(self.process)
        if not self._log.closed:
            self._log.close()


class Haproxy:
    def __init__(self, ports: list[int], workdir: Path) -> None:
        self.port = free_port()
        servers = "\n".join(f"    server r{i} 127.0.0.1:{port} check" for i, port in enumerate(ports))
        config = workdir / "haproxy.cfg"
        config.write_text(
            textwrap.dedent(
                """\
                global
                    maxconn 512
                defaults
                    mode http
                    timeout connect 2s
                    timeout client 30s
                    timeout server 30s
                    # A connection refused (a replica between two health checks) goes to another.
                    retries 3
                    option redispatch
                    retry-on conn-failure
                frontend mcp
                    bind 127.0.0.1:{port}
                    default_backend replicas
                backend replicas
                    balance roundrobin
                    option httpchk GET /readyz
                    http-check expect status 200
                    default-server {check}
                """
            ).format(port=self.port, check=CHECK)
            + servers
            + "\n"
        )
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self._log = (LOG_DIR / "haproxy.log").open("wb")
        self.process = subprocess.Popen(
            [shutil.which("haproxy") or "haproxy", "-db", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while not self.all_up(len(ports)):
            assert self.process.poll() is None, (LOG_DIR / "haproxy.log").read_text()
            assert time.monotonic() < deadline, "haproxy did not find the replicas ready"
            time.sleep(0.1)

    def all_up(self, count: int) -> bool:
        """Whether haproxy forwards to the replicas (a request answered through it)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


@pytest.fixture()
def slow_shop() -> Iterator[RecordingUpstream]:
    """The shop, each answer after 50 ms: calls are in flight whenever a replica stops."""
    upstream = RecordingUpstream().start()

    def answer(req: Recorded) -> Canned:
        canned = item(req)
        canned.delay = 0.05
        return canned

    upstream.fallback(answer)
    yield upstream
    upstream.stop()


def test_a_rolling_restart_fails_no_call(server_bin: Path, slow_shop: RecordingUpstream, tmp_path: Path) -> None:
    if shutil.which("haproxy") is None:
        pytest.fail("haproxy is missing: run the suite with tests/e2e/run.sh (it installs it)", pytrace=False)
    ports = [free_port() for _ in range(REPLICAS)]
    replicas = [Replica(server_bin, slow_shop.base_url, port, 0) for port in ports]
    lb = Haproxy(ports, tmp_path)
    failures: list[str] = []
    counts = [0] * CLIENTS
    exits: list[int] = []
    try:

        async def client(index: int, done: anyio.Event) -> None:
            async with Client(streamable_http_client(lb.url), read_timeout_seconds=30) as session:
                while not done.is_set():
                    ident = f"c{index}-{counts[index]}"
                    try:
                        result = await session.call_tool("get_item", {"id": ident})
                    except Exception as e:  # noqa: BLE001: every failure is counted
                        failures.append(f"{ident}: {e!r}")
                        continue
                    if result.is_error or (result.structured_content or {}).get("id") != ident:
                        failures.append(f"{ident}: {result}")
                    counts[index] += 1

        def roll() -> None:
            for i, port in enumerate(ports):
                time.sleep(1)
                exits.append(replicas[i].terminate())
                replicas[i] = Replica(server_bin, slow_shop.base_url, port, 1)
                # Back in haproxy's rotation after two health checks.
                time.sleep(1)
            time.sleep(1)

        async def main() -> None:
            done = anyio.Event()
            with anyio.fail_after(120):
                async with anyio.create_task_group() as group:
                    for index in range(CLIENTS):
                        group.start_soon(client, index, done)
                    await anyio.to_thread.run_sync(roll)
                    done.set()

        anyio.run(main)
    finally:
        lb.stop()
        for replica in replicas:
            replica.kill()
    total = sum(counts)
    print(f"rolling restart: {total} calls by {CLIENTS} clients, {len(failures)} failed")
    assert failures == [], f"{len(failures)} of {total + len(failures)} calls failed: {failures[:5]}"
    assert exits == [0] * REPLICAS, exits
    assert total >= 100, f"only {total} calls made"
    assert all(count > 0 for count in counts), counts
    assert len(slow_shop.requests) == total
    # Every replica drained: each old one's log says so.
    for port in ports:
        log = (LOG_DIR / f"rolling-{port}-0.log").read_text()
        assert "draining" in log and "shutting down" in log, log
