"""Every page and template in zh-CN carries no untranslated English (issue 12, Language).

The walk renders each page of a demo app in zh-CN through the Flask test client (the
browser test in test_browser.py looks at the same pages after their scripts ran) and fails
on any user-visible string with an English word outside a small allow-list of proper nouns
and technical names; it also fails when a template under idp/templates was never rendered,
so a new page cannot escape it.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.oidc.rp import csrf_from
from tests.pages.walk import admin_login, english, login_pages, site, visible_text

TEMPLATES = Path(__file__).resolve().parents[2] / "idp" / "templates"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9", "Accept": "text/html"}


@pytest.fixture
def demo_app(make_app):
    return make_app(demo=True)


def _loaded_templates(app) -> set[str]:
    return {key[1] for key in app.jinja_env.cache.keys()}


def _pages(app, tmp_path):
    """(name, html) of every page, in zh-CN."""
    account = site(app, tmp_path)
    user = app.test_client()
    pages = []

    def get(name, path, client=user, status=200):
        resp = client.get(path, headers=ZH)
        assert resp.status_code == status, (name, resp.status_code, resp.get_data(as_text=True)[:500])
        pages.append((name, resp.get_data(as_text=True)))
        return resp

    get("home", "/")
    get("not found", "/no-such-page", status=404)
    get("demo", "/demo")
    get("demo enrol", "/demo/enrol")
    for name, path in login_pages(app, user).items():
        get(name, path)
    # logout: the confirmation (a session exists), then the logged-out page
    confirm = get("logout confirm", "/end-session")
    done = user.post("/end-session", data={"confirm": "yes",
                                           "csrf_token": csrf_from(confirm.get_data(as_text=True))},
                     headers=ZH)
    pages.append(("logged out", done.get_data(as_text=True)))

    admin = app.test_client()
    get("admin login", "/admin/login", client=admin)
    token = csrf_from(pages[-1][1])
    failed = admin.post("/admin/login", data={"username": account.username, "password": "wrong",
                                              "code": "000000", "csrf_token": token}, headers=ZH)
    pages.append(("admin login failed", failed.get_data(as_text=True)))
    admin_login(admin, account)
    for name, path in (("dashboard", "/admin/"), ("clients", "/admin/clients"),
                       ("client form", "/admin/clients/new"), ("keys", "/admin/keys"),
                       ("authorities", "/admin/authorities"), ("registry", "/admin/registry"),
                       ("audit", "/admin/audit")):
        get(name, path, client=admin)
    token = csrf_from(pages[-1][1])
    created = admin.post("/admin/clients/new", headers=ZH, data={
        "csrf_token": token, "client_name": "社保服务平台", "redirect_uris": "https://si.example.gov.cn/cb",
        "token_endpoint_auth_method": "client_secret_basic", "grant_types": "authorization_code",
        "scope": "openid profile", "subject_type": "pairwise"})
    assert created.status_code == 200, created.get_data(as_text=True)[:800]
    pages.append(("client secret", created.get_data(as_text=True)))
    client_id = app.extensions["idp"].clients.list()[-1].client_id
    get("client edit", f"/admin/clients/{client_id}", client=admin)
    bad = admin.post("/admin/clients/new", headers=ZH, data={
        "csrf_token": token, "client_name": "坏的", "redirect_uris": "http://bad.example/cb"})
    pages.append(("client form error", bad.get_data(as_text=True)))
    issued = admin.post("/admin/initial-token", data={"csrf_token": token, "ttl": "600"}, headers=ZH)
    pages.append(("initial token", issued.get_data(as_text=True)))
    admin.post("/admin/logout", data={"csrf_token": token})
    get("admin logged out", "/admin/login?logged_out=1", client=admin)
    return pages


def test_no_untranslated_string_on_zh_cn_pages(demo_app, tmp_path):
    pages = _pages(demo_app, tmp_path)
    found = {name: english(visible_text(html)) for name, html in pages}
    found = {name: bad for name, bad in found.items() if bad}
    assert not found, "English on zh-CN pages:\n" + "\n".join(f"{n}: {b}" for n, b in found.items())


def test_the_walk_renders_every_template(demo_app, tmp_path):
    _pages(demo_app, tmp_path)
    every = {str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")}
    missing = every - _loaded_templates(demo_app)
    assert not missing, f"templates no page of the walk rendered: {sorted(missing)}"


def test_the_checker_finds_english():
    html = ('<p>请输入姓名</p><p>Enter your name</p><code>invalid_request</code>'
            '<p data-msg-x="Waiting…">OpenID Connect 发现文档</p>')
    assert english(visible_text(html)) == ["Enter your name", "Waiting…"]
