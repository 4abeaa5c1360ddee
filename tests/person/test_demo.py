"""The demo service platform, visitor enrolment and ``idp demo``."""
import html
import io
import json
import re

import pytest
from click.testing import CliRunner

from idp.idnumber import parse_id_number
from tests.oidc.rp import csrf_from

from .conftest import CLIP_MS, frame, frames, times

ISSUER = "http://127.0.0.1:8000"


@pytest.fixture
def demo_app(person_app):
    return person_app(demo=True)


def _enrol(client, name="访客", consent="true", photo=None):
    page = client.get("/demo/enrol").get_data(as_text=True)
    number = re.search(r'id="enrol-id-number">([0-9X]+)<', page).group(1)
    resp = client.post("/demo/enrol", data={"name": name, "consent": consent,
                                            "id_number": "11010519491231002X",
                                            "frames": [(io.BytesIO(photo or frame("live:5")), "p.jpg")]},
                       headers={"X-CSRF-Token": csrf_from(page), "Accept": "application/json"},
                       content_type="multipart/form-data")
    return number, resp


def _login_via_demo(client, number, name, face="live:5"):
    resp = client.get("/demo/login?acr=face")
    location = resp.headers["Location"]
    assert location.startswith(ISSUER + "/authorize?")
    txn = client.get(location.replace(ISSUER, "")).headers["Location"].rsplit("/login/", 1)[1]
    csrf = csrf_from(client.get(f"/login/{txn}/person").get_data(as_text=True))
    ch = client.post(f"/login/{txn}/person", json={"id_number": number, "name": name, "consent": True},
                     headers={"X-CSRF-Token": csrf}).get_json()
    client.application.extensions["idp"].services["person"].sessions.clock.advance(CLIP_MS / 1000 + 1)
    images = frames(face, 12)
    done = client.post(f"/login/{txn}/person/frames", content_type="multipart/form-data",
                       data={"session": ch["session"], "nonce": ch["nonce"],
                             "times": json.dumps(times(len(images))),
                             "frames": [(io.BytesIO(f), f"{i}.jpg") for i, f in enumerate(images)]},
                       headers={"X-CSRF-Token": csrf})
    location = done.get_json()["redirect"]
    if "/consent" in location:
        path = location.replace(ISSUER, "")
        token = csrf_from(client.get(path).get_data(as_text=True))
        location = client.post(path, data={"decision": "allow", "csrf_token": token}).headers["Location"]
    assert location.startswith(ISSUER + "/demo/callback?")
    return client.get(location.replace(ISSUER, ""))


def test_demo_is_absent_outside_demo_mode(app):
    client = app.test_client()
    assert client.get("/demo").status_code == 404
    assert client.get("/demo/enrol").status_code == 404


def test_enrol_then_log_in_on_the_demo_platform(demo_app):
    client = demo_app.test_client()
    number, resp = _enrol(client)
    assert resp.status_code == 200 and resp.get_json() == {"ok": True, "id_number": number, "name": "访客"}
    parse_id_number(number)  # a valid number
    assert number != "11010519491231002X"  # the visitor cannot choose it
    assert demo_app.extensions["idp"].services["registry"].lookup(number).name == "访客"
    back = _login_via_demo(client, number, "访客")
    assert back.status_code == 302 and back.headers["Location"] == "/demo"
    page = client.get("/demo").get_data(as_text=True)
    assert 'id="demo-logged-in"' in page and "urn:idp:acr:person:face" in page
    assert f'"id_number": "{number}"' in html.unescape(page)  # the demo platform may see it
    logout = client.post("/demo/logout", data={"csrf_token": csrf_from(page)})
    assert logout.headers["Location"].startswith("/end-session?id_token_hint=")


def test_enrolment_needs_consent_and_a_face(demo_app):
    client = demo_app.test_client()
    _, resp = _enrol(client, consent="")
    assert resp.status_code == 400 and resp.get_json()["error"] == "consent_required"
    _, resp = _enrol(client, photo=frame("noface"))
    assert resp.status_code == 400 and resp.get_json()["error"] == "bad_photo"


def test_callback_checks_state(demo_app):
    client = demo_app.test_client()
    client.get("/demo/login")
    resp = client.get("/demo/callback?code=x&state=forged&iss=" + ISSUER)
    assert resp.status_code == 400


def test_demo_command(tmp_path, monkeypatch):
    from idp.cli import main
    from idp.demo.cli import demo
    monkeypatch.setenv("IDP_DEMO", "0")
    monkeypatch.setenv("IDP_ISSUER", "http://127.0.0.1:8000")
    monkeypatch.delenv("IDP_ISSUER")
    config = tmp_path / "idp.toml"
    config.write_text(f'instance_dir = "{tmp_path / "instance"}"\nkeys_dir = "{tmp_path / "keys"}"\n'
                      f'secret_key = "{"s" * 48}"\n')
    calls = []
    monkeypatch.setattr("idp.serving.run_gunicorn", lambda *a, **k: calls.append((a, k)))
    # `idp demo` sets the workers' metrics folder in this process before building its app;
    # give it one that is undone after the test (other tests read metrics in-process).
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    if "demo" not in main.commands:
        main.add_command(demo)
    result = CliRunner().invoke(main, ["--config", str(config), "demo", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/demo" in result.output
    assert calls and calls[0][1]["port"] == 8123
    saved = json.loads((tmp_path / "instance" / "demo_client.json").read_text())
    assert set(saved) == {"client_id", "secret"}
    # a second run reuses the platform
    result = CliRunner().invoke(main, ["--config", str(config), "demo", "--port", "8123"])
    assert json.loads((tmp_path / "instance" / "demo_client.json").read_text()) == saved
