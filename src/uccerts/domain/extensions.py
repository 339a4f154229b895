"""Key usage, extended key usage and basic constraints a purpose asks for (domain.md §3)."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from uccerts.domain.purposes import KeyType, Purpose

IPSEC_END_SYSTEM = ObjectIdentifier("1.3.6.1.5.5.7.3.5")


def key_usage(purpose: Purpose) -> x509.KeyUsage:
    usage = purpose.usage
    rsa = purpose.key_type is KeyType.RSA
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        # EC keys cannot encipher: they agree keys instead.
        key_encipherment=rsa and usage.key_encipherment,
        data_encipherment=rsa and usage.data_encipherment,
        key_agreement=not rsa,
        key_cert_sign=usage.key_cert_sign,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def extended_key_usage(purpose: Purpose) -> x509.ExtendedKeyUsage | None:
    usage = purpose.usage
    oids = []
    if usage.server_auth:
        oids.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if usage.client_auth:
        oids.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    if usage.ipsec_end_system:
        oids.append(IPSEC_END_SYSTEM)
    return x509.ExtendedKeyUsage(oids) if oids else None


def basic_constraints(purpose: Purpose) -> x509.BasicConstraints:
    # CAPF signs phone certificates: a subordinate CA that may not have sub-CAs.
    if purpose.usage.ca_pathlen0:
        return x509.BasicConstraints(ca=True, path_length=0)
    return x509.BasicConstraints(ca=False, path_length=None)

