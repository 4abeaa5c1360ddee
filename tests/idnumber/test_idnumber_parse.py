from datetime import date

import pytest
from stdnum.cn import ric

from idp.idnumber import (InvalidIdNumber, check_char, id_hash, is_valid_id_number,
                          mask_id_number, normalise_id_number, parse_id_number, upgrade_legacy)

TODAY = date(2025, 6, 1)


def make(body: str) -> str:
    return body + check_char(body)


def parse(text: str):
    return parse_id_number(text, today=TODAY)


def test_resident_number():
    n = parse("11010519491231002X")
    assert (n.number, n.kind, n.birth_date, n.gender, n.region_code, n.legacy15) == (
        "11010519491231002X", "resident", date(1949, 12, 31), "female", "110105", False)
    assert n.nationality_code is None


def test_gender_from_the_17th_digit():
    assert parse(make("11010519900101001")).gender == "male"
    assert parse(make("11010519900101002")).gender == "female"
    assert parse(make("11010519900101009")).gender == "male"
    assert parse(make("11010519900101000")).gender == "female"


@pytest.mark.parametrize("text", [
    "  11010519491231002X  ",       # surrounding whitespace
    "11010519491231002x",           # lowercase x
    "\u300011010519491231002X\t",   # ideographic space (Chinese IME)
    "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits and X
    "１１０１０５１９４９１２３１００２ｘ",
])
def test_accepted_spellings_normalise(text):
    assert parse(text).number == "11010519491231002X"


REJECTED = [
    ("", "format"),
    ("1101051949123100", "format"),              # 16 characters
    ("11010519491231002X1", "format"),           # 19
    ("110105 19491231002X", "format"),           # inner space
    ("110105-19491231-002X", "format"),          # separators
    ("1101051949123100XX", "format"),            # X not in the check position
    ("11010519491231002Y", "format"),
    ("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "format"),           # Arabic-Indic digits: str.isdigit() is True
    ("11010519491231002²", "format"),            # superscript two: isdigit() is True too
    (" " * 60 + "11010519491231002X", "format"),  # bounded before stripping
    ("110105194912310021", "checksum"),
    ("110105194912310020", "checksum"),
    (make("11010519490230002"), "birth_date"),   # 30 February
    (make("11010519491301002"), "birth_date"),   # month 13
    (make("11010500000101002"), "birth_date"),   # year 0
    (make("11010520250602001"), "future_birth_date"),
    (make("11010518791231001"), "birth_date_too_early"),
    (make("11999919900101001"), "region"),       # no such county
    (make("00000019900101001"), "region"),
    (make("18000019900101001"), "region"),       # no province 18
    (make("81010119900101001"), "region"),       # 81/82/83 only as 810000/820000/830000
    (make("83010019900101001"), "region"),
    (make("97184019900101001"), "region"),       # foreign: 71 (Taiwan) is not mainland
]


@pytest.mark.parametrize("text,reason", REJECTED)
def test_rejections_carry_a_reason(text, reason):
    with pytest.raises(InvalidIdNumber) as caught:
        parse(text)
    assert caught.value.reason == reason
    assert caught.value.to_dict() == {
        "error": "invalid_request", "error_description": caught.value.description,
        "reason": reason}
    assert caught.value.status == 400
    assert not is_valid_id_number(text, today=TODAY)


def test_error_message_never_repeats_the_number():
    with pytest.raises(InvalidIdNumber) as caught:
        parse("110105194912310021")
    assert "110105" not in str(caught.value) and "110105" not in repr(caught.value)


@pytest.mark.parametrize("value", [None, 110105194912310021, b"11010519491231002X"])
def test_non_text_is_a_format_error(value):
    with pytest.raises(InvalidIdNumber) as caught:
        parse_id_number(value)
    assert caught.value.reason == "format"


def test_birth_date_today_is_accepted_tomorrow_is_not():
    assert parse(make("11010520250601001")).birth_date == TODAY
    with pytest.raises(InvalidIdNumber, match="future"):
        parse(make("11010520250602001"))


def test_default_today_is_china_time():
    # A number born "today" in China must not be refused by a server running on UTC.
    from datetime import datetime, timedelta, timezone

    today_cn = datetime.now(timezone(timedelta(hours=8))).date()
    body = "110105" + today_cn.strftime("%Y%m%d") + "001"
    assert parse_id_number(make(body)).birth_date == today_cn


def test_earliest_birth_date_boundary():
    assert parse(make("11010518800101001")).birth_date == date(1880, 1, 1)


def test_region_created_after_the_birth_year_is_accepted():
    # 110112 (Tongzhou) exists since 1997; stdnum's validate() refuses a 1990 birth there,
    # but people born before 1997 registered there carry it.
    number = make("11011219900101001")
    assert not ric.is_valid(number)
    assert parse(number).region_code == "110112"


def test_region_abolished_before_the_birth_year_is_accepted():
    number = make("11010320150101001")  # 110103 Chongwen, merged in 2010
    assert parse(number).region_code == "110103"


def test_legacy_15_digit_number_is_upgraded():
    n = parse("110105491231002")
    assert n.number == "11010519491231002X"
    assert n.legacy15 and n.birth_date == date(1949, 12, 31) and n.gender == "female"
    assert upgrade_legacy("110105491231002") == "11010519491231002X"
    assert normalise_id_number(" 110105491231002 ") == ("11010519491231002X", True)


@pytest.mark.parametrize("text,reason", [
    ("11010549123100X", "format"),     # legacy numbers have no check character
    ("110105491331002", "birth_date"),
    ("119999491231002", "region"),
    ("810000901231002", "region"),     # permits never had 15-digit numbers
    ("971840901231002", "region"),
])
def test_legacy_rejections(text, reason):
    with pytest.raises(InvalidIdNumber) as caught:
        parse(text)
    assert caught.value.reason == reason


@pytest.mark.parametrize("region", ["810000", "820000", "830000"])
def test_hk_macao_taiwan_residence_permits(region):
    n = parse(make(region + "19800101002"))
    assert (n.kind, n.region_code, n.birth_date, n.gender) == (
        "hk_macao_tw_permit", region, date(1980, 1, 1), "female")


def test_permit_for_birth_before_the_handover_is_accepted():
    # stdnum dates 810000 from 1997; a Hong Kong resident born in 1960 holds one.
    number = make("81000019600101001")
    assert not ric.is_valid(number)
    assert parse(number).kind == "hk_macao_tw_permit"


def test_foreign_permanent_resident_number():
    n = parse(make("93184019850315002"))  # Shanghai, USA (840)
    assert (n.kind, n.region_code, n.nationality_code, n.birth_date, n.gender) == (
        "foreign_permanent_resident", "310000", "840", date(1985, 3, 15), "female")


@pytest.mark.parametrize("body,reason", [
    ("91115619850315001", "nationality"),   # 156 is China
    ("91100019850315001", "nationality"),
    ("98184019850315001", "region"),        # 81 Hong Kong is not a mainland province
    ("90084019850315001", "region"),
    ("93184019851315001", "birth_date"),
])
def test_foreign_rejections(body, reason):
    with pytest.raises(InvalidIdNumber) as caught:
        parse(make(body))
    assert caught.value.reason == reason


def test_foreign_checksum_is_mod_11_2():
    number = make("93184019850315002")
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(InvalidIdNumber, match="check"):
        parse(wrong)


def test_repr_masks_the_number():
    n = parse("11010519491231002X")
    assert "11010519491231002X" not in repr(n) and "11010519491231002X" not in str(n)
    assert "1****************X" in repr(n)


@pytest.mark.parametrize("number,keep,masked", [
    ("11010519491231002X", 1, "1****************X"),
    ("11010519491231002X", 3, "110************02X"),
    ("11010519491231002X", 0, "******************"),
    ("110105491231002", 1, "1*************2"),
    (" 11010519491231002X ", 1, "1****************X"),
    ("123", 1, "1*3"),
    ("12", 1, "**"),            # too short to keep both ends: everything is hidden
    ("1234", 2, "****"),
    ("", 1, ""),
])
def test_mask(number, keep, masked):
    assert mask_id_number(number, keep) == masked


def test_mask_rejects_negative_keep():
    with pytest.raises(ValueError):
        mask_id_number("11010519491231002X", -1)


KEY = b"k" * 32


def test_id_hash_is_keyed_hmac_of_the_normalised_number():
    import hashlib
    import hmac

    expected = hmac.new(KEY, b"11010519491231002X", hashlib.sha256).hexdigest()
    assert id_hash("11010519491231002X", KEY) == expected
    assert id_hash(" 11010519491231002x", KEY) == expected
    assert id_hash("110105491231002", KEY) == expected  # legacy form, same person
    assert id_hash("11010519491231002X", b"j" * 32) != expected


@pytest.mark.parametrize("key", [b"", b"short", "a text key of enough length"])
def test_id_hash_needs_a_real_key(key):
    with pytest.raises(ValueError):
        id_hash("11010519491231002X", key)


def test_id_hash_refuses_malformed_numbers():
    with pytest.raises(InvalidIdNumber):
        id_hash("not a number", KEY)
