"""The console: TOTP login, lockout, sessions, CSRF, roles, and the pages' forms."""
from __future__ import annotations

import io
import re
import time

import pytest
from sqlalchemy import select

from idp.store.models import AdminUser, AuditEvent, RegistryPerson
from tests.admin.certs import make_cert
from tests.admin.conftest import Console, make_account

RP_FORM = {"client_name": "Console RP", "redirect_uris": "https://rp.example.org/cb\nhttps://rp.example.org/cb2",
           "token_endpoint_auth_method": "client_secret_basic",
           "grant_types": ["authorization_code", "refresh_token"], "scope": ["openid", "profile"],
           "subject_type": "pairwise", "id_token_signed_response_alg": "RS256",
           "access_token_ttl": "300", "allow_id_number": "on"}


def _events(app, event):
    with app.extensions["idp"].db.session(write=False) as s:
        return s.execute(select(AuditEvent).where(AuditEvent.event == event)
                         .order_by(AuditEvent.id)).scalars().all()


def test_login_with_password_and_totp(app):
    account = make_account(app)
    console = Console(app)
    assert console.get("/admin/").status_code == 303  # not logged in
    resp = console.login(account)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/admin/")
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("idp_admin=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/admin" in cookie
    page = console.get("/admin/")
    assert page.status_code == 200 and "<svg" in page.get_data(as_text=True)
    [event] = _events(app, "admin.login")
    assert (event.outcome, event.method, event.details) == ("success", "admin",
                                                            {"actor": "user:alice", "factor": "totp"})


@pytest.mark.parametrize("field,value", [("password", "wrong password!!"), ("code", "000000"),
                                         ("username", "mallory")])
def test_wrong_factor_fails_without_saying_which(app, field, value):
    account = make_account(app)
    console = Console(app)
    console.get("/admin/login")
    form = {"username": account.username, "password": account.password, "code": account.totp.now()}
    if field == "code" and value == form["code"]:
        value = "111111"
    form[field] = value
    resp = console.post("/admin/login", form)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert 'data-error="login_failed"' in html and "用户名、密码或验证码错误。" in html
    assert "idp_admin=" not in resp.headers.get("Set-Cookie", "")
    assert _events(app, "admin.login")[-1].outcome == "failure"


def test_totp_code_is_single_use_and_recovery_codes_work_once(app):
    account = make_account(app)
    code = account.totp.now()
    first = Console(app)
    assert first.login(account, code).status_code == 303
    assert Console(app).login(account, code).status_code == 400  # replayed
    recovery = account.recovery_codes[0]
    assert Console(app).login(account, recovery).status_code == 303
    assert Console(app).login(account, recovery).status_code == 400
    assert Console(app).login(account, account.recovery_codes[1].upper()).status_code == 303


def test_lockout_after_repeated_failures(app):
    account = make_account(app)
    limit = app.extensions["idp"].settings.attempt_limit
    console = Console(app)
    for _ in range(limit):
        console.get("/admin/login")
        assert console.post("/admin/login", {"username": account.username, "password": "nope-nope-nope",
                                             "code": "123456"}).status_code == 400
    resp = console.login(account)  # right credentials, but locked
    assert resp.status_code == 429 and "locked" in resp.get_data(as_text=True)
    with app.extensions["idp"].db.session(write=False) as s:
        assert s.get(AdminUser, account.username).locked_until > time.time()
    assert _events(app, "admin.login")[-1].reason == "locked"
    app.extensions["idp"].services["admin"].accounts.unlock(account.username)
    assert Console(app).login(account).status_code == 303


def test_logout_ends_the_server_side_session(app, console_for):
    console = console_for("admin")
    assert console.get("/admin/clients").status_code == 200
    cookie = console.http.get_cookie("idp_admin", path="/admin").value
    assert console.post("/admin/logout").status_code == 303
    console.http.set_cookie("idp_admin", cookie, path="/admin")  # a copied cookie is dead too
    assert console.get("/admin/clients").status_code == 303
    assert _events(app, "admin.logout")[-1].details["actor"] == "user:admin-user"


def test_session_idle_timeout_is_short(make_app):
    app = make_app(admin_session_ttl=120)
    account = make_account(app)
    console = Console(app)
    console.login(account)
    sid = console.http.get_cookie("idp_admin", path="/admin").value
    import hashlib
    ttl = app.extensions["idp"].store.ttl("admin-sess:" + hashlib.sha256(sid.encode()).hexdigest())
    assert 0 < ttl <= 120


def test_posts_need_the_csrf_token(app, console_for):
    console = console_for("admin")
    resp = console.http.post("/admin/keys/rotate", data={"alg": "RS256"})
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)
    resp = Console(app).http.post("/admin/login", data={"username": "x", "password": "y", "code": "1"})
    assert resp.status_code == 400


@pytest.mark.parametrize("role,path,status", [
    ("auditor", "/admin/", 200), ("auditor", "/admin/audit", 200), ("auditor", "/admin/clients", 403),
    ("auditor", "/admin/keys", 403), ("auditor", "/admin/registry", 403),
    ("operator", "/admin/clients", 200), ("operator", "/admin/keys", 200),
    ("operator", "/admin/authorities", 200), ("operator", "/admin/audit", 200),
])
def test_pages_by_role(console_for, role, path, status):
    assert console_for(role).get(path).status_code == status


def test_operator_cannot_rotate_keys_or_add_authorities(console_for):
    console = console_for("operator")
    page = console.get("/admin/keys").get_data(as_text=True)
    assert "rotate-keys" not in page  # no button for what the role may not do
    assert console.post("/admin/keys/rotate", {"alg": "RS256"}).status_code == 403
    resp = console.post("/admin/authorities", {"pem": make_cert().decode()})
    assert resp.status_code == 403


def test_create_edit_disable_rotate_delete_client(app, console_for):
    console = console_for("operator")
    console.get("/admin/clients/new")
    resp = console.post("/admin/clients/new", RP_FORM)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    client_id = re.search(r'id="client-id">([^<]+)<', html).group(1)
    secret = re.search(r'id="client-secret">([^<]+)<', html).group(1)
    client = app.extensions["idp"].clients.require(client_id)
    assert client.check_client_secret(secret)
    assert client.redirect_uris == ["https://rp.example.org/cb", "https://rp.example.org/cb2"]
    assert client.metadata["allow_id_number"] is True and client.metadata["access_token_ttl"] == 300
    assert not client.is_admin  # operators never see the admin-client box

    console.get(f"/admin/clients/{client_id}")
    edited = {**RP_FORM, "client_name": "Renamed RP", "redirect_uris": "https://rp.example.org/cb",
              "access_token_ttl": "", "logo_uri": "https://rp.example.org/logo.png"}
    edited.pop("allow_id_number")
    assert console.post(f"/admin/clients/{client_id}", edited).status_code == 303
    clients = app.extensions["idp"].clients
    clients._cache.clear()
    client = clients.require(client_id)
    assert client.name == "Renamed RP" and client.metadata["allow_id_number"] is False
    assert client.metadata["access_token_ttl"] is None and client.redirect_uris == ["https://rp.example.org/cb"]

    assert console.post(f"/admin/clients/{client_id}/disable").status_code == 303
    clients._cache.clear()
    assert clients.require(client_id).enabled is False
    rotated = console.post(f"/admin/clients/{client_id}/secret")
    new_secret = re.search(r'id="client-secret">([^<]+)<', rotated.get_data(as_text=True)).group(1)
    clients._cache.clear()
    assert clients.require(client_id).check_client_secret(new_secret)
    assert console.post(f"/admin/clients/{client_id}/delete").status_code == 400  # not confirmed
    assert console.post(f"/admin/clients/{client_id}/delete", {"confirm": "yes"}).status_code == 303
    clients._cache.clear()
    assert clients.get(client_id) is None


def test_form_error_is_shown_and_nothing_is_created(app, console_for):
    console = console_for("admin")
    console.get("/admin/clients/new")
    resp = console.post("/admin/clients/new", {**RP_FORM, "redirect_uris": "http://evil.example/cb"})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert 'id="form-error"' in html and "must use https" in html
    assert "http://evil.example/cb" in html  # the form keeps what was typed
    assert app.extensions["idp"].clients.list() == []


def test_admin_can_create_an_admin_client_in_the_console(app, console_for):
    console = console_for("admin")
    console.get("/admin/clients/new")
    resp = console.post("/admin/clients/new", {"client_name": "Robot", "token_endpoint_auth_method": "client_secret_basic",
                                                "grant_types": ["client_credentials"], "scope": ["admin"],
                                                "admin_client": "on"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    client_id = re.search(r'id="client-id">([^<]+)<', resp.get_data(as_text=True)).group(1)
    assert app.extensions["idp"].clients.require(client_id).is_admin


def test_keys_page_rotate_and_retire(app, console_for):
    console = console_for("admin")
    before = {k.kid for k in app.extensions["idp"].keyring.infos()}
    console.get("/admin/keys")
    assert console.post("/admin/keys/rotate", {"alg": "ES256"}).status_code == 303
    ring = app.extensions["idp"].keyring
    ring._loaded_at = 0
    new = {k.kid for k in ring.infos()} - before
    assert len(new) == 1
    old_es = next(k.kid for k in ring.infos() if k.alg == "ES256" and k.kid not in new)
    page = console.get("/admin/keys").get_data(as_text=True)
    assert all(kid in page for kid in before | new)
    assert console.post(f"/admin/keys/{old_es}/retire").status_code == 303
    assert _events(app, "admin.keys.retire")[-1].details == {"actor": "user:admin-user", "kid": old_es}


def test_authorities_upload_and_disable(app, console_for):
    console = console_for("admin")
    console.get("/admin/authorities")
    pem = make_cert("Licence Authority of Test Province")
    resp = console.post("/admin/authorities", {"certificate": (io.BytesIO(pem), "ca.pem"),
                                               "crl_source": "https://ca.example.gov/crl",
                                               "ocsp_source": "https://ocsp.example.gov/"},
                        content_type="multipart/form-data")
    assert resp.status_code == 303
    [authority] = app.extensions["idp"].services["admin"].authorities.list()
    assert authority["name"] == "Licence Authority of Test Province" and authority["enabled"]
    page = console.get("/admin/authorities").get_data(as_text=True)
    assert "Licence Authority of Test Province" in page and "https://ocsp.example.gov/" in page
    assert authority["ocsp_source"] == "https://ocsp.example.gov/"
    assert console.post(f"/admin/authorities/{authority['id']}/disable").status_code == 303
    anchors, _ = app.extensions["idp"].services["admin"].authorities.trust_entries()
    assert anchors == []
    bad = console.post("/admin/authorities", {"pem": make_cert(ca=False).decode()})
    assert bad.status_code == 400 and "not a CA certificate" in bad.get_data(as_text=True)


def test_registry_page_counts(app, console_for):
    with app.extensions["idp"].db.session() as s:
        for i in range(3):
            s.add(RegistryPerson(id_hash=f"{i:064x}", name_enc=b"x", template_enc=b"t" if i else None,
                                 source="import"))
    html = console_for("operator").get("/admin/registry").get_data(as_text=True)
    assert 'id="registry-persons">3<' in html and "import" in html


def test_audit_page_search_and_paging(app, console_for):
    provider = app.extensions["idp"].provider
    for i in range(60):
        provider.audit("login", "failure", client_id="rp-1", subject=f"1****{i % 3}", method="person")
    console = console_for("auditor")
    page = console.get("/admin/audit?client_id=rp-1&outcome=failure&lang=en").get_data(as_text=True)
    assert page.count('class="outcome-failure"') == 50 and 'id="next-page"' in page
    next_url = re.search(r'id="next-page" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    rest = console.get("/admin/audit" + next_url).get_data(as_text=True)
    assert rest.count('class="outcome-failure"') == 10 and 'id="next-page"' not in rest
    only = console.get("/admin/audit?subject=1****1").get_data(as_text=True)
    assert only.count('class="outcome-failure"') == 20
    assert console.get("/admin/audit?since=not-a-date").status_code == 400


def test_dashboard_charts_and_no_inline_scripts(app, console_for):
    provider = app.extensions["idp"].provider
    provider.audit("login", "success", method="person")
    provider.audit("login", "failure", method="person")
    provider.audit("liveness.check", "success")
    console = console_for("admin")
    for path in ("/admin/", "/admin/clients", "/admin/clients/new", "/admin/keys", "/admin/authorities",
                 "/admin/registry", "/admin/audit"):
        resp = console.get(path)
        assert resp.status_code == 200, path
        assert "<script" not in resp.get_data(as_text=True), path
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    html = console.get("/admin/?lang=en").get_data(as_text=True)
    assert "Logins per hour by method and outcome" in html and "person (face) / success" in html
    assert html.count("<svg") == 2 and 'id="logins-total">2<' in html
    assert "100.0%" in html
    zh = console.get("/admin/?lang=zh-CN").get_data(as_text=True)
    assert "每小时登录次数" in zh and "个人（刷脸） / 成功" in zh


def test_initial_token_from_the_console(app, console_for):
    console = console_for("operator")
    console.get("/admin/clients")
    resp = console.post("/admin/initial-token", {"ttl": "600"})
    token = re.search(r'id="initial-token">([^<]+)<', resp.get_data(as_text=True)).group(1)
    created = app.test_client().post("/register", json={"redirect_uris": ["https://dcr.example.org/cb"]},
                                     headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201
