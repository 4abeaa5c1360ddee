"""Chinese identity numbers: parse, validate, mask and key them.

Three 18-character kinds share the GB 11643-1999 layout and its check character:

* ``resident``: citizen number: 6-digit address code (GB/T 2260), birth date YYYYMMDD,
  3-digit sequence (17th digit odd for men, even for women), ISO 7064 MOD 11-2 check
  character (``X`` stands for 10).
* ``hk_macao_tw_permit``: residence permit of Hong Kong / Macao / Taiwan residents (2018),
  the same layout with address code 810000 / 820000 / 830000.
* ``foreign_permanent_resident``: foreign permanent-resident ID card, 2023 edition (National
  Immigration Administration): ``9`` + 2-digit code of the issuing province + 3-digit
  numeric nationality code (GB/T 2659, i.e. ISO 3166-1 numeric) + birth date + 3-digit
  sequence + the same MOD 11-2 check character.  The earlier 15-character foreign card
  (3 letters + 12 digits) is not accepted.

What is validated, and why no more:

* shape and check character (GB 11643-1999 adopts ISO 7064 MOD 11-2);
* birth date: a real calendar date, not after today in China (UTC+8, so a baby registered
  this morning is not refused by a UTC server), not before 1880;
* address code: it must have existed at some time in GB/T 2260, per python-stdnum's
  ``cn/loc.dat``.  stdnum's own ``ric.validate`` also requires the code to have existed in
  the *birth year*; that refuses real people (a number carries the code of the place of
  registration when it was issued, e.g. someone born in 1990 registered in Tongzhou, 110112,
  created in 1997), so we check existence only.  We also do not refuse a code abolished
  before the birth year: the table comes from Wikipedia and a data slip there must not lock
  a citizen out; the registry lookup is the authority on whether the number is real;
* foreign numbers: the province code must be a mainland province-level code and the
  nationality code must not be 000 or 156 (China).  No country list is bundled, so other
  nationality codes are not checked further.  Gender is read from the 17th digit as for
  citizen numbers, whose structure the 2023 card adopted (to confirm against the NIA
  specification for foreign holders).

Input normalisation, deliberately: surrounding whitespace is stripped (including the
ideographic space U+3000), a lowercase ``x`` is accepted, and full-width digits and ``Ｘ``
(what Chinese input methods often produce) are mapped to ASCII.  Anything else, including
inner spaces or hyphens and non-ASCII digits of other scripts, is a ``format`` error.
15-digit numbers (first-generation cards, GB 11643-1989) are converted to 18 by inserting
the century ``19`` and computing the check character, as GB 11643-1999 prescribes.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

from .errors import InvalidRequest

KINDS = ("resident", "hk_macao_tw_permit", "foreign_permanent_resident")
REASONS = {
    "format": "The ID number must be 18 characters (or 15 digits for a first-generation card).",
    "checksum": "The ID number's check character is wrong.",
    "birth_date": "The ID number does not contain a valid birth date.",
    "future_birth_date": "The ID number's birth date is in the future.",
    "birth_date_too_early": "The ID number's birth date is implausibly early.",
    "region": "The ID number's region code does not exist.",
    "nationality": "The ID number's nationality code is not valid for a foreign resident.",
}
EARLIEST_BIRTH = date(1880, 1, 1)
CHINA_TZ = timezone(timedelta(hours=8))
PERMIT_REGIONS = {"810000": "Hong Kong", "820000": "Macao", "830000": "Taiwan"}
_MAX_INPUT = 64  # bound the work done on hostile input before any parsing
_FULL_WIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)},
                             "\uff38": "X", "\uff58": "X"})
_DIGITS = frozenset("0123456789")


class InvalidIdNumber(InvalidRequest, ValueError):
    """The ID number is not valid; ``reason`` is one of ``REASONS``.

    The message never repeats the number, so it is safe to log and to show.
    """

    def __init__(self, reason: str):
        super().__init__(REASONS[reason])
        self.reason = reason

    def to_dict(self) -> dict:
        return {**super().to_dict(), "reason": self.reason}


@dataclass(frozen=True)
class IdNumber:
    number: str  # normalised 18-character form, uppercase X
    kind: str
    birth_date: date
    gender: str  # "male" | "female"
    region_code: str  # 6-digit GB/T 2260 code; for foreign numbers the province's xx0000
    legacy15: bool = False  # entered as a first-generation 15-digit number
    nationality_code: str | None = None  # foreign numbers only

    def __repr__(self) -> str:  # keep the full number out of logs and tracebacks
        return (f"IdNumber(number={mask_id_number(self.number)!r}, kind={self.kind!r}, "
                f"legacy15={self.legacy15!r})")

    __str__ = __repr__


def check_char(body: str) -> str:
    """The ISO 7064 MOD 11-2 check character for 17 digits, as GB 11643-1999 defines it.

    Recursive form from ISO 7064: p = (p + a) * 2 mod 11 over the digits, then the check
    value c makes the weighted sum congruent to 1, i.e. c = (12 - p) mod 11; 10 is ``X``.
    """
    if len(body) != 17 or not _ascii_digits(body):
        raise InvalidIdNumber("format")
    p = 0
    for char in body:
        p = (p + ord(char) - 48) * 2 % 11
    value = (12 - p) % 11
    return "X" if value == 10 else str(value)


def upgrade_legacy(number15: str) -> str:
    """Convert a 15-digit GB 11643-1989 number to 18: century ``19``, then a check character."""
    if len(number15) != 15 or not _ascii_digits(number15):
        raise InvalidIdNumber("format")
    body = number15[:6] + "19" + number15[6:]
    return body + check_char(body)


def normalise_id_number(text: str) -> tuple[str, bool]:
    """Shape-only normalisation: ``(18-character number, entered_as_legacy15)``.

    Checks the alphabet and length, not the check character, date or region.
    """
    if not isinstance(text, str) or len(text) > _MAX_INPUT:
        raise InvalidIdNumber("format")
    number = text.strip().translate(_FULL_WIDTH).upper()
    if len(number) == 15:
        return upgrade_legacy(number), True
    if len(number) != 18 or not _ascii_digits(number[:17]) or number[17] not in "0123456789X":
        raise InvalidIdNumber("format")
    return number, False


def parse_id_number(text: str, *, today: date | None = None) -> IdNumber:
    """Validate an ID number and derive its facts; raises ``InvalidIdNumber(reason)``."""
    number, legacy = normalise_id_number(text)
    if number[17] != check_char(number[:17]):
        raise InvalidIdNumber("checksum")
    birth = _birth_date(number[6:14], today or datetime.now(CHINA_TZ).date())
    nationality = None
    if number[0] == "9" and not legacy:
        kind, region = "foreign_permanent_resident", _foreign_region(number)
        nationality = number[3:6]
    elif number[:6] in PERMIT_REGIONS and not legacy:
        kind, region = "hk_macao_tw_permit", number[:6]
    else:
        kind, region = "resident", _resident_region(number[:6])
    # GB 11643 sequence code: odd numbers are given to men, even numbers to women.
    return IdNumber(
        number=number, kind=kind, birth_date=birth,
        gender="male" if (ord(number[16]) - 48) % 2 else "female",
        region_code=region, legacy15=legacy, nationality_code=nationality,
    )


def is_valid_id_number(text: str, *, today: date | None = None) -> bool:
    try:
        parse_id_number(text, today=today)
    except InvalidIdNumber:
        return False
    return True


def mask_id_number(number: str, keep: int = 1) -> str:
    """Keep ``keep`` characters at each end, ``*`` between (DESIGN section 5).

    Never fails and never reveals the whole string: when it is too short to hide anything
    while keeping ``keep`` at each end, every character is masked.
    """
    if keep < 0:
        raise ValueError("keep must be >= 0")
    text = "" if number is None else str(number).strip()
    if keep == 0 or len(text) <= 2 * keep:
        return "*" * len(text)
    return text[:keep] + "*" * (len(text) - 2 * keep) + text[-keep:]


def id_hash(number: str, key: bytes) -> str:
    """HMAC-SHA256 (hex) of the normalised number: the registry's row key.

    A keyed hash, not a plain one: 18-digit numbers with a known date and region are few
    enough to enumerate, so an unkeyed hash would be the number in clear.
    """
    if not isinstance(key, bytes) or len(key) < 16:
        raise ValueError("id_hash needs a key of at least 16 bytes")
    normalised, _ = normalise_id_number(number)
    return hmac.new(key, normalised.encode("ascii"), hashlib.sha256).hexdigest()


def _ascii_digits(text: str) -> bool:
    # str.isdigit() accepts other scripts' digits and superscripts; GB 11643 means 0-9.
    return all(char in _DIGITS for char in text)


def _birth_date(text: str, today: date) -> date:
    try:
        birth = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise InvalidIdNumber("birth_date") from None
    if birth > today:
        raise InvalidIdNumber("future_birth_date")
    if birth < EARLIEST_BIRTH:
        raise InvalidIdNumber("birth_date_too_early")
    return birth


def _resident_region(code: str) -> str:
    # GB 11643 address codes begin 1-8 (province); 81/82/83 are permits only, never citizens.
    if code[0] not in "12345678" or code[:2] in ("81", "82", "83"):
        raise InvalidIdNumber("region")
    if not region_existed(code):
        raise InvalidIdNumber("region")
    return code


def _foreign_region(number: str) -> str:
    province, nationality = number[1:3], number[3:6]
    if province not in mainland_provinces():
        raise InvalidIdNumber("region")
    if nationality in ("000", "156"):
        raise InvalidIdNumber("nationality")
    return province + "0000"


@lru_cache(maxsize=8192)
def region_existed(code: str) -> bool:
    """True when the 6-digit GB/T 2260 code appears in stdnum's table, in any year.

    Entries look like ``county="[1983-2019]桥东区,[2020-]襄都区"``; the bracketed years
    are when the code was in use, which we deliberately ignore (see the module docstring).
    """
    from stdnum import numdb

    parts = numdb.get("cn/loc").info(code)
    return len(parts) == 2 and "county" in parts[1][1]


@lru_cache(maxsize=1)
def mainland_provinces() -> frozenset[str]:
    from stdnum import numdb

    db = numdb.get("cn/loc")
    codes = (f"{n:02d}" for n in range(11, 66))
    return frozenset(code for code in codes if "province" in db.info(code + "0000")[0][1])
