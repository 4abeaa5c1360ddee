"""Hostile input: every one ends in a LicenceError with a reason, quickly; nothing else escapes."""
from __future__ import annotations

import base64
import datetime as dt
import json
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idp.elicense import REASONS, LicenceError
from idp.elicense import x509build as xb
from idp.elicense.jws import b64url_encode

from .conftest import CA, ca_name, now, reason_of, respond, verify

# damaged certificates make cryptography warn (negative serials, odd attribute lengths): expected
pytestmark = [pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning"),
              pytest.mark.filterwarnings("ignore::UserWarning")]


def _b64(cert) -> str:
    return base64.b64encode(cert.public_bytes(Encoding.DER)).decode()


def test_chain_of_fifty_certificates(world):
    ca = world.ca
    chain = []
    for i in range(50):
        ca = ca.issue_ca(f"Deep CA {i}")
        chain.insert(0, ca.cert)
    licence = ca.issue_licence(chain=chain)
    start = time.perf_counter()
    assert reason_of(world.verifier(), respond(licence)) == "chain_too_long"
    # without x5c help the configured store holds no path either: still a reason, not a hang
    assert reason_of(world.verifier(), respond(licence, chain=[licence.cert])) == "unknown_anchor"
    assert time.perf_counter() - start < 2


def test_deep_configured_intermediates_are_bounded(world):
    ca, cas = world.ca, []
    for i in range(10):
        ca = ca.issue_ca(f"Configured CA {i}")
        cas.append((ca.cert, ca.crl_path))
    from idp.elicense import LicenceVerifier
    verifier = LicenceVerifier([(world.root.cert, world.root.crl_path)],
                               [(world.ca.cert, world.ca.crl_path)] + cas)
    licence = ca.issue_licence(chain=[])
    assert reason_of(verifier, respond(licence)) == "chain_too_long"


def test_two_cas_certifying_each_other_loop(world, tmp_path):
    # A and B with each other's names: x5c [leaf, A, B, A] repeats A; the store search never revisits
    key_a, key_b = xb.generate_key("ec"), xb.generate_key("ec")
    name_a, name_b = ca_name("Loop A"), ca_name("Loop B")
    window = dict(not_before=now() - dt.timedelta(days=1), not_after=now() + dt.timedelta(days=9))
    a = xb.build_certificate(subject=name_a, issuer=name_b, public_key=key_a.public_key(), signing_key=key_b,
                             serial=1, extensions=xb.ca_extensions(key_a.public_key(), None, None), **window)
    b = xb.build_certificate(subject=name_b, issuer=name_a, public_key=key_b.public_key(), signing_key=key_a,
                             serial=2, extensions=xb.ca_extensions(key_b.public_key(), None, None), **window)
    loop_ca = CA(name_a, key_a, a, tmp_path)
    licence = loop_ca.issue_licence(chain=[a, b, a])
    assert reason_of(world.verifier(), respond(licence)) == "broken_chain"
    licence.chain = [licence.cert, a, b]
    assert reason_of(world.verifier(), respond(licence)) == "unknown_anchor"
    from idp.elicense import LicenceVerifier
    looped_store = LicenceVerifier([(world.root.cert, world.root.crl_path)], [a, b])
    assert reason_of(looped_store, respond(licence, chain=[licence.cert])) in {"unknown_anchor", "broken_chain"}


def test_self_signed_ca_that_names_itself(world):
    key = xb.generate_key("ec")
    name = ca_name("Test Root")  # the anchor's name, another key
    fake_root = xb.build_certificate(subject=name, issuer=name, public_key=key.public_key(), signing_key=key,
                                     serial=3, not_before=now() - dt.timedelta(days=1),
                                     not_after=now() + dt.timedelta(days=9),
                                     extensions=xb.ca_extensions(key.public_key(), None, None))
    licence = CA(name, key, fake_root, world.folder).issue_licence(chain=[fake_root])
    assert reason_of(world.verifier(), respond(licence)) == "broken_chain"


def test_certificate_with_garbage_der(world):
    for blob in (b"\x30\x82\xff\xff" + b"\x00" * 100, b"\x30\x03\x02\x01\x01", b"\x00" * 2000):
        header = {"alg": "ES256", "x5c": [base64.b64encode(blob).decode()]}
        token = f"{b64url_encode(json.dumps(header).encode())}.{b64url_encode(b'{}')}.{b64url_encode(b'x' * 64)}"
        assert reason_of(world.verifier(), token) == "x5c_malformed"


def test_unknown_critical_extension_on_intermediate(world):
    odd = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4.5"), b"\x05\x00")
    key = xb.generate_key("ec")
    name = ca_name("Odd CA")
    cert = xb.build_certificate(subject=name, issuer=world.root.name, public_key=key.public_key(),
                                signing_key=world.root.key, serial=11,
                                not_before=now() - dt.timedelta(days=1), not_after=now() + dt.timedelta(days=9),
                                extensions=xb.ca_extensions(key.public_key(), world.root.kid, None) + [(odd, True)])
    ca = CA(name, key, cert, world.folder)
    ca.write_crl()
    assert reason_of(world.verifier(), respond(ca.issue_licence())) == "unknown_critical_extension"


# -- fuzzing ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)

headers = st.fixed_dictionaries(
    {"alg": st.sampled_from(["ES256", "RS256", "PS256", "SM2", "none", "HS256"]) | st.text(max_size=8)},
    optional={"x5c": st.lists(st.text(max_size=40) | st.binary(max_size=60).map(
        lambda b: base64.b64encode(b).decode()), max_size=7) | json_values,
              "crit": json_values, "kid": json_values})


def _assemble(header, payload, signature: bytes) -> str:
    encode = lambda obj: b64url_encode(json.dumps(obj).encode())  # noqa: E731
    return f"{encode(header)}.{encode(payload)}.{b64url_encode(signature)}"


def _only_licence_errors(verifier, token):
    try:
        verify(verifier, token)
    except LicenceError as exc:
        assert exc.reason in REASONS and exc.reason != "unprocessable", exc
    else:  # pragma: no cover - a random input that verifies would be a serious bug
        raise AssertionError("random input verified")


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    from .conftest import World, make_root
    folder = tmp_path_factory.mktemp("fuzz")
    root = make_root(folder)
    world = World(root, root.issue_ca("Test Issuing CA"), folder)
    return world.verifier(), world.licence()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_fuzz_random_strings(fuzz_target, text):
    _only_licence_errors(fuzz_target[0], text)


@settings(max_examples=300, deadline=None)
@given(headers, json_values, st.binary(max_size=80))
def test_fuzz_random_json(fuzz_target, header, payload, signature):
    _only_licence_errors(fuzz_target[0], _assemble(header, payload, signature))


@settings(max_examples=200, deadline=None)
@given(json_values, st.binary(max_size=80), st.sampled_from(["ES256", "RS256", "SM2", "PS256"]))
def test_fuzz_real_chain_random_rest(fuzz_target, payload, signature, alg):
    verifier, licence = fuzz_target
    header = {"alg": alg, "x5c": [_b64(c) for c in licence.chain]}
    _only_licence_errors(verifier, _assemble(header, payload, signature))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz_mutated_good_token(fuzz_target, data):
    verifier, licence = fuzz_target
    token = respond(licence)
    index = data.draw(st.integers(0, len(token) - 1))
    char = data.draw(st.sampled_from("AZaz09-_.+/=\x00é"))
    mutated = token[:index] + char + token[index + 1:]
    if mutated != token:
        with pytest.raises(LicenceError) as info:
            verify(verifier, mutated)
        assert info.value.reason in REASONS and info.value.reason != "unprocessable", info.value


def test_fuzz_target_itself_verifies(fuzz_target):
    verifier, licence = fuzz_target
    assert verify(verifier, respond(licence)).role == "legal_representative"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_certificate_der(fuzz_target, data):
    """Valid base64 around damaged DER reaches the certificate parser and path building."""
    verifier, licence = fuzz_target
    ders = [c.public_bytes(Encoding.DER) for c in licence.chain]
    which = data.draw(st.integers(0, len(ders) - 1))
    blob = bytearray(ders[which])
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(blob) - 1))
        blob[index] = data.draw(st.integers(0, 255))
    ders[which] = bytes(blob)
    header = {"alg": "ES256", "x5c": [base64.b64encode(d).decode() for d in ders]}
    _only_licence_errors(verifier, _assemble(header, {"challenge": "c"}, b"\x00" * 64))
