"""The pages in headless Chromium as people meet them (issue 12).

Each page is opened at 390 px (a phone) and 1280 px; nothing may overflow the phone's
width, no element with the ``hidden`` attribute may be displayed, and the zh-CN text after
the page's scripts ran must have no untranslated English.  Screenshots go to
``$IDP_TEST_SCREENSHOTS`` when set (else the test's temporary folder), to be looked at.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.helpers.live import chromium, free_port, serve
from tests.pages.walk import english, login_pages, site, visible_text

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SHOWN_HIDDEN = """() => [...document.querySelectorAll('[hidden]')]
    .filter(e => getComputedStyle(e).display !== 'none').map(e => e.id || e.tagName)"""
OVERFLOW = """() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')].filter(e => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.right > width + 1 && getComputedStyle(e).position !== 'fixed'
            && !e.closest('.table-wrap');  // wide tables scroll inside their own box
    }).map(e => e.id || e.className || e.tagName);
    return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
}"""


def _shots(tmp_path) -> Path:
    folder = Path(os.environ.get("IDP_TEST_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _check_page(page, name, shots, viewport) -> list[str]:
    """Problems of the page as shown now; saves its screenshot."""
    problems = []
    page.set_viewport_size(viewport)
    page.wait_for_timeout(150)
    page.screenshot(path=str(shots / f"{name}-{viewport['width']}.png"), full_page=True)
    shown = page.evaluate(SHOWN_HIDDEN)
    if shown:
        problems.append(f"{name}: hidden elements displayed: {shown}")
    if viewport is PHONE:
        fit = page.evaluate(OVERFLOW)
        if fit["scroll"] > fit["width"] or fit["wide"]:
            problems.append(f"{name}: wider than {fit['width']} px ({fit['scroll']} px): {fit['wide']}")
    return problems


@pytest.fixture
def demo_site(make_app, tmp_path):
    from tests.person.conftest import FakeEngine
    port = free_port()
    app = make_app(demo=True, issuer=f"http://127.0.0.1:{port}")
    engine = FakeEngine()
    app.extensions["idp"].services["liveness"] = engine
    app.extensions["idp"].services["person"].engine = engine
    account = site(app, tmp_path)
    return app, port, account


def _console_login(page, base, account):
    page.goto(f"{base}/admin/login")
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    page.fill("#code", account.totp.now())
    page.click("#login")
    page.wait_for_url(f"{base}/admin/")


def test_every_page_fits_a_phone_hides_what_is_hidden_and_speaks_chinese(demo_site, tmp_path):
    app, port, account = demo_site
    shots = _shots(tmp_path)
    problems, untranslated = [], {}
    with serve(app, port) as base, chromium(["--use-fake-ui-for-media-stream",
                                             "--use-fake-device-for-media-stream"]) as browser:
        context = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN"})
        context.grant_permissions(["camera"])
        page = context.new_page()
        missing = []
        page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
        flow = login_pages(app, _CookieBridge(context, base))
        pages = [("home", "/"), ("demo", "/demo"), ("demo-enrol", "/demo/enrol"),
                 *[(name, path) for name, path in flow.items() if name != "logout_confirm"]]
        for name, path in pages:
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            for viewport in (PHONE, DESKTOP):
                problems += _check_page(page, name, shots, viewport)
            bad = english(visible_text(page.content()))
            if bad:
                untranslated[name] = bad
        _console_login(page, base, account)
        for name, path in (("admin-dashboard", "/admin/"), ("admin-clients", "/admin/clients"),
                           ("admin-client-form", "/admin/clients/new"), ("admin-keys", "/admin/keys"),
                           ("admin-authorities", "/admin/authorities"),
                           ("admin-registry", "/admin/registry"), ("admin-audit", "/admin/audit")):
            page.goto(base + path)
            for viewport in (PHONE, DESKTOP):
                problems += _check_page(page, name, shots, viewport)
            bad = english(visible_text(page.content()))
            if bad:
                untranslated[name] = bad
        assert not [u for u in missing if not u.endswith("/no-such-page")], missing  # favicon included
    assert not problems, "\n".join(problems)
    assert not untranslated, untranslated


class _CookieBridge:
    """Lets ``login_pages`` (written for the Flask test client) drive the browser's session:
    requests go through the browser context, so the login's cookies are the browser's."""

    def __init__(self, context, base):
        self.request = context.request
        self.base = base

    def get(self, path, headers=None):
        return _Resp(self.request.get(self.base + path, headers=headers or {}, max_redirects=0))

    def post(self, path, data=None, headers=None):
        return _Resp(self.request.post(self.base + path, form=data or {}, headers=headers or {},
                                       max_redirects=0))


class _Resp:
    def __init__(self, resp):
        self._resp = resp
        self.status_code = resp.status
        self.headers = resp.headers
        self.headers["Location"] = resp.headers.get("location", "")

    def get_data(self, as_text=True):
        return self._resp.text()

    def get_json(self):
        return self._resp.json()


def test_fresh_app_answers_at_root_with_its_links(make_app):
    """What `make run` serves on a fresh clone: a landing page linking what exists."""
    port = free_port()
    app = make_app(demo=True, issuer=f"http://127.0.0.1:{port}")
    with serve(app, port) as base, chromium() as browser:
        page = browser.new_context(locale="zh-CN").new_page()
        statuses = {}
        page.on("response", lambda r: statuses.setdefault(r.url, r.status))
        page.goto(base + "/")
        assert page.is_visible("#demo-banner")
        for link, expect in (("#home-demo", "/demo"), ("#home-admin", "/admin/"),
                             ("#home-discovery", "/.well-known/openid-configuration")):
            assert page.get_attribute(link, "href") == expect
        page.click("#home-demo")
        page.wait_for_url(f"{base}/demo")
        assert page.is_visible("#demo-login-face")
        assert statuses.get(f"{base}/static/favicon.svg") == 200
        assert all(status < 400 for status in statuses.values()), statuses


def test_demo_enrolment_buttons_and_one_upload_per_double_click(demo_site):
    app, port, _ = demo_site
    with serve(app, port) as base, chromium(["--use-fake-ui-for-media-stream",
                                             "--use-fake-device-for-media-stream"]) as browser:
        context = browser.new_context(locale="zh-CN")
        context.grant_permissions(["camera"])
        page = context.new_page()
        uploads = []
        page.on("request", lambda r: uploads.append(r) if r.method == "POST" and r.url.endswith("/demo/enrol") else None)
        page.goto(base + "/demo/enrol")
        assert page.is_visible("#enrol-camera") and not page.is_visible("#enrol-capture")
        page.fill("#enrol-name", "李四")
        page.check("#enrol-consent")
        page.press("#enrol-name", "Enter")  # before the camera is open: nothing is sent
        page.wait_for_timeout(300)
        assert uploads == []
        page.click("#enrol-camera")
        page.wait_for_function("() => document.body.dataset.enrolState === 'camera'")
        page.wait_for_function("() => document.getElementById('enrol-video').videoWidth > 0")
        assert not page.is_visible("#enrol-camera") and page.is_visible("#enrol-capture")
        page.dblclick("#enrol-capture")
        page.wait_for_function("() => document.body.dataset.enrolState === 'failed'")
        assert len(uploads) == 1
        # the fake camera shows no face: the page says so in Chinese
        assert "没有可用的人脸" in page.inner_text("#enrol-error")


def test_qr_page_fits_a_phone_and_stops_when_the_code_is_used_up(make_app, tmp_path):
    from idp.elicense.authority import init_authority, issue_licence, revoke_licence
    from idp.elicense.holder import load_licence, make_jws
    from tests.enterprise.conftest import valid_uscc
    from tests.oidc.rp import RP
    port = free_port()
    app = make_app(demo=True, issuer=f"http://127.0.0.1:{port}")
    keys_dir = app.extensions["idp"].settings.keys_dir
    init_authority(keys_dir)
    out = tmp_path / "lic"
    serial = issue_licence(keys_dir, uscc=valid_uscc(), name="示例企业", legal_rep="赵六", out_dir=out)
    revoke_licence(keys_dir, serial)
    key, chain = load_licence(out / "licence.crt.pem", out / "licence.key.pem", out / "chain.pem")
    rp = RP(app, app.test_client(), scope="openid profile org")
    rp.authorize(scope="openid org", acr_values="urn:idp:acr:entity:elicense")
    from urllib.parse import urlencode
    params = {k: v for k, v in rp.last.items() if k != "verifier"}
    with serve(app, port) as base, chromium() as browser:
        page = browser.new_context(locale="zh-CN", viewport=PHONE).new_page()
        page.goto(f"{base}/authorize?{urlencode(params)}")
        page.wait_for_selector("#qr svg")  # the acr leaves one method: straight to the QR page
        fit = page.evaluate(OVERFLOW)
        assert fit["scroll"] <= 390 and not fit["wide"], fit
        box = page.locator("#holder-link").bounding_box()
        assert box["x"] + box["width"] <= 390
        page.screenshot(path=str(_shots(tmp_path) / "qr-pending-390.png"), full_page=True)
        link = page.get_attribute("#holder-link", "href")
        cid = link.rsplit("/", 1)[1]
        http = app.test_client()
        info = http.get(f"/elicense/challenges/{cid}").get_json()
        jws = make_jws({"challenge": info["challenge"], "nonce": info["nonce"], "aud": info["aud"],
                        "iat": int(time.time())}, key, chain)
        # The holder app hears "revoked"; the browser's poll stays pending (a forged answer
        # must not end someone else's login) until the answers use the code up.
        from idp.enterprise.challenges import MAX_INVALID
        for _ in range(MAX_INVALID):
            answer = http.post(f"/elicense/challenges/{cid}/response", json={"jws": jws})
            assert answer.status_code == 400 and answer.get_json()["error_description"].startswith("revoked")
        page.wait_for_function("() => document.getElementById('status').dataset.state === 'expired'",
                               timeout=10000)
        assert page.get_attribute("#status", "data-reason") == "too_many_invalid_responses"
        assert "已作废" in page.inner_text("#status")
        assert not page.is_visible("#qr") and not page.is_visible("#countdown")
        assert page.is_visible("#refresh")
        before = page.inner_text("#countdown")
        page.wait_for_timeout(1500)
        assert page.inner_text("#countdown") == before  # the countdown stopped
        page.screenshot(path=str(_shots(tmp_path) / "qr-revoked-390.png"), full_page=True)


def test_authorities_page_lists_the_file_based_authority(make_app, tmp_path):
    from idp.elicense.authority import init_authority
    from tests.admin.conftest import make_account
    port = free_port()
    app = make_app(demo=True, issuer=f"http://127.0.0.1:{port}")
    init_authority(app.extensions["idp"].settings.keys_dir)
    account = make_account(app, "ops", "admin")
    with serve(app, port) as base, chromium() as browser:
        page = browser.new_context(locale="zh-CN").new_page()
        _console_login(page, base, account)
        page.goto(f"{base}/admin/authorities")
        files = page.locator('[data-origin="file"]')
        assert files.count() >= 1
        text = files.first.inner_text()
        assert "Demo Licence" in text and "keys" in text and "trust" in text
        assert files.first.get_attribute("data-crl-state") == "ok"
        page.screenshot(path=str(_shots(tmp_path) / "authorities-1280.png"), full_page=True)


def test_an_expired_code_stops_the_qr_page_and_says_what_to_do(make_app, tmp_path):
    from urllib.parse import urlencode
    from tests.oidc.rp import RP
    port = free_port()
    app = make_app(demo=True, issuer=f"http://127.0.0.1:{port}", challenge_ttl=3)
    rp = RP(app, app.test_client(), scope="openid profile org")
    rp.authorize(scope="openid org", acr_values="urn:idp:acr:entity:elicense")
    params = {k: v for k, v in rp.last.items() if k != "verifier"}
    with serve(app, port) as base, chromium() as browser:
        page = browser.new_context(locale="en-US").new_page()
        page.goto(f"{base}/authorize?{urlencode(params)}&ui_locales=en")
        page.wait_for_selector("#qr svg")
        page.wait_for_function("() => document.getElementById('status').dataset.state === 'expired'",
                               timeout=15000)
        assert "has expired" in page.inner_text("#status") and "New code" in page.inner_text("#status")
        assert not page.is_visible("#qr") and not page.is_visible("#countdown")
        page.click("#refresh")
        page.wait_for_selector("#qr svg")
        assert page.get_attribute("#status", "data-state") == "pending"
