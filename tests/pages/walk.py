"""Walk every page of the OP in a demo app and collect the text a user can see.

``site(app)`` sets up what the pages need (a relying party, a login up to consent, an admin
account, a file-based licence authority, audit events) and returns the pages as
``(name, path)`` after ``login(client)``; ``visible_text(html)`` returns the user-visible
strings of a page (text, the attributes people read, and the messages pages keep in
``data-msg-*`` and ``data-reasons`` for their scripts); ``english(strings)`` the ones that
contain English words outside the allow-list.
"""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from tests.admin.conftest import make_account
from tests.oidc.rp import RP, csrf_from

# Proper nouns, protocol names and technical abbreviations that stay as they are in zh-CN.
ALLOWED = {
    "OpenID", "Connect", "PKCE", "OIDC", "JSON", "CRL", "OCSP", "AIA", "PEM", "CA", "TOTP", "ID",
    "URL", "URI", "JWKS", "UserInfo", "issuer", "English", "acr", "amr", "sub", "UTC", "IP", "API",
    "RS256", "ES256", "SM2", "PS256", "JavaScript", "HTTP", "Basic", "JWT", "README", "aia",
}
SKIP_TAGS = {"script", "style", "code", "pre"}  # code and pre: identifiers, raw claims, JSON
READ_ATTRS = {"placeholder", "title", "alt", "aria-label"}
PATH = re.compile(r"\S*/\S*")  # URLs and paths are not language
WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’-]*[A-Za-z0-9]|[A-Za-z]")


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.stack: list[str] = []  # open tags that were skipped (closed in order)

    def handle_starttag(self, tag, attrs):
        # translate="no" (HTML): data shown as is (user names, client names, CA names, URLs)
        if tag in SKIP_TAGS or dict(attrs).get("translate") == "no":
            self.skip += 1
            self.stack.append(tag)
        if self.skip:
            return
        for name, value in attrs:
            if not value:
                continue
            if name in READ_ATTRS or name.startswith("data-msg-"):
                self.out.append(value)
            elif name == "data-reasons":
                self.out.extend(json.loads(value).values())
            elif name == "value" and tag == "input" and dict(attrs).get("type") in ("submit", "button"):
                self.out.append(value)

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.out.append(data.strip())


def visible_text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.out


def english(strings) -> list[str]:
    """The strings with a Latin-letter word that is not an allowed name."""
    bad = []
    for text in strings:
        words = [w for w in WORD.findall(PATH.sub(" ", text)) if w not in ALLOWED]
        # single letters are units and labels ("5 s" only in en), a lone "s" is a unit
        if [w for w in words if len(w) > 1]:
            bad.append(text)
    return bad


def site(app, tmp_path):
    """Prepare the data the pages show; return (pages, login) where pages is a list of
    (name, path, browser-client-factory key) and login(client) signs the console in."""
    from idp.elicense.authority import init_authority
    state = app.extensions["idp"]
    init_authority(state.settings.keys_dir)  # a file-based authority in keys/trust/
    account = make_account(app, "walker", "admin")
    state.provider.audit("login", "success", method="person", client_id="c1")
    state.provider.audit("login", "failure", method="enterprise", reason="revoked")
    return account


def admin_login(client, account):
    page = client.get("/admin/login")
    token = csrf_from(page.get_data(as_text=True))
    resp = client.post("/admin/login", data={"username": account.username, "password": account.password,
                                             "code": account.totp.now(), "csrf_token": token})
    assert resp.status_code == 303, resp.get_data(as_text=True)


def login_pages(app, client) -> dict[str, str]:
    """Paths of one login's pages: chooser, person, enterprise, holder link, consent."""
    rp = RP(app, client, client_name="住房公积金服务平台")
    resp = rp.authorize(scope="openid profile")
    txn = resp.headers["Location"].rsplit("/login/", 1)[1]
    enterprise = client.get(f"/login/{txn}/enterprise").get_data(as_text=True)
    challenge = re.search(r"/elicense/c/([A-Za-z0-9_-]+)", enterprise).group(1)
    paths = {"chooser": f"/login/{txn}", "person": f"/login/{txn}/person",
             "enterprise": f"/login/{txn}/enterprise", "holder": f"/elicense/c/{challenge}"}
    # a second login, through the test method, up to the consent page
    resp = rp.authorize(scope="openid profile id_number")
    txn2 = resp.headers["Location"].rsplit("/login/", 1)[1]
    token = csrf_from(client.get(f"/login/{txn2}").get_data(as_text=True))
    done = client.post(f"/login/{txn2}/test", data={"user": "walker"}, headers={"X-CSRF-Token": token})
    paths["consent"] = done.get_json()["redirect"].replace(app.extensions["idp"].settings.issuer, "")
    paths["logout_confirm"] = "/end-session"
    return paths
