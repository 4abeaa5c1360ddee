"""One bounded JSON reader everywhere: deep or odd JSON bodies are a 400 with a reason.

30,000 ``[`` used to escape ``get_json(silent=True)`` as ``RecursionError`` (a 500) on the
licence response, the liveness API and the person login start.
"""
from __future__ import annotations

import pytest

from idp.jsonbody import JsonError, depth, loads
from tests.api.conftest import Platform
from tests.enterprise.conftest import licensed_app  # noqa: F401 (fixture)
from tests.enterprise.test_flow import start as start_licence
from tests.person.conftest import Browser, person_app  # noqa: F401 (fixture)

DEEP = b"[" * 30_000 + b"]" * 30_000
ODD = [
    (DEEP, "the body is nested deeper than 16 levels"),
    (b'{"a": ' * 20 + b"1" + b"}" * 20, "the body is nested deeper than 16 levels"),
    (b'{"id_number": NaN}', "NaN is not a JSON value (RFC 8259)"),
    (b'{"id_number": 1e999}', "the number 1e999 is out of range"),
    (b'{"id_number": "\\ud800"}', "a string holds an unpaired UTF-16 surrogate"),
    (b'{"id_number": "\xff"}', "the body is not valid JSON"),
    (b'{"id_number": ', "the body is not valid JSON"),
    (b"[1, 2]", "the body must be a JSON object"),
]


def _expect(resp, description):
    assert resp.status_code == 400, (resp.status_code, resp.get_data(as_text=True)[:200])
    assert resp.get_json() == {"error": "invalid_request", "error_description": description}


@pytest.mark.parametrize("body,description", ODD)
def test_person_start(person_app, body, description):
    browser = Browser(person_app())
    resp = browser.client.post(f"/login/{browser.txn}/person", data=body,
                               content_type="application/json",
                               headers={"X-CSRF-Token": browser.csrf})
    _expect(resp, description)


@pytest.mark.parametrize("body,description", ODD)
def test_person_frames_as_json(person_app, body, description):
    browser = Browser(person_app())
    resp = browser.client.post(f"/login/{browser.txn}/person/frames", data=body,
                               content_type="application/json",
                               headers={"X-CSRF-Token": browser.csrf})
    _expect(resp, description)


@pytest.mark.parametrize("body,description", ODD)
def test_liveness_api_session(person_app, body, description):
    platform = Platform(person_app())
    resp = platform.http.post("/api/v1/liveness/sessions", data=body,
                              content_type="application/json", headers=platform.bearer())
    _expect(resp, description)


@pytest.mark.parametrize("body,description", ODD)
def test_licence_response(licensed_app, body, description):
    client = licensed_app.test_client()
    _, _, cid = start_licence(licensed_app, client)
    resp = client.post(f"/elicense/challenges/{cid}/response", data=body,
                       content_type="application/json")
    _expect(resp, description)


def test_depth_skips_brackets_inside_strings():
    assert depth(b'{"a": "[[[[", "b": [1, {"c": "]]]\\"[["}]}') == 3
    assert loads(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', max_depth=1) == {"a": "[" * 28}
    with pytest.raises(JsonError):
        loads(b"[[[", max_depth=2)

