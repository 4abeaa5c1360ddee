"""The SM2 interface over tongsuopy."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from idp.elicense import sm2

N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123


@pytest.fixture(scope="module")
def key():
    return sm2.generate_private_key()


def test_raw_and_der_signatures(key):
    data = b"message"
    raw = sm2.sign_sm2(key, data, raw=True)
    der = sm2.sign_sm2(key, data)
    assert len(raw) == 64
    for public in (key.public_key(), sm2.public_point(key), sm2.public_key_spki(key)):
        assert sm2.verify_sm2(public, data, raw)
        assert sm2.verify_sm2(public, data, der)
        assert sm2.verify_sm2(public, data, der, der=True)
    assert not sm2.verify_sm2(key.public_key(), b"other", raw)
    assert not sm2.verify_sm2(sm2.generate_private_key().public_key(), data, raw)


@pytest.mark.parametrize("signature", [b"", b"\x00" * 64, b"\xff" * 64, b"\x30\x00", b"junk" * 20,
                                       N.to_bytes(32, "big") + (1).to_bytes(32, "big")])
def test_malformed_or_out_of_range_signatures_are_false(key, signature):
    assert sm2.verify_sm2(key.public_key(), b"message", signature) is False


def test_non_canonical_der_is_normalised_not_trusted(key):
    r, s = decode_dss_signature(sm2.sign_sm2(key, b"m"))
    assert sm2.verify_sm2(key.public_key(), b"m", encode_dss_signature(r, s), der=True)
    assert not sm2.verify_sm2(key.public_key(), b"m", encode_dss_signature(r, N - s), der=True)


def test_only_the_default_id(key):
    assert sm2.DEFAULT_ID == b"1234567812345678"
    with pytest.raises(ValueError):
        sm2.verify_sm2(key.public_key(), b"m", b"\x01" * 64, id=b"ALICE123@YAHOO.COM")
    with pytest.raises(ValueError):
        sm2.sign_sm2(key, b"m", id=b"")


def test_bad_public_keys(key):
    assert sm2.verify_sm2(b"\x04" + b"\x00" * 64, b"m", sm2.sign_sm2(key, b"m", raw=True)) is False
    assert sm2.verify_sm2(b"not a key", b"m", sm2.sign_sm2(key, b"m", raw=True)) is False


def test_private_key_round_trip(key):
    again = sm2.load_private_key_pem(sm2.private_key_pem(key))
    assert sm2.public_point(again) == sm2.public_point(key)
