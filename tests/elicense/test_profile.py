"""The licence profile: holder-information extension and USCC rules."""
from __future__ import annotations

import pytest

from idp.elicense import LicenceError, der, profile


@pytest.mark.parametrize("args", [
    ("张三", "legal_representative", None, False),
    ("张三", "administrator", None, True),
    ("张三", "agent", "李四", False),
    ("A" * 128, "agent", "B" * 128, True),
])
def test_holder_info_round_trip(args):
    assert profile.decode_holder_info(profile.encode_holder_info(*args)) == args


def test_holder_info_exact_encoding():
    # SEQUENCE { INTEGER 1, UTF8String "Li", ENUMERATED 2, [0] "Wu", [1] 1 }
    assert profile.encode_holder_info("Li", "agent", "Wu", True).hex() == \
        "3011020101" "0c024c69" "0a0102" "80025775" "810101"


@pytest.mark.parametrize("args", [
    ("", "legal_representative", None), ("A" * 129, "legal_representative", None),
    ("张\n三", "legal_representative", None), ("张三", "boss", None),
    ("张三", "agent", None), ("张三", "administrator", "李四"),
])
def test_holder_info_refuses_bad_values(args):
    with pytest.raises(ValueError):
        profile.encode_holder_info(*args)


@pytest.mark.parametrize("blob", [
    b"", b"\x30\x00", b"\x30\x03\x02\x01\x02",
    der.seq(der.integer(2), der.utf8("张三"), der.integer(0, der.ENUMERATED)),  # version 2
    der.seq(der.integer(1), der.utf8("张三"), der.integer(3, der.ENUMERATED)),  # unknown role
    der.seq(der.integer(1), der.utf8("张三"), der.integer(2, der.ENUMERATED)),  # agent without name
    der.seq(der.integer(1), der.utf8("张三"), der.integer(0, der.ENUMERATED), der.utf8("x", 0x80)),
    der.seq(der.integer(1), der.utf8("张三"), der.integer(0, der.ENUMERATED), der.integer(0, 0x81)),
    der.seq(der.integer(1), der.utf8("张三"), der.integer(0, der.ENUMERATED), der.integer(1, 0x82)),
    der.seq(der.integer(1), der.utf8("张三"), der.integer(0, der.ENUMERATED)) + b"\x00",
    der.seq(der.integer(1), der.tlv(der.UTF8_STRING, b"\xff"), der.integer(0, der.ENUMERATED)),
    b"\x30\x80\x02\x01\x01\x00\x00",  # indefinite length
    b"\x30\x81\x03\x02\x01\x01",  # non-minimal length
])
def test_holder_info_decoder_is_strict(blob):
    with pytest.raises(ValueError):
        profile.decode_holder_info(blob)


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L", "NTRCN-91350100M000100Y43"])
def test_valid_uscc(code):
    assert profile.check_uscc(code) == code.removeprefix("NTRCN-")


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91350100M000100Y4", "91350100M000100Y433",
                                  "91350100m000100y43", "9135 0100M000100Y43", "91350100M000100I43",
                                  "NTRCN91350100M000100Y43", ""])
def test_invalid_uscc(code):
    with pytest.raises(LicenceError) as info:
        profile.check_uscc(code)
    assert info.value.reason == "uscc_invalid"
