"""Licence authorities configured as files under ``keys/trust/``.

- ``keys/trust/NAME.pem``: a trust anchor (one CA certificate, PEM);
- ``keys/trust/intermediates/NAME.pem``: a CA certificate used to build paths when holders
  leave it out of ``x5c``; it is not trusted by itself;
- ``NAME.crl-source`` beside either: one line, the path (relative to that file's folder) or
  http(s) URL of the CRL *this* CA publishes, i.e. the one covering the certificates it issues.
  Without it the CRL distribution point URLs of those certificates are used.
- ``NAME.ocsp-source`` beside either (optional): one line, the http(s) URL of the OCSP
  responder that answers for the certificates *this* CA issues, or ``aia`` for the responder
  named in each such certificate (authorityInformationAccess).  See ocsp.py.
"""
from __future__ import annotations

from pathlib import Path

from cryptography import x509

from .ocsp import parse_ocsp_source

TRUST_DIR = "trust"
INTERMEDIATES_DIR = "intermediates"
SIDE_SUFFIX = ".crl-source"
OCSP_SUFFIX = ".ocsp-source"


def _one_line(side: Path, what: str) -> str:
    lines = [ln.strip() for ln in side.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if len(lines) != 1:
        raise ValueError(f"{side}: expected exactly one {what}")
    return lines[0]


def read_crl_source(pem_path: Path) -> str | None:
    side = pem_path.with_suffix(SIDE_SUFFIX)
    if not side.is_file():
        return None
    source = _one_line(side, "CRL path or URL")
    if source.startswith(("http://", "https://")):
        return source
    path = Path(source[len("file://"):] if source.startswith("file://") else source)
    return str(path if path.is_absolute() else (side.parent / path).resolve())


def read_ocsp_source(pem_path: Path) -> str | None:
    side = pem_path.with_suffix(OCSP_SUFFIX)
    if not side.is_file():
        return None
    try:
        return parse_ocsp_source(_one_line(side, "OCSP responder URL or 'aia'"))
    except ValueError as exc:
        raise ValueError(f"{side}: {exc}") from None


def _load_dir(folder: Path) -> list[tuple[x509.Certificate, str | None, str | None]]:
    entries = []
    for pem in sorted(folder.glob("*.pem")):
        certs = x509.load_pem_x509_certificates(pem.read_bytes())
        if len(certs) != 1:
            raise ValueError(f"{pem}: expected exactly one certificate")
        entries.append((certs[0], read_crl_source(pem), read_ocsp_source(pem)))
    return entries


def load_trust_dir(keys_dir) -> tuple[list, list]:
    """(anchors, intermediates) as lists of (certificate, crl_source, ocsp_source) from
    ``keys_dir/trust``."""
    base = Path(keys_dir) / TRUST_DIR
    if not base.is_dir():
        return [], []
    return _load_dir(base), _load_dir(base / INTERMEDIATES_DIR) if (base / INTERMEDIATES_DIR).is_dir() else []


def install_ca(keys_dir, name: str, cert_pem: bytes, crl_source: str | None, *,
               anchor: bool, ocsp_source: str | None = None) -> Path:
    """Write a CA certificate (and its crl-source and ocsp-source sidecars) into the trust folder."""
    folder = Path(keys_dir) / TRUST_DIR
    if not anchor:
        folder = folder / INTERMEDIATES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    pem_path = folder / f"{name}.pem"
    pem_path.write_bytes(cert_pem)
    for suffix, source in ((SIDE_SUFFIX, crl_source), (OCSP_SUFFIX, ocsp_source)):
        side = pem_path.with_suffix(suffix)
        if source:
            side.write_text(source + "\n", encoding="utf-8")
        elif side.exists():
            side.unlink()
    return pem_path
