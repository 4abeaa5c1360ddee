"""Revocation: CRLs from files and URLs, cached, and failing closed."""
from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from idp.elicense import CrlProvider, LicenceVerifier
from idp.elicense import x509build as xb

from .conftest import USCC, now, reason_of, respond, verify

CRL_URL = "http://crl.test/issuing.crl"


def _cdp(url: str):
    return (x509.CRLDistributionPoints([x509.DistributionPoint(
        [x509.UniformResourceIdentifier(url)], None, None, None)]), False)


class FakeFetch:
    """Stands in for HTTP: serves bytes per URL, or raises, and counts calls."""

    def __init__(self):
        self.bodies: dict[str, bytes] = {}
        self.calls: list[str] = []

    def __call__(self, url: str, timeout: float, max_bytes: int) -> bytes:
        self.calls.append(url)
        body = self.bodies.get(url)
        if body is None:
            raise OSError("connection refused")
        return body


def _url_world(world, fetch: FakeFetch, **provider):
    """Verifier knowing only the root; the issuing CA's CRL comes from the licence's CDP URL."""
    fetch.bodies[CRL_URL] = Path(world.ca.write_crl()).read_bytes()
    verifier = LicenceVerifier([(world.root.cert, world.root.crl_path)],
                               crl_provider=CrlProvider(fetch=fetch, **provider))
    return verifier, world.licence(extra=[_cdp(CRL_URL)])


def test_stale_crl_fails_closed(world):
    world.ca.write_crl(this_update=now() - dt.timedelta(days=8), next_update=now() - dt.timedelta(days=1))
    assert reason_of(world.verifier(), respond(world.licence())) == "crl_stale"


def test_stale_root_crl_fails_closed(world):
    world.root.write_crl(this_update=now() - dt.timedelta(days=8), next_update=now() - dt.timedelta(seconds=5))
    assert reason_of(world.verifier(), respond(world.licence())) == "crl_stale"


def test_missing_crl_file_fails_closed(world):
    os.unlink(world.ca.crl_path)
    assert reason_of(world.verifier(), respond(world.licence())) == "crl_unavailable"


def test_no_crl_source_at_all_fails_closed(world):
    verifier = LicenceVerifier([(world.root.cert, world.root.crl_path)], [world.ca.cert])
    assert reason_of(verifier, respond(world.licence())) == "crl_unavailable"


def test_crl_signed_by_another_key_is_not_used(world):
    world.ca.write_crl(signer=xb.generate_key("ec"))
    assert reason_of(world.verifier(), respond(world.licence())) == "crl_unavailable"


def test_garbage_crl_is_not_used(world):
    Path(world.ca.crl_path).write_bytes(b"-----BEGIN X509 CRL-----\nnope\n-----END X509 CRL-----\n")
    assert reason_of(world.verifier(), respond(world.licence())) == "crl_unavailable"


def test_crl_of_another_issuer_is_not_used(world):
    Path(world.ca.crl_path).write_bytes(Path(world.root.crl_path).read_bytes())
    assert reason_of(world.verifier(), respond(world.licence())) == "crl_unavailable"


def test_crl_from_url_is_cached_until_refresh(world):
    fetch = FakeFetch()
    verifier, licence = _url_world(world, fetch, refresh=300)
    for _ in range(3):
        assert verify(verifier, respond(licence)).uscc == USCC
    assert fetch.calls == [CRL_URL]


def test_unreachable_crl_url_fails_closed_and_is_not_hammered(world):
    fetch = FakeFetch()
    verifier, licence = _url_world(world, fetch)
    del fetch.bodies[CRL_URL]
    assert reason_of(verifier, respond(licence)) == "crl_unavailable"
    assert reason_of(verifier, respond(licence)) == "crl_unavailable"
    assert fetch.calls == [CRL_URL]  # the failure is remembered for retry_after seconds


def test_cached_crl_survives_an_outage_until_next_update(world):
    fetch = FakeFetch()
    clock = [time.time()]
    verifier, licence = _url_world(world, fetch, refresh=60, retry_after=1)
    verifier.clock = lambda: clock[0]
    verify(verifier, respond(licence))
    del fetch.bodies[CRL_URL]
    clock[0] += 120  # past refresh: it tries again, fails, keeps the still-valid CRL
    assert verify(verifier, respond(licence, iat=int(clock[0]))).uscc == USCC
    clock[0] += 8 * 86400  # past nextUpdate: nothing usable any more
    assert reason_of(verifier, respond(licence, iat=int(clock[0]))) == "crl_unavailable"


def test_stale_crl_from_url(world):
    fetch = FakeFetch()
    verifier, licence = _url_world(world, fetch)
    world.ca.write_crl(this_update=now() - dt.timedelta(days=8), next_update=now() - dt.timedelta(days=1))
    fetch.bodies[CRL_URL] = Path(world.ca.crl_path).read_bytes()
    assert reason_of(verifier, respond(licence)) == "crl_stale"


def test_revocation_seen_through_url_after_refresh(world):
    fetch = FakeFetch()
    clock = [time.time()]
    verifier, licence = _url_world(world, fetch, refresh=60)
    verifier.clock = lambda: clock[0]
    verify(verifier, respond(licence))
    world.ca.revoked.append(licence.cert.serial_number)
    fetch.bodies[CRL_URL] = Path(world.ca.write_crl()).read_bytes()
    clock[0] += 61
    assert reason_of(verifier, respond(licence, iat=int(clock[0]))) == "revoked"


def test_configured_source_first_then_distribution_point(world):
    fetch = FakeFetch()
    fetch.bodies[CRL_URL] = Path(world.ca.write_crl()).read_bytes()
    verifier = LicenceVerifier([(world.root.cert, world.root.crl_path)],
                               [(world.ca.cert, str(world.folder / "missing.crl"))],
                               crl_provider=CrlProvider(fetch=fetch))
    licence = world.licence(extra=[_cdp(CRL_URL)])
    assert verify(verifier, respond(licence)).uscc == USCC
    assert fetch.calls == [CRL_URL]


def test_distribution_points_other_than_http_are_ignored(world):
    verifier = LicenceVerifier([(world.root.cert, world.root.crl_path)], [world.ca.cert])
    licence = world.licence(extra=[_cdp(f"file://{world.ca.crl_path}")])
    assert reason_of(verifier, respond(licence)) == "crl_unavailable"


def test_crl_scope_only_ca_certs_does_not_cover_a_licence(world):
    crl = (x509.CertificateRevocationListBuilder().issuer_name(world.ca.name)
           .last_update(now() - dt.timedelta(minutes=1)).next_update(now() + dt.timedelta(days=1))
           .add_extension(x509.IssuingDistributionPoint(None, None, False, True, None, False, False), True)
           .sign(world.ca.key, xb.hashes.SHA256()))
    Path(world.ca.crl_path).write_bytes(crl.public_bytes(Encoding.PEM))
    assert reason_of(world.verifier(), respond(world.licence())) == "crl_unavailable"


def test_delta_crl_is_not_used(world):
    crl = (x509.CertificateRevocationListBuilder().issuer_name(world.ca.name)
           .last_update(now() - dt.timedelta(minutes=1)).next_update(now() + dt.timedelta(days=1))
           .add_extension(x509.DeltaCRLIndicator(1), True)
           .sign(world.ca.key, xb.hashes.SHA256()))
    Path(world.ca.crl_path).write_bytes(crl.public_bytes(Encoding.PEM))
    assert reason_of(world.verifier(), respond(world.licence())) == "crl_unavailable"


def test_der_crl_file_is_accepted(world):
    path = Path(world.ca.write_crl())
    crl = x509.load_pem_x509_crl(path.read_bytes())
    path.write_bytes(crl.public_bytes(Encoding.DER))
    assert verify(world.verifier(), respond(world.licence())).uscc == USCC


def test_sm2_crl(sm2_world):
    licence = sm2_world.licence(kind="sm2")
    sm2_world.ca.revoked.append(licence.cert.serial_number)
    sm2_world.ca.write_crl()
    assert reason_of(sm2_world.verifier(), respond(licence)) == "revoked"


def test_http_fetch_is_bounded(monkeypatch):
    from idp.elicense import crl as crl_module

    with pytest.raises(OSError):
        crl_module.http_fetch("http://127.0.0.1:9/none.crl", 0.5, 1024)  # discard port: refused
