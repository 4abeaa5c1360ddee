"""Interoperability with the openssl command line, an implementation that is not ours.

Certificates, CRLs and JWS signatures made by ``openssl`` (RSA, EC P-256, SM2 with distid
1234567812345678) verify with LicenceVerifier; and what our tooling makes verifies with
``openssl``.  (OpenSSL 3.0's ``openssl verify`` cannot check SM2-signed certificates at all,
whoever made them, so SM2 certificate signatures are checked with ``openssl pkeyutl``.)
"""
from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding

from idp.elicense import CrlProvider, LicenceVerifier
from idp.elicense import authority as auth
from idp.elicense import jws as jws_mod
from idp.elicense.holder import load_licence, make_jws

from .conftest import AUD, CHALLENGE, NONCE, reason_of, verify

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="the openssl command line is not installed")
DISTID = "distid:1234567812345678"


def _has_sm2() -> bool:
    if OPENSSL is None:
        return False
    out = subprocess.run([OPENSSL, "list", "-public-key-algorithms"], capture_output=True, text=True).stdout
    return "SM2" in out


needs_sm2 = pytest.mark.skipif(not _has_sm2(), reason="this machine's openssl has no SM2")
USCC = "91350100M000100Y43"
REQ_CONF = """
[req]
distinguished_name = dn
[dn]
[holder]
version = INTEGER:1
legalRep = FORMAT:UTF8,UTF8String:张三
role = ENUMERATED:2
agent = IMPLICIT:0,FORMAT:UTF8,UTF8String:李四
"""
CA_CONF = """
[ca]
default_ca = ca_default
[ca_default]
database = index.txt
crlnumber = crlnumber
default_crl_days = 7
default_md = {md}
"""


def ossl(*args, cwd: Path, input: bytes | None = None) -> bytes:
    done = subprocess.run([OPENSSL, *map(str, args)], cwd=cwd, input=input, capture_output=True)
    assert done.returncode == 0, f"openssl {' '.join(map(str, args))}: {done.stderr.decode()}"
    return done.stdout


class OpensslPKI:
    """root -> issuing CA -> licence, and their CRLs, all made by openssl."""

    def __init__(self, folder: Path, kind: str):
        self.dir, self.kind = folder, kind
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "req.cnf").write_text(REQ_CONF, encoding="utf-8")
        self.sign_opts = ["-sm3", "-sigopt", DISTID] if kind == "sm2" else ["-sha256"]
        verify_opts = ["-vfyopt", DISTID] if kind == "sm2" else []
        for name in ("root", "ca", "leaf"):
            self._genkey(name)
        common = ["-config", "req.cnf", "-utf8", *self.sign_opts]
        ossl("req", "-x509", "-new", "-key", "root.key", *common, "-days", "30",
             "-subj", f"/C=CN/O=Interop Authority/CN=Interop Root {kind}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "root.crt", cwd=folder)
        ossl("req", "-new", "-key", "ca.key", *common, "-subj", f"/C=CN/O=Interop Authority/CN=Interop CA {kind}",
             "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "ca.csr", cwd=folder)
        ossl("x509", "-req", "-in", "ca.csr", "-CA", "root.crt", "-CAkey", "root.key", *self.sign_opts,
             *verify_opts, "-days", "30", "-copy_extensions", "copyall", "-set_serial", "0x1001",
             "-out", "ca.crt", cwd=folder)
        ossl("req", "-new", "-key", "leaf.key", *common,
             "-subj", f"/C=CN/organizationIdentifier={USCC}/O=互操作有限公司/CN=互操作有限公司",
             "-addext", "basicConstraints=CA:FALSE", "-addext", "keyUsage=critical,digitalSignature",
             "-addext", "1.3.6.1.4.1.55555.1.1=ASN1:SEQUENCE:holder", "-out", "leaf.csr", cwd=folder)
        ossl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.crt", "-CAkey", "ca.key", *self.sign_opts,
             *verify_opts, "-days", "30", "-copy_extensions", "copyall", "-set_serial", "0x2002",
             "-out", "leaf.crt", cwd=folder)
        for ca in ("root", "ca"):
            (folder / ca).mkdir()
            (folder / ca / "index.txt").write_text("")
            (folder / ca / "crlnumber").write_text("01\n")
            (folder / ca / "ca.cnf").write_text(CA_CONF.format(md="sm3" if kind == "sm2" else "sha256"))
            self.gencrl(ca)

    def _genkey(self, name: str) -> None:
        opts = {"rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                "ec": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                "sm2": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2"]}[self.kind]
        ossl("genpkey", *opts, "-pkeyopt", "ec_param_enc:named_curve" if self.kind != "rsa" else
             "rsa_keygen_pubexp:65537", "-out", f"{name}.key", cwd=self.dir)

    def gencrl(self, ca: str) -> None:
        sigopt = ["-sigopt", DISTID] if self.kind == "sm2" else []
        ossl("ca", "-config", "ca.cnf", "-gencrl", "-keyfile", f"../{ca}.key", "-cert", f"../{ca}.crt",
             *sigopt, "-out", "crl.pem", cwd=self.dir / ca)

    def revoke_leaf(self) -> None:
        ossl("ca", "-config", "ca.cnf", "-revoke", "../leaf.crt", "-keyfile", "../ca.key", "-cert",
             "../ca.crt", cwd=self.dir / "ca")
        self.gencrl("ca")

    def cert(self, name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate((self.dir / f"{name}.crt").read_bytes())

    def verifier(self) -> LicenceVerifier:
        return LicenceVerifier([(self.cert("root"), str(self.dir / "root" / "crl.pem"))],
                               [(self.cert("ca"), str(self.dir / "ca" / "crl.pem"))],
                               crl_provider=CrlProvider())

    def signed_response(self, alg: str) -> str:
        """A JWS whose signature openssl made over our header and payload."""
        x5c = [base64.b64encode(self.cert(n).public_bytes(Encoding.DER)).decode() for n in ("leaf", "ca")]
        header = jws_mod.b64url_encode(json.dumps({"alg": alg, "x5c": x5c}).encode())
        payload = jws_mod.b64url_encode(json.dumps(
            {"challenge": CHALLENGE, "nonce": NONCE, "aud": AUD, "iat": int(time.time())}).encode())
        (self.dir / "input").write_bytes(f"{header}.{payload}".encode())
        if alg == "SM2":
            ossl("pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey", "leaf.key", "-pkeyopt", DISTID,
                 "-in", "input", "-out", "sig", cwd=self.dir)
        else:
            pss = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"] if alg == "PS256" else []
            ossl("dgst", "-sha256", "-sign", "leaf.key", *pss, "-out", "sig", "input", cwd=self.dir)
        signature = (self.dir / "sig").read_bytes()
        if alg in ("ES256", "SM2"):
            signature = der_to_raw(self.dir / "sig", self.dir)
        return f"{header}.{payload}.{jws_mod.b64url_encode(signature)}"


def der_to_raw(sig_path: Path, cwd: Path) -> bytes:
    """ECDSA-Sig-Value (DER) to r||s, reading r and s from `openssl asn1parse`."""
    text = ossl("asn1parse", "-inform", "DER", "-in", sig_path, cwd=cwd).decode()
    r, s = re.findall(r"INTEGER\s+:([0-9A-F]+)", text)
    return bytes.fromhex(r.rjust(64, "0")) + bytes.fromhex(s.rjust(64, "0"))


@pytest.mark.parametrize("kind,alg", [("rsa", "RS256"), ("rsa", "PS256"), ("ec", "ES256"),
                                      pytest.param("sm2", "SM2", marks=needs_sm2)])
def test_openssl_made_chain_crl_and_signature(tmp_path, kind, alg):
    pki = OpensslPKI(tmp_path / kind, kind)
    verifier = pki.verifier()
    identity = verify(verifier, pki.signed_response(alg))
    assert (identity.uscc, identity.org_name, identity.alg) == (USCC, "互操作有限公司", alg)
    assert (identity.legal_representative, identity.role, identity.operator) == ("张三", "agent", "李四")
    assert identity.serial == "2002"
    pki.revoke_leaf()
    assert reason_of(verifier, pki.signed_response(alg)) == "revoked"


def _openssl_checks_tbs(obj_tbs: bytes, signature: bytes, issuer_pem: Path, cwd: Path) -> bool:
    (cwd / "tbs").write_bytes(obj_tbs)
    (cwd / "tbs.sig").write_bytes(signature)
    pub = ossl("x509", "-in", issuer_pem, "-pubkey", "-noout", cwd=cwd)
    (cwd / "issuer.pub").write_bytes(pub)
    done = subprocess.run([OPENSSL, "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey",
                           "issuer.pub", "-pkeyopt", DISTID, "-in", "tbs", "-sigfile", "tbs.sig"],
                          cwd=cwd, capture_output=True)
    return done.returncode == 0


@needs_sm2
def test_our_sm2_authority_verifies_with_openssl(tmp_path):
    keys_dir = tmp_path / "keys"
    folder = auth.init_authority(keys_dir, sm2=True)
    auth.issue_licence(keys_dir, uscc=USCC, name="国密公司", legal_rep="张三", sm2=True, out_dir=tmp_path / "lic")
    root, ca = folder / "root.crt.pem", folder / "ca.crt.pem"
    leaf = x509.load_pem_x509_certificate((tmp_path / "lic" / "licence.crt.pem").read_bytes())
    ca_cert = x509.load_pem_x509_certificate(ca.read_bytes())
    crl = x509.load_pem_x509_crl((folder / "crl.pem").read_bytes())
    assert _openssl_checks_tbs(leaf.tbs_certificate_bytes, leaf.signature, ca, tmp_path)
    assert _openssl_checks_tbs(ca_cert.tbs_certificate_bytes, ca_cert.signature, root, tmp_path)
    assert _openssl_checks_tbs(crl.tbs_certlist_bytes, crl.signature, ca, tmp_path)
    assert not _openssl_checks_tbs(leaf.tbs_certificate_bytes + b"x", leaf.signature, ca, tmp_path)
    # the JWS: r||s back to DER, checked by openssl with the standard ID
    key, chain = load_licence(tmp_path / "lic/licence.crt.pem", tmp_path / "lic/licence.key.pem",
                              tmp_path / "lic/chain.pem")
    token = make_jws({"challenge": "c", "nonce": "n", "aud": "a", "iat": 1}, key, chain)
    head, body, sig = token.split(".")
    raw = jws_mod.b64url_decode(sig)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(Encoding.PEM))
    assert _openssl_checks_tbs(f"{head}.{body}".encode(), der, tmp_path / "leaf.pem", tmp_path)


@pytest.mark.parametrize("key_type", ["ec", "rsa"])
def test_our_authority_verifies_with_openssl(tmp_path, key_type):
    keys_dir = tmp_path / "keys"
    folder = auth.init_authority(keys_dir, key_type=key_type)
    auth.issue_licence(keys_dir, uscc=USCC, name="Co", legal_rep="Rep", key_type=key_type, out_dir=tmp_path / "lic")
    cmd = ["verify", "-CAfile", folder / "root.crt.pem", "-untrusted", folder / "ca.crt.pem", "-crl_check_all",
           "-CRLfile", folder / "crl.pem", "-CRLfile", folder / "root-crl.pem", tmp_path / "lic" / "licence.crt.pem"]
    assert b"OK" in ossl(*cmd, cwd=tmp_path)
    # the ES256/RS256 JWS signature, checked by openssl dgst
    key, chain = load_licence(tmp_path / "lic/licence.crt.pem", tmp_path / "lic/licence.key.pem")
    head, body, sig = make_jws({"challenge": "c"}, key, chain).split(".")
    raw = jws_mod.b64url_decode(sig)
    if key_type == "ec":
        raw = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    (tmp_path / "in").write_bytes(f"{head}.{body}".encode())
    (tmp_path / "sig").write_bytes(raw)
    (tmp_path / "pub").write_bytes(ossl("x509", "-in", tmp_path / "lic/licence.crt.pem", "-pubkey", "-noout",
                                        cwd=tmp_path))
    assert b"Verified OK" in ossl("dgst", "-sha256", "-verify", "pub", "-signature", "sig", "in", cwd=tmp_path)
