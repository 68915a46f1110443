"""Fixtures of the end-to-end suite: the generated crate (generated from fixtures/e2e and built
once per run), the recording upstream, the generated server over Streamable HTTP (started once)
and over stdio (started by the SDK per client), and MCP clients of the official Python SDK."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import AsyncIterator, Callable, Iterator

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from upstream import RecordingUpstream, stop_process, wait_until_healthy

REPO = Path(__file__).resolve().parents[2]
SPEC = "fixtures/e2e/openapi.yaml"
CRATE_DIR = REPO / "target" / "fixture-crates" / "e2e-run"
GEN_TARGET = REPO / "target" / "gen-crates"
LOG_DIR = REPO / "target" / "e2e-logs"
UPSTREAM_TIMEOUT = 2
# The environment of every generated-crate build (tests/gen-crates.env): another RUSTFLAGS or
# profile setting would rebuild every dependency in the shared target directory.
CARGO_ENV = {
    "CARGO_TARGET_DIR": str(GEN_TARGET),
    **dict(
        line.split("=", 1)
        for line in (REPO / "tests" / "gen-crates.env").read_text().splitlines()
        if line and not line.startswith("#")
    ),
}

TRANSPORTS = ["http", "http-legacy", "stdio"]
"""Streamable HTTP negotiated by the SDK (2026-07-28 when offered), Streamable HTTP with the
initialize handshake (pre-2026 protocol versions), and stdio."""


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 1200) -> None:
    full_env = {k: v for k, v in os.environ.items() if k != "CARGO_ENCODED_RUSTFLAGS"}
    full_env.update(env or {})
    done = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed in {cwd}:\n{done.stdout}\n{done.stderr}", pytrace=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server_bin() -> Path:
    """Generates the crate from the fixture with the freshly built mcpgen and builds it."""
    mcpgen = REPO / "target" / "debug" / "mcpgen"
    if not mcpgen.exists():
        _run(["cargo", "build", "--quiet"], REPO)
    # A scratch crate: no user-owned file of an older mcpgen may stay in it.
    shutil.rmtree(CRATE_DIR, ignore_errors=True)
    _run([str(mcpgen), "generate", SPEC, "--out", str(CRATE_DIR.relative_to(REPO))], REPO)
    _run(["cargo", "build", "--quiet"], CRATE_DIR, CARGO_ENV)
    name = re.search(r'^name = "([^"]+)"', (CRATE_DIR / "Cargo.toml").read_text(), re.M)
    assert name, "package name in the generated Cargo.toml"
    binary = GEN_TARGET / "debug" / name.group(1)
    assert binary.exists(), binary
    return binary


GITHUB_CRATE_DIR = REPO / "target" / "fixture-crates" / "e2e-github"
GITHUB_NAME = "mcpgen-e2e-github"


@pytest.fixture(scope="session")
def github_bin() -> Path:
    """The crate generated from GitHub's description (npm @octokit/openapi, fetched by run.sh
    into .cache/; E2E_GITHUB_SPEC names it), built once per run."""
    spec = os.environ.get("E2E_GITHUB_SPEC")
    if not spec or not Path(spec).is_file():
        pytest.fail("E2E_GITHUB_SPEC names no file: run the suite with tests/e2e/run.sh", pytrace=False)
    mcpgen = REPO / "target" / "debug" / "mcpgen"
    if not mcpgen.exists():
        _run(["cargo", "build", "--quiet"], REPO)
    generate = [str(mcpgen), "generate", spec, "--out", str(GITHUB_CRATE_DIR), "--name", GITHUB_NAME]
    # Regenerated only when it would change: rewritten sources would rebuild the crate (minutes).
    if subprocess.run([*generate, "--check"], cwd=REPO, capture_output=True).returncode != 0:
        shutil.rmtree(GITHUB_CRATE_DIR, ignore_errors=True)
        _run(generate, REPO)
    _run(["cargo", "build", "--quiet"], GITHUB_CRATE_DIR, CARGO_ENV, timeout=2400)
    binary = GEN_TARGET / "debug" / GITHUB_NAME
    assert binary.exists(), binary
    return binary


@pytest.fixture(scope="session")
def upstream() -> Iterator[RecordingUpstream]:
    server = RecordingUpstream().start()
    yield server
    server.stop()


def server_args(upstream_url: str) -> list[str]:
    return ["--upstream-url", upstream_url, "--upstream-timeout", str(UPSTREAM_TIMEOUT)]


class HttpServer:
    """The generated server over Streamable HTTP, killed when the session ends."""

    def __init__(
        self,
        binary: Path,
        upstream_url: str,
        label: str,
        env: dict[str, str] | None = None,
        extra: list[str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{label}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [str(binary), *server_args(upstream_url), "--bind", f"127.0.0.1:{self.port}", *(extra or [])],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        wait_until_healthy(
            self.process, f"http://127.0.0.1:{self.port}/healthz", 20, self.log, self.stop
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


@pytest.fixture(scope="session")
def http_server(server_bin: Path, upstream: RecordingUpstream) -> Iterator[HttpServer]:
    server = HttpServer(server_bin, upstream.base_url, "http")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def closed_port_url() -> str:
    """An upstream URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}/api"


@pytest.fixture(scope="session")
def dead_http_server(server_bin: Path, closed_port_url: str) -> Iterator[HttpServer]:
    server = HttpServer(server_bin, closed_port_url, "http-closed-port")
    yield server
    server.stop()


Connect = Callable[..., contextlib.AbstractAsyncContextManager[Client]]


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def connect(
    transport: str,
    request: pytest.FixtureRequest,
    server_bin: Path,
    upstream: RecordingUpstream,
) -> Connect:
    """`async with connect() as client`: an SDK client over this test's transport; `dead=True`
    connects to a server whose upstream port is closed."""

    @contextlib.asynccontextmanager
    async def open_client(dead: bool = False) -> AsyncIterator[Client]:
        if transport == "stdio":
            url = request.getfixturevalue("closed_port_url") if dead else upstream.base_url
            params = StdioServerParameters(
                command=str(server_bin),
                args=["--transport", "stdio", *server_args(url)],
                env={"RUST_LOG": "warn"},
            )
            client = Client(params, read_timeout_seconds=30)
        else:
            server = request.getfixturevalue("dead_http_server" if dead else "http_server")
            client = Client(
                streamable_http_client(server.url),
                mode="legacy" if transport == "http-legacy" else "auto",
                read_timeout_seconds=30,
            )
        async with client:
            yield client

    return open_client
