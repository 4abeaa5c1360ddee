"""Strict compact JWS (RFC 7515) parsing for licence responses, and the matching signer.

Bounded before anything else: the whole JWS is at most ``MAX_JWS_BYTES`` and the ``x5c``
chain at most ``MAX_X5C`` certificates.  Parsing follows RFC 7515 section 5.2 and is strict
where the RFC lets a verifier choose: base64url without padding and with zero trailing bits
(section 2, RFC 4648 section 3.5), a UTF-8 JSON object header without duplicate member names
(section 5.2 step 4), ``crit`` not understood (section 4.1.11), and ``x5c`` entries in
standard base64, not base64url (section 4.1.6).
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from . import keys
from .errors import LicenceError

MAX_JWS_BYTES = 64 * 1024
MAX_X5C = 5
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_B64STD = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
DEFAULT_ALG = {"RSA": "RS256", "EC-P256": "ES256", "SM2": "SM2"}


@dataclass(frozen=True)
class ParsedJWS:
    header: dict
    alg: str
    x5c: tuple[str, ...]  # the entries as sent (checked standard base64): the chain cache key
    signing_input: bytes
    payload: bytes
    signature: bytes

    def certs_der(self) -> tuple[bytes, ...]:
        """The DER certificates; decoded only when the chain is not in the verifier's cache."""
        return tuple(base64.b64decode(entry, validate=True) for entry in self.x5c)


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding; ValueError otherwise."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(raw) != text:  # non-zero trailing bits: not the canonical encoding
        raise ValueError("non-canonical base64url")
    return raw


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _reject_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate member {key!r}")
        obj[key] = value
    return obj


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def strict_json_object(raw: bytes) -> dict:
    """A JSON object from UTF-8 bytes: no duplicate names, no NaN/Infinity; ValueError otherwise."""
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicates,
                           parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _is_b64std(entry) -> bool:
    # RFC 4648 section 4, padded; a non-canonical final character only yields the same DER
    return isinstance(entry, str) and bool(entry) and _B64STD.fullmatch(entry) is not None


def parse_compact(jws, *, max_bytes: int = MAX_JWS_BYTES, max_x5c: int = MAX_X5C) -> ParsedJWS:
    """Parse and bound a compact JWS; every failure is a LicenceError with its own reason."""
    if isinstance(jws, (bytes, bytearray)):
        if len(jws) > max_bytes:
            raise LicenceError("jws_too_large", f"the JWS is larger than {max_bytes} bytes")
        try:
            jws = bytes(jws).decode("ascii")
        except UnicodeDecodeError:
            raise LicenceError("jws_malformed", "the JWS is not ASCII") from None
    if not isinstance(jws, str):
        raise LicenceError("jws_malformed", "the JWS must be a string")
    if len(jws) > max_bytes:
        raise LicenceError("jws_too_large", f"the JWS is larger than {max_bytes} bytes")
    parts = jws.split(".")
    if len(parts) != 3:  # RFC 7515 section 7.1: exactly three parts (JWE has five)
        raise LicenceError("jws_malformed", "a compact JWS has exactly three parts")
    try:
        header = strict_json_object(b64url_decode(parts[0]))
        payload = b64url_decode(parts[1])
        signature = b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise LicenceError("jws_malformed", f"the JWS does not decode: {exc}") from None
    alg = header.get("alg")
    if not isinstance(alg, str):  # RFC 7515 section 4.1.1: alg MUST be present
        raise LicenceError("jws_malformed", "the JWS header has no alg")
    if alg not in keys.JWS_ALGS:  # never "none", never a MAC (RFC 8725 section 3.1)
        raise LicenceError("alg_not_allowed", f"alg {alg[:20]!r} is not accepted")
    if "crit" in header:
        raise LicenceError("crit_unsupported")
    x5c = header.get("x5c")
    if x5c is None:
        raise LicenceError("x5c_missing")
    if not isinstance(x5c, list) or not x5c:
        raise LicenceError("x5c_malformed", "x5c must be a non-empty array")
    if len(x5c) > max_x5c:
        raise LicenceError("chain_too_long", f"x5c has more than {max_x5c} certificates")
    if not all(_is_b64std(entry) for entry in x5c):
        raise LicenceError("x5c_malformed", "x5c entries must be standard base64 DER")
    return ParsedJWS(header, alg, tuple(x5c), f"{parts[0]}.{parts[1]}".encode("ascii"), payload, signature)


def _der_of(cert) -> bytes:
    if isinstance(cert, x509.Certificate):
        return cert.public_bytes(Encoding.DER)
    return bytes(cert)


def make_jws(payload: dict, key, chain: Sequence, alg: str | None = None) -> str:
    """Sign ``payload`` with a licence key: header ``{alg, x5c}`` (RFC 7515 section 4.1.6).

    ``chain`` is the licence certificate first, then its intermediates (certificates or DER).
    ``alg`` defaults to RS256, ES256 or SM2 by the key type.
    """
    alg = alg or DEFAULT_ALG[keys.key_kind_of_private(key)]
    header = {"alg": alg, "x5c": [base64.b64encode(_der_of(c)).decode("ascii") for c in chain]}
    signing_input = ".".join(
        b64url_encode(json.dumps(part, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        for part in (header, payload))
    signature = keys.sign_jws(alg, key, signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_encode(signature)}"
