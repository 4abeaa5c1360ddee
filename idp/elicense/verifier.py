"""``LicenceVerifier``: verify a holder's signed answer to a login challenge (DESIGN section 9).

Order of checks, each failure a ``LicenceError`` with its own reason: the compact JWS and its
header (jws.py), the licence key against ``alg``, the certification path to a configured
licence authority (chain.py), revocation of every certificate below the anchor (crl.py, and
ocsp.py for CAs with an OCSP source), the licence profile (profile.py: USCC and its check
character, holder information), the JWS signature, and the signed payload (challenge, nonce,
audience, freshness of ``iat``).

Validated paths are memoised per ``x5c`` (bounded LRU), valid until the earliest ``notAfter``
in the path or ``cache_ttl``; revocation is looked up again on every call, from the CRL and OCSP
caches.  A CA with an OCSP source and no CRL source (configured or cRLDistributionPoints) is
checked by OCSP alone; with both, both must pass; with neither, the CRL check fails closed.
"""
from __future__ import annotations

import hmac
import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from . import chain, jws, keys
from .crl import CrlProvider
from .errors import LicenceError
from .ocsp import OcspChecker
from .profile import LicenceSubject, subject_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LicenceIdentity:
    uscc: str
    org_name: str
    legal_representative: str
    role: str  # legal_representative | administrator | agent
    agent_name: str | None
    serial: str  # lower-case hex, as `idp elicense issue` prints it
    issuer: str  # RFC 4514 name of the issuing CA
    fingerprint: str  # SHA-256 of the licence certificate, hex
    alg: str
    key_type: str  # RSA | EC-P256 | SM2
    hardware: bool  # asserted by the authority in the holder-information extension
    not_after: datetime
    iat: float

    @property
    def operator(self) -> str | None:
        """Who signed, when it was an agent (DESIGN section 5, claim ``operator``)."""
        return self.agent_name if self.role == "agent" else None

    @property
    def amr(self) -> list[str]:
        # RFC 8176 section 2: hwk = proof of possession of a hardware-secured key, swk = software
        return ["hwk"] if self.hardware else ["swk"]

    def claims(self) -> dict:
        # ``name`` (OIDC Core 5.1) of a legal person is its registered name; org_name stays
        out = {"entity_type": "legal_person", "name": self.org_name, "uscc": self.uscc,
               "org_name": self.org_name, "legal_representative": self.legal_representative}
        if self.operator:
            out["operator"] = self.operator
        return out


def serial_hex(serial: int) -> str:
    text = format(serial, "x")
    return "0" * (len(text) % 2) + text


@dataclass
class _Path:
    path: tuple[chain.CertInfo, ...]
    not_before: float
    not_after: float
    expires: float
    subject: LicenceSubject | None = None
    subject_error: tuple[str, str] | None = None
    revocation: list = field(default_factory=list)
    issuer_name: str = ""


class LicenceVerifier:
    def __init__(self, anchors, intermediates=(), crl_provider: CrlProvider | None = None, *,
                 ocsp_checker: OcspChecker | None = None, clock=time.time,
                 max_iat_age: float = 120.0, max_iat_skew: float = 30.0,
                 max_jws_bytes: int = jws.MAX_JWS_BYTES, max_x5c: int = jws.MAX_X5C,
                 cache_size: int = 10000, cache_ttl: float = 3600.0):
        """``anchors``/``intermediates``: certificates, or (certificate, crl_source) pairs, or
        (certificate, crl_source, ocsp_source) triples."""
        self.store = chain.TrustStore(anchors, intermediates)
        self.crl_provider = crl_provider or CrlProvider()
        self.ocsp_checker = ocsp_checker or OcspChecker()
        self.clock = clock
        self.max_iat_age, self.max_iat_skew = max_iat_age, max_iat_skew
        self.max_jws_bytes, self.max_x5c = max_jws_bytes, max_x5c
        self.cache_size, self.cache_ttl = cache_size, cache_ttl
        self._paths: OrderedDict[tuple, _Path] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_keys_dir(cls, keys_dir, **kwargs) -> "LicenceVerifier":
        """Anchors and intermediates from ``keys_dir/trust`` (see trust.py)."""
        from .trust import load_trust_dir

        anchors, intermediates = load_trust_dir(keys_dir)
        return cls(anchors, intermediates, **kwargs)

    # -- the certification path, memoised ----------------------------------------------
    def _cached(self, key: tuple, now: float) -> _Path | None:
        with self._lock:
            entry = self._paths.get(key)
            if entry is None:
                return None
            if not (entry.not_before <= now <= entry.not_after and now < entry.expires):
                del self._paths[key]
                return None
            self._paths.move_to_end(key)
            return entry

    def _validate(self, parsed: jws.ParsedJWS, now: float) -> _Path:
        x5c = chain.parse_x5c(parsed.certs_der())
        if keys.JWS_ALGS[parsed.alg] != x5c[0].key.kind:
            raise LicenceError("alg_key_mismatch", f"alg {parsed.alg} with a {x5c[0].key.kind} key")
        path = chain.build_path(x5c, self.store)
        not_before, not_after = chain.check_path(path, now)
        entry = _Path(tuple(path), not_before, not_after, now + self.cache_ttl)
        for depth, cert in enumerate(path[:-1]):
            issuer = path[depth + 1]
            entry.revocation.append((cert, depth > 0, issuer, chain.crl_sources(cert, issuer)))
        entry.issuer_name = path[0].cert.issuer.rfc4514_string()
        try:
            entry.subject = subject_of(path[0].cert)
        except LicenceError as exc:  # reported after revocation, in the documented order
            entry.subject_error = (exc.reason, exc.description)
        with self._lock:
            self._paths[parsed.x5c] = entry
            while len(self._paths) > self.cache_size:
                self._paths.popitem(last=False)
        return entry

    def _check_revocation(self, entry: _Path, now: float) -> None:
        for cert, is_ca, issuer, sources in entry.revocation:
            if sources or not issuer.ocsp_source:
                self.crl_provider.check(cert.cert.serial_number, is_ca=is_ca, issuer=issuer.cert,
                                        issuer_key=issuer.key, sources=sources, now=now,
                                        issuer_id=issuer.fingerprint)
            if issuer.ocsp_source:
                self.ocsp_checker.check(cert.cert, issuer, issuer.ocsp_source, now)

    # -- the whole response ------------------------------------------------------------
    def verify_response(self, jws_text, *, expected_challenge: str, expected_nonce: str,
                        expected_aud: str) -> LicenceIdentity:
        """Verify a holder's compact JWS; LicenceError(reason) for every kind of rejection."""
        try:
            return self._verify(jws_text, expected_challenge, expected_nonce, expected_aud)
        except LicenceError:
            raise
        except Exception:  # DESIGN section 13: bad input is a 4xx, never a 500
            log.exception("unexpected failure while verifying a licence response")
            raise LicenceError("unprocessable") from None

    def _verify(self, jws_text, expected_challenge: str, expected_nonce: str,
                expected_aud: str) -> LicenceIdentity:
        parsed = jws.parse_compact(jws_text, max_bytes=self.max_jws_bytes, max_x5c=self.max_x5c)
        now = self.clock()
        entry = self._cached(parsed.x5c, now)
        if entry is None:
            entry = self._validate(parsed, now)
        elif keys.JWS_ALGS[parsed.alg] != entry.path[0].key.kind:
            raise LicenceError("alg_key_mismatch", f"alg {parsed.alg} with a {entry.path[0].key.kind} key")
        self._check_revocation(entry, now)
        if entry.subject_error is not None:
            raise LicenceError(*entry.subject_error)
        leaf = entry.path[0]
        if not keys.verify_jws(parsed.alg, leaf.key, parsed.signing_input, parsed.signature):
            raise LicenceError("bad_signature")
        iat = self._check_payload(parsed.payload, now, expected_challenge, expected_nonce, expected_aud)
        s = entry.subject
        return LicenceIdentity(
            uscc=s.uscc, org_name=s.org_name, legal_representative=s.legal_representative,
            role=s.role, agent_name=s.agent_name, serial=serial_hex(leaf.cert.serial_number),
            issuer=entry.issuer_name, fingerprint=leaf.fingerprint.hex(),
            alg=parsed.alg, key_type=leaf.key.kind, hardware=s.hardware,
            not_after=leaf.cert.not_valid_after_utc, iat=iat)

    def _check_payload(self, raw: bytes, now: float, challenge: str, nonce: str, aud: str) -> float:
        try:
            payload = jws.strict_json_object(raw)
        except (ValueError, UnicodeDecodeError):
            raise LicenceError("payload_malformed") from None
        for name, expected in (("challenge", challenge), ("nonce", nonce)):
            value = payload.get(name)
            if not isinstance(value, str) or not hmac.compare_digest(value.encode(), expected.encode()):
                raise LicenceError(f"{name}_mismatch")
        got = payload.get("aud")
        # RFC 7519 section 4.1.3: a string, or an array that contains this provider
        auds = got if isinstance(got, list) else [got]
        if not auds or not all(isinstance(a, str) for a in auds) or aud not in auds:
            raise LicenceError("aud_mismatch")
        if "iat" not in payload:
            raise LicenceError("iat_missing")
        iat = payload["iat"]
        if isinstance(iat, bool) or not isinstance(iat, (int, float)) or \
                not -1e12 < iat < 1e12 or not math.isfinite(iat):  # bounded: no float overflow
            raise LicenceError("iat_invalid")
        if now - iat > self.max_iat_age:
            raise LicenceError("iat_stale", f"iat is more than {self.max_iat_age:g} s old")
        if iat - now > self.max_iat_skew:
            raise LicenceError("iat_future", f"iat is more than {self.max_iat_skew:g} s ahead")
        return float(iat)
