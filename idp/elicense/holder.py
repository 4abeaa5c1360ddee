"""The holder side of licence login (DESIGN section 9 steps 2-3), for the CLI and for tests.

``sign_challenge`` reads the challenge behind a QR-code URL (``{issuer}/elicense/c/{challenge}``
or ``{issuer}/elicense/challenges/{challenge}``), signs ``{challenge, nonce, aud, iat}`` with
the licence key in a compact JWS whose header is ``{alg, x5c: [licence, intermediates...]}``,
and posts ``{"jws": ...}`` to ``{issuer}/elicense/challenges/{challenge}/response``.
"""
from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from . import keys, sm2
from . import x509build as xb
from .jws import make_jws

__all__ = ["HolderError", "make_jws", "load_licence", "parse_challenge_url", "sign_challenge"]
_PATH = re.compile(r"^(?P<prefix>.*)/elicense/(?:c|challenges)/(?P<challenge>[A-Za-z0-9_.~-]{1,200})/?$")


class HolderError(Exception):
    """The challenge could not be read, signed or answered."""


def parse_challenge_url(url: str) -> tuple[str, str]:
    """(issuer, challenge) from a QR-code or challenge URL."""
    parts = urlsplit(url)
    match = _PATH.match(parts.path)
    if parts.scheme not in ("http", "https") or not parts.netloc or not match:
        raise HolderError(f"not a licence challenge URL: {url}")
    return f"{parts.scheme}://{parts.netloc}{match['prefix']}", match["challenge"]


def _same_key(cert: x509.Certificate, key) -> bool:
    public = keys.public_key_of(cert)
    if public.kind == "SM2":
        return sm2.is_sm2_private_key(key) and sm2.public_point(key) == sm2.public_point(public.key)
    if sm2.is_sm2_private_key(key):
        return False
    fmt = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return key.public_key().public_bytes(*fmt) == public.key.public_bytes(*fmt)


def load_licence(cert_pem_path, key_pem_path, chain_path=None, password: bytes | None = None):
    """(private key, [licence certificate, intermediates...]) from PEM files."""
    cert = x509.load_pem_x509_certificate(Path(cert_pem_path).read_bytes())
    key = xb.load_private_key(Path(key_pem_path).read_bytes(), password)
    if not _same_key(cert, key):
        raise HolderError("the private key does not belong to the licence certificate")
    chain = [cert]
    if chain_path:
        chain += [c for c in x509.load_pem_x509_certificates(Path(chain_path).read_bytes()) if c != cert]
    return key, chain


def _expired(expires_at, now: float) -> bool:
    """``expires_at`` as epoch seconds or an ISO 8601 time; unknown forms are left to the provider."""
    if isinstance(expires_at, str):
        try:
            stamp = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
        except ValueError:
            return False
        return stamp.tzinfo is not None and stamp.timestamp() < now
    return isinstance(expires_at, (int, float)) and not isinstance(expires_at, bool) and expires_at < now


def sign_challenge(url: str, cert_pem_path, key_pem_path, chain_path=None, *, session=None,
                   timeout: float = 10.0, alg: str | None = None, confirm=None,
                   clock=time.time) -> dict:
    """Answer a login challenge with the licence; return the provider's JSON answer.

    ``confirm(challenge_info) -> bool`` may show the client name and audience to the person
    and refuse; the audience must be the provider the URL points at, so a challenge relayed
    through another site is not signed.
    """
    import requests

    issuer, challenge = parse_challenge_url(url)
    key, chain = load_licence(cert_pem_path, key_pem_path, chain_path)
    if session is None:
        with requests.Session() as own:
            return _answer(own, issuer, challenge, key, chain, timeout, alg, confirm, clock)
    return _answer(session, issuer, challenge, key, chain, timeout, alg, confirm, clock)


def _answer(http, issuer, challenge, key, chain, timeout, alg, confirm, clock) -> dict:
    import requests

    endpoint = f"{issuer}/elicense/challenges/{quote(challenge, safe='')}"
    try:
        resp = http.get(endpoint, timeout=timeout, headers={"Accept": "application/json"})
        info = resp.json() if resp.status_code == 200 else None
    except (requests.RequestException, ValueError) as exc:
        raise HolderError(f"cannot read the challenge: {exc}") from None
    if not isinstance(info, dict):
        raise HolderError(f"cannot read the challenge: HTTP {resp.status_code}")
    if info.get("challenge") != challenge or not isinstance(info.get("nonce"), str):
        raise HolderError("the provider answered with another challenge")
    if info.get("aud") != issuer:
        raise HolderError(f"the challenge is for {info.get('aud')!r}, not for {issuer!r}: not signed")
    if _expired(info.get("expires_at"), clock()):
        raise HolderError("the challenge has expired; scan a fresh QR code")
    if confirm is not None and not confirm(info):
        raise HolderError("not confirmed")
    payload = {"challenge": challenge, "nonce": info["nonce"], "aud": info["aud"], "iat": int(clock())}
    token = make_jws(payload, key, chain, alg)
    try:
        resp = http.post(f"{endpoint}/response", json={"jws": token}, timeout=timeout)
        body = resp.json()
    except (requests.RequestException, ValueError) as exc:
        raise HolderError(f"the provider did not accept the answer: {exc}") from None
    if resp.status_code >= 400:
        detail = body.get("error_description") or body.get("error") if isinstance(body, dict) else body
        raise HolderError(f"the provider refused the licence (HTTP {resp.status_code}): {detail}")
    return body if isinstance(body, dict) else {"result": body}
