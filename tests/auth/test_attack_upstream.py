"""Attacks on the upstream credentials (issue 14, findings 6, 7 and 8), replayed the way the
security review made them against the crate of fixtures/upstream-auth, the recording upstream
and this suite's real OAuth server (oidc-provider, provider.mjs, which counts every grant):

- finding 6: a query API key was logged at debug when a same-origin redirect kept the query;
  now every log line is searched for the secrets where it is written, and none appears at
  RUST_LOG=debug (nor a caller's forwarded token that the API echoes);
- finding 7: with `forward: true` the caller's token went to operations with `security: []`
  and to API-key-only operations; now it goes only where a bearer-token scheme is used;
- finding 8: an upstream that answers 401 to every token made a client-credentials token
  request on every call (20 calls → 21 token requests); now the token fetched after the first
  refusal is kept for a back-off, so 20 calls cost 2 token requests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

import test_upstream as tu
from conftest import BEARER_TOKENS, CC_CLIENT, McpServer, OAuthProvider, build_server, free_port
from upstream import Canned, Recorded, RecordingUpstream

Start = Callable[..., McpServer]


@pytest.fixture(scope="module")
def binary() -> Path:
    return build_server("mcpgen-upstream-auth", tu.AUTH, tu.SPEC)


@pytest.fixture
def start(binary: Path, upstream: RecordingUpstream, provider: OAuthProvider) -> Iterator[Start]:
    started: list[McpServer] = []

    def run(label: str, binary_: Path = binary, **overrides: str | None) -> McpServer:
        server = McpServer(binary_, free_port(), upstream.base_url, label, tu.server_env(provider, **overrides))
        started.append(server)
        return server

    yield run
    for server in started:
        server.stop()


@pytest.fixture(autouse=True)
def echo_routes(upstream: RecordingUpstream) -> Iterator[None]:
    for method, path in tu.OPERATIONS:
        upstream.route(method, f"/api/{path}", tu.echo)
    yield
    for method, path in tu.OPERATIONS:
        upstream.route(method, f"/api/{path}", tu.echo)


def secrets_in(text: str, provider: OAuthProvider) -> list[str]:
    return [s for s in tu.all_secrets(provider) if s in text]


# --- finding 6 ------------------------------------------------------------------------------------


def test_a_query_key_kept_by_a_same_origin_redirect_is_in_no_log_line(
    start: Start, upstream: RecordingUpstream, provider: OAuthProvider
) -> None:
    def moved(req: Recorded) -> Canned:
        # The API moved the resource and keeps the query (the key included) in Location.
        return Canned(302, b"", None, headers={"Location": f"/api/query-key/v2?{req.query}"})

    upstream.route("GET", "/api/query-key", moved)
    upstream.route("GET", "/api/query-key/v2", tu.echo)
    server = start("attack-redirect-query-key")
    (result,) = tu.call_all(server.url, [("query_key", {"q": "find me"})])
    assert not result.is_error, tu.text_of(result)
    first, second = upstream.requests
    assert second.path == "/api/query-key/v2"
    assert tu.QUERY_KEY in first.query.replace("%2F", "/").replace("%2B", "+").replace("%3D", "=")
    log = server.log()
    assert "following a redirect" in log, "RUST_LOG=debug logs the redirect"
    assert "[REDACTED]" in log
    assert secrets_in(log, provider) == [], "a secret in the debug log"


# --- finding 7 ------------------------------------------------------------------------------------


def test_the_forwarded_token_goes_to_bearer_token_operations_only(
    start: Start, upstream: RecordingUpstream, provider: OAuthProvider
) -> None:
    binary = build_server("mcpgen-upstream-forward", tu.FORWARD_AUTH, tu.SPEC)
    caller = BEARER_TOKENS[1]
    server = start("attack-forward", binary, MCP_TOKENS=",".join(BEARER_TOKENS))
    calls = ["public", "header_key", "query_key", "cookie_key", "or_pair", "legacy", "basic", "bearer", "me"]
    results = tu.call_all(server.url, [(name, {}) for name in calls], f"Bearer {caller}")
    for name, result in zip(calls, results):
        assert not result.is_error, f"{name}: {tu.text_of(result)}"
    carried = {r.path.removeprefix("/api/"): caller in str(r.headers) + r.query + r.target for r in upstream.requests}
    assert carried == {
        # No credentials (`security: []`), API keys only, an unsupported scheme, basic: never.
        "public": False,
        "header-key": False,
        "query-key": False,
        "cookie-key": False,
        "or-pair": False,
        "legacy": False,
        "basic": False,
        # Bearer-token schemes: the caller's token.
        "bearer": True,
        "me": True,
    }, carried
    # The upstream echoed the caller's token back (the tool result is the caller's own): no
    # log line carries it, at RUST_LOG=debug (rmcp logs every result at debug).
    log = server.log()
    assert "DEBUG" in log
    assert caller not in log, "the caller's token in the debug log"


# --- finding 8 ------------------------------------------------------------------------------------


def test_an_api_refusing_every_token_costs_two_token_requests_not_one_per_call(
    start: Start, upstream: RecordingUpstream, provider: OAuthProvider
) -> None:
    upstream.route(
        "GET",
        "/api/client-credentials",
        Canned(401, b'{"error": "invalid_token"}', "application/json", headers={"WWW-Authenticate": "Bearer"}),
    )
    server = start("attack-cc-refused")
    before = provider.grants(CC_CLIENT)
    results = tu.call_all(server.url, [("client_credentials", {})] * 20)
    assert all(r.is_error and "HTTP 401" in tu.text_of(r) for r in results), [tu.text_of(r) for r in results]
    # The first token, and one more after the first refusal; then the back-off.
    assert provider.grants(CC_CLIENT) - before == 2
    # The first call is retried once with the new token; the others are not retried.
    assert len(upstream.requests) == 21
    tokens = {tu.bearer_of(r) for r in upstream.requests}
    assert len(tokens) == 2
    log = server.log()
    assert secrets_in(log, provider) == []
