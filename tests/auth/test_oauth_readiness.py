"""`/readyz` in mode oauth (DESIGN §6): a replica whose OAuth provider cannot be reached yet is
alive (`/healthz` 200) but not ready (`/readyz` 503 `starting`), so a load balancer sends it no
logins; once the provider answers (its metadata and keys fetched, retried every 2 s) it is ready,
and logins' token checks work at once."""

from __future__ import annotations

import secrets
import time
import urllib.error
import urllib.request

import pytest

from conftest import PUBLIC_CLIENT, RESOURCE_SCOPE, McpServer, build_server, free_port, start_provider
from helpers import post_mcp, rpc_result, tools_call
from tokens import AUDIENCE, Keys, Minter
from upstream import RecordingUpstream


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_not_ready_until_the_provider_answers(keys: Keys, upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory) -> None:
    provider_port, server_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{provider_port}"
    binary = build_server("mcpgen-auth-oauth", "tests/auth/auth-oauth.yaml")
    server = McpServer(
        binary,
        server_port,
        upstream.base_url,
        "oauth-readiness",
        {
            "OAUTH_ISSUER": issuer,
            "OAUTH_METADATA_URL": f"{issuer}/.well-known/openid-configuration",
            "OAUTH_CLIENT_ID": PUBLIC_CLIENT,
        },
    )
    process = None
    try:
        # Nothing listens on the provider's port: alive, not ready, for as long as that lasts.
        for _ in range(3):
            assert get(f"{server.base}/healthz") == (200, "ok")
            assert get(f"{server.base}/readyz") == (503, "starting")
            time.sleep(1)
        assert "OAuth provider not reachable yet" in server.log()

        config = {
            "port": provider_port,
            "jwks": keys.provider_jwks(),
            "audience": AUDIENCE,
            "resource_scope": RESOURCE_SCOPE,
            "cookie_keys": [secrets.token_urlsafe(16)],
            "clients": [
                {
                    "client_id": PUBLIC_CLIENT,
                    "token_endpoint_auth_method": "none",
                    "redirect_uris": [f"http://127.0.0.1:{server_port}/oauth/callback"],
                }
            ],
        }
        started, process = start_provider(config, tmp_path_factory, "provider-readiness")
        assert started == issuer
        deadline = time.monotonic() + 15
        while get(f"{server.base}/readyz") != (200, "ready"):
            assert time.monotonic() < deadline, f"not ready 15 s after the provider started:\n{server.log()}"
            time.sleep(0.2)
        assert "OAuth provider reached: ready" in server.log()
        # Ready means the keys are there: a token signed with the provider's key is accepted.
        token = Minter(keys, issuer).rs256()
        response = post_mcp(server.url, tools_call("get_item", {"id": "7"}), f"Bearer {token}")
        assert response.status_code == 200, f"HTTP {response.status_code} {response.text[:300]}"
        message = rpc_result(response)
        assert message and not message["result"].get("isError"), response.text[:500]
    finally:
        server.stop()
        if process is not None:
            process.stop()
