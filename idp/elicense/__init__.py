"""Electronic business licence login: verification (pure), licence authority tooling, holder tool.

Verification (no Flask, no I/O except CRL fetching and OCSP requests):
``LicenceVerifier.verify_response`` returns a ``LicenceIdentity`` or raises
``LicenceError(reason, description)``.  The profile of a licence certificate is in profile.py
and PROFILE.md.
"""
from .crl import CrlProvider
from .errors import REASONS, LicenceError
from .ocsp import OcspChecker
from .profile import LicenceSubject
from .verifier import LicenceIdentity, LicenceVerifier

__all__ = ["CrlProvider", "LicenceError", "LicenceIdentity", "LicenceSubject", "LicenceVerifier",
           "OcspChecker", "REASONS"]
