"""A demo licence authority: root CA, issuing CA, licences, revocation and CRLs (demo mode only).

Files, under ``KEYS/elicense/`` (EC P-256 or RSA chain) or ``KEYS/elicense/sm2/`` (SM2 chain):
``root.key.pem``, ``root.crt.pem``, ``root-crl.pem`` (the root's CRL, covering the issuing
CA), ``ca.key.pem``, ``ca.crt.pem``, ``crl.pem`` (the issuing CA's CRL, covering licences),
``state.json`` (CRL numbers and the revoked serials) and ``index.txt`` (one line per issued
licence: serial, USCC, name, role, notAfter).  The root is installed as a trust anchor in
``KEYS/trust/`` and the issuing CA in ``KEYS/trust/intermediates/``, each with a
``.crl-source`` sidecar naming its CRL file.  CRLs are valid for ``CRL_DAYS``; ``write_crls``
(``idp elicense authority crl``) re-signs them and must run before they go stale, or every
licence of the authority is refused (the verifier fails closed).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from . import profile, trust
from . import x509build as xb
from .errors import LicenceError
from .verifier import serial_hex

CRL_DAYS = 7
LICENCE_DAYS = 365
_UTC = dt.timezone.utc


def authority_dir(keys_dir, sm2: bool = False) -> Path:
    base = Path(keys_dir) / "elicense"
    return base / "sm2" if sm2 else base


def _write(path: Path, data: bytes, secret: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)  # readers (the verifier's CRL cache) never see half a file


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "IDP Demo Licence Authority"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now(_UTC)).replace(microsecond=0)


def _load(folder: Path, stem: str):
    cert = x509.load_pem_x509_certificate((folder / f"{stem}.crt.pem").read_bytes())
    return cert, xb.load_private_key((folder / f"{stem}.key.pem").read_bytes())


def _state(folder: Path) -> dict:
    path = folder / "state.json"
    return json.loads(path.read_text()) if path.exists() else {"crl_number": 0, "root_crl_number": 0,
                                                               "revoked": {}}


def init_authority(keys_dir, *, sm2: bool = False, key_type: str = "ec",
                   now: dt.datetime | None = None) -> Path:
    """Create root and issuing CA, their CRLs, and install them as licence authority."""
    folder = authority_dir(keys_dir, sm2)
    if (folder / "ca.crt.pem").exists():
        raise FileExistsError(f"a licence authority already exists in {folder}")
    kind = "sm2" if sm2 else key_type
    now = _now(now)
    root_key, ca_key = xb.generate_key(kind), xb.generate_key(kind)
    label = " SM2" if sm2 else ""
    root_name, ca_name = _name(f"Demo Licence Root CA{label}"), _name(f"Demo Licence Issuing CA{label}")
    root = xb.build_certificate(
        subject=root_name, issuer=root_name, public_key=root_key.public_key(), signing_key=root_key,
        serial=secrets.randbits(63) | 1 << 62, not_before=now, not_after=now + dt.timedelta(days=3650),
        extensions=xb.ca_extensions(root_key.public_key(), None, 1))
    ca = xb.build_certificate(
        subject=ca_name, issuer=root_name, public_key=ca_key.public_key(), signing_key=root_key,
        serial=secrets.randbits(63) | 1 << 62, not_before=now, not_after=now + dt.timedelta(days=1825),
        extensions=xb.ca_extensions(ca_key.public_key(), xb.key_id(root_key.public_key()), 0))
    for stem, cert, key in (("root", root, root_key), ("ca", ca, ca_key)):
        _write(folder / f"{stem}.key.pem", xb.private_key_pem(key), secret=True)
        _write(folder / f"{stem}.crt.pem", cert.public_bytes(Encoding.PEM))
    (folder / "index.txt").touch()
    _write(folder / "state.json", json.dumps(_state(folder)).encode())
    write_crls(keys_dir, sm2=sm2, now=now)
    tag = "elicense-demo-sm2" if sm2 else "elicense-demo"
    anchors = Path(keys_dir) / trust.TRUST_DIR
    trust.install_ca(keys_dir, tag, root.public_bytes(Encoding.PEM),
                     os.path.relpath(folder / "root-crl.pem", anchors), anchor=True)
    trust.install_ca(keys_dir, f"{tag}-ca", ca.public_bytes(Encoding.PEM),
                     os.path.relpath(folder / "crl.pem", anchors / trust.INTERMEDIATES_DIR), anchor=False)
    return folder


def write_crls(keys_dir, *, sm2: bool = False, now: dt.datetime | None = None,
               days: int = CRL_DAYS) -> None:
    """Re-sign both CRLs of the authority (thisUpdate now, nextUpdate now + ``days``)."""
    folder = authority_dir(keys_dir, sm2)
    now, state = _now(now), _state(folder)
    root, root_key = _load(folder, "root")
    ca, ca_key = _load(folder, "ca")
    state["crl_number"] += 1
    state["root_crl_number"] += 1
    revoked = [(int(s, 16), dt.datetime.fromisoformat(t)) for s, t in sorted(state["revoked"].items())]
    for path, cert, key, entries, number in (
            ("crl.pem", ca, ca_key, revoked, state["crl_number"]),
            ("root-crl.pem", root, root_key, [], state["root_crl_number"])):
        crl = xb.build_crl(issuer=cert.subject, signing_key=key, this_update=now,
                           next_update=now + dt.timedelta(days=days), revoked=entries, number=number,
                           authority_key_id=xb.key_id(key.public_key()))
        _write(folder / path, crl.public_bytes(Encoding.PEM))
    _write(folder / "state.json", json.dumps(state, indent=1).encode())


def _issued(folder: Path) -> dict[str, list[str]]:
    index = folder / "index.txt"
    if not index.exists():
        return {}
    return {line.split("\t")[0]: line.split("\t") for line in index.read_text().splitlines() if line}


def issue_licence(keys_dir, *, uscc: str, name: str, legal_rep: str, out_dir,
                  role: str = "legal_representative", agent_name: str | None = None,
                  sm2: bool = False, key_type: str | None = None, hardware: bool = False,
                  days: int = LICENCE_DAYS, crl_url: str | None = None,
                  now: dt.datetime | None = None) -> str:
    """Issue a licence; write licence.crt.pem, licence.key.pem, chain.pem; return the serial (hex)."""
    try:
        uscc = profile.check_uscc(uscc.strip().upper())
    except LicenceError:
        raise ValueError(f"{uscc!r} is not a valid unified social credit code (GB 32100)") from None
    profile.check_name(name, "name")
    holder = profile.holder_info_extension(legal_rep, role, agent_name, hardware)  # validates
    folder = authority_dir(keys_dir, sm2)
    if not (folder / "ca.crt.pem").exists():
        raise FileNotFoundError(f"no licence authority in {folder}: run `idp elicense authority init"
                                f"{' --sm2' if sm2 else ''}` first")
    ca, ca_key = _load(folder, "ca")
    now, issued = _now(now), _issued(folder)
    key = xb.generate_key("sm2" if sm2 else key_type or "ec")
    serial = secrets.randbits(63) | 1 << 62  # positive, unpredictable (RFC 5280 section 4.1.2.2)
    while serial_hex(serial) in issued:
        serial = secrets.randbits(63) | 1 << 62
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                         x509.NameAttribute(profile.ORGANIZATION_IDENTIFIER, uscc),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                         x509.NameAttribute(NameOID.COMMON_NAME, name)])
    exts = [(x509.BasicConstraints(ca=False, path_length=None), True),
            (xb.leaf_key_usage(), True),
            (x509.SubjectKeyIdentifier(xb.key_id(key.public_key())), False),
            (x509.AuthorityKeyIdentifier(xb.key_id(ca_key.public_key()), None, None), False),
            (holder, False)]
    if crl_url:
        exts.append((x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier(crl_url)], None, None, None)]), False))
    cert = xb.build_certificate(subject=subject, issuer=ca.subject, public_key=key.public_key(),
                                signing_key=ca_key, serial=serial, not_before=now - dt.timedelta(minutes=5),
                                not_after=now + dt.timedelta(days=days), extensions=exts)
    out = Path(out_dir)
    _write(out / "licence.crt.pem", cert.public_bytes(Encoding.PEM))
    _write(out / "licence.key.pem", xb.private_key_pem(key), secret=True)
    _write(out / "chain.pem", ca.public_bytes(Encoding.PEM))
    with open(folder / "index.txt", "a", encoding="utf-8") as fh:
        fh.write("\t".join([serial_hex(serial), uscc, name, role, cert.not_valid_after_utc.isoformat()]) + "\n")
    return serial_hex(serial)


def normalise_serial(serial: str) -> str:
    text = serial.strip().lower().replace(":", "")
    text = text[2:] if text.startswith("0x") else text
    return serial_hex(int(text, 16))  # ValueError when not hex


def revoke_licence(keys_dir, serial: str, *, now: dt.datetime | None = None) -> str:
    """Revoke a licence issued by either demo chain and publish a fresh CRL; return the serial."""
    serial = normalise_serial(serial)
    for sm2 in (False, True):
        folder = authority_dir(keys_dir, sm2)
        if serial in _issued(folder):
            state = _state(folder)
            state["revoked"].setdefault(serial, _now(now).isoformat())
            _write(folder / "state.json", json.dumps(state, indent=1).encode())
            write_crls(keys_dir, sm2=sm2, now=now)
            return serial
    raise KeyError(f"no licence with serial {serial} was issued by the demo licence authority")
