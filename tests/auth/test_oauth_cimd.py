"""Client ID metadata documents (CIMD, issue 16) driven by the official Python SDK's own CIMD
support (`OAuthClientProvider(client_metadata_url=...)`, mcp 2.x): the generated server's
authorization-server metadata says `client_id_metadata_document_supported: true`, so the SDK uses
the document's https URL as its client ID and does not register; the authorize proxy fetches the
document — served here over https on loopback with a certificate of the test's own CA, trusted by
the server through SSL_CERT_FILE — and requires the `redirect_uri` to be listed in it. Fake DCR
stays for older clients."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import secrets
import ssl
import threading
import urllib.parse
from pathlib import Path
from typing import Iterator

import anyio
import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata

from browser import log_in
from conftest import McpServer, Process, build_server, free_port, start_provider
from test_oauth_flow import Flow
from tokens import AUDIENCE, Keys
from upstream import RecordingUpstream

CLIENT = "mcp-cimd"


def make_ca_and_leaf(tmp: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1 it signed: (ca.pem, leaf.pem, leaf.key)."""
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
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
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
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem, leaf_pem, key_pem = tmp / "ca.pem", tmp / "leaf.pem", tmp / "leaf.key"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    leaf_pem.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_pem, leaf_pem, key_pem


class DocumentServer:
    """Serves client ID metadata documents over https: path → JSON; counts requests."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.documents: dict[str, dict] = {}
        self.hits: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.hits.append(self.path)
                if self.path == "/moved.json":
                    self.send_response(302)
                    self.send_header("Location", "/client.json")
                    self.end_headers()
                    return
                doc = outer.documents.get(self.path)
                body = json.dumps(doc).encode() if doc is not None else b"{}"
                self.send_response(200 if doc is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.base = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()


class Setup:
    def __init__(self, server: McpServer, provider: Process, docs: DocumentServer) -> None:
        self.server, self.provider, self.docs = server, provider, docs


@pytest.fixture(scope="module")
def cimd(upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("cimd")
    ca, cert, key = make_ca_and_leaf(tmp)
    docs = DocumentServer(cert, key)
    port = free_port()
    config = {
        "jwks": Keys.generate().provider_jwks(),
        "audience": AUDIENCE,
        "resource_scope": "items:read items:write",
        "cookie_keys": [secrets.token_urlsafe(16)],
        "clients": [
            {
                "client_id": CLIENT,
                "token_endpoint_auth_method": "none",
                "redirect_uris": [f"http://127.0.0.1:{port}/oauth/callback"],
            }
        ],
    }
    issuer, provider = start_provider(config, tmp_path_factory, "provider-cimd")
    binary = build_server("mcpgen-auth-oauth-cimd", "tests/auth/auth-oauth-cimd.yaml")
    env = {
        "OAUTH_ISSUER": issuer,
        "OAUTH_METADATA_URL": f"{issuer}/.well-known/openid-configuration",
        "OAUTH_CLIENT_ID": CLIENT,
        # The test's CA is the only one the server trusts (the provider is plain http).
        "SSL_CERT_FILE": str(ca),
    }
    server = McpServer(binary, port, upstream.base_url, "oauth-cimd", env)
    yield Setup(server, provider, docs)
    server.stop()
    provider.stop()
    docs.stop()


def test_sdk_uses_the_document_url_as_client_id(cimd: Setup, upstream: RecordingUpstream) -> None:
    server = cimd.server
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    doc_url = f"{cimd.docs.base}/client.json"
    cimd.docs.documents["/client.json"] = {
        "client_id": doc_url,
        "client_name": "mcpgen CIMD test client",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    meta = httpx2.get(f"{server.base}/.well-known/oauth-authorization-server", timeout=10).json()
    assert meta["client_id_metadata_document_supported"] is True, meta
    assert meta["registration_endpoint"] == f"{server.base}/oauth/register", "fake DCR stays"

    flow = Flow()

    async def on_response(response: httpx2.Response) -> None:
        flow.exchanges.append((response.request.method, str(response.request.url), response.status_code))

    async def redirect_handler(authorization_url: str) -> None:
        flow.authorization_url = authorization_url
        flow.login = await log_in(authorization_url, redirect_uri)

    async def callback_handler() -> AuthorizationCodeResult:
        assert flow.login is not None
        query = flow.login.query
        assert "code" in query, f"no code at the client's redirect URI: {flow.login.location}"
        return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))

    auth = OAuthClientProvider(
        server_url=server.url,
        client_metadata=OAuthClientMetadata(
            client_name="mcpgen CIMD test client",
            redirect_uris=[redirect_uri],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=flow.storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=doc_url,
    )

    async def main() -> None:
        with anyio.fail_after(120):
            http = httpx2.AsyncClient(auth=auth, timeout=30, event_hooks={"response": [on_response]})
            async with http, Client(streamable_http_client(server.url, http_client=http)) as client:
                flow.tool_result = await client.call_tool("get_item", {"id": "61"})

    anyio.run(main)
    result = flow.tool_result
    assert result is not None and not result.is_error, result  # type: ignore[attr-defined]
    steps = flow.steps()
    assert not any(s.startswith("POST /oauth/register") for s in steps), steps
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(flow.authorization_url).query))
    assert query["client_id"] == doc_url, query
    assert flow.storage.client_info is not None and flow.storage.client_info.client_id == doc_url
    assert cimd.docs.hits.count("/client.json") == 1, cimd.docs.hits

    # A redirect URI the document does not list is refused; the document was kept (no refetch).
    def authorize(client_id: str, redirect: str) -> httpx2.Response:
        q = urllib.parse.urlencode(
            {
                "response_type": "code", "client_id": client_id, "redirect_uri": redirect,
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256",
            }
        )
        return httpx2.get(f"{server.base}/oauth/authorize?{q}", timeout=15)

    other = f"http://127.0.0.1:{free_port()}/elsewhere"
    response = authorize(doc_url, other)
    assert response.status_code == 400 and "redirect_uris" in response.json()["error_description"], response.text
    assert cimd.docs.hits.count("/client.json") == 1, "the document is cached"
    assert authorize(doc_url, redirect_uri).status_code == 302

    # No redirects followed; a document naming another client_id, or none, is refused.
    response = authorize(f"{cimd.docs.base}/moved.json", redirect_uri)
    assert response.status_code == 400 and response.json()["error"] == "invalid_client", response.text
    assert "redirect" in response.json()["error_description"]
    cimd.docs.documents["/liar.json"] = {"client_id": doc_url, "redirect_uris": [redirect_uri]}
    response = authorize(f"{cimd.docs.base}/liar.json", redirect_uri)
    assert response.status_code == 400 and "client_id" in response.json()["error_description"], response.text
    response = authorize(f"{cimd.docs.base}/missing.json", redirect_uri)
    assert response.status_code == 400 and "404" in response.json()["error_description"], response.text
    # Only https client_id URLs are documents.
    response = authorize(doc_url.replace("https://", "http://"), redirect_uri)
    assert response.status_code == 400 and "https" in response.json()["error_description"], response.text
