"""ISO 7064 MOD 11-2 as GB 11643-1999 uses it: exactly the errors it detects, and those it misses.

A number is valid when sum(a_i * 2**(18-i)) == 1 (mod 11), the check value a_18 in 0..10.
2 is a primitive root mod 11 (order 10), so the weights 2**k mod 11 are never 0 and repeat
every 10 positions.  It follows that
* any single substitution is detected (its weight is invertible mod 11);
* a transposition of distinct characters k positions apart changes the sum by
  (a-b) * w * (2**k - 1): detected unless 10 divides k (only k = 10 fits in 18 characters);
* a twin error aa -> bb k apart changes it by (a-b) * w * (2**k + 1): detected unless
  2**k == -1 (mod 11), i.e. k = 5 or 15.
The tests below assert each detected class and each undetected one, so a change to the
algorithm that weakens (or "improves") it shows up.
"""
from hypothesis import given, strategies as st
from stdnum.cn import ric

from idp.idnumber import check_char

bodies = st.text(alphabet="0123456789", min_size=17, max_size=17)
CHARS = "0123456789X"


def valid(number: str) -> bool:
    body = number[:17]
    return body.isascii() and body.isdigit() and number[17] == check_char(body)


def make(body: str) -> str:
    return body + check_char(body)


@given(bodies)
def test_check_char_makes_a_valid_number(body):
    number = make(body)
    assert valid(number)
    # Independent oracle: python-stdnum's big-integer formulation of the same check.
    assert number[17] == ric.calc_check_digit(number)


@given(bodies, st.integers(0, 17), st.sampled_from(CHARS))
def test_every_single_substitution_is_detected(body, position, char):
    number = make(body)
    if position < 17 and char == "X":
        char = "0"  # X exists only as the check character
    changed = number[:position] + char + number[position + 1:]
    if changed != number:
        assert not valid(changed)


def _swap(number: str, i: int, j: int) -> str:
    chars = list(number)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


@given(bodies, st.data())
def test_transpositions_not_ten_apart_are_detected(body, data):
    number = make(body)
    last = 16 if number[17] == "X" else 17  # X in a digit position is a format error anyway
    i = data.draw(st.integers(0, last - 1))
    j = data.draw(st.integers(i + 1, last).filter(lambda j: (j - i) % 10 != 0))
    if number[i] != number[j]:
        assert not valid(_swap(number, i, j))


@given(bodies, st.integers(0, 15))
def test_adjacent_transpositions_of_distinct_digits_are_detected(body, i):
    number = make(body)
    if number[i] != number[i + 1] and "X" not in number[i:i + 2]:
        assert not valid(_swap(number, i, i + 1))


@given(bodies, st.integers(0, 7))
def test_transpositions_ten_apart_are_not_detected(body, i):
    # The documented blind spot: weights repeat with period 10.
    number = make(body)
    if "X" in (number[i], number[i + 10]):
        return  # X moved into a digit position is a format error, caught before the check
    assert valid(_swap(number, i, i + 10))


@given(bodies, st.integers(0, 15), st.integers(1, 9), st.data())
def test_twin_errors_are_detected_unless_five_or_fifteen_apart(body, i, shift, data):
    j = data.draw(st.integers(i + 1, 16))
    chars = list(body)
    chars[j] = chars[i]  # make a twin
    number = make("".join(chars))
    twin = str((int(number[i]) + shift) % 10)
    changed = list(number)
    changed[i] = changed[j] = twin
    changed = "".join(changed)
    assert valid(changed) == ((j - i) in (5, 15))


def test_known_vectors():
    # The example number widely quoted from GB 11643-1999, and stdnum's doctest.
    assert make("11010519491231002") == "11010519491231002X"
    assert make("36042619910101007") == "360426199101010071"
