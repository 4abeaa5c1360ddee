"""Headless Chromium end to end with a fake camera fed from the shared test face.

RP /authorize -> chooser -> person page (name, ID number, consent) -> camera page (getUserMedia
on a Y4M video of live_T1) -> frames -> consent -> the RP's redirect URI with a code -> token
exchange -> ID token with acr face.  The active variant plays a video whose head moves through
the two actions the server was made to ask for, on the capture page's timeline.
"""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

from idp.interaction import ACR_FACE, ACR_FACE_ACTIVE
from tests.helpers.live import chromium, free_port, serve
from tests.oidc.rp import RP, query

from . import faces
from .conftest import ID, NAME
from .y4m import write_y4m

pytestmark = [pytest.mark.browser, pytest.mark.models]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return faces.warm_engine(tmp_path_factory)


def _app(make_app, engine, port):
    app = make_app(issuer=f"http://127.0.0.1:{port}")
    state = app.extensions["idp"]
    state.services["liveness"] = engine
    state.services["person"].engine = engine
    state.services["registry"].enrol(ID, NAME, engine.make_template(faces.read("live_T1")), "test")
    return app


def _run(app, base, video, ui_locales=None, **authorize):
    rp = RP(app, app.test_client())
    rp.authorize(**authorize)  # builds the PKCE pair and the parameters
    params = {k: v for k, v in rp.last.items() if k != "verifier"}
    if ui_locales:
        params["ui_locales"] = ui_locales
    caught = {}
    args = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"]
    with chromium(args) as browser:
        context = browser.new_context(permissions=["camera"])
        page = context.new_page()

        def to_rp(route):
            caught["url"] = route.request.url
            route.fulfill(status=200, body="rp ok")

        page.route("https://rp.example.org/**", to_rp)
        page.goto(f"{base}/authorize?{urlencode(params)}")
        page.click("#method-person")
        page.fill("#person-name", NAME)
        page.fill("#person-id-number", ID)
        page.check("#person-consent")
        page.click("#person-continue")
        page.wait_for_function("() => document.body.dataset.personState === 'camera'")
        page.click("#camera-start")
        outcome = page.wait_for_function(
            "() => document.querySelector('#allow') ? 'consent'"
            " : document.body.dataset.personState === 'failed'"
            " ? 'failed: ' + document.querySelector('#camera-error').textContent : false",
            timeout=30000).json_value()
        assert outcome == "consent", outcome
        page.wait_for_selector("#allow", timeout=15000)
        page.click("#allow")
        page.wait_for_function("() => document.body.innerText.includes('rp ok')", timeout=15000)
        context.close()
    tokens = rp.token(query(caught["url"])["code"]).get_json()
    return rp.verify(tokens["id_token"])


def test_passive_login_in_chromium(make_app, engine, tmp_path):
    port = free_port()
    app = _app(make_app, engine, port)
    video = tmp_path / "live.y4m"
    write_y4m(video, [(4.0, faces.image("live_T1"))])
    with serve(app, port) as base:
        claims = _run(app, base, video)
    assert claims["acr"] == ACR_FACE and claims["amr"] == ["face", "user"]
    assert claims["name"] == NAME


def test_active_login_in_chromium(make_app, engine, tmp_path, monkeypatch):
    import cv2
    port = free_port()
    app = _app(make_app, engine, port)
    actions = ["turn_left", "move_closer"]
    monkeypatch.setattr(app.extensions["idp"].services["person"].engine, "random_actions",
                        lambda n=None: list(actions))
    neutral = faces.image("live_T1")
    posed = [cv2.imdecode(__import__("numpy").frombuffer(f, "uint8"), cv2.IMREAD_COLOR)
             for f in faces.action_frames(engine, actions)[1:]]
    # the page: 1.2 s to settle and one frame, then 1.8 s per action with shots at +0.9..1.7 s
    video = tmp_path / "active.y4m"
    write_y4m(video, [(1.9, neutral), (1.8, posed[0]), (1.8, posed[1]), (2.5, neutral)])
    with serve(app, port) as base:
        claims = _run(app, base, video, acr_values=ACR_FACE_ACTIVE, ui_locales="en")
    assert claims["acr"] == ACR_FACE_ACTIVE and claims["amr"] == ["face", "user", "mfa"]
