"""mode: oauth, the resource server: access tokens are JWTs checked against the provider's JWKS.
Every token here is minted by the test with the provider's own keys (the suite generated its JWKS)
or deliberately broken; each rejection is its own test and must be a 401 with a correct RFC 6750
challenge: `Bearer`, `resource_metadata` pointing at the RFC 9728 metadata, `scope`, and
`error="invalid_token"` when a token was presented (none when it was missing). A token without
the called tool's OpenAPI scopes gets 403 `insufficient_scope`."""

from __future__ import annotations

import time
from typing import Callable

import httpx2
import jwt
import pytest

from conftest import McpServer, OAuthProvider
from helpers import post_mcp, rpc_result, tools_call, www_authenticate
from tokens import AUDIENCE, Minter
from upstream import RecordingUpstream


def assert_challenge(server: McpServer, response: httpx2.Response, presented: bool) -> dict[str, str]:
    scheme, params = www_authenticate(response)
    assert scheme == "Bearer", response.headers.get("www-authenticate")
    metadata = params.get("resource_metadata")
    assert metadata in (
        f"{server.base}/.well-known/oauth-protected-resource/mcp",
        f"{server.base}/.well-known/oauth-protected-resource",
    ), f"resource_metadata={metadata!r}"
    with httpx2.Client(timeout=10) as http:
        prm = http.get(metadata)
    assert prm.status_code == 200, f"GET {metadata}: HTTP {prm.status_code}"
    assert prm.json().get("resource") == server.url
    assert params.get("scope", "").strip(), f"no scope in {response.headers.get('www-authenticate')!r}"
    if presented:
        assert params.get("error") == "invalid_token", response.headers.get("www-authenticate")
    else:
        assert "error" not in params, f"RFC 6750 §3.1: no error code without credentials: {params}"
    return params


def assert_rejected(server: McpServer, upstream: RecordingUpstream, authorization: str | None) -> None:
    response = post_mcp(server.url, tools_call("get_item", {"id": "7"}), authorization)
    assert response.status_code == 401, f"HTTP {response.status_code}: {response.text[:300]}"
    assert_challenge(server, response, presented=authorization is not None)
    assert upstream.requests == [], "a rejected call reached the upstream"


# --- controls: without these passing, the rejections below would prove nothing ----------------


def test_valid_rs256_token_is_accepted(oauth_server: McpServer, upstream: RecordingUpstream, minter: Minter) -> None:
    response = post_mcp(oauth_server.url, tools_call("get_item", {"id": "7"}), f"Bearer {minter.rs256()}")
    assert response.status_code == 200, f"HTTP {response.status_code} {response.headers.get('www-authenticate')} {response.text[:300]}"
    message = rpc_result(response)
    assert message and not message["result"].get("isError"), response.text[:500]
    request = upstream.only()
    assert (request.method, request.path) == ("GET", "/api/items/7")
    assert "authorization" not in request.headers, "forward_token is off: the caller's token must not go upstream"


def test_valid_es256_token_is_accepted(oauth_server: McpServer, upstream: RecordingUpstream, minter: Minter) -> None:
    response = post_mcp(oauth_server.url, tools_call("get_item", {"id": "8"}), f"Bearer {minter.es256()}")
    assert response.status_code == 200, f"HTTP {response.status_code} {response.headers.get('www-authenticate')}"
    assert upstream.only().path == "/api/items/8"


def test_token_within_small_clock_skew_is_accepted(oauth_server: McpServer, minter: Minter) -> None:
    now = int(time.time())
    token = minter.rs256(iat=now + 5, nbf=now + 5)
    response = post_mcp(oauth_server.url, tools_call("get_item", {"id": "9"}), f"Bearer {token}")
    assert response.status_code == 200, f"HTTP {response.status_code} {response.headers.get('www-authenticate')}"


# --- rejections: 401 ---------------------------------------------------------------------------

REJECTED: dict[str, Callable[[Minter], str | None]] = {
    "no_token": lambda m: None,
    "malformed_token": lambda m: "Bearer not-a-jwt",
    "malformed_three_parts": lambda m: "Bearer e30.e30.e30",
    "bad_signature": lambda m: f"Bearer {m.bad_signature()}",
    "alg_none": lambda m: f"Bearer {m.alg_none()}",
    "hs256_signed_with_the_public_key": lambda m: f"Bearer {m.hs256_with_public_key()}",
    "wrong_issuer": lambda m: f"Bearer {m.rs256(iss='https://evil.example/')}",
    "wrong_audience": lambda m: f"Bearer {m.rs256(aud='https://other-api.example/')}",
    "expired": lambda m: f"Bearer {m.rs256(iat=int(time.time()) - 1800, exp=int(time.time()) - 900)}",
    "not_yet_valid": lambda m: f"Bearer {m.rs256(nbf=int(time.time()) + 900, exp=int(time.time()) + 1800)}",
    "unknown_kid": lambda m: f"Bearer {m.unknown_kid()}",
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_rejected_with_401(case: str, oauth_server: McpServer, upstream: RecordingUpstream, minter: Minter) -> None:
    assert_rejected(oauth_server, upstream, REJECTED[case](minter))


def test_minted_tokens_are_what_they_claim(provider: OAuthProvider, minter: Minter) -> None:
    """A self-check of the suite, independent of the generated server: PyJWT, given the
    provider's published JWKS, accepts the valid tokens and refuses every bad one."""
    with httpx2.Client(timeout=10) as http:
        jwks = jwt.PyJWKSet.from_dict(http.get(provider.metadata()["jwks_uri"]).json())

    def verify(authorization: str | None) -> None:
        assert authorization and authorization.startswith("Bearer ")
        token = authorization.removeprefix("Bearer ")
        kid = jwt.get_unverified_header(token).get("kid")
        key = jwks[kid]  # KeyError for an unknown kid
        jwt.decode(token, key, algorithms=["RS256", "ES256"], audience=AUDIENCE, issuer=provider.issuer, leeway=0)

    verify(f"Bearer {minter.rs256()}")
    verify(f"Bearer {minter.es256()}")
    for case, make in REJECTED.items():
        try:
            verify(make(minter))
        except (AssertionError, KeyError, jwt.PyJWTError):
            continue
        raise AssertionError(f"the {case} token verifies: the suite minted it wrong")


# --- scopes: 403 -------------------------------------------------------------------------------


def test_missing_scope_is_403_insufficient_scope(
    oauth_server: McpServer, upstream: RecordingUpstream, minter: Minter
) -> None:
    """delete_item needs items:admin (its OpenAPI security); a token with items:read gets 403."""
    token = minter.rs256(scope="openid items:read items:write")
    response = post_mcp(oauth_server.url, tools_call("delete_item", {"id": "7"}), f"Bearer {token}")
    assert response.status_code == 403, f"HTTP {response.status_code}: {response.text[:300]}"
    scheme, params = www_authenticate(response)
    assert scheme == "Bearer"
    assert params.get("error") == "insufficient_scope", params
    assert "items:admin" in params.get("scope", "").split(), params
    assert params.get("resource_metadata", "").startswith(f"{oauth_server.base}/.well-known/oauth-protected-resource"), params
    assert upstream.requests == [], "a call without its scope reached the upstream"


def test_granted_scope_allows_the_call(oauth_server: McpServer, upstream: RecordingUpstream, minter: Minter) -> None:
    token = minter.rs256(scope="items:read items:admin")
    response = post_mcp(oauth_server.url, tools_call("delete_item", {"id": "5"}), f"Bearer {token}")
    assert response.status_code == 200, f"HTTP {response.status_code} {response.headers.get('www-authenticate')}"
    assert (upstream.only().method, upstream.only().path) == ("DELETE", "/api/items/5")


def test_token_without_any_scope_cannot_read(oauth_server: McpServer, upstream: RecordingUpstream, minter: Minter) -> None:
    response = post_mcp(oauth_server.url, tools_call("get_item", {"id": "7"}), f"Bearer {minter.rs256(scope=None)}")
    assert response.status_code == 403, f"HTTP {response.status_code}"
    _, params = www_authenticate(response)
    assert params.get("error") == "insufficient_scope" and "items:read" in params.get("scope", "").split(), params
    assert upstream.requests == []
