"""LicenceVerifier: good responses for every algorithm, and one reason per rejection."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from cryptography import x509

from idp.elicense import LicenceError, profile
from idp.elicense import x509build as xb

from .conftest import USCC, licence_name, make_root, now, reason_of, respond, verify


@pytest.mark.parametrize("kind,alg", [("ec", "ES256"), ("rsa", "RS256"), ("rsa", "PS256")])
def test_good_response(world, kind, alg):
    licence = world.licence(kind=kind)
    identity = verify(world.verifier(), respond(licence, alg=alg))
    assert (identity.uscc, identity.org_name, identity.legal_representative) == (USCC, "测试有限公司", "张三")
    assert identity.role == "legal_representative" and identity.operator is None
    assert identity.alg == alg and identity.amr == ["swk"]
    assert int(identity.serial, 16) == licence.cert.serial_number and len(identity.serial) % 2 == 0
    assert identity.claims() == {"entity_type": "legal_person", "uscc": USCC, "org_name": "测试有限公司",
                                 "name": "测试有限公司", "legal_representative": "张三"}


def test_agent_and_hardware_claims(world):
    holder = profile.holder_info_extension("张三", "agent", "李四", hardware=True)
    identity = verify(world.verifier(), respond(world.licence(holder=holder)))
    assert identity.role == "agent" and identity.operator == "李四" and identity.amr == ["hwk"]
    assert identity.claims()["operator"] == "李四"


def test_sm2_good_and_bad(sm2_world):
    licence = sm2_world.licence(kind="sm2")
    verifier = sm2_world.verifier()
    token = respond(licence)
    identity = verify(verifier, token)
    assert identity.alg == "SM2" and identity.key_type == "SM2" and identity.uscc == USCC
    head, body, sig = token.split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    assert reason_of(verifier, f"{head}.{body}.{flipped}") == "bad_signature"
    other = sm2_world.licence(kind="sm2")  # same chain, another key: the signature is not its
    forged = respond(other).split(".")[2]
    assert reason_of(verifier, f"{head}.{body}.{forged}") == "bad_signature"


def test_sm2_licence_under_ec_authority(world):
    # mixed chains are fine: the path is checked per certificate, the JWS by the licence key
    assert verify(world.verifier(), respond(world.licence(kind="sm2"))).alg == "SM2"


def test_x5c_without_intermediate_uses_configured_one(world):
    licence = world.licence()
    assert verify(world.verifier(), respond(licence, chain=[licence.cert])).uscc == USCC


def test_x5c_may_include_the_anchor(world):
    licence = world.licence()
    chain = [licence.cert, world.ca.cert, world.root.cert]
    assert verify(world.verifier(), respond(licence, chain=chain)).uscc == USCC


def test_path_cache_is_used_and_still_checks_revocation(world):
    verifier = world.verifier()
    licence = world.licence()
    verify(verifier, respond(licence))
    assert len(verifier._paths) == 1
    verify(verifier, respond(licence))
    world.ca.revoked.append(licence.cert.serial_number)
    world.ca.write_crl()
    assert reason_of(verifier, respond(licence)) == "revoked"


def _ku(**flags):
    base = dict(digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False)
    base.update(flags)
    return x509.KeyUsage(**base)


def _leaf_exts(world, key, *, bc=False, ku=None, holder=True):
    exts = [(x509.BasicConstraints(ca=bc, path_length=None), True),
            (ku or xb.leaf_key_usage(), True),
            (x509.SubjectKeyIdentifier(xb.key_id(key.public_key())), False),
            (x509.AuthorityKeyIdentifier(world.ca.kid, None, None), False)]
    if holder:
        exts.append((profile.holder_info_extension("张三"), False))
    return exts


def test_expired_and_not_yet_valid(world):
    verifier = world.verifier()
    expired = world.licence(not_before=now() - dt.timedelta(days=30), not_after=now() - dt.timedelta(days=1))
    assert reason_of(verifier, respond(expired)) == "cert_expired"
    future = world.licence(not_before=now() + dt.timedelta(days=1), not_after=now() + dt.timedelta(days=30))
    assert reason_of(verifier, respond(future)) == "cert_not_yet_valid"


def test_expired_intermediate(world):
    old_ca = world.root.issue_ca("Old CA", not_before=now() - dt.timedelta(days=9),
                                 not_after=now() - dt.timedelta(days=1))
    licence = old_ca.issue_licence()
    assert reason_of(world.verifier(), respond(licence)) == "cert_expired"


def test_clock_is_injected(world):
    licence = world.licence()
    token = respond(licence, iat=int(time.time()) + 400 * 86400)
    later = world.verifier(clock=lambda: time.time() + 400 * 86400)
    assert reason_of(later, token) == "cert_expired"


def test_revoked_licence_and_revoked_intermediate(world):
    licence = world.licence()
    world.ca.revoked.append(licence.cert.serial_number)
    world.ca.write_crl()
    assert reason_of(world.verifier(), respond(licence)) == "revoked"
    world.ca.revoked.clear()
    world.ca.write_crl()
    world.root.revoked.append(world.ca.cert.serial_number)
    world.root.write_crl()
    assert reason_of(world.verifier(), respond(licence)) == "revoked"


def test_unknown_anchor(world, tmp_path):
    stranger = make_root(tmp_path, "Stranger Root").issue_ca("Stranger CA")
    assert reason_of(world.verifier(), respond(stranger.issue_licence())) == "unknown_anchor"


def test_self_signed_licence_is_unknown_anchor(world):
    key = xb.generate_key("ec")
    cert = xb.build_certificate(subject=licence_name(), issuer=licence_name(), public_key=key.public_key(),
                                signing_key=key, serial=7, not_before=now() - dt.timedelta(days=1),
                                not_after=now() + dt.timedelta(days=1),
                                extensions=_leaf_exts(world, key))
    from .conftest import Licence
    assert reason_of(world.verifier(), respond(Licence(key, cert, [cert]))) == "unknown_anchor"


def test_broken_chain(world, tmp_path):
    verifier = world.verifier()
    impostor = make_root(tmp_path / "..", "Test Issuing CA")  # same name as the real CA, other key
    forged = impostor.issue_licence()
    forged.chain = [forged.cert, world.ca.cert]
    assert reason_of(verifier, respond(forged)) == "broken_chain"
    unrelated = world.root.issue_ca("Unrelated CA")
    licence = world.licence()
    assert reason_of(verifier, respond(licence, chain=[licence.cert, unrelated.cert])) == "broken_chain"
    # the impostor alone: a configured CA of that name exists but did not sign it
    assert reason_of(verifier, respond(forged, chain=[forged.cert])) == "broken_chain"


def test_intermediate_not_a_ca(world):
    no_ca = world.root.issue_ca("Not A CA", extensions=[
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (_ku(key_cert_sign=True, crl_sign=True), True)])
    assert reason_of(world.verifier(), respond(no_ca.issue_licence())) == "not_ca"


def test_intermediate_without_key_cert_sign(world):
    weak = world.root.issue_ca("No KeyCertSign", extensions=[
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (_ku(digital_signature=True, crl_sign=True), True)])
    assert reason_of(world.verifier(), respond(weak.issue_licence())) == "key_usage"


def test_leaf_flags(world):
    verifier = world.verifier()
    key = xb.generate_key("ec")
    assert reason_of(verifier, respond(world.licence(key=key, extensions=_leaf_exts(world, key, bc=True)))) \
        == "leaf_is_ca"
    no_sig = _leaf_exts(world, key, ku=_ku(key_encipherment=True))
    assert reason_of(verifier, respond(world.licence(key=key, extensions=no_sig))) == "key_usage"


def test_path_length(tmp_path):
    root = make_root(tmp_path, "Short Root", path_length=0)
    middle = root.issue_ca("Middle CA")
    lower = middle.issue_ca("Lower CA")
    from .conftest import World
    verifier = World(root, middle, tmp_path).verifier()
    licence = lower.issue_licence(chain=[lower.cert, middle.cert])
    assert reason_of(verifier, respond(licence)) == "path_length_exceeded"


def test_unknown_critical_extension(world):
    odd = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.9.9"), b"\x05\x00")
    licence = world.licence(extra=[(odd, True)])
    assert reason_of(world.verifier(), respond(licence)) == "unknown_critical_extension"
    fine = world.licence(extra=[(odd, False)])
    assert verify(world.verifier(), respond(fine)).uscc == USCC


@pytest.mark.parametrize("subject,reason", [
    (licence_name(uscc="91350100M000100Y44"), "uscc_invalid"),  # wrong GB 32100 check character
    (licence_name(uscc="91350100m000100y43"), "uscc_invalid"),  # lower case is not the code
    (licence_name(uscc="9135010"), "uscc_invalid"),
    (licence_name(uscc=None), "uscc_missing"),
    (licence_name(org=None), "org_name_missing"),
])
def test_subject_profile(world, subject, reason):
    assert reason_of(world.verifier(), respond(world.licence(subject=subject))) == reason


def test_etsi_form_of_uscc(world):
    licence = world.licence(subject=licence_name(uscc="NTRCN-" + USCC))
    assert verify(world.verifier(), respond(licence)).uscc == USCC


def test_holder_info_missing_and_invalid(world):
    key = xb.generate_key("ec")
    bare = world.licence(key=key, extensions=_leaf_exts(world, key, holder=False))
    assert reason_of(world.verifier(), respond(bare)) == "holder_info_missing"
    junk = x509.UnrecognizedExtension(profile.HOLDER_INFO_OID, b"\x30\x03\x02\x01\x07")
    assert reason_of(world.verifier(), respond(world.licence(holder=junk))) == "holder_info_invalid"


@pytest.mark.parametrize("claims,expected,reason", [
    ({"nonce": "other"}, {}, "nonce_mismatch"),
    ({}, {"nonce": "other"}, "nonce_mismatch"),
    ({"challenge": "other"}, {}, "challenge_mismatch"),
    ({"challenge": None}, {}, "challenge_mismatch"),
    ({"aud": "https://evil.example"}, {}, "aud_mismatch"),
    ({"aud": ["https://evil.example"]}, {}, "aud_mismatch"),
    ({"aud": 5}, {}, "aud_mismatch"),
    ({"iat": None}, {}, "iat_missing"),
    ({"iat": "now"}, {}, "iat_invalid"),
    ({"iat": True}, {}, "iat_invalid"),
    ({"iat": 10 ** 30}, {}, "iat_invalid"),
    ({"iat": int(time.time()) - 121}, {}, "iat_stale"),
    ({"iat": int(time.time()) + 600}, {}, "iat_future"),
])
def test_payload(world, claims, expected, reason):
    assert reason_of(world.verifier(), respond(world.licence(), **claims), **expected) == reason


def test_payload_list_audience_is_accepted(world):
    token = respond(world.licence(), aud=["https://other.example", "https://idp.example"])
    assert verify(world.verifier(), token).uscc == USCC


def test_tampered_payload(world):
    from idp.elicense.jws import b64url_encode
    head, _, sig = respond(world.licence()).split(".")
    body = b64url_encode(b'{"challenge":"challenge-abc","nonce":"nonce-123","aud":"https://idp.example",'
                         b'"iat":%d}' % int(time.time()))
    assert reason_of(world.verifier(), f"{head}.{body}.{sig}", nonce="nonce-123") == "bad_signature"


def test_small_rsa_key_is_refused(world):
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    licence = world.licence(key=key)
    with pytest.raises(LicenceError) as info:
        verify(world.verifier(), respond(licence, alg="RS256"))
    assert info.value.reason == "unsupported_key"


def test_error_body_and_status(world):
    world.ca.write_crl(next_update=now() - dt.timedelta(seconds=1),
                       this_update=now() - dt.timedelta(days=1))
    with pytest.raises(LicenceError) as info:
        verify(world.verifier(), respond(world.licence()))
    assert info.value.reason == "crl_stale" and info.value.status == 503
    assert info.value.to_dict() == {"error": "temporarily_unavailable", "reason": "crl_stale",
                                    "error_description": info.value.description}
    with pytest.raises(LicenceError) as info:
        verify(world.verifier(), "x")
    assert info.value.status == 400 and info.value.to_dict()["error"] == "invalid_licence"
