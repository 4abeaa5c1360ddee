"""Template serialisation: no models needed."""
from __future__ import annotations

import numpy as np
import pytest

from liveness.errors import TemplateError
from liveness.templates import template_from_bytes, template_to_bytes


def _unit(seed=0, dim=128):
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def test_roundtrip_is_exact():
    t = _unit()
    data = template_to_bytes(t)
    assert len(data) == 6 + 4 * 128
    back = template_from_bytes(data)
    assert back.dtype == np.float32 and np.array_equal(back, t)


@pytest.mark.parametrize("bad", [
    np.zeros(128, np.float32),                      # not unit length
    np.full(128, np.nan, np.float32),
    np.ones((2, 64), np.float32) / 16,             # not 1-d
    np.array([], np.float32),
])
def test_refuses_bad_templates(bad):
    with pytest.raises(TemplateError):
        template_to_bytes(bad)


@pytest.mark.parametrize("mutate", [
    lambda d: d[:5],
    lambda d: b"XYZ" + d[3:],
    lambda d: d[:3] + b"\x02" + d[4:],
    lambda d: d[:-4],
    lambda d: d + b"\x00\x00\x00\x00",
    lambda d: d[:6] + np.full(128, np.inf, "<f4").tobytes(),
])
def test_refuses_corrupt_bytes(mutate):
    with pytest.raises(TemplateError) as info:
        template_from_bytes(mutate(template_to_bytes(_unit())))
    assert info.value.reason == "bad_template"

