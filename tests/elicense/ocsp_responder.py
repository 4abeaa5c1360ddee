"""A small OCSP responder for the tests (RFC 6960), served on 127.0.0.1 by a thread.

It answers for one CA, signed by the CA itself or by a delegated responder (RSA, EC or SM2).
``cryptography``'s OCSPResponseBuilder cannot sign with SM2, so an SM2-signed response is built
with a throw-away P-256 signer and then re-signed: the BasicOCSPResponse gets the SM2-with-SM3
AlgorithmIdentifier and an SM2 signature over the same tbsResponseData (as x509build.py does
for certificates and CRLs).  ``Behaviour`` scripts the wrong answers the tests need.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from idp.elicense import der, keys, sm2
from idp.elicense import x509build as xb

UTC = dt.timezone.utc


@dataclass
class Behaviour:
    statuses: dict = field(default_factory=dict)  # serial -> "unknown" | x509.ReasonFlags (revoked)
    signer: tuple | None = None  # (certificate, key) of a delegated responder; None: the CA
    include_signer: bool = True  # put the delegated responder's certificate in the response
    by_key: bool = False  # ResponderID byKey instead of byName
    this_update: dt.timedelta = dt.timedelta(minutes=-1)  # relative to now
    validity: dt.timedelta | None = dt.timedelta(hours=1)  # nextUpdate - thisUpdate; None: absent
    nonce: str = "echo"  # "echo" | "omit" | "wrong"
    serial_offset: int = 0  # != 0: answer about another certificate (wrong CertID)
    corrupt_signature: bool = False
    response_status: ocsp.OCSPResponseStatus | None = None  # e.g. TRY_LATER
    http_status: int = 200
    body: bytes | None = None  # sent instead of an OCSP response
    send_length: bool = True
    delay: float = 0.0


def responder_certificate(ca, *, kind: str = "ec", eku: bool = True, issuer=None,
                          cn: str = "Test OCSP Responder"):
    """A delegated responder certificate (RFC 6960 section 4.2.2.2) issued by ``issuer`` (the CA)."""
    issuer = issuer or ca
    key = xb.generate_key(kind)
    exts = [(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                           data_encipherment=False, key_agreement=False, key_cert_sign=False,
                           crl_sign=False, encipher_only=False, decipher_only=False), True),
            (x509.OCSPNoCheck(), False)]
    if eku:
        exts.append((x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), False))
    now = dt.datetime.now(UTC).replace(microsecond=0)
    cert = xb.build_certificate(
        subject=x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, cn)]), issuer=issuer.name,
        public_key=key.public_key(), signing_key=issuer.key, serial=x509.random_serial_number(),
        not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=30), extensions=exts)
    return cert, key


def _resign(response_der: bytes, signer_key, *, certs=(), responder_key_hash: bytes | None = None,
            corrupt: bool = False) -> bytes:
    """Replace signer-dependent parts of a DER OCSPResponse and sign it again."""
    status, response_bytes = der.sequence_items(response_der)
    type_oid, octets = der.sequence_items(response_bytes[1])
    tbs, alg, sig, *_ = [item[2] for item in der.sequence_items(octets[1])]
    if responder_key_hash is not None:  # ResponderID byKey [2] (RFC 6960 section 4.2.1)
        fields = [item[2] for item in der.sequence_items(tbs)]
        at = 1 if fields[0][0] == 0xA0 else 0
        fields[at] = der.tlv(0xA2, der.tlv(der.OCTET_STRING, responder_key_hash))
        tbs = der.seq(*fields)
    if sm2.is_sm2_private_key(signer_key):
        alg, signature = der.seq(der.oid(sm2.SM2_WITH_SM3_OID)), sm2.sign_sm2(signer_key, tbs)
    else:  # the draft says ecdsa-with-SHA256; RSA keys sign sha256WithRSAEncryption
        if isinstance(signer_key, rsa.RSAPrivateKey):
            alg = der.seq(der.oid("1.2.840.113549.1.1.11"), der.tlv(der.NULL, b""))
        signature = xb._sign(signer_key, tbs)
    if corrupt:
        signature = signature[:-3] + bytes([signature[-3] ^ 0x01]) + signature[-2:]
    rest = [der.tlv(0xA0, der.seq(*(c.public_bytes(Encoding.DER) for c in certs)))] if certs else []
    basic = der.seq(tbs, alg, der.bit_string(signature), *rest)
    return der.seq(status[2], der.tlv(0xA0, der.seq(type_oid[2], der.tlv(der.OCTET_STRING, basic))))


def make_response(request_der: bytes, ca, b: Behaviour) -> bytes:
    """The DER OCSPResponse ``ca``'s responder gives to ``request_der`` under behaviour ``b``."""
    if b.response_status is not None:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(b.response_status).public_bytes(Encoding.DER)
    req = ocsp.load_der_ocsp_request(request_der)
    now = dt.datetime.now(UTC).replace(microsecond=0)
    this_update = now + b.this_update
    next_update = this_update + b.validity if b.validity is not None else None
    state = b.statuses.get(req.serial_number)
    if state == "unknown":
        status, when, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
    elif state is not None:
        status, when, reason = ocsp.OCSPCertStatus.REVOKED, this_update - dt.timedelta(hours=1), state
    else:
        status, when, reason = ocsp.OCSPCertStatus.GOOD, None, None
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        req.issuer_name_hash, req.issuer_key_hash, req.serial_number + b.serial_offset,
        req.hash_algorithm, status, this_update, next_update, when, reason)
    try:
        nonce = req.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        nonce = None
    if nonce is not None and b.nonce != "omit":
        sent = nonce if b.nonce == "echo" else hashlib.sha256(nonce).digest()
        builder = builder.add_extension(x509.OCSPNonce(sent), critical=False)
    cert, key = b.signer or (ca.cert, ca.key)
    # build with a throw-away P-256 signer carrying the signer's name, then sign for real
    stand_in_key = xb._placeholder()
    stand_in = xb.build_certificate(subject=cert.subject, issuer=cert.subject,
                                    public_key=stand_in_key.public_key(), signing_key=stand_in_key,
                                    serial=1, not_before=now - dt.timedelta(days=1),
                                    not_after=now + dt.timedelta(days=1))
    draft = builder.responder_id(ocsp.OCSPResponderEncoding.NAME, stand_in).sign(stand_in_key,
                                                                               hashes.SHA256())
    key_hash = hashlib.sha1(keys.subject_public_key_bits(cert)).digest() if b.by_key else None
    certs = [cert] if b.signer is not None and b.include_signer else []
    return _resign(draft.public_bytes(Encoding.DER), key, certs=certs, responder_key_hash=key_hash,
                   corrupt=b.corrupt_signature)


class OcspResponder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, ca):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.ca = ca
        self.behaviour = Behaviour()
        self.requests: list[tuple[str | None, bytes]] = []  # (Content-Type, DER request)
        self._thread = threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/ocsp"

    def start(self) -> "OcspResponder":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        srv, b = self.server, self.server.behaviour
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        srv.requests.append((self.headers.get("Content-Type"), body))
        time.sleep(b.delay)
        payload = b.body if b.body is not None else make_response(body, srv.ca, b)
        try:
            self.send_response(b.http_status)
            self.send_header("Content-Type", "application/ocsp-response")
            if b.send_length:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left, as intended

    def log_message(self, *args):
        pass
