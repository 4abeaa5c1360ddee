"""Every licence authority the verifier trusts, for the console: where each comes from
(a file under ``keys/trust/`` or the console/API table), and its revocation state.

The CRL state is read through the verifier's own ``CrlProvider`` (same cache, same fetch
limits), so the page shows what a login would meet: a CRL valid until its nextUpdate, or
the reason every licence of that CA is failing (``crl_unavailable``, ``crl_stale``).
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from ..elicense import LicenceError
from ..elicense.keys import public_key_of
from ..elicense.trust import INTERMEDIATES_DIR, TRUST_DIR, read_crl_source, read_ocsp_source


def _date(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def crl_state(crls, cert: x509.Certificate, source: str | None, now: float | None = None) -> dict:
    """``{"state": "ok"|"none"|<reason>, "source", "next_update"?, "detail"?}``.

    ``none``: no CRL source is configured for the CA itself; the distribution points named
    in the licences it issued are used at login."""
    if not source:
        return {"state": "none", "source": None}
    try:
        info = crls.crl_info(source, cert, public_key_of(cert), time.time() if now is None else now)
    except LicenceError as exc:
        return {"state": exc.reason, "source": source, "detail": exc.description}
    except ValueError as exc:  # a CA key the verifier does not accept
        return {"state": "unsupported_key", "source": source, "detail": str(exc)}
    now = time.time() if now is None else now
    if info.next_update < now:
        return {"state": "crl_stale", "source": source, "next_update": _date(info.next_update)}
    return {"state": "ok", "source": source, "next_update": _date(info.next_update),
            "revoked": len(info.revoked)}


def file_authorities(keys_dir) -> list[dict]:
    """Authorities configured as files: anchors in ``trust/``, intermediates below it."""
    base = Path(keys_dir) / TRUST_DIR
    out = []
    for folder, anchor in ((base, True), (base / INTERMEDIATES_DIR, False)):
        if not folder.is_dir():
            continue
        for pem in sorted(folder.glob("*.pem")):
            entry = {"id": f"file:{pem.relative_to(base)}", "origin": "file",
                     "file": str(pem.relative_to(base.parent)), "anchor": anchor, "enabled": True}
            try:
                certs = x509.load_pem_x509_certificates(pem.read_bytes())
                if len(certs) != 1:
                    raise ValueError("expected exactly one certificate")
                entry.update(cert=certs[0], crl_source=read_crl_source(pem),
                             ocsp_source=read_ocsp_source(pem))
            except (OSError, ValueError) as exc:
                entry.update(cert=None, error=str(exc), crl_source=None, ocsp_source=None)
            out.append(entry)
    return out


def _console_cert(db, authority_id):
    from ..store.models import LicenceAuthority
    with db.session(write=False) as s:
        row = s.get(LicenceAuthority, authority_id)
        return x509.load_pem_x509_certificate(row.cert_pem.encode()) if row is not None else None


def overview(keys_dir, console_rows: list[dict], crls, db) -> list[dict]:
    """File authorities, then console-added ones (``console_rows``: the admin service's
    list), each with ``name``, ``subject``, ``not_after``, ``origin``, ``crl`` (see
    ``crl_state``) and ``ocsp_source``."""
    rows = []
    for entry in file_authorities(keys_dir):
        cert = entry.pop("cert")
        if cert is not None:
            entry.update(name=_name(cert), subject=cert.subject.rfc4514_string(),
                         not_after=cert.not_valid_after_utc.strftime("%Y-%m-%d"),
                         crl=crl_state(crls, cert, entry["crl_source"]))
        else:
            entry.update(name=entry["file"], subject="", not_after="", crl={"state": "unreadable"})
        rows.append(entry)
    for row in console_rows:
        item = dict(row, origin="console")
        if not row.get("enabled"):
            item["crl"] = {"state": "disabled", "source": row.get("crl_source")}
        else:
            cert = _console_cert(db, row["id"])
            item["crl"] = crl_state(crls, cert, row.get("crl_source")) if cert is not None \
                else {"state": "none", "source": None}
        rows.append(item)
    return rows
