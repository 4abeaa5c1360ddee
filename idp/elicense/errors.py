"""``LicenceError``: every way a licence response can be rejected, one machine-readable reason each.

The reason is for logs, audit events and the holder app's error answer (the browser's status
poll does not change on an invalid response); the description is for operators.  Revocation data that
cannot be had (CRL or OCSP) fails closed (RFC 5280 section 6.3) and is reported as 503, the rest
as 400.
"""
from __future__ import annotations

from ..errors import IdpError

REASONS: dict[str, str] = {
    # compact JWS (RFC 7515 section 7.1) and its header
    "jws_too_large": "the JWS is larger than the verifier accepts",
    "jws_malformed": "the JWS is not a well-formed compact serialisation",
    "alg_not_allowed": "the JWS alg is not one of RS256, PS256, ES256, SM2",
    "alg_key_mismatch": "the JWS alg does not fit the licence key type",
    "crit_unsupported": "the JWS header lists critical extensions this verifier does not understand",
    "x5c_missing": "the JWS header has no x5c certificate chain",
    "x5c_malformed": "an x5c entry is not base64 DER of an X.509 certificate",
    "unsupported_key": "the licence or CA key type or size is not accepted",
    # certification path (RFC 5280 section 6.1)
    "chain_too_long": "the certificate chain is longer than allowed",
    "broken_chain": "a certificate in the chain is not signed by the next one",
    "unknown_anchor": "the chain does not lead to a configured licence authority",
    "unsupported_signature_algorithm": "a certificate is signed with an algorithm that is not accepted",
    "cert_expired": "a certificate in the chain has expired",
    "cert_not_yet_valid": "a certificate in the chain is not valid yet",
    "not_ca": "a certificate used as a CA is not marked as a CA",
    "leaf_is_ca": "the licence certificate is a CA certificate",
    "path_length_exceeded": "a CA's path length constraint is exceeded",
    "key_usage": "a certificate's key usage does not allow this use",
    "unknown_critical_extension": "a certificate has a critical extension this verifier does not process",
    # revocation (RFC 5280 sections 5 and 6.3)
    "revoked": "a certificate in the chain is revoked",
    "crl_unavailable": "the revocation list could not be obtained or is not usable",
    "crl_stale": "the revocation list is past its nextUpdate",
    # OCSP, where configured (RFC 6960)
    "ocsp_unavailable": "the OCSP responder could not be reached or gave no answer",
    "ocsp_invalid": "the OCSP response cannot be trusted or is not about this certificate",
    "ocsp_stale": "the OCSP response is past its nextUpdate",
    "ocsp_unknown": "the OCSP responder does not know the certificate",
    # licence profile (PROFILE.md)
    "uscc_missing": "the licence subject has no unified social credit code",
    "uscc_invalid": "the unified social credit code is malformed or its check character is wrong",
    "org_name_missing": "the licence subject has no organisation name",
    "holder_info_missing": "the licence has no holder-information extension",
    "holder_info_invalid": "the holder-information extension is malformed",
    # signature and payload
    "bad_signature": "the JWS signature does not verify with the licence key",
    "payload_malformed": "the JWS payload is not a JSON object",
    "challenge_mismatch": "the signed challenge is not the expected one",
    "nonce_mismatch": "the signed nonce is not the expected one",
    "aud_mismatch": "the signed audience is not this provider",
    "iat_missing": "the signed payload has no iat",
    "iat_invalid": "the signed iat is not a number",
    "iat_stale": "the signed iat is too old",
    "iat_future": "the signed iat is in the future",
    # a safety net: input that reached a failure this code did not foresee (logged as a bug)
    "unprocessable": "the response could not be processed",
}

_UNAVAILABLE = {"crl_unavailable", "crl_stale", "ocsp_unavailable", "ocsp_invalid", "ocsp_stale",
                "ocsp_unknown"}


class LicenceError(IdpError):
    """The electronic business licence response was rejected."""

    error = "invalid_licence"
    status = 400

    def __init__(self, reason: str, description: str = ""):
        if reason not in REASONS:
            raise ValueError(f"unknown licence rejection reason {reason!r}")
        unavailable = reason in _UNAVAILABLE
        super().__init__(description or REASONS[reason],
                         error="temporarily_unavailable" if unavailable else None,
                         status=503 if unavailable else None)
        self.reason = reason

    def to_dict(self) -> dict:
        body = super().to_dict()
        body["reason"] = self.reason
        return body

    def __repr__(self) -> str:
        return f"LicenceError({self.reason!r}, {self.description!r})"
