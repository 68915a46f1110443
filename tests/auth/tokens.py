"""JWTs minted by the tests: valid ones signed with the provider's own keys (the suite generates
the provider's JWKS, so it holds the private keys) and every kind of bad one. Built by hand (not
with a JWT library) so that the broken variants (`alg: none`, HS256 keyed with the public key, a
foreign signature under a known `kid`) are exactly what an attacker would send."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

AUDIENCE = "https://api.mcpgen.test/"
RSA_KID = "mcpgen-test-rsa"
EC_KID = "mcpgen-test-ec"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a JWS compact token, without checking anything."""
    header, payload, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return json.loads(base64.urlsafe_b64decode(pad(header))), json.loads(base64.urlsafe_b64decode(pad(payload)))


def rs256(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def es256(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def private_jwk(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str, alg: str) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
    jwk = algorithm.to_jwk(key, as_dict=True)
    jwk.pop("key_ops", None)
    jwk.update(kid=kid, use="sig", alg=alg)
    return jwk


@dataclass
class Keys:
    """The provider's signing keys (in its JWKS) and a stranger's key (in no JWKS)."""

    rsa: rsa.RSAPrivateKey
    ec: ec.EllipticCurvePrivateKey
    stranger: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> Keys:
        return cls(
            rsa=rsa.generate_private_key(public_exponent=65537, key_size=2048),
            ec=ec.generate_private_key(ec.SECP256R1()),
            stranger=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        )

    def provider_jwks(self) -> dict[str, Any]:
        """The private JWKS the provider signs with (RS256 first: its access tokens use it)."""
        return {"keys": [private_jwk(self.rsa, RSA_KID, "RS256"), private_jwk(self.ec, EC_KID, "ES256")]}

    def rsa_public_pem(self) -> bytes:
        return self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class Minter:
    """Access tokens shaped like the provider's own (oidc-provider JWT access tokens)."""

    def __init__(self, keys: Keys, issuer: str, client_id: str = "mcp-public") -> None:
        self.keys = keys
        self.issuer = issuer
        self.client_id = client_id

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "sub": "alice",
            "iat": now,
            "exp": now + 600,
            "scope": "items:read",
            "client_id": self.client_id,
            "iss": self.issuer,
            "aud": AUDIENCE,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    @staticmethod
    def header(alg: str, kid: str | None) -> dict[str, Any]:
        header: dict[str, Any] = {"alg": alg, "typ": "at+jwt"}
        if kid is not None:
            header["kid"] = kid
        return header

    def signed(self, claims: dict[str, Any], alg: str, kid: str | None, sign) -> str:  # noqa: ANN001
        signing_input = f"{b64url_json(self.header(alg, kid))}.{b64url_json(claims)}"
        return f"{signing_input}.{b64url(sign(signing_input.encode()))}"

    # --- valid -------------------------------------------------------------------------------

    def rs256(self, **overrides: Any) -> str:
        return self.signed(self.claims(**overrides), "RS256", RSA_KID, lambda d: rs256(self.keys.rsa, d))

    def es256(self, **overrides: Any) -> str:
        return self.signed(self.claims(**overrides), "ES256", EC_KID, lambda d: es256(self.keys.ec, d))

    # --- bad ---------------------------------------------------------------------------------

    def bad_signature(self) -> str:
        """The provider's `kid`, signed by someone else's key."""
        return self.signed(self.claims(), "RS256", RSA_KID, lambda d: rs256(self.keys.stranger, d))

    def alg_none(self) -> str:
        return self.signed(self.claims(), "none", RSA_KID, lambda d: b"")

    def hs256_with_public_key(self) -> str:
        """The classic algorithm confusion: HMAC keyed with the provider's public key (PEM)."""
        secret = self.keys.rsa_public_pem()
        return self.signed(self.claims(), "HS256", RSA_KID, lambda d: hmac.new(secret, d, hashlib.sha256).digest())

    def unknown_kid(self) -> str:
        return self.signed(self.claims(), "RS256", "kid-not-in-the-jwks", lambda d: rs256(self.keys.stranger, d))
