"""Building certificates and CRLs for the tooling and the tests: RSA, EC P-256 and SM2.

``cryptography`` builds the TBS structures but can neither hold an SM2 public key nor sign
with SM2.  For SM2 the TBS is built with a throw-away P-256 key, then its
``subjectPublicKeyInfo`` and ``signature`` AlgorithmIdentifier (RFC 5280 sections 4.1.2.3,
4.1.2.7, 5.1.2.2) are replaced by the SM2 ones and the result is signed with SM2-with-SM3
(GM/T 0015).  Key identifiers are SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2 (1)),
so callers pass SubjectKeyIdentifier/AuthorityKeyIdentifier explicitly.  Never used to verify.
"""
from __future__ import annotations

import functools
import hashlib
from datetime import datetime
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from . import der, sm2

Encoding = serialization.Encoding


@functools.lru_cache(maxsize=1)
def _placeholder() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def generate_key(kind: str):
    """A new private key: ``ec`` (P-256), ``rsa`` (3072 bits) or ``sm2``."""
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    if kind == "sm2":
        return sm2.generate_private_key()
    raise ValueError(f"unknown key type {kind!r}")


def _is_sm2(key) -> bool:
    return sm2.is_sm2_private_key(key) or isinstance(key, sm2.SM2PublicKey)


def private_key_pem(key) -> bytes:
    if sm2.is_sm2_private_key(key):
        return sm2.private_key_pem(key)
    return key.private_bytes(Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def load_private_key(pem: bytes, password: bytes | None = None):
    """RSA/EC keys through cryptography; SM2 keys (which it refuses) through tongsuopy."""
    try:
        return serialization.load_pem_private_key(pem, password)
    except Exception:
        return sm2.load_private_key_pem(pem, password)


def key_id(public_key) -> bytes:
    if _is_sm2(public_key):
        return hashlib.sha1(sm2.public_point(public_key)).digest()
    return x509.SubjectKeyIdentifier.from_public_key(public_key).digest


def _sign(key, data: bytes) -> bytes:
    if sm2.is_sm2_private_key(key):
        return sm2.sign_sm2(key, data)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def _resplice(signed_der: bytes, signer, sig_alg_index: int, spki: bytes | None = None,
              spki_index: int | None = None) -> bytes:
    """Re-sign a DER certificate/CRL after replacing its SPKI and/or signature algorithm."""
    tbs_tlv, alg_tlv = [item[2] for item in der.sequence_items(signed_der)[:2]]
    fields = [item[2] for item in der.sequence_items(tbs_tlv)]
    if spki is not None:
        fields[spki_index] = spki
    if sm2.is_sm2_private_key(signer):
        alg_tlv = der.seq(der.oid(sm2.SM2_WITH_SM3_OID))  # no parameters (GM/T 0015)
        fields[sig_alg_index] = alg_tlv
    tbs = der.seq(*fields)
    return der.seq(tbs, alg_tlv, der.bit_string(_sign(signer, tbs)))


def build_certificate(*, subject: x509.Name, issuer: x509.Name, public_key, signing_key,
                      serial: int, not_before: datetime, not_after: datetime,
                      extensions: Iterable[tuple[x509.ExtensionType, bool]] = ()) -> x509.Certificate:
    """A v3 certificate with exactly the given extensions, signed with SHA-256 or SM3."""
    sm2_subject, sm2_signer = _is_sm2(public_key), sm2.is_sm2_private_key(signing_key)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(_placeholder().public_key() if sm2_subject else public_key)
               .serial_number(serial).not_valid_before(not_before).not_valid_after(not_after))
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical)
    cert = builder.sign(_placeholder() if sm2_signer else signing_key, hashes.SHA256())
    if not (sm2_subject or sm2_signer):
        return cert
    # TBSCertificate: [0] version, serial, signature, issuer, validity, subject, spki, [3] exts
    raw = _resplice(cert.public_bytes(Encoding.DER), signing_key, 2,
                    sm2.public_key_spki(public_key) if sm2_subject else None, 6)
    return x509.load_der_x509_certificate(raw)


def build_crl(*, issuer: x509.Name, signing_key, this_update: datetime, next_update: datetime,
              revoked: Iterable[tuple[int, datetime]] = (), number: int = 1,
              authority_key_id: bytes | None = None) -> x509.CertificateRevocationList:
    """A v2 CRL (RFC 5280 section 5) with cRLNumber and authorityKeyIdentifier."""
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer)
               .last_update(this_update).next_update(next_update)
               .add_extension(x509.CRLNumber(number), False))
    if authority_key_id:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(authority_key_id, None, None), False)
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build())
    if not sm2.is_sm2_private_key(signing_key):
        return builder.sign(signing_key, hashes.SHA256())
    crl = builder.sign(_placeholder(), hashes.SHA256())
    # TBSCertList: version, signature, issuer, thisUpdate, nextUpdate, revoked, [0] extensions
    return x509.load_der_x509_crl(_resplice(crl.public_bytes(Encoding.DER), signing_key, 1))


def ca_extensions(public_key, issuer_key_id: bytes | None, path_length: int | None):
    """Extensions of a licence-authority CA certificate (PROFILE.md)."""
    exts = [(x509.BasicConstraints(ca=True, path_length=path_length), True),
            (x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                           data_encipherment=False, key_agreement=False, key_cert_sign=True,
                           crl_sign=True, encipher_only=False, decipher_only=False), True),
            (x509.SubjectKeyIdentifier(key_id(public_key)), False)]
    if issuer_key_id:
        exts.append((x509.AuthorityKeyIdentifier(issuer_key_id, None, None), False))
    return exts


def leaf_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                         crl_sign=False, encipher_only=False, decipher_only=False)
