"""Factories for licence tests: CAs, licences, CRLs, verifiers and signed responses."""
from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from idp.elicense import CrlProvider, LicenceError, LicenceVerifier, profile
from idp.elicense import x509build as xb
from idp.elicense.holder import make_jws

UTC = dt.timezone.utc
USCC = "91350100M000100Y43"
AUD = "https://idp.example"
CHALLENGE, NONCE = "challenge-abc", "nonce-xyz"


def now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


def ca_name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Licence Authority"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def licence_name(uscc: str | None = USCC, org: str | None = "测试有限公司") -> x509.Name:
    attrs = []
    if uscc is not None:
        attrs.append(x509.NameAttribute(profile.ORGANIZATION_IDENTIFIER, uscc))
    if org is not None:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, org or "nameless"))
    return x509.Name(attrs)


@dataclass
class Licence:
    key: object
    cert: x509.Certificate
    chain: list  # licence first, then intermediates (what goes in x5c)


@dataclass
class CA:
    name: x509.Name
    key: object
    cert: x509.Certificate
    folder: Path
    revoked: list = field(default_factory=list)

    @property
    def kid(self) -> bytes:
        return xb.key_id(self.key.public_key())

    @property
    def crl_path(self) -> str:
        cn = self.name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        return str(self.folder / (re.sub(r"\W", "_", cn) + ".crl"))

    def write_crl(self, *, this_update=None, next_update=None, signer=None) -> str:
        this_update = this_update or now() - dt.timedelta(minutes=1)
        crl = xb.build_crl(issuer=self.name, signing_key=signer or self.key, this_update=this_update,
                           next_update=next_update or this_update + dt.timedelta(days=7),
                           revoked=[(s, this_update) for s in self.revoked], authority_key_id=self.kid)
        from cryptography.hazmat.primitives.serialization import Encoding
        Path(self.crl_path).write_bytes(crl.public_bytes(Encoding.PEM))
        return self.crl_path

    def issue_ca(self, cn: str, *, kind: str | None = None, path_length=None, extensions=None,
                 not_before=None, not_after=None) -> "CA":
        key = xb.generate_key(kind or ("sm2" if xb._is_sm2(self.key) else "ec"))
        name = ca_name(cn)
        exts = extensions if extensions is not None else \
            xb.ca_extensions(key.public_key(), self.kid, path_length)
        cert = xb.build_certificate(
            subject=name, issuer=self.name, public_key=key.public_key(), signing_key=self.key,
            serial=x509.random_serial_number(), not_before=not_before or now() - dt.timedelta(days=1),
            not_after=not_after or now() + dt.timedelta(days=365), extensions=exts)
        child = CA(name, key, cert, self.folder)
        child.write_crl()
        return child

    def issue_licence(self, *, kind: str = "ec", key=None, subject=None, holder=None,
                      extensions=None, extra=(), not_before=None, not_after=None,
                      chain=None, serial=None) -> Licence:
        key = key or xb.generate_key(kind)
        exts = extensions if extensions is not None else [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (xb.leaf_key_usage(), True),
            (x509.SubjectKeyIdentifier(xb.key_id(key.public_key())), False),
            (x509.AuthorityKeyIdentifier(self.kid, None, None), False),
            (holder or profile.holder_info_extension("张三"), False)]
        cert = xb.build_certificate(
            subject=subject or licence_name(), issuer=self.name, public_key=key.public_key(),
            signing_key=self.key, serial=serial or x509.random_serial_number(),
            not_before=not_before or now() - dt.timedelta(days=1),
            not_after=not_after or now() + dt.timedelta(days=365), extensions=list(exts) + list(extra))
        return Licence(key, cert, [cert] + (chain if chain is not None else [self.cert]))


def make_root(folder: Path, cn: str = "Test Root", kind: str = "ec", path_length=None) -> CA:
    key = xb.generate_key(kind)
    name = ca_name(cn)
    cert = xb.build_certificate(
        subject=name, issuer=name, public_key=key.public_key(), signing_key=key,
        serial=x509.random_serial_number(), not_before=now() - dt.timedelta(days=2),
        not_after=now() + dt.timedelta(days=3650),
        extensions=xb.ca_extensions(key.public_key(), None, path_length))
    root = CA(name, key, cert, folder)
    root.write_crl()
    return root


@dataclass
class World:
    root: CA
    ca: CA
    folder: Path

    def verifier(self, **kwargs) -> LicenceVerifier:
        kwargs.setdefault("crl_provider", CrlProvider())
        return LicenceVerifier([(self.root.cert, self.root.crl_path)],
                               [(self.ca.cert, self.ca.crl_path)], **kwargs)

    def licence(self, **kwargs) -> Licence:
        return self.ca.issue_licence(**kwargs)


def respond(licence: Licence, *, alg=None, chain=None, **claims) -> str:
    payload = {"challenge": CHALLENGE, "nonce": NONCE, "aud": AUD, "iat": int(time.time())}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return make_jws(payload, licence.key, licence.chain if chain is None else chain, alg)


def verify(verifier: LicenceVerifier, token, **expected):
    return verifier.verify_response(token, expected_challenge=expected.get("challenge", CHALLENGE),
                                    expected_nonce=expected.get("nonce", NONCE),
                                    expected_aud=expected.get("aud", AUD))


def reason_of(verifier: LicenceVerifier, token, **expected) -> str:
    with pytest.raises(LicenceError) as info:
        verify(verifier, token, **expected)
    return info.value.reason


@pytest.fixture
def world(tmp_path) -> World:
    root = make_root(tmp_path)
    return World(root, root.issue_ca("Test Issuing CA"), tmp_path)


@pytest.fixture
def sm2_world(tmp_path) -> World:
    root = make_root(tmp_path, "Test SM2 Root", kind="sm2")
    return World(root, root.issue_ca("Test SM2 Issuing CA", kind="sm2"), tmp_path)


@pytest.fixture
def p256_key():
    return ec.generate_private_key(ec.SECP256R1())
