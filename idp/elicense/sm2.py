"""SM2 signatures (GB/T 32918.2, GB/T 35276) through tongsuopy, behind a small interface.

``cryptography`` parses SM2 certificates but cannot use SM2 keys, so every SM2 operation goes
through here: the JWS ``SM2`` algorithm (signature ``r || s``, 32 bytes each, as ES256 encodes
ECDSA, RFC 7518 section 3.4) and SM2-with-SM3 certificate and CRL signatures (a DER
``ECDSA-Sig-Value``, GM/T 0015 / RFC 5480 section 2.2 layout).

The distinguishing ID enters the signature through Z = SM3(ENTL || ID || a || b || G || P)
(GB/T 32918.2 section 5.5).  tongsuopy 1.0.1 has no call to set it: its EVP_DigestSign/Verify
path always uses Tongsuo's default ID, which is ``1234567812345678`` (GM/T 0009 section 10)
-- checked against ``openssl pkeyutl -pkeyopt distid:1234567812345678`` in
tests/elicense/test_interop.py.  Any other ID is refused rather than silently ignored.
"""
from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from tongsuopy.crypto import hashes as _th
from tongsuopy.crypto import serialization as _ts
from tongsuopy.crypto.asymciphers import ec as _tec

DEFAULT_ID = b"1234567812345678"
SM2_CURVE_OID = "1.2.156.10197.1.301"
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"
# order n of the SM2 curve (GB/T 32918.5 appendix A)
_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123

SM2PublicKey = _tec.EllipticCurvePublicKey
SM2PrivateKey = _tec.EllipticCurvePrivateKey


def _check_id(id: bytes) -> None:
    if id != DEFAULT_ID:
        raise ValueError("tongsuopy 1.0.1 only implements the default SM2 ID 1234567812345678")


def load_public_key(key) -> SM2PublicKey:
    """Accept a tongsuopy key, an SPKI (DER or PEM) or an uncompressed point (65 bytes, 0x04...)."""
    if isinstance(key, _tec.EllipticCurvePublicKey):
        return key
    key = bytes(key)
    if len(key) == 65 and key[0] == 4:
        loaded = _tec.EllipticCurvePublicKey.from_encoded_point(_tec.SM2(), key)
    elif key.startswith(b"-----"):
        loaded = _ts.load_pem_public_key(key)
    else:
        loaded = _ts.load_der_public_key(key)
    if not isinstance(loaded, _tec.EllipticCurvePublicKey) or loaded.curve.name != "SM2":
        raise ValueError("not an SM2 public key")
    return loaded


def _to_der(signature: bytes, der: bool | None) -> bytes | None:
    """Canonical DER ECDSA-Sig-Value from r||s or DER input; None when malformed or out of range."""
    try:
        if der is False or (der is None and len(signature) == 64):
            if len(signature) != 64:
                return None
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        else:
            r, s = decode_dss_signature(signature)
    except (ValueError, TypeError):
        return None
    # GB/T 32918.2 section 7.1 B1/B2: r and s must lie in [1, n-1]
    if not (0 < r < _N and 0 < s < _N):
        return None
    return encode_dss_signature(r, s)


def verify_sm2(public_key, data: bytes, signature: bytes, id: bytes = DEFAULT_ID, *,
               der: bool | None = None) -> bool:
    """True when ``signature`` (r||s, or DER when ``der`` or its length says so) verifies."""
    _check_id(id)
    canonical = _to_der(bytes(signature), der)
    if canonical is None:
        return False
    try:
        load_public_key(public_key).verify(canonical, bytes(data), _tec.ECDSA(_th.SM3()))
    except Exception:  # InvalidSignature, or Tongsuo rejecting the key: both mean "no"
        return False
    return True


def sign_sm2(private_key: SM2PrivateKey, data: bytes, id: bytes = DEFAULT_ID, *,
             raw: bool = False) -> bytes:
    """Sign with SM2-with-SM3: DER ECDSA-Sig-Value, or r||s (32 bytes each) when ``raw``."""
    _check_id(id)
    sig = private_key.sign(bytes(data), _tec.ECDSA(_th.SM3()))
    if not raw:
        return sig
    r, s = decode_dss_signature(sig)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def generate_private_key() -> SM2PrivateKey:
    return _tec.generate_private_key(_tec.SM2())


def load_private_key_pem(pem: bytes, password: bytes | None = None) -> SM2PrivateKey:
    key = _ts.load_pem_private_key(pem, password)
    if not isinstance(key, _tec.EllipticCurvePrivateKey) or key.curve.name != "SM2":
        raise ValueError("not an SM2 private key")
    return key


def is_sm2_private_key(key) -> bool:
    return isinstance(key, _tec.EllipticCurvePrivateKey)


def private_key_pem(key: SM2PrivateKey) -> bytes:
    return key.private_bytes(_ts.Encoding.PEM, _ts.PrivateFormat.PKCS8, _ts.NoEncryption())


def public_key_spki(key) -> bytes:
    """DER SubjectPublicKeyInfo: id-ecPublicKey with the SM2 named curve (GM/T 0015)."""
    if isinstance(key, _tec.EllipticCurvePrivateKey):
        key = key.public_key()
    return key.public_bytes(_ts.Encoding.DER, _ts.PublicFormat.SubjectPublicKeyInfo)


def public_point(key) -> bytes:
    """The uncompressed point 0x04 || x || y."""
    if isinstance(key, _tec.EllipticCurvePrivateKey):
        key = key.public_key()
    return key.public_bytes(_ts.Encoding.X962, _ts.PublicFormat.UncompressedPoint)
