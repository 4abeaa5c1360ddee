"""The licence verifier of this process, rebuilt when the configured authorities change.

Authorities come from files under ``keys/trust/`` and from the ``licence_authorities`` table
(managed by the admin console/API); a change shows within a few seconds on every node.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

from cryptography import x509
from sqlalchemy import select

from ..elicense import CrlProvider, LicenceVerifier, OcspChecker
from ..elicense.trust import load_trust_dir
from ..store.models import LicenceAuthority


class VerifierCache:
    def __init__(self, keys_dir, database, check_every: float = 5.0):
        self.keys_dir = Path(keys_dir)
        self.db = database
        self.check_every = check_every
        self.crls = CrlProvider()
        self.ocsp = OcspChecker()
        self._lock = threading.Lock()
        self._verifier = None
        self._stamp = None
        self._checked = 0.0

    def _fingerprint(self):
        trust = self.keys_dir / "trust"
        files = sorted((str(p), p.stat().st_mtime) for p in trust.rglob("*") if p.is_file()) \
            if trust.is_dir() else []
        # Which authorities are enabled and their revocation sources: an add, a disable, an
        # enable or an edited source all change it (a count and a newest date would miss a
        # disable and an enable within one interval, and every edit).
        with self.db.session(write=False) as s:
            rows = s.execute(select(LicenceAuthority.id, LicenceAuthority.crl_source,
                                    LicenceAuthority.ocsp_source)
                             .where(LicenceAuthority.enabled.is_(True))
                             .order_by(LicenceAuthority.id)).all()
        return (tuple(files), tuple(tuple(r) for r in rows))

    def get(self) -> LicenceVerifier:
        now = time.monotonic()
        if self._verifier is not None and now - self._checked < self.check_every:
            return self._verifier
        with self._lock:
            stamp = self._fingerprint()
            self._checked = now
            if self._verifier is None or stamp != self._stamp:
                self._verifier = self._build()
                self._stamp = stamp
            return self._verifier

    def _build(self) -> LicenceVerifier:
        anchors, intermediates = load_trust_dir(self.keys_dir)
        with self.db.session(write=False) as s:
            rows = s.execute(select(LicenceAuthority).where(LicenceAuthority.enabled.is_(True))).scalars().all()
            for row in rows:
                cert = x509.load_pem_x509_certificate(row.cert_pem.encode())
                (anchors if row.is_anchor else intermediates).append(
                    (cert, row.crl_source, row.ocsp_source))
        return LicenceVerifier(anchors, intermediates, crl_provider=self.crls, ocsp_checker=self.ocsp)
