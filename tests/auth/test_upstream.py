"""Upstream credentials (issue 5): the crate generated from fixtures/upstream-auth (one operation
per way an OpenAPI document asks for credentials) with its auth.yaml, driven by the official
Python SDK in front of the recording upstream, which answers every call with what it received.
OAuth 2 client-credentials tokens come from the real OAuth server of this suite (oidc-provider,
provider.mjs), which logs every grant (counted here) and confirms the tokens by introspection.

Checked: each tool call reaches the upstream with exactly its credential in the right place and
no other; tokens are reused until shortly before they expire, fetched once for concurrent calls,
fetched again once on a 401; a missing variable is a tool error naming it, without an upstream
call; the caller's forwarded token takes precedence for bearer-token schemes (bearer mode); and
no secret appears in any tool output or server log (the last test greps for every one)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Iterator

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from conftest import (
    BEARER_TOKENS,
    CC_CLIENT,
    CC_SHORT_CLIENT,
    CC_SHORT_TTL,
    LOG_DIR,
    OIDC_CC_CLIENT,
    McpServer,
    OAuthProvider,
    build_server,
    free_port,
)
from upstream import Canned, Recorded, RecordingUpstream

SPEC = "fixtures/upstream-auth/openapi.yaml"
AUTH = "fixtures/upstream-auth/auth.yaml"
FORWARD_AUTH = "tests/auth/auth-upstream-forward.yaml"

# The server's credentials. The query key has characters that are percent-encoded on the wire.
HEADER_KEY = "hk_" + secrets.token_urlsafe(18)
QUERY_KEY = "qk/" + secrets.token_urlsafe(15) + "+=="
COOKIE_KEY = "ck_" + secrets.token_urlsafe(18)
BEARER = "bt_" + secrets.token_urlsafe(18)
USER = "svc-reports"
PASSWORD = "pw_" + secrets.token_urlsafe(18)
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
WRONG_SECRET = "wrong_" + secrets.token_urlsafe(18)

OPERATIONS = [
    ("GET", "header-key"),
    ("GET", "query-key"),
    ("GET", "cookie-key"),
    ("GET", "bearer"),
    ("GET", "basic"),
    ("GET", "client-credentials"),
    ("GET", "openid"),
    ("POST", "and-pair"),
    ("GET", "or-pair"),
    ("GET", "public"),
    ("GET", "legacy"),
    ("GET", "me"),
]

# Everything the final test greps for: tool outputs, and the logs of every server started here.
OUTPUTS: list[str] = []
LOGS: list[Path] = []
ISSUED_TOKENS: set[str] = set()


def quoted(value: str) -> str:
    return urllib.parse.quote(value, safe="-._~")


def server_env(provider: OAuthProvider, **overrides: str | None) -> dict[str, str]:
    env: dict[str, str | None] = {
        "PETSTORE_API_KEY": HEADER_KEY,
        "QUERY_API_KEY": QUERY_KEY,
        "SESSION_COOKIE": COOKIE_KEY,
        "API_BEARER_TOKEN": BEARER,
        "API_USER": USER,
        "API_PASSWORD": PASSWORD,
        "PARTNER_CLIENT_ID": CC_CLIENT,
        "PARTNER_CLIENT_SECRET": provider.cc_secrets[CC_CLIENT],
        "PARTNER_TOKEN_URL": f"{provider.issuer}/token",
        "OIDC_CLIENT_ID": OIDC_CC_CLIENT,
        "OIDC_CLIENT_SECRET": provider.cc_secrets[OIDC_CC_CLIENT],
        "OIDC_DISCOVERY_URL": provider.metadata_url,
        # Debug logs too: nothing at any level may carry a secret.
        "RUST_LOG": "debug",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def all_secrets(provider: OAuthProvider) -> list[str]:
    return [
        HEADER_KEY,
        QUERY_KEY,
        quoted(QUERY_KEY),
        COOKIE_KEY,
        BEARER,
        PASSWORD,
        BASIC.split(" ", 1)[1],
        WRONG_SECRET,
        *provider.cc_secrets.values(),
        *sorted(ISSUED_TOKENS),
    ]


def echo(req: Recorded) -> Canned:
    """Answers with everything the request carried, as APIs that echo requests do."""
    body = {"method": req.method, "target": req.target, "headers": req.headers, "body": req.body.decode(errors="replace")}
    return Canned(200, json.dumps(body).encode(), "application/json")


@pytest.fixture(scope="module", autouse=True)
def echo_routes(upstream: RecordingUpstream) -> None:
    for method, path in OPERATIONS:
        upstream.route(method, f"/api/{path}", echo)


@pytest.fixture(scope="module")
def binary() -> Path:
    return build_server("mcpgen-upstream-auth", AUTH, SPEC)


Start = Callable[..., McpServer]


@pytest.fixture
def start(binary: Path, upstream: RecordingUpstream, provider: OAuthProvider) -> Iterator[Start]:
    """Starts a fresh server (empty token caches) with the test's environment."""
    started: list[McpServer] = []

    def run(label: str, binary_: Path = binary, **overrides: str | None) -> McpServer:
        server = McpServer(binary_, free_port(), upstream.base_url, label, server_env(provider, **overrides))
        started.append(server)
        LOGS.append(server.log_path)
        return server

    yield run
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def server(binary: Path, upstream: RecordingUpstream, provider: OAuthProvider) -> Iterator[McpServer]:
    s = McpServer(binary, free_port(), upstream.base_url, "upstream-auth", server_env(provider))
    LOGS.append(s.log_path)
    yield s
    s.stop()


def record(result: Any) -> Any:
    OUTPUTS.append(json.dumps(result.model_dump(mode="json", by_alias=True)))
    return result


def call_all(url: str, calls: list[tuple[str, dict[str, Any]]], authorization: str | None = None) -> list[Any]:
    """Calls the tools in order through one SDK client over Streamable HTTP; returns the results."""
    results: list[Any] = []

    async def main() -> None:
        with anyio.fail_after(90):
            headers = {"Authorization": authorization} if authorization else {}
            http = httpx2.AsyncClient(headers=headers, timeout=30)
            async with http, Client(streamable_http_client(url, http_client=http)) as client:
                for name, args in calls:
                    results.append(record(await client.call_tool(name, args)))

    anyio.run(main)
    return results


def text_of(result: Any) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def cookies(req: Recorded) -> dict[str, str]:
    out = {}
    for part in req.cookie.split(";"):
        if "=" in part:
            name, value = part.strip().split("=", 1)
            out[name] = value
    return out


def credentials_seen(req: Recorded) -> dict[str, Any]:
    """Every place a credential of this API can be: the Authorization and X-API-Key headers,
    the `api_key` query parameter and the `session` cookie."""
    seen: dict[str, Any] = {}
    for header in ("authorization", "x-api-key"):
        if header in req.headers:
            seen[header] = req.headers[header]
    query = urllib.parse.parse_qs(req.query, keep_blank_values=True)
    if "api_key" in query:
        seen["query api_key"] = query["api_key"]
    if "session" in cookies(req):
        seen["cookie session"] = cookies(req)["session"]
    return seen


def assert_nothing_else(req: Recorded, provider: OAuthProvider) -> None:
    """No secret anywhere in the request outside the places `credentials_seen` reports."""
    elsewhere = [req.path, req.body.decode(errors="replace")]
    elsewhere += [v for k, v in req.headers.items() if k not in ("authorization", "x-api-key", "cookie")]
    elsewhere += [f"{k}={v}" for k, v in urllib.parse.parse_qsl(req.query, keep_blank_values=True) if k != "api_key"]
    elsewhere += [f"{k}={v}" for k, v in cookies(req).items() if k != "session"]
    for text in elsewhere:
        for secret in all_secrets(provider):
            assert secret not in text, f"a secret in {text!r} of {req.target}"


def bearer_of(req: Recorded) -> str:
    scheme, _, token = req.headers.get("authorization", "").partition(" ")
    assert scheme == "Bearer" and token, req.headers
    ISSUED_TOKENS.add(token)
    return token


def only_request(upstream: RecordingUpstream, path: str) -> Recorded:
    req = upstream.only()
    assert req.path == f"/api/{path}", req.target
    return req


# --- every scheme kind ----------------------------------------------------------------------------


def test_each_tool_sends_exactly_its_credentials(
    server: McpServer, upstream: RecordingUpstream, provider: OAuthProvider
) -> None:
    cases: list[tuple[str, dict[str, Any], str, Callable[[Recorded], dict[str, Any]]]] = [
        ("header_key", {"X-Request-Id": "r-1"}, "header-key", lambda r: {"x-api-key": HEADER_KEY}),
        ("query_key", {"q": "a b"}, "query-key", lambda r: {"query api_key": [QUERY_KEY]}),
        ("cookie_key", {"theme": "dark"}, "cookie-key", lambda r: {"cookie session": COOKIE_KEY}),
        ("bearer", {}, "bearer", lambda r: {"authorization": f"Bearer {BEARER}"}),
        ("basic", {}, "basic", lambda r: {"authorization": BASIC}),
        ("client_credentials", {}, "client-credentials", lambda r: {"authorization": f"Bearer {bearer_of(r)}"}),
        ("openid", {}, "openid", lambda r: {"authorization": f"Bearer {bearer_of(r)}"}),
        ("and_pair", {"note": "both"}, "and-pair", lambda r: {"x-api-key": HEADER_KEY, "authorization": BASIC}),
        ("or_pair", {}, "or-pair", lambda r: {"query api_key": [QUERY_KEY]}),
        ("public", {}, "public", lambda r: {}),
        ("legacy", {}, "legacy", lambda r: {}),
        ("me", {}, "me", lambda r: {"x-api-key": HEADER_KEY}),
    ]
    for tool, args, path, expected in cases:
        upstream.clear()
        (result,) = call_all(server.url, [(tool, args)])
        assert not result.is_error, f"{tool}: {text_of(result)}"
        req = only_request(upstream, path)
        assert credentials_seen(req) == expected(req), f"{tool}: {req.target} {req.headers}"
        assert_nothing_else(req, provider)
        # The echoed request comes back with every secret replaced.
        echoed = json.dumps(result.structured_content)
        for secret in all_secrets(provider):
            assert secret not in echoed, f"{tool} returned a secret: {echoed}"
        if expected(req):
            assert "[REDACTED]" in echoed, f"{tool}: {echoed}"
        # Arguments still arrive next to the credentials.
        if tool == "header_key":
            assert req.headers.get("x-request-id") == "r-1"
        if tool == "query_key":
            assert urllib.parse.parse_qs(req.query)["q"] == ["a b"]
        if tool == "cookie_key":
            assert cookies(req)["theme"] == "dark"
        if tool == "and_pair":
            assert json.loads(req.body) == {"note": "both"}


def test_client_credentials_tokens_come_from_the_oauth_server(
    server: McpServer, upstream: RecordingUpstream, provider: OAuthProvider
) -> None:
    for tool, path, client in [("client_credentials", "client-credentials", CC_CLIENT), ("openid", "openid", OIDC_CC_CLIENT)]:
        upstream.clear()
        call_all(server.url, [(tool, {})])
        token = bearer_of(only_request(upstream, path))
        info = provider.introspect(token, client)
        assert info.get("active") is True, info
        assert info.get("client_id") == client, info
        assert provider.requested_scopes(client) == {"reports:read"}


def test_api_key_parameters_are_not_arguments(server: McpServer) -> None:
    async def main() -> dict[str, Any]:
        async with Client(streamable_http_client(server.url)) as client:
            return {t.name: t for t in (await client.list_tools()).tools}

    tools = anyio.run(main)
    properties = tools["header_key"].input_schema["properties"]
    assert set(properties) == {"X-Request-Id"}, properties


# --- OAuth 2 client credentials: one token, reused, refreshed --------------------------------------


def test_a_token_is_reused_across_calls(start: Start, upstream: RecordingUpstream, provider: OAuthProvider) -> None:
    server = start("cc-reuse")
    before = provider.grants(CC_CLIENT)
    call_all(server.url, [("client_credentials", {})] * 4)
    call_all(server.url, [("client_credentials", {})] * 2)
    assert provider.grants(CC_CLIENT) - before == 1
    tokens = {bearer_of(r) for r in upstream.requests}
    assert len(upstream.requests) == 6 and len(tokens) == 1


def test_concurrent_calls_share_one_token_fetch(start: Start, upstream: RecordingUpstream, provider: OAuthProvider) -> None:
    server = start("cc-concurrent")
    before = provider.grants(CC_CLIENT)

    async def main() -> None:
        with anyio.fail_after(90):
            async with Client(streamable_http_client(server.url)) as client:

                async def one() -> None:
                    result = record(await client.call_tool("client_credentials", {}))
                    assert not result.is_error, text_of(result)

                async with anyio.create_task_group() as group:
                    for _ in range(8):
                        group.start_soon(one)

    anyio.run(main)
    assert provider.grants(CC_CLIENT) - before == 1
    assert len(upstream.requests) == 8
    assert len({bearer_of(r) for r in upstream.requests}) == 1


def test_a_token_is_fetched_again_before_it_expires(start: Start, upstream: RecordingUpstream, provider: OAuthProvider) -> None:
    server = start("cc-expiry", PARTNER_CLIENT_ID=CC_SHORT_CLIENT, PARTNER_CLIENT_SECRET=provider.cc_secrets[CC_SHORT_CLIENT])
    before = provider.grants(CC_SHORT_CLIENT)
    started = time.monotonic()
    call_all(server.url, [("client_credentials", {})] * 2)
    assert time.monotonic() - started < CC_SHORT_TTL * 0.8, "too slow to tell reuse from expiry"
    assert provider.grants(CC_SHORT_CLIENT) - before == 1
    first = {bearer_of(r) for r in upstream.requests}
    assert len(first) == 1
    time.sleep(CC_SHORT_TTL + 0.5 - (time.monotonic() - started))
    upstream.clear()
    call_all(server.url, [("client_credentials", {})])
    assert provider.grants(CC_SHORT_CLIENT) - before == 2
    second = bearer_of(upstream.only())
    assert second not in first
    assert provider.introspect(second, CC_SHORT_CLIENT).get("active") is True


def test_a_401_gets_a_new_token_and_one_retry(start: Start, upstream: RecordingUpstream, provider: OAuthProvider) -> None:
    refused: list[str] = []

    def refuse_first_token(req: Recorded) -> Canned:
        token = req.headers.get("authorization", "")
        if not refused or refused[0] == token:
            refused.append(token)
            return Canned(401, b'{"error": "invalid_token"}', "application/json", headers={"WWW-Authenticate": "Bearer"})
        return echo(req)

    upstream.route("GET", "/api/client-credentials", refuse_first_token)
    try:
        server = start("cc-401")
        before = provider.grants(CC_CLIENT)
        (result,) = call_all(server.url, [("client_credentials", {})])
        assert not result.is_error, text_of(result)
        first, second = (bearer_of(r) for r in upstream.requests)
        assert first != second
        assert provider.grants(CC_CLIENT) - before == 2
        # The new token is kept.
        upstream.clear()
        call_all(server.url, [("client_credentials", {})])
        assert bearer_of(upstream.only()) == second
        assert provider.grants(CC_CLIENT) - before == 2

        # The API now refuses every token: the token fetched after the first refusal is kept
        # (back-off, test_attack_upstream.py), so no new token and no retry: the 401 is the
        # tool error.
        upstream.route("GET", "/api/client-credentials", Canned(401, b"go away", "text/plain"))
        upstream.clear()
        (result,) = call_all(server.url, [("client_credentials", {})])
        assert result.is_error
        assert "HTTP 401" in text_of(result), text_of(result)
        assert len(upstream.requests) == 1
        assert provider.grants(CC_CLIENT) - before == 2
    finally:
        upstream.route("GET", "/api/client-credentials", echo)


def test_a_refused_client_is_a_tool_error_without_secrets(start: Start, upstream: RecordingUpstream, provider: OAuthProvider) -> None:
    server = start("cc-wrong-secret", PARTNER_CLIENT_SECRET=WRONG_SECRET)
    (result,) = call_all(server.url, [("client_credentials", {})])
    assert result.is_error
    message = text_of(result)
    assert "Cannot get an access token for securityScheme `partner_cc`" in message, message
    assert "HTTP 401" in message and "invalid_client" in message, message
    assert upstream.requests == []


# --- missing credentials ---------------------------------------------------------------------------


def test_missing_variables_are_tool_errors_naming_them(start: Start, upstream: RecordingUpstream, provider: OAuthProvider) -> None:
    server = start("missing", API_PASSWORD=None, QUERY_API_KEY=None, PETSTORE_API_KEY=None)
    startup = server.log()
    assert "API_PASSWORD not set" in startup and "PETSTORE_API_KEY not set" in startup, startup

    def error_of(tool: str, args: dict[str, Any] | None = None) -> str:
        upstream.clear()
        (result,) = call_all(server.url, [(tool, args or {})])
        assert result.is_error, f"{tool}: {text_of(result)}"
        assert upstream.requests == [], f"{tool} called the API"
        return text_of(result)

    message = error_of("basic")
    assert "set API_PASSWORD in the server's environment" in message, message
    assert "API_USER" not in message, message
    message = error_of("and_pair", {"note": "x"})
    assert "API_PASSWORD" in message and "PETSTORE_API_KEY" in message, message
    assert "set PETSTORE_API_KEY in" in error_of("header_key")
    # `me`: a user's OAuth token (which the server cannot get) or the key: the key is named.
    assert "set PETSTORE_API_KEY in" in error_of("me")

    # The other alternative is used when the first one's variable is missing.
    upstream.clear()
    (result,) = call_all(server.url, [("or_pair", {})])
    assert not result.is_error, text_of(result)
    assert credentials_seen(only_request(upstream, "or-pair")) == {"authorization": f"Bearer {BEARER}"}

    # Operations that need nothing the server lacks still work.
    for tool, path in [("public", "public"), ("legacy", "legacy"), ("bearer", "bearer")]:
        upstream.clear()
        (result,) = call_all(server.url, [(tool, {})])
        assert not result.is_error, f"{tool}: {text_of(result)}"
        only_request(upstream, path)


def test_error_bodies_that_echo_credentials_are_redacted(
    server: McpServer, upstream: RecordingUpstream, provider: OAuthProvider
) -> None:
    def refuse_with_echo(req: Recorded) -> Canned:
        return Canned(403, f"forbidden for {req.headers.get('authorization')} at {req.target}".encode(), "text/plain")

    upstream.route("GET", "/api/query-key", refuse_with_echo)
    upstream.route("GET", "/api/bearer", refuse_with_echo)
    try:
        for tool in ["query_key", "bearer"]:
            (result,) = call_all(server.url, [(tool, {})])
            message = text_of(result)
            assert result.is_error and "HTTP 403" in message, message
            assert "[REDACTED]" in message, message
            for secret in all_secrets(provider):
                assert secret not in message, message
    finally:
        upstream.route("GET", "/api/query-key", echo)
        upstream.route("GET", "/api/bearer", echo)


# --- the caller's forwarded token and the server's credentials -------------------------------------


def test_forwarded_caller_token_takes_precedence_for_bearer_schemes(
    upstream: RecordingUpstream, provider: OAuthProvider, start: Start, tmp_path: Path
) -> None:
    binary = build_server("mcpgen-upstream-forward", FORWARD_AUTH, SPEC)
    caller = BEARER_TOKENS[0]
    server = start("upstream-forward", binary, MCP_TOKENS=",".join(BEARER_TOKENS))
    before = provider.grants(CC_CLIENT)
    calls = ["bearer", "client_credentials", "basic", "header_key", "or_pair", "public"]
    results = call_all(server.url, [(name, {}) for name in calls], f"Bearer {caller}")
    for name, result in zip(calls, results):
        assert not result.is_error, f"{name}: {text_of(result)}"
    seen = {r.path.removeprefix("/api/"): credentials_seen(r) for r in upstream.requests}
    assert seen == {
        # Bearer-token schemes: the caller's token, not the server's.
        "bearer": {"authorization": f"Bearer {caller}"},
        "client-credentials": {"authorization": f"Bearer {caller}"},
        # HTTP basic is the server's, in the Authorization header.
        "basic": {"authorization": BASIC},
        # API keys are the server's, and the caller's token does not go where no bearer-token
        # scheme is used: API-key operations and `security: []` (issue 14, finding 7).
        "header-key": {"x-api-key": HEADER_KEY},
        "or-pair": {"query api_key": [QUERY_KEY]},
        "public": {},
    }
    assert provider.grants(CC_CLIENT) == before, "no token was fetched for a forwarded caller"

    # Over stdio there is no caller token: the server's own credentials are sent.
    upstream.clear()
    errlog_path = LOG_DIR / "upstream-forward-stdio.log"
    LOGS.append(errlog_path)
    params = StdioServerParameters(
        command=str(binary),
        args=["--transport", "stdio", "--upstream-url", upstream.base_url],
        env=server_env(provider, MCP_TOKENS=",".join(BEARER_TOKENS)) | {"PATH": os.environ.get("PATH", "")},
    )

    async def main() -> None:
        with anyio.fail_after(90), errlog_path.open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=60) as client:
                for name in ["bearer", "client_credentials"]:
                    result = record(await client.call_tool(name, {}))
                    assert not result.is_error, f"{name}: {text_of(result)}"

    anyio.run(main)
    first, second = upstream.requests
    assert credentials_seen(first) == {"authorization": f"Bearer {BEARER}"}
    token = bearer_of(second)
    assert token != caller
    assert provider.introspect(token, CC_CLIENT).get("active") is True


# --- last: no secret anywhere ------------------------------------------------------------------------


def test_no_secret_in_any_tool_output_or_server_log(provider: OAuthProvider) -> None:
    assert OUTPUTS and LOGS, "the tests above ran"
    assert ISSUED_TOKENS, "access tokens were seen"
    secrets_ = all_secrets(provider)
    for output in OUTPUTS:
        for secret in secrets_:
            assert secret not in output, f"a secret in a tool output: {output[:500]}"
    for path in LOGS:
        log = path.read_text(errors="replace")
        assert log, f"{path} is empty"
        for secret in secrets_:
            assert secret not in log, f"a secret in {path}"
