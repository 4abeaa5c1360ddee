"""Headless Chromium end to end with a fake camera (issue 16, item 8).

RP /authorize -> chooser -> person page (name, ID number, consent) -> camera page
(getUserMedia on a Y4M file) -> the page records a timestamped JPEG burst while guiding ->
one upload -> consent -> the RP's redirect URI with a code -> ID token with acr face.

Fed from a real person's video (../shared/data/videos) the login succeeds; fed from a still
photo of that person, or from that photo warped into a turn, it is refused with a clear
message.  The guidance is checked as a person sees it: the step's text and arrow, the
progress bar, every step ticked when done; the buttons that must be hidden are not visible,
and a double click on Start starts one capture only.
"""
from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import pytest

from idp.interaction import ACR_FACE
from tests.helpers.live import chromium, free_port, serve
from tests.oidc.rp import RP, query

from . import faces
from .conftest import ID, NAME

pytestmark = [pytest.mark.browser, pytest.mark.models]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return faces.warm_engine(tmp_path_factory)


def write_y4m(path, frames, fps: int = 25) -> None:
    """Chromium's fake camera file: I420 frames at an even size."""
    import cv2
    h, w = frames[0].shape[:2]
    h, w = h - h % 2, w - w % 2
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for img in frames:
            fh.write(b"FRAME\n")
            fh.write(cv2.cvtColor(np.ascontiguousarray(img[:h, :w]), cv2.COLOR_BGR2YUV_I420).tobytes())


def _app(make_app, engine, port, **overrides):
    app = make_app(issuer=f"http://127.0.0.1:{port}", **overrides)
    state = app.extensions["idp"]
    state.services["liveness"] = engine
    state.services["person"].engine = engine
    state.services["registry"].enrol(ID, NAME, engine.make_template(faces.reference()), "test")
    return app


def _run(app, base, video, ui_locales=None, **authorize):
    rp = RP(app, app.test_client())
    rp.authorize(**authorize)  # builds the PKCE pair and the parameters
    params = {k: v for k, v in rp.last.items() if k != "verifier"}
    if ui_locales:
        params["ui_locales"] = ui_locales
    seen = {"uploads": 0, "starts": 0, "guidance": [], "url": None}
    args = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"]
    with chromium(args) as browser:
        context = browser.new_context(permissions=["camera"])
        page = context.new_page()

        def to_rp(route):
            seen["url"] = route.request.url
            route.fulfill(status=200, body="rp ok")

        def count(request):
            if request.method == "POST" and request.url.endswith("/person/frames"):
                seen["uploads"] += 1
            elif request.method == "POST" and request.url.endswith("/person"):
                seen["starts"] += 1

        page.on("request", count)
        page.route("https://rp.example.org/**", to_rp)
        page.goto(f"{base}/authorize?{urlencode(params)}")
        page.click("#method-person")
        page.fill("#person-name", NAME)
        page.fill("#person-id-number", ID)
        page.check("#person-consent")
        page.click("#person-continue")
        page.wait_for_function("() => document.body.dataset.personState === 'camera'")
        assert not page.is_visible("#camera-retry") and not page.is_visible("#camera-steps")
        page.dblclick("#camera-start")  # one capture only
        while True:  # what a person sees while recording, until the upload
            view = page.evaluate("""() => ({state: document.body.dataset.personState,
                action: document.body.dataset.personAction || null,
                text: document.getElementById('camera-guidance').textContent,
                arrow: !document.getElementById('camera-arrow').hidden,
                progress: document.getElementById('camera-progress').value,
                done: document.querySelectorAll('#camera-steps li.done').length,
                retry: document.getElementById('camera-retry').offsetParent !== null})""")
            seen["guidance"].append(view)
            if view["state"] not in ("capturing", "camera"):
                break
            page.wait_for_timeout(150)
        outcome = page.wait_for_function(
            "() => document.querySelector('#allow') ? 'consent'"
            " : document.body.dataset.personState === 'failed'"
            " ? 'failed: ' + document.querySelector('#camera-error').textContent : false",
            timeout=60000).json_value()
        seen["outcome"] = outcome
        if outcome == "consent":
            page.click("#allow")
            page.wait_for_function("() => document.body.innerText.includes('rp ok')", timeout=15000)
        else:
            seen["start_visible"] = page.is_visible("#camera-start")
            seen["retry_visible"] = page.is_visible("#camera-retry")
        context.close()
    if seen["url"]:
        tokens = rp.token(query(seen["url"])["code"]).get_json()
        seen["claims"] = rp.verify(tokens["id_token"])
    return seen


def _last_check(app) -> dict:
    """The audit trail's account of the last face check (for a failure's message)."""
    from sqlalchemy import select

    from idp.store.models import AuditEvent
    with app.extensions["idp"].db.session(write=False) as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.event == "liveness.check")
                          .order_by(AuditEvent.id.desc())).scalars().first()
        return dict(event.details) if event else {}


def _check_guidance(seen, hints):
    views = [v for v in seen["guidance"] if v["state"] == "capturing" and v["action"]]
    actions = [v["action"] for v in views]
    assert "hold" in actions and "turn_either" in actions, actions
    turning = [v for v in views if v["action"] == "turn_either"]
    assert all(v["arrow"] for v in turning) and turning[0]["text"] == hints["turn_either"]
    assert max(v["done"] for v in views) >= 1           # steps are ticked as they end
    assert not any(v["retry"] for v in seen["guidance"])  # no retry button while capturing
    assert seen["uploads"] == 1 and seen["starts"] == 1


def test_a_real_person_logs_in(make_app, engine, tmp_path):
    port = free_port()
    app = _app(make_app, engine, port)
    video = tmp_path / "genuine.y4m"
    # the genuine window with 0.6 s before it: the page records from ~0.8 s after the camera opens
    start = faces.GENUINE[1] - 0.6
    write_y4m(video, [img for _, img in faces.video_frames(faces.GENUINE[0], start, 4.8, fps=30,
                                                           side=512)], fps=30)
    # A real person passes on the first or second try (issue 16). Headless capture timing
    # varies from run to run (which camera frames the page samples), so a second try is
    # allowed, in a fresh app: the fake camera loops the same file, which a shared replay
    # index would rightly refuse as a replay of the first try.
    failures = []
    for _ in range(2):
        with serve(app, port) as base:
            seen = _run(app, base, video, ui_locales="en")
        if seen["outcome"] == "consent":
            break
        failures.append((seen["outcome"], _last_check(app)))
        port = free_port()
        app = _app(make_app, engine, port, instance_dir=str(tmp_path / "second-try"),
                   keys_dir=str(tmp_path / "second-try-keys"))
    assert seen["outcome"] == "consent", failures
    claims = seen["claims"]
    assert claims["acr"] == ACR_FACE and claims["amr"] == ["face", "user"]
    assert claims["name"] == NAME
    _check_guidance(seen, {"turn_either": "Slowly turn your head to one side (about 20 degrees), pause, then back"})


@pytest.mark.parametrize("kind", ["still", "perspective_turn"])
def test_a_photo_is_refused_with_a_clear_message(make_app, engine, tmp_path, kind):
    """The registered person's own photo, held still or warped into a turn."""
    import cv2
    from liveness import attacks
    port = free_port()
    app = _app(make_app, engine, port)
    photo = cv2.imdecode(np.frombuffer(faces.reference(), np.uint8), cv2.IMREAD_COLOR)
    clip = getattr(attacks, kind)(photo, duration_ms=6000, fps=25, swing="out_back") \
        if kind != "still" else attacks.still(photo, duration_ms=6000, fps=25)
    video = tmp_path / f"{kind}.y4m"
    write_y4m(video, [img for _, img in clip])
    with serve(app, port) as base:
        seen = _run(app, base, video, ui_locales="zh-CN")
    assert seen["outcome"].startswith("failed: "), seen["outcome"]
    message = seen["outcome"][len("failed: "):]
    assert message in ("核验未通过。请确认姓名、身份证号码正确，并由本人在摄像头前进行核验。",
                       "没有看到要求的动作，请按提示慢慢完成动作后重试。"), message
    assert seen["retry_visible"] and not seen["start_visible"]
    assert "claims" not in seen
    _check_guidance(seen, {"turn_either": "请慢慢把头转向一侧（约 20 度），稍停，再转回来"})
