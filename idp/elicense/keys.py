"""Public keys of licence certificates and the signatures made with them.

One place decides which keys and algorithms are accepted:

- certificate and CRL signatures (RFC 5280 section 4.1.1.2): sha256/384/512WithRSAEncryption
  and RSASSA-PSS (RFC 4055), ecdsa-with-SHA256/384/512 (RFC 5758 section 3.2), SM2-with-SM3
  (GM/T 0015); nothing with MD5 or SHA-1;
- JWS signatures (RFC 7518 section 3.1): RS256, PS256 (salt = hash length, section 3.5),
  ES256 (r||s, section 3.4) and SM2 (r||s over SM2-with-SM3, DESIGN section 9);
- keys: RSA of at least 2048 bits, EC on P-256 (and P-384 for CAs), SM2.
"""
from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from . import der, sm2

RSA_MIN_BITS = 2048
_EC_PUBLIC_KEY = der.oid("1.2.840.10045.2.1")
_SM2_CURVE = der.oid(sm2.SM2_CURVE_OID)

# JWS alg -> key kind it needs (RFC 7518 section 3.1, DESIGN section 9)
JWS_ALGS = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC-P256", "SM2": "SM2"}

_RSA_SIGS = {"1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12", "1.2.840.113549.1.1.13"}
_RSA_PSS = "1.2.840.113549.1.1.10"
_ECDSA_SIGS = {"1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4"}


class UnsupportedKey(ValueError):
    """The key's type or size is not accepted."""


@dataclass(frozen=True)
class PublicKey:
    kind: str  # "RSA", "EC-P256", "EC-P384" or "SM2"
    key: object  # a cryptography key, or a tongsuopy key for SM2
    bits: int


def _spki_of(cert: x509.Certificate) -> bytes:
    """The SubjectPublicKeyInfo TLV, read from the DER (RFC 5280 section 4.1)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    outer = der.sequence_items(cert.public_bytes(Encoding.DER))
    tbs = der.sequence_items(outer[0][2])
    index = 6 if tbs[0][0] == 0xA0 else 5  # [0] EXPLICIT version is optional
    return tbs[index][2]


def subject_public_key_bits(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING contents (RFC 5280 section 4.2.1.2, RFC 6960 CertID)."""
    items = der.sequence_items(_spki_of(cert))
    if len(items) != 2 or items[1][0] != der.BIT_STRING or items[1][1][:1] != b"\x00":
        raise der.DerError("malformed subjectPublicKey")
    return items[1][1][1:]


def public_key_of(cert: x509.Certificate) -> PublicKey:
    """The certificate's key, or ValueError when its type or size is not accepted."""
    try:
        key = cert.public_key()
    except UnsupportedAlgorithm:  # cryptography refuses the SM2 curve: look at the SPKI ourselves
        spki = _spki_of(cert)
        alg = der.sequence_items(der.sequence_items(spki)[0][2])
        if len(alg) != 2 or alg[0][2] != _EC_PUBLIC_KEY or alg[1][2] != _SM2_CURVE:
            raise UnsupportedKey("unsupported public key algorithm") from None
        return PublicKey("SM2", sm2.load_public_key(spki), 256)
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < RSA_MIN_BITS:
            raise UnsupportedKey(f"RSA key of {key.key_size} bits is too small")
        return PublicKey("RSA", key, key.key_size)
    if isinstance(key, ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return PublicKey("EC-P256", key, 256)
        if isinstance(key.curve, ec.SECP384R1):
            return PublicKey("EC-P384", key, 384)
    raise UnsupportedKey("unsupported public key type")


def verify_signed(obj, tbs: bytes, issuer: PublicKey) -> bool:
    """Verify a certificate's or CRL's signature (RFC 5280 sections 4.1.1.3, 5.1.1.3)."""
    try:
        oid = obj.signature_algorithm_oid.dotted_string
        if issuer.kind == "SM2":
            return oid == sm2.SM2_WITH_SM3_OID and sm2.verify_sm2(issuer.key, tbs, obj.signature, der=True)
        if issuer.kind == "RSA" and oid in _RSA_SIGS:
            issuer.key.verify(obj.signature, tbs, padding.PKCS1v15(), obj.signature_hash_algorithm)
        elif issuer.kind == "RSA" and oid == _RSA_PSS:
            issuer.key.verify(obj.signature, tbs, obj.signature_algorithm_parameters,
                              obj.signature_hash_algorithm)
        elif issuer.kind.startswith("EC-") and oid in _ECDSA_SIGS:
            issuer.key.verify(obj.signature, tbs, ec.ECDSA(obj.signature_hash_algorithm))
        else:
            return False
    except Exception:  # InvalidSignature, or parameters the backend refuses: both are "no"
        return False
    return True


def signature_algorithm_accepted(obj) -> bool:
    try:
        oid = obj.signature_algorithm_oid.dotted_string
    except Exception:
        return False
    return oid in _RSA_SIGS or oid in _ECDSA_SIGS or oid in (_RSA_PSS, sm2.SM2_WITH_SM3_OID)


def verify_jws(alg: str, key: PublicKey, signing_input: bytes, signature: bytes) -> bool:
    """Verify a JWS signature (RFC 7515 section 5.2 step 8, RFC 7518 section 3)."""
    if JWS_ALGS.get(alg) != key.kind:
        return False
    try:
        if alg == "RS256":
            key.key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "PS256":
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            key.key.verify(signature, signing_input, pss, hashes.SHA256())
        elif alg == "ES256":
            if len(signature) != 64:  # RFC 7518 section 3.4: exactly 64 octets
                return False
            der_sig = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                           int.from_bytes(signature[32:], "big"))
            key.key.verify(der_sig, signing_input, ec.ECDSA(hashes.SHA256()))
        else:
            return len(signature) == 64 and sm2.verify_sm2(key.key, signing_input, signature, der=False)
    except Exception:  # InvalidSignature, or a value the backend refuses: both are "no"
        return False
    return True


def key_kind_of_private(key) -> str:
    if sm2.is_sm2_private_key(key):
        return "SM2"
    if isinstance(key, rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return "EC-P256"
    raise ValueError("unsupported private key type for a licence")


def sign_jws(alg: str, key, signing_input: bytes) -> bytes:
    """Produce a JWS signature (RFC 7518 section 3) with a licence private key."""
    kind = key_kind_of_private(key)
    if JWS_ALGS.get(alg) != kind:
        raise ValueError(f"alg {alg} does not fit a {kind} key")
    if alg == "RS256":
        return key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    if alg == "PS256":
        return key.sign(signing_input, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                        hashes.SHA256())
    if alg == "ES256":
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return sm2.sign_sm2(key, signing_input, raw=True)
