"""OCSP requests and the checks on OCSP responses (RFC 6960), for ``ocsp.OcspChecker``.

A request asks about one certificate: CertID (section 4.1.1; SHA-1 or SHA-256 over the
issuer's DER name and over its subjectPublicKey bits, and the serial) and a nonce extension
(section 4.4.1, RFC 8954: 32 random octets).  A response is used only when (section 3.2):

- its status is ``successful`` and it is a BasicOCSPResponse;
- it is signed by the CA that issued the certificate, or by a delegated responder whose
  certificate is in the response, issued *directly* by that CA (signature verified with the
  CA key), valid now, and carrying the id-kp-OCSPSigning extended key usage (section
  4.2.2.2); the ResponderID names the signer (by name or by SHA-1 key hash); signature
  algorithms are those accepted for certificates (keys.py), SM2-with-SM3 included, verified
  through sm2.py like SM2-signed CRLs;
- a SingleResponse carries this certificate's CertID (any of SHA-1/256/384/512);
- a nonce in the response equals the one sent (a responder that does not support nonces
  omits it, RFC 5019 section 2.2.1);
- ``thisUpdate`` is not in the future and ``nextUpdate`` is not past, within ``skew``; a
  response without ``nextUpdate`` must have a ``thisUpdate`` at most ``max_age`` old;
- no critical extension is left unprocessed.

Failures are ``LicenceError``: ``ocsp_unavailable`` (no answer), ``ocsp_invalid`` (an answer
that cannot be trusted or is not about this certificate), ``ocsp_stale``.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, OCSPExtensionOID

from . import keys
from .chain import CertInfo
from .errors import LicenceError

CERT_ID_HASHES = {"sha1": hashes.SHA1, "sha256": hashes.SHA256}
_RESPONSE_HASHES = {"sha1", "sha256", "sha384", "sha512"}
_RSA_PSS = "1.2.840.113549.1.1.10"  # its parameters are not exposed for OCSP responses
_RESPONDER_EXTENSIONS = {ExtensionOID.KEY_USAGE, ExtensionOID.EXTENDED_KEY_USAGE,
                         ExtensionOID.BASIC_CONSTRAINTS}


@dataclass(frozen=True)
class OcspResult:
    status: str  # "good" | "revoked" | "unknown"
    this_update: float
    next_update: float | None
    source: str
    reason: str | None = None  # revoked: the CRLReason name (RFC 5280 section 5.3.1)
    revoked_at: float | None = None


def invalid(source: str, why: str) -> LicenceError:
    return LicenceError("ocsp_invalid", f"OCSP response from {source}: {why}")


def _name_hash(cert: x509.Certificate, algorithm: str) -> bytes:
    return hashlib.new(algorithm, cert.issuer.public_bytes()).digest()


def _key_hash(issuer: x509.Certificate, algorithm: str) -> bytes:
    return hashlib.new(algorithm, keys.subject_public_key_bits(issuer)).digest()


def build_request(cert: x509.Certificate, issuer: x509.Certificate, algorithm: str,
                  nonce: bytes | None) -> bytes:
    """A DER OCSPRequest for one certificate, unsigned (section 4.1)."""
    builder = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        _name_hash(cert, algorithm), _key_hash(issuer, algorithm), cert.serial_number,
        CERT_ID_HASHES[algorithm]())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(Encoding.DER)


def _names(resp, cert: x509.Certificate) -> bool:
    """Does the ResponderID (section 4.2.1) name this certificate's subject?"""
    if resp.responder_name is not None:
        return resp.responder_name == cert.subject
    return resp.responder_key_hash == hashlib.sha1(keys.subject_public_key_bits(cert)).digest()


def _delegation_problem(cert: x509.Certificate, issuer: CertInfo, now: float) -> str | None:
    """Why ``cert`` may not sign OCSP responses for ``issuer`` (section 4.2.2.2), or None."""
    if cert.issuer != issuer.cert.subject or not keys.signature_algorithm_accepted(cert) or \
            not keys.verify_signed(cert, cert.tbs_certificate_bytes, issuer.key):
        return "is not issued by the certificate's CA"
    if not cert.not_valid_before_utc.timestamp() <= now <= cert.not_valid_after_utc.timestamp():
        return "is not valid now"
    exts = cert.extensions
    try:
        eku = exts.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = ()
    if ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
        return "lacks the id-kp-OCSPSigning extended key usage"
    try:
        ku = exts.get_extension_for_class(x509.KeyUsage).value
        if not (ku.digital_signature or ku.content_commitment):
            return "key usage does not allow signing"
    except x509.ExtensionNotFound:
        pass
    if any(e.critical and e.oid not in _RESPONDER_EXTENSIONS for e in exts):
        return "has a critical extension this verifier does not process"
    return None


def _signer_key(resp, issuer: CertInfo, now: float, source: str) -> keys.PublicKey:
    if _names(resp, issuer.cert):
        return issuer.key
    for cert in resp.certificates:
        if not _names(resp, cert):
            continue
        problem = _delegation_problem(cert, issuer, now)
        if problem:
            raise invalid(source, f"the responder certificate {problem}")
        try:
            return keys.public_key_of(cert)
        except keys.UnsupportedKey as exc:
            raise invalid(source, f"responder key: {exc}") from None
    raise invalid(source, "signed by a responder the CA did not authorise")


def _single_for(resp, cert: x509.Certificate, issuer: x509.Certificate):
    for single in resp.responses:
        try:
            algorithm = single.hash_algorithm.name
        except Exception:  # a CertID hash cryptography does not know: not ours
            continue
        if algorithm in _RESPONSE_HASHES and single.serial_number == cert.serial_number and \
                single.issuer_name_hash == _name_hash(cert, algorithm) and \
                single.issuer_key_hash == _key_hash(issuer, algorithm):
            return single
    return None


def _check_extensions(resp, nonce: bytes | None, source: str) -> None:
    for ext in resp.extensions:
        if ext.oid == OCSPExtensionOID.NONCE:
            if nonce is not None and ext.value.nonce != nonce:
                raise invalid(source, "the nonce does not match the request's (a replayed answer?)")
        elif ext.critical:
            raise invalid(source, f"critical extension {ext.oid.dotted_string}")


def check_response(raw: bytes, *, cert: x509.Certificate, issuer: CertInfo, nonce: bytes | None,
                   now: float, skew: float, max_age: float, source: str) -> OcspResult:
    """Parse and check a DER OCSPResponse about ``cert``; LicenceError unless usable."""
    try:
        resp = ocsp.load_der_ocsp_response(raw)
    except Exception:  # not DER, not an OCSPResponse, not a BasicOCSPResponse
        raise invalid(source, "not a valid OCSP response") from None
    if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise LicenceError("ocsp_unavailable", f"OCSP responder {source} answered "
                                               f"{resp.response_status.name}")
    try:
        return _check_basic(resp, cert, issuer, nonce, now, skew, max_age, source)
    except LicenceError:
        raise
    except Exception as exc:  # malformed fields surface lazily: never anything but a reason
        raise invalid(source, f"malformed response ({type(exc).__name__})") from None


def _check_basic(resp, cert, issuer: CertInfo, nonce, now, skew, max_age, source) -> OcspResult:
    oid = resp.signature_algorithm_oid.dotted_string
    if not keys.signature_algorithm_accepted(resp) or oid == _RSA_PSS:
        raise invalid(source, f"signature algorithm {oid} is not accepted")
    key = _signer_key(resp, issuer, now, source)
    if not keys.verify_signed(resp, resp.tbs_response_bytes, key):
        raise invalid(source, "the signature does not verify")
    _check_extensions(resp, nonce, source)
    single = _single_for(resp, cert, issuer.cert)
    if single is None:
        raise invalid(source, "it is not about this certificate (no matching CertID)")
    if len(list(resp.responses)) == 1 and any(e.critical for e in resp.single_extensions):
        raise invalid(source, "critical singleExtension")
    this_update = single.this_update_utc.timestamp()
    next_update = single.next_update_utc.timestamp() if single.next_update_utc else None
    if this_update > now + skew or resp.produced_at_utc.timestamp() > now + skew:
        raise invalid(source, "thisUpdate or producedAt is in the future")
    if next_update is not None and now - skew >= next_update:
        raise LicenceError("ocsp_stale", f"OCSP response from {source} is past its nextUpdate")
    if next_update is None and now - this_update > max_age:
        raise LicenceError("ocsp_stale", f"OCSP response from {source} has no nextUpdate and "
                                         f"is more than {max_age:g} s old")
    status = single.certificate_status
    if status == ocsp.OCSPCertStatus.REVOKED:
        reason = single.revocation_reason.value if single.revocation_reason else "unspecified"
        return OcspResult("revoked", this_update, next_update, source, reason,
                          single.revocation_time_utc.timestamp())
    return OcspResult("good" if status == ocsp.OCSPCertStatus.GOOD else "unknown",
                      this_update, next_update, source)
