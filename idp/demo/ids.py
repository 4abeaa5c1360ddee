"""Demo ID numbers: valid GB 11643 numbers generated for visitors who enrol their own face.

They use the address code of a real district, a random adult birth date and a random
sequence, with the check character computed, so they pass every validation the login does.
"""
from __future__ import annotations

import secrets
from datetime import date, timedelta

from ..idnumber import check_char

DEMO_REGION = "110105"  # Beijing, Chaoyang District


def demo_id_number(today: date | None = None, rng=secrets.SystemRandom()) -> str:
    today = today or date.today()
    birth = today - timedelta(days=rng.randint(20 * 365, 70 * 365))
    body = f"{DEMO_REGION}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
    return body + check_char(body)
