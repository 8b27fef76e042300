"""A fresh RSA private key, PEM (PKCS8), for the tests that need a service account key of
Google's shape: made per test, never a real credential."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def private_key_pem() -> str:
    """A 2048-bit RSA private key, as a service account key file holds it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
