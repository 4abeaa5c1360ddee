"""Licence authorities (trust anchors for business licences) kept in the durable store.

An upload must be exactly one PEM certificate that is a CA: basicConstraints ``cA=TRUE``,
``keyCertSign`` when key usage is present, and currently valid.  Its id is the SHA-256 of
its DER encoding, so the same certificate cannot be added twice.  A self-signed CA is a
trust anchor; any other CA is an intermediate used for building paths.  Each may name where
its CRL is published (``crl_source``) and, optionally, its OCSP responder (``ocsp_source``: an
http(s) URL, or ``aia`` for the URL in each certificate it issued).
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from ..clients.validation import check_uri
from ..elicense.ocsp import parse_ocsp_source
from ..errors import Conflict, InvalidRequest, NotFound, PayloadTooLarge
from ..store.models import LicenceAuthority

MAX_PEM_BYTES = 64 * 1024
PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"


class InvalidCertificate(InvalidRequest):
    error = "invalid_certificate"


@dataclass(frozen=True)
class CaCertificate:
    id: str
    name: str
    pem: str
    subject: str
    issuer: str
    not_after: float
    self_signed: bool


def parse_ca_certificate(data: bytes | str, *, now: float | None = None) -> CaCertificate:
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    if not isinstance(data, bytes):
        raise InvalidCertificate("the certificate must be PEM text")
    if len(data) > MAX_PEM_BYTES:
        raise PayloadTooLarge(f"a CA certificate file must be at most {MAX_PEM_BYTES // 1024} KiB")
    if data.count(PEM_BEGIN) != 1:
        raise InvalidCertificate("upload exactly one PEM certificate (-----BEGIN CERTIFICATE-----)")
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise InvalidCertificate("the file is not a readable PEM X.509 certificate") from None
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        basic = None
    except ValueError:
        raise InvalidCertificate("the certificate has malformed extensions") from None
    if basic is None or not basic.ca:
        raise InvalidCertificate("the certificate is not a CA certificate (basicConstraints cA is not TRUE)")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.key_cert_sign:
            raise InvalidCertificate("the CA certificate's key usage does not allow keyCertSign")
    except x509.ExtensionNotFound:
        pass
    now = time.time() if now is None else now
    not_before = cert.not_valid_before_utc.timestamp()
    not_after = cert.not_valid_after_utc.timestamp()
    if not not_before <= now <= not_after:
        raise InvalidCertificate("the certificate is not valid now (check its validity dates)")
    der = cert.public_bytes(serialization.Encoding.DER)
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    name = str(names[0].value) if names else cert.subject.rfc4514_string()
    return CaCertificate(id=hashlib.sha256(der).hexdigest(), name=name[:200],
                         pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
                         subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
                         not_after=not_after, self_signed=cert.subject == cert.issuer)


def check_crl_source(value) -> str | None:
    """An http(s) URL or an absolute file path, or None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value) > 2000:
        raise InvalidRequest("the CRL source must be an http(s) URL or an absolute file path")
    value = value.strip()
    if value.startswith(("http://", "https://")):
        return check_uri(value, "crl_source", error=InvalidRequest)
    if value.startswith("/") and "\x00" not in value:
        return value
    raise InvalidRequest("the CRL source must be an http(s) URL or an absolute file path")


def check_ocsp_source(value) -> str | None:
    """An http(s) URL of the CA's OCSP responder, or ``aia``, or None (no OCSP checking).

    Plain http is allowed, unlike for CRL sources here: OCSP is served over http (RFC 6960
    appendix A) and its answers are signed and carry the request's nonce."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    message = "the OCSP source must be an http(s) URL of the responder, or 'aia'"
    if not isinstance(value, str) or len(value) > 2000:
        raise InvalidRequest(message)
    try:
        value = parse_ocsp_source(value)
    except ValueError:
        raise InvalidRequest(message) from None
    return value


SOURCE_FIELDS = ("crl_source", "ocsp_source")  # what an edit may change


def _row(session, authority_id) -> LicenceAuthority:
    row = session.get(LicenceAuthority, authority_id) if isinstance(authority_id, str) else None
    if row is None:
        raise NotFound("no such licence authority")
    return row


def authority_json(row) -> dict:
    cert = x509.load_pem_x509_certificate(row.cert_pem.encode())
    return {"id": row.id, "name": row.name, "anchor": bool(row.is_anchor),
            "crl_source": row.crl_source, "ocsp_source": row.ocsp_source,
            "enabled": bool(row.enabled),
            "subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
            "not_after": datetime.fromtimestamp(cert.not_valid_after_utc.timestamp(),
                                                timezone.utc).strftime("%Y-%m-%d"),
            "created_at": int(row.created_at or 0)}


class Authorities:
    def __init__(self, database):
        self.db = database

    def list(self) -> list[dict]:
        with self.db.session(write=False) as s:
            rows = s.execute(select(LicenceAuthority).order_by(LicenceAuthority.created_at)).scalars()
            return [authority_json(r) for r in rows]

    def add(self, session, ca: CaCertificate, *, name: str | None, crl_source: str | None,
            ocsp_source: str | None = None) -> dict:
        if session.get(LicenceAuthority, ca.id) is not None:
            raise Conflict("this certificate is already a licence authority")
        row = LicenceAuthority(id=ca.id, name=(name or ca.name)[:200], cert_pem=ca.pem,
                               is_anchor=ca.self_signed, crl_source=crl_source,
                               ocsp_source=ocsp_source, enabled=True, created_at=time.time())
        session.add(row)
        session.flush()
        return authority_json(row)

    @staticmethod
    def set_enabled(session, authority_id: str, enabled: bool) -> None:
        _row(session, authority_id).enabled = enabled

    @staticmethod
    def update_sources(session, authority_id: str, changes: dict) -> tuple[dict, dict]:
        """Set ``crl_source``/``ocsp_source`` (already validated; None clears) from ``changes``.

        Returns (the authority's JSON, the fields whose value changed).  Every node's
        ``enterprise.trust.VerifierCache`` sees the new sources within its check interval
        (its fingerprint covers each enabled authority's id and sources)."""
        row = _row(session, authority_id)
        changed = {k: v for k, v in changes.items() if k in SOURCE_FIELDS and getattr(row, k) != v}
        for key, value in changed.items():
            setattr(row, key, value)
        session.flush()
        return authority_json(row), changed

    def trust_entries(self) -> tuple[list, list]:
        """Enabled authorities as (anchors, intermediates) of (certificate, crl_source,
        ocsp_source), the shape ``LicenceVerifier`` takes."""
        anchors, intermediates = [], []
        with self.db.session(write=False) as s:
            rows = s.execute(select(LicenceAuthority).where(LicenceAuthority.enabled.is_(True))).scalars()
            for row in rows:
                entry = (x509.load_pem_x509_certificate(row.cert_pem.encode()), row.crl_source,
                         row.ocsp_source)
                (anchors if row.is_anchor else intermediates).append(entry)
        return anchors, intermediates
