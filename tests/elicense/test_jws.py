"""The compact JWS and its header: strict parsing, alg rules, x5c format."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from idp.elicense import keys
from idp.elicense.jws import b64url_encode

from .conftest import AUD, CHALLENGE, NONCE, reason_of, respond


def _payload() -> dict:
    return {"challenge": CHALLENGE, "nonce": NONCE, "aud": AUD, "iat": int(time.time())}


def _x5c(licence) -> list[str]:
    return [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in licence.chain]


def _token(header, payload=None, signature=b"\x00" * 64, raw_header: bytes | None = None) -> str:
    head = b64url_encode(raw_header if raw_header is not None else json.dumps(header).encode())
    body = b64url_encode(json.dumps(payload or _payload()).encode())
    return f"{head}.{body}.{b64url_encode(signature)}"


def test_alg_none(world):
    licence = world.licence()
    assert reason_of(world.verifier(), _token({"alg": "none", "x5c": _x5c(licence)}, signature=b"")) \
        == "alg_not_allowed"


def test_hs256_keyed_with_the_certificate_public_key(world):
    # the classic key-confusion attack (RFC 8725 section 2.1): the "secret" is public
    licence = world.licence()
    secret = licence.cert.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    head = b64url_encode(json.dumps({"alg": "HS256", "x5c": _x5c(licence)}).encode())
    body = b64url_encode(json.dumps(_payload()).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert reason_of(world.verifier(), f"{head}.{body}.{b64url_encode(mac)}") == "alg_not_allowed"


@pytest.mark.parametrize("alg", ["RS256", "PS256", "SM2", "ES384", "EdDSA"])
def test_alg_must_fit_the_key(world, alg):
    licence = world.licence()  # P-256
    expected = "alg_key_mismatch" if alg in keys.JWS_ALGS else "alg_not_allowed"
    assert reason_of(world.verifier(), _token({"alg": alg, "x5c": _x5c(licence)})) == expected


def test_es256_on_rsa_key(world):
    licence = world.licence(kind="rsa")
    assert reason_of(world.verifier(), _token({"alg": "ES256", "x5c": _x5c(licence)})) == "alg_key_mismatch"


def test_alg_key_mismatch_also_on_cached_path(world):
    licence = world.licence()
    verifier = world.verifier()
    from .conftest import verify
    verify(verifier, respond(licence))
    assert reason_of(verifier, _token({"alg": "RS256", "x5c": _x5c(licence)})) == "alg_key_mismatch"


@pytest.mark.parametrize("header,reason", [
    ({"x5c": ["AAAA"]}, "jws_malformed"),
    ({"alg": 1, "x5c": ["AAAA"]}, "jws_malformed"),
    ({"alg": "ES256"}, "x5c_missing"),
    ({"alg": "ES256", "x5c": []}, "x5c_malformed"),
    ({"alg": "ES256", "x5c": "MIIB"}, "x5c_malformed"),
    ({"alg": "ES256", "x5c": [1]}, "x5c_malformed"),
    ({"alg": "ES256", "x5c": ["not base64!"]}, "x5c_malformed"),
    ({"alg": "ES256", "x5c": ["AAAA"]}, "x5c_malformed"),  # base64, but not a certificate
    ({"alg": "ES256", "x5c": ["AAAA"] * 6}, "chain_too_long"),
    ({"alg": "ES256", "x5c": ["AAAA"], "crit": ["exp"]}, "crit_unsupported"),
])
def test_header_rules(world, header, reason):
    assert reason_of(world.verifier(), _token(header)) == reason


def test_x5c_must_be_standard_base64_not_base64url(world):
    licence = world.licence()
    der = licence.cert.public_bytes(Encoding.DER)
    urlsafe = base64.urlsafe_b64encode(der).decode()
    assert urlsafe != base64.b64encode(der).decode(), "the test needs a certificate with + or /"
    assert reason_of(world.verifier(), _token({"alg": "ES256", "x5c": [urlsafe]})) == "x5c_malformed"
    unpadded = base64.b64encode(der).decode().rstrip("=")
    if unpadded != base64.b64encode(der).decode():
        assert reason_of(world.verifier(), _token({"alg": "ES256", "x5c": [unpadded]})) == "x5c_malformed"


@pytest.mark.parametrize("raw", [
    b'{"alg":"ES256","alg":"none","x5c":[]}',  # duplicate member (RFC 7515 section 5.2 step 4)
    b'["ES256"]',
    b'{"alg":"ES256","x5c":NaN}',
    b"\xff\xfe{}",
    b"[" * 20000,
])
def test_header_json_is_strict(world, raw):
    assert reason_of(world.verifier(), _token(None, raw_header=raw)) == "jws_malformed"


@pytest.mark.parametrize("token", [
    "", "a", "a.b", "a.b.c.d", "a.b.c.d.e", "...", "eyJ.eyJ.", "a=.b.c", "a.b+.c", "a.b.c/",
    "YQ.YQ.YQ",  # header "a": not JSON
    "YR.YQ.YQ",  # non-zero trailing bits: not canonical base64url
    "YQ==.YQ.YQ",  # padding is not allowed
    "Ａ.Ｂ.Ｃ",  # non-ASCII
])
def test_not_a_compact_jws(world, token):
    assert reason_of(world.verifier(), token) == "jws_malformed"


def test_non_string_input(world):
    assert reason_of(world.verifier(), None) == "jws_malformed"
    assert reason_of(world.verifier(), 42) == "jws_malformed"
    assert reason_of(world.verifier(), b"\xff.a.b") == "jws_malformed"


def test_ten_megabytes_is_refused_first_and_fast(world):
    verifier = world.verifier()
    big = "A" * (10 * 1024 * 1024)
    start = time.perf_counter()
    assert reason_of(verifier, big) == "jws_too_large"
    assert reason_of(verifier, big.encode()) == "jws_too_large"
    assert time.perf_counter() - start < 0.5


def test_payload_must_be_a_json_object(world):
    from idp.elicense.holder import make_jws
    licence = world.licence()
    token = make_jws(["not", "an", "object"], licence.key, licence.chain)
    assert reason_of(world.verifier(), token) == "payload_malformed"


def test_es256_signature_must_be_64_bytes(world):
    licence = world.licence()
    head, body, sig = respond(licence).split(".")
    from idp.elicense.jws import b64url_decode
    raw = b64url_decode(sig)
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    assert reason_of(world.verifier(), f"{head}.{body}.{b64url_encode(der)}") == "bad_signature"
