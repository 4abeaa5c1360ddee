import pytest

from idp.registry.crypto import DecryptError, FieldCipher, derive_key, row_aad

KEY = bytes(range(32))


def test_roundtrip_and_fresh_nonces():
    cipher = FieldCipher(KEY)
    one, two = cipher.encrypt(b"secret", b"row-1"), cipher.encrypt(b"secret", b"row-1")
    assert one != two and one[1:13] != two[1:13]
    assert len(one) == 1 + 12 + len(b"secret") + 16
    assert cipher.decrypt(one, b"row-1") == cipher.decrypt(two, b"row-1") == b"secret"


@pytest.mark.parametrize("mutate", [
    lambda blob: blob[:-1] + bytes([blob[-1] ^ 1]),     # tag
    lambda blob: blob[:14] + bytes([blob[14] ^ 1]) + blob[15:],  # ciphertext
    lambda blob: blob[:2] + bytes([blob[2] ^ 1]) + blob[3:],     # nonce
    lambda blob: b"\x02" + blob[1:],                     # unknown version
    lambda blob: blob[:20],                              # truncated
    lambda blob: b"",
])
def test_tampering_is_detected(mutate):
    cipher = FieldCipher(KEY)
    with pytest.raises(DecryptError):
        cipher.decrypt(mutate(cipher.encrypt(b"secret", b"aad")), b"aad")


def test_associated_data_binds_the_row_and_column():
    cipher = FieldCipher(KEY)
    blob = cipher.encrypt(b"name", row_aad("a" * 64, "name"))
    with pytest.raises(DecryptError):
        cipher.decrypt(blob, row_aad("b" * 64, "name"))
    with pytest.raises(DecryptError):
        cipher.decrypt(blob, row_aad("a" * 64, "template"))


def test_wrong_key_fails():
    blob = FieldCipher(KEY).encrypt(b"x", b"aad")
    with pytest.raises(DecryptError):
        FieldCipher(bytes(32)).decrypt(blob, b"aad")


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(31), "x" * 32])
def test_key_must_be_32_bytes(key):
    with pytest.raises(ValueError):
        FieldCipher(key)


def test_derive_key_is_deterministic_and_separated_by_purpose():
    a = derive_key("server secret", "registry/id-hash/v1")
    assert a == derive_key("server secret", "registry/id-hash/v1") and len(a) == 32
    assert a != derive_key("server secret", "registry/field-encryption/v1")
    assert a != derive_key("other secret", "registry/id-hash/v1")


def test_derive_key_matches_rfc5869_hkdf():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    expected = HKDF(hashes.SHA256(), 32, b"idp/registry/hkdf-salt/v1", b"p").derive(b"s")
    assert derive_key("s", "p") == expected


@pytest.mark.parametrize("secret,purpose", [("", "p"), ("s", "")])
def test_derive_key_refuses_empty_inputs(secret, purpose):
    with pytest.raises(ValueError):
        derive_key(secret, purpose)
