"""OCSP interoperability with the openssl command line: ``openssl ocsp`` as the responder.

openssl reads our requests (CertID, nonce), answers from an index file, signs with the CA key
or a delegated responder, echoes the nonce; OcspChecker must accept its good answers and see
its revocations.
"""
from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from idp.elicense import LicenceError, OcspChecker
from idp.elicense import x509build as xb
from idp.elicense.chain import cert_info

from .ocsp_responder import responder_certificate

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="the openssl command line is not installed")


def _openssl_responder(tmp_path, ca, index_lines, signer=None):
    cert, key = signer or (ca.cert, ca.key)
    (tmp_path / "ca.pem").write_bytes(ca.cert.public_bytes(Encoding.PEM))
    (tmp_path / "signer.pem").write_bytes(cert.public_bytes(Encoding.PEM))
    (tmp_path / "signer.key").write_bytes(xb.private_key_pem(key))
    (tmp_path / "index.txt").write_text("".join(line + "\n" for line in index_lines))
    seen = []

    def post(url, body, timeout, max_bytes):
        (tmp_path / "req.der").write_bytes(body)
        subprocess.run([OPENSSL, "ocsp", "-index", str(tmp_path / "index.txt"),
                        "-CA", str(tmp_path / "ca.pem"), "-rsigner", str(tmp_path / "signer.pem"),
                        "-rkey", str(tmp_path / "signer.key"), "-reqin", str(tmp_path / "req.der"),
                        "-respout", str(tmp_path / "resp.der"), "-ndays", "1"],
                       check=True, capture_output=True, timeout=30)
        seen.append(url)
        return (tmp_path / "resp.der").read_bytes()

    return post, seen


def _index_line(cert, revoked: str | None = None) -> str:
    expiry = cert.not_valid_after_utc.strftime("%y%m%d%H%M%SZ")
    serial = format(cert.serial_number, "X")
    serial = "0" * (len(serial) % 2) + serial
    subject = "/" + "/".join(cert.subject.rfc4514_string().split(",")[::-1])
    return "\t".join(["R" if revoked else "V", expiry, revoked or "", serial, "unknown", subject])


@pytest.mark.parametrize("cert_id_hash", ["sha1", "sha256"])
@pytest.mark.parametrize("delegated", [False, True])
def test_openssl_responder_good_and_revoked(world, tmp_path, cert_id_hash, delegated):
    good, bad = world.licence(), world.licence()
    when = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() - 3600))
    signer = responder_certificate(world.ca) if delegated else None
    post, seen = _openssl_responder(tmp_path, world.ca, [
        _index_line(good.cert), _index_line(bad.cert, f"{when},keyCompromise")], signer)
    checker = OcspChecker(post=post, cert_id_hash=cert_id_hash)
    issuer = cert_info(world.ca.cert)
    assert checker.check(good.cert, issuer, "http://ocsp.test/", time.time()).status == "good"
    with pytest.raises(LicenceError) as info:
        checker.check(bad.cert, issuer, "http://ocsp.test/", time.time())
    assert info.value.reason == "revoked" and "keyCompromise" in info.value.description
    stranger = world.licence()
    with pytest.raises(LicenceError) as info:
        checker.check(stranger.cert, issuer, "http://ocsp.test/", time.time())
    assert info.value.reason == "ocsp_unknown"
    assert len(seen) == 3
    answer = ocsp.load_der_ocsp_response((tmp_path / "resp.der").read_bytes())
    request = ocsp.load_der_ocsp_request((tmp_path / "req.der").read_bytes())
    assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value == \
        request.extensions.get_extension_for_class(x509.OCSPNonce).value  # openssl echoed it
