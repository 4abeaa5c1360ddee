"""Revocation by OCSP (RFC 6960) against a real responder on 127.0.0.1, failing closed."""
from __future__ import annotations

import datetime as dt
import socket
import time

import pytest
from cryptography import x509
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from idp.elicense import LicenceError, LicenceVerifier, OcspChecker
from idp.elicense.chain import cert_info
from idp.elicense.ocsp import http_post

from .conftest import USCC, reason_of, respond, verify
from .ocsp_responder import OcspResponder, responder_certificate


@pytest.fixture
def responder(world):
    srv = OcspResponder(world.ca).start()
    yield srv
    srv.stop()


@pytest.fixture
def sm2_responder(sm2_world):
    srv = OcspResponder(sm2_world.ca).start()
    yield srv
    srv.stop()


def checker(**kwargs) -> OcspChecker:
    kwargs.setdefault("timeout", 0.5)
    kwargs.setdefault("retry_after", 0)
    return OcspChecker(**kwargs)


def ocsp_verifier(world, source, *, crl=True, **kwargs) -> LicenceVerifier:
    """The issuing CA configured with an OCSP source (and its CRL unless ``crl`` is false)."""
    return LicenceVerifier([(world.root.cert, world.root.crl_path)],
                           [(world.ca.cert, world.ca.crl_path if crl else None, source)],
                           ocsp_checker=checker(**kwargs))


def refused(verifier, licence) -> LicenceError:
    with pytest.raises(LicenceError) as info:
        verify(verifier, respond(licence))
    return info.value


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/ocsp"


# -- answers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("cert_id_hash", ["sha1", "sha256"])
def test_good(world, responder, cert_id_hash):
    licence = world.licence()
    assert verify(ocsp_verifier(world, responder.url, cert_id_hash=cert_id_hash),
                  respond(licence)).uscc == USCC
    [(content_type, body)] = responder.requests
    assert content_type == "application/ocsp-request"
    request = ocsp.load_der_ocsp_request(body)
    assert request.serial_number == licence.cert.serial_number
    assert request.hash_algorithm.name == cert_id_hash
    assert len(request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce) == 32


def test_revoked_with_reason(world, responder):
    licence = world.licence()
    responder.behaviour.statuses[licence.cert.serial_number] = x509.ReasonFlags.key_compromise
    error = refused(ocsp_verifier(world, responder.url), licence)
    assert error.reason == "revoked" and error.status == 400
    assert "keyCompromise" in error.description


def test_unknown_fails_closed(world, responder):
    licence = world.licence()
    responder.behaviour.statuses[licence.cert.serial_number] = "unknown"
    error = refused(ocsp_verifier(world, responder.url), licence)
    assert error.reason == "ocsp_unknown" and error.status == 503
    assert error.to_dict()["error"] == "temporarily_unavailable"


@pytest.mark.parametrize("change,reason,words", [
    ({"serial_offset": 1}, "ocsp_invalid", "CertID"),
    ({"corrupt_signature": True}, "ocsp_invalid", "signature does not verify"),
    ({"nonce": "wrong"}, "ocsp_invalid", "nonce"),
    ({"this_update": dt.timedelta(hours=-2)}, "ocsp_stale", "nextUpdate"),
    ({"this_update": dt.timedelta(hours=1)}, "ocsp_invalid", "future"),
    ({"validity": None, "this_update": dt.timedelta(hours=-1)}, "ocsp_stale", "no nextUpdate"),
    ({"response_status": ocsp.OCSPResponseStatus.TRY_LATER}, "ocsp_unavailable", "TRY_LATER"),
    ({"http_status": 500}, "ocsp_unavailable", "HTTP 500"),
    ({"http_status": 302}, "ocsp_unavailable", "HTTP 302"),
    ({"body": b"<html>not OCSP</html>"}, "ocsp_invalid", "not a valid OCSP response"),
    ({"body": b"\x30\x03\x0a\x01\x00"}, "ocsp_invalid", "not a valid OCSP response"),
    ({"body": b"\x30" * (300 * 1024)}, "ocsp_unavailable", "larger than"),
    ({"body": b"\x30" * (300 * 1024), "send_length": False}, "ocsp_unavailable", "larger than"),
])
def test_unusable_answers_fail_closed(world, responder, change, reason, words):
    for name, value in change.items():
        setattr(responder.behaviour, name, value)
    error = refused(ocsp_verifier(world, responder.url), world.licence())
    assert error.reason == reason and error.status == 503, error
    assert words in error.description


def test_responder_without_nonce_support_is_accepted(world, responder):
    responder.behaviour.nonce = "omit"
    assert verify(ocsp_verifier(world, responder.url), respond(world.licence())).uscc == USCC


def test_fresh_answer_without_next_update_is_accepted_and_not_cached(world, responder):
    responder.behaviour.validity = None
    verifier = ocsp_verifier(world, responder.url)
    licence = world.licence()
    verify(verifier, respond(licence))
    verify(verifier, respond(licence))
    assert len(responder.requests) == 2


# -- who may sign ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,by_key", [("ec", False), ("rsa", True), ("ec", True)])
def test_delegated_responder_accepted(world, responder, kind, by_key):
    responder.behaviour.signer = responder_certificate(world.ca, kind=kind)
    responder.behaviour.by_key = by_key
    assert verify(ocsp_verifier(world, responder.url), respond(world.licence())).uscc == USCC


@pytest.mark.parametrize("how,words", [
    ("no_eku", "id-kp-OCSPSigning"),
    ("issued_by_root", "not issued by the certificate's CA"),
    ("not_included", "did not authorise"),
    ("stranger", "did not authorise"),
    ("same_name", "signature does not verify"),
])
def test_unauthorised_responder_refused(world, responder, how, words):
    b = responder.behaviour
    if how == "no_eku":
        b.signer = responder_certificate(world.ca, eku=False)
    elif how == "issued_by_root":  # a responder of another CA (the root) may not answer for this one
        b.signer = responder_certificate(world.ca, issuer=world.root)
    elif how == "not_included":
        b.signer, b.include_signer = responder_certificate(world.ca), False
    elif how == "stranger":  # a key nobody certified, named by its hash
        b.signer, b.by_key, b.include_signer = responder_certificate(world.root), True, False
    else:  # another key under the CA's own name
        fake = world.root.issue_ca("Test Issuing CA")
        world.ca.write_crl()  # the fake wrote its CRL over the real CA's
        b.signer = (fake.cert, fake.key)
    error = refused(ocsp_verifier(world, responder.url), world.licence())
    assert error.reason == "ocsp_invalid" and words in error.description, error


# -- transport ---------------------------------------------------------------------------------------

def test_responder_down_fails_closed(world):
    error = refused(ocsp_verifier(world, closed_port_url()), world.licence())
    assert error.reason == "ocsp_unavailable" and error.status == 503
    assert "connection failed" in error.description


def test_slow_responder_times_out(world, responder):
    responder.behaviour.delay = 2.0
    started = time.monotonic()
    error = refused(ocsp_verifier(world, responder.url, timeout=0.3), world.licence())
    assert error.reason == "ocsp_unavailable" and "0.3 s" in error.description
    assert time.monotonic() - started < 1.5


def test_unreachable_responder_is_not_asked_again_at_once(world):
    calls = []

    def post(url, body, timeout, max_bytes):
        calls.append(url)
        raise OSError("connection refused")

    verifier = ocsp_verifier(world, "http://ocsp.test/", post=post, retry_after=30)
    for _ in range(3):
        assert refused(verifier, world.licence()).reason == "ocsp_unavailable"
    assert calls == ["http://ocsp.test/"]


# -- cache -------------------------------------------------------------------------------------------

def test_good_answer_cached_until_next_update(world, responder):
    verifier = ocsp_verifier(world, responder.url)
    licence = world.licence()
    verify(verifier, respond(licence))
    verify(verifier, respond(licence))
    assert len(responder.requests) == 1
    verify(verifier, respond(world.licence()))  # another licence: its own answer
    assert len(responder.requests) == 2


def test_cache_expiry_refresh_and_outage(world, responder):
    ocsp_checker = checker(refresh=60)
    licence, issuer = world.licence(), cert_info(world.ca.cert)
    now = time.time()
    good = ocsp_checker.check(licence.cert, issuer, responder.url, now)
    assert ocsp_checker.check(licence.cert, issuer, responder.url, now + 30) == good
    assert len(responder.requests) == 1
    ocsp_checker.check(licence.cert, issuer, responder.url, now + 90)  # refresh: asked again
    assert len(responder.requests) == 2
    responder.behaviour.http_status = 503  # an outage: the cached answer holds until nextUpdate
    assert ocsp_checker.check(licence.cert, issuer, responder.url, now + 200).status == "good"
    with pytest.raises(LicenceError) as info:  # past the cached nextUpdate (1 h)
        ocsp_checker.check(licence.cert, issuer, responder.url, now + 3700)
    assert info.value.reason == "ocsp_unavailable"


def test_revocation_seen_after_refresh(world, responder):
    ocsp_checker = checker(refresh=60)
    licence, issuer = world.licence(), cert_info(world.ca.cert)
    now = time.time()
    ocsp_checker.check(licence.cert, issuer, responder.url, now)
    responder.behaviour.statuses[licence.cert.serial_number] = x509.ReasonFlags.superseded
    with pytest.raises(LicenceError) as info:
        ocsp_checker.check(licence.cert, issuer, responder.url, now + 61)
    assert info.value.reason == "revoked" and "superseded" in info.value.description


def test_cache_is_bounded(world, responder):
    ocsp_checker = checker(cache_size=2)
    issuer = cert_info(world.ca.cert)
    for _ in range(4):
        ocsp_checker.check(world.licence().cert, issuer, responder.url, time.time())
    assert len(ocsp_checker._good) == 2


# -- configuration: sources, CRL and OCSP together ---------------------------------------------------

def _aia(url: str):
    return (x509.AuthorityInformationAccess([x509.AccessDescription(
        AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(url))]), False)


def test_aia_source(world, responder):
    licence = world.licence(extra=[_aia(responder.url)])
    assert verify(ocsp_verifier(world, "aia"), respond(licence)).uscc == USCC
    assert len(responder.requests) == 1
    error = refused(ocsp_verifier(world, "aia"), world.licence())
    assert error.reason == "ocsp_unavailable" and "authorityInformationAccess" in error.description


def test_ocsp_alone_when_no_crl_source(world, responder):
    """No configured CRL source and no cRLDistributionPoints: OCSP decides alone."""
    verifier = ocsp_verifier(world, responder.url, crl=False)
    licence = world.licence()
    assert verify(verifier, respond(licence)).uscc == USCC
    responder.behaviour.statuses[licence.cert.serial_number] = x509.ReasonFlags.key_compromise
    assert reason_of(ocsp_verifier(world, responder.url, crl=False), respond(licence)) == "revoked"


def test_crl_and_ocsp_both_must_pass(world, responder):
    licence = world.licence()
    world.ca.revoked.append(licence.cert.serial_number)
    world.ca.write_crl()  # revoked by CRL, good by OCSP
    assert reason_of(ocsp_verifier(world, responder.url), respond(licence)) == "revoked"
    world.ca.revoked.clear()
    world.ca.write_crl(this_update=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=8),
                       next_update=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1))
    assert reason_of(ocsp_verifier(world, responder.url), respond(licence)) == "crl_stale"


def test_ocsp_for_the_intermediate_configured_on_the_root(world):
    """The root's OCSP source answers about the issuing CA certificate."""
    srv = OcspResponder(world.root).start()
    try:
        verifier = LicenceVerifier([(world.root.cert, world.root.crl_path, srv.url)],
                                   [(world.ca.cert, world.ca.crl_path)], ocsp_checker=checker())
        verify(verifier, respond(world.licence()))
        [(_, body)] = srv.requests
        assert ocsp.load_der_ocsp_request(body).serial_number == world.ca.cert.serial_number
        srv.behaviour.statuses[world.ca.cert.serial_number] = x509.ReasonFlags.ca_compromise
        verifier = LicenceVerifier([(world.root.cert, world.root.crl_path, srv.url)],
                                   [(world.ca.cert, world.ca.crl_path)], ocsp_checker=checker())
        assert reason_of(verifier, respond(world.licence())) == "revoked"
    finally:
        srv.stop()


def test_bad_checker_configuration():
    with pytest.raises(ValueError):
        OcspChecker(cert_id_hash="md5")


def test_http_post_refuses_redirects(responder):
    responder.behaviour.http_status, responder.behaviour.body = 301, b""
    with pytest.raises(OSError, match="HTTP 301"):
        http_post(responder.url, b"x", 1.0, 1000)


# -- SM2 -------------------------------------------------------------------------------------------

def test_sm2_licence_with_sm2_signed_answer(sm2_world, sm2_responder):
    licence = sm2_world.licence(kind="sm2")
    assert verify(ocsp_verifier(sm2_world, sm2_responder.url), respond(licence)).key_type == "SM2"
    sm2_responder.behaviour.statuses[licence.cert.serial_number] = x509.ReasonFlags.key_compromise
    assert reason_of(ocsp_verifier(sm2_world, sm2_responder.url), respond(licence)) == "revoked"


def test_sm2_delegated_responder(sm2_world, sm2_responder):
    sm2_responder.behaviour.signer = responder_certificate(sm2_world.ca, kind="sm2")
    sm2_responder.behaviour.by_key = True
    licence = sm2_world.licence(kind="sm2")
    assert verify(ocsp_verifier(sm2_world, sm2_responder.url), respond(licence)).uscc == USCC


def test_sm2_bad_signature(sm2_world, sm2_responder):
    sm2_responder.behaviour.corrupt_signature = True
    error = refused(ocsp_verifier(sm2_world, sm2_responder.url), sm2_world.licence(kind="sm2"))
    assert error.reason == "ocsp_invalid" and "signature" in error.description


def test_sm2_answer_signed_by_another_sm2_key(sm2_world, sm2_responder):
    fake = sm2_world.root.issue_ca("Test SM2 Issuing CA", kind="sm2")  # same name, other key
    sm2_world.ca.write_crl()  # the fake wrote its CRL over the real CA's
    sm2_responder.behaviour.signer = (fake.cert, fake.key)
    error = refused(ocsp_verifier(sm2_world, sm2_responder.url), sm2_world.licence(kind="sm2"))
    assert error.reason == "ocsp_invalid" and "signature does not verify" in error.description
