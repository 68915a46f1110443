"""The generated server's upstream transport (src/transport.rs), driven by the official Python SDK:
HTTPS upstreams checked against the platform's certificate store, redirects followed only within
the upstream's origin (so no credential goes anywhere else), and a proxy named by the
environment. Each test starts its own upstream and server, so the routes it sets stay its own."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import anyio
import contextlib
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mcp import Client, types
from mcp.client.streamable_http import streamable_http_client

from conftest import HttpServer
from upstream import Canned, Recorded, RecordingUpstream

# No proxy from the machine running the tests may interfere, except where a test sets one.
NO_PROXY_ENV = {
    name: ""
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
}


def as_json(value: Any, status: int = 200) -> Canned:
    return Canned(status, json.dumps(value).encode(), "application/json")


def echo_item(req: Recorded) -> Canned:
    """Any GET answers an item whose id is the last path segment."""
    if req.method == "GET":
        return as_json({"id": req.path.rsplit("/", 1)[1], "name": "Widget", "price": None, "tags": []})
    return Canned(404, b"no canned response", "text/plain")


def text_of(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


@contextlib.asynccontextmanager
async def client_of(server: HttpServer) -> AsyncIterator[Client]:
    async with Client(streamable_http_client(server.url), read_timeout_seconds=30) as client:
        yield client


def call(server: HttpServer, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
    out: list[types.CallToolResult] = []

    async def main() -> None:
        async with client_of(server) as client:
            out.append(await client.call_tool(name, arguments))

    anyio.run(main)
    return out[0]


@contextlib.contextmanager
def running(server_bin: Path, upstream_url: str, label: str, env: dict[str, str]) -> Iterator[HttpServer]:
    server = HttpServer(server_bin, upstream_url, label, {**NO_PROXY_ENV, "NO_PROXY": "", "no_proxy": "", **env})
    try:
        yield server
    finally:
        assert server.alive(), server.log()
        assert "panicked" not in server.log()
        server.stop()


@pytest.fixture()
def plain() -> Iterator[RecordingUpstream]:
    upstream = RecordingUpstream().start()
    upstream.fallback(echo_item)
    yield upstream
    upstream.stop()


# --- HTTPS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """A CA of our own (its certificate in a PEM file) and a server context for 127.0.0.1 with a
    certificate that CA signed."""
    directory = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mcpgen test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = directory / "ca.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = directory / "server.pem"
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_pem = directory / "server.key"
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain, key_pem)
    return ca_pem, context


def test_https_upstream_is_verified_against_the_platform_store(
    server_bin: Path, pki: tuple[Path, ssl.SSLContext]
) -> None:
    ca_pem, context = pki
    upstream = RecordingUpstream(tls=context).start()
    upstream.fallback(echo_item)
    try:
        # The platform store is SSL_CERT_FILE when it is set: our CA, so the certificate holds.
        with running(server_bin, upstream.base_url, "https-trusted", {"SSL_CERT_FILE": str(ca_pem)}) as server:
            for id_ in ("1", "2"):
                result = call(server, "get_item", {"id": id_})
                assert not result.is_error, text_of(result)
                assert result.structured_content["id"] == id_
            assert [r.target for r in upstream.requests] == ["/api/items/1", "/api/items/2"]
            assert upstream.requests[0].headers["host"] == f"127.0.0.1:{upstream.port}"
        upstream.clear()
        # The system's own store does not know our CA: the connection is refused, nothing sent.
        with running(server_bin, upstream.base_url, "https-untrusted", {}) as server:
            result = call(server, "get_item", {"id": "1"})
            assert result.is_error
            message = text_of(result)
            assert message.startswith(f"Cannot connect to the upstream API at https://127.0.0.1:{upstream.port}/api:")
            assert "certificate" in message.lower(), message
            assert upstream.requests == []
    finally:
        upstream.stop()


# --- redirects ------------------------------------------------------------------------------------


def test_redirects_within_the_origin_are_followed(server_bin: Path, plain: RecordingUpstream) -> None:
    plain.route("GET", "/api/items/moved", Canned(302, b"", headers={"Location": "/api/items/target"}))
    plain.route("GET", "/api/items/relative", Canned(301, b"", headers={"Location": "renamed?v=2"}))
    plain.route("GET", "/api/items/renamed", as_json({"id": "renamed", "name": "W", "price": None, "tags": []}))
    with running(server_bin, plain.base_url, "redirects", {}) as server:
        result = call(server, "get_item", {"id": "moved"})
        assert not result.is_error, text_of(result)
        assert result.structured_content["id"] == "target"
        assert [r.target for r in plain.requests] == ["/api/items/moved", "/api/items/target"]
        plain.clear()

        result = call(server, "get_item", {"id": "relative"})
        assert not result.is_error, text_of(result)
        assert [r.target for r in plain.requests] == ["/api/items/relative", "/api/items/renamed?v=2"]
        plain.clear()

        # 303 after a POST: the next request is a GET without the body.
        plain.route("POST", "/api/items", Canned(303, b"", headers={"Location": "/api/items/9"}))
        result = call(server, "create_item", {"name": "Widget", "price": 9.5})
        assert not result.is_error, text_of(result)
        first, second = plain.requests
        assert (first.method, first.target, json.loads(first.body)["name"]) == ("POST", "/api/items", "Widget")
        assert (second.method, second.target, second.body) == ("GET", "/api/items/9", b"")
        assert "content-type" not in second.headers
        plain.clear()

        # 307: the same method and body again.
        plain.route("POST", "/api/items", Canned(307, b"", headers={"Location": "/api/v2/items"}))
        plain.route("POST", "/api/v2/items", as_json({"id": "9", "name": "Widget", "price": 9.5}, status=201))
        result = call(server, "create_item", {"name": "Widget", "price": 9.5})
        assert not result.is_error, text_of(result)
        first, second = plain.requests
        assert (second.method, second.target) == ("POST", "/api/v2/items")
        assert second.body == first.body and second.headers["content-type"] == "application/json"


def test_redirects_to_another_origin_or_in_a_loop_are_not_followed(
    server_bin: Path, plain: RecordingUpstream
) -> None:
    away = f"http://localhost:{plain.port}/api/items/1?token=secret"
    plain.route("GET", "/api/items/away", Canned(302, b"", headers={"Location": away}))
    plain.route("GET", "/api/items/loop", Canned(302, b"", headers={"Location": "/api/items/loop"}))
    with running(server_bin, plain.base_url, "redirects-refused", {}) as server:
        result = call(server, "get_item", {"id": "away"})
        assert result.is_error
        message = text_of(result)
        assert message.startswith("Upstream API returned HTTP 302 Found for GET /items/away, but it redirects to")
        assert f"http://localhost:{plain.port}/api/items/1, another origin" in message
        assert "secret" not in message
        assert [r.target for r in plain.requests] == ["/api/items/away"]
        plain.clear()

        result = call(server, "get_item", {"id": "loop"})
        assert result.is_error
        assert text_of(result) == "Upstream API redirected GET /items/loop more than 10 times"
        assert len(plain.requests) == 11


# --- proxy ----------------------------------------------------------------------------------------


def test_a_proxy_from_the_environment_is_used(server_bin: Path, plain: RecordingUpstream) -> None:
    # The recording upstream stands in for the proxy: a plain-HTTP request reaches a proxy in
    # absolute form, and the API's host name is never resolved by the server.
    env = {"HTTP_PROXY": f"http://127.0.0.1:{plain.port}"}
    with running(server_bin, "http://api.example/api", "proxy", env) as server:
        result = call(server, "get_item", {"id": "7"})
        assert not result.is_error, text_of(result)
        assert result.structured_content["id"] == "7"
        (request,) = plain.requests
        assert request.target == "http://api.example/api/items/7"
        assert request.headers["host"] == "api.example"
        assert "through the proxy" in server.log()
