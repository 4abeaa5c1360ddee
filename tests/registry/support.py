"""Test data shared by the registry tests."""
import random
import struct

from idp.idnumber import check_char


def make_number(body: str) -> str:
    return body + check_char(body)


def make_template(seed: int = 1) -> bytes:
    rng = random.Random(seed)
    return struct.pack("<128f", *(rng.uniform(-1, 1) for _ in range(128)))
