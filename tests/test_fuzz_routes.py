"""Property-based fuzzing of every route: odd JSON, odd query strings, odd multipart bodies
and odd path values never get a 5xx (DESIGN section 13).

The routes come from ``app.url_map``, so a route added later is fuzzed without touching
this file.  The requests are shaped like real ones where that matters to reach the code
behind the first checks: the browser holds the login transaction's binding cookie and its
CSRF token, API calls carry a valid bearer token, ``/authorize`` gets a valid client and
redirect URI around the odd values, and the ``claims`` parameter is shaped like a claims
request with odd members.  Each route gets a fixed number of examples from a seed of its
own, so a run is repeatable and takes a fixed time.
"""
from __future__ import annotations

import io
import json
import zlib
from urllib.parse import quote

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tests.admin.conftest import client_credentials_token, make_account
from tests.enterprise.conftest import challenge_of
from tests.oidc.rp import RP, csrf_from, pkce_pair

EXAMPLES = 8
# /authorize has the most parameters and the most code behind them; password checks and key
# generation are slow by design, a few examples reach their input handling
COUNTS = {"oidc.authorize": 60, "admin_console.login": 3, "admin_console.keys_rotate": 2,
          "admin_api.keys_rotate": 2}
SKIP_METHODS = {"HEAD", "OPTIONS"}

# -- odd values -------------------------------------------------------------------------------
ODD_STRINGS = ["", " ", "\x00", "%", "%zz", "null", "[]", "{}", "-1", "0", "1e309", "NaN",
               "true", "../..", "a" * 5000, "\u202e", "😀", "<script>", "' OR 1=1 --",
               "\r\nX-Injected: 1", "9" * 40, "1.5", "[" * 3000]
odd_text = st.one_of(st.text(max_size=30), st.sampled_from(ODD_STRINGS))
odd_scalar = st.one_of(st.integers(-2**70, 2**70), st.floats(allow_nan=False, allow_infinity=False),
                       st.booleans(), odd_text, st.none())
odd_json = st.recursive(odd_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(odd_text, inner, max_size=4)), max_leaves=8)
FIELDS = ["id_number", "name", "consent", "mode", "jws", "frames", "session", "nonce",
          "client_name", "redirect_uris", "grant_types", "scope", "token_endpoint_auth_method",
          "jwks", "jwks_uri", "enabled", "allow_id_number", "subject_type", "crl_source",
          "ocsp_source", "cert_pem", "post_logout_redirect_uris", "backchannel_logout_uri",
          "decision", "user", "acr", "token", "grant_type", "code", "refresh_token"]
field_name = st.one_of(st.sampled_from(FIELDS), odd_text)


def _nested(n: int, opener: str, closer: str, inner: str = "1") -> str:
    return opener * n + inner + closer * n


deep_json = st.one_of(st.integers(50, 40_000).map(lambda n: _nested(n, "[", "]")),
                      st.integers(50, 40_000).map(lambda n: _nested(n, '{"a":', "}")))
json_text = st.one_of(
    odd_json.map(json.dumps),
    st.dictionaries(field_name, odd_json, max_size=6).map(json.dumps),
    deep_json,
    st.sampled_from(['{"a": NaN}', '{"a": 1e999}', '{"a": "\\ud800"}', '{"a": ', "\ufeff{}",
                     '{"a": 1, "a": 2}', "[" * 20 + "]" * 20]),
)

# an OIDC claims request (OIDC Core 5.5): its members essential, value and values with odd
# values, scalars more often than not (the types are what a claims request gets wrong)
# a fuzzer's dictionary: one value of every JSON type, then anything
TYPICAL_JSON = [5, 0, -1, 1.5, True, False, None, "", "x", [], [5], ["x", 1], {}, {"a": None}]
odd_member = st.one_of(st.sampled_from(TYPICAL_JSON), odd_json)
essential = st.one_of(st.just(True), st.sampled_from(TYPICAL_JSON), odd_scalar)
claim_spec = st.one_of(
    st.fixed_dictionaries({"essential": essential, "values": odd_member}),
    st.fixed_dictionaries({"essential": essential, "value": odd_member}),
    odd_scalar)
claims_request = st.one_of(
    st.fixed_dictionaries({"id_token": st.fixed_dictionaries({"acr": claim_spec})}).map(json.dumps),
    st.fixed_dictionaries({}, optional={
        "id_token": st.one_of(odd_json, st.dictionaries(
            st.sampled_from(["acr", "name", "auth_time", "org_name"]), claim_spec, max_size=3)),
        "userinfo": st.one_of(odd_json, st.dictionaries(
            st.sampled_from(["name", "id_number", "uscc", "x"]), claim_spec, max_size=3)),
    }).map(json.dumps),
    odd_text,
)


def usually(valid, odd=odd_text):
    """The valid value four times in five, else an odd one."""
    return st.integers(0, 4).flatmap(lambda i: odd if i == 0 else st.just(valid))


# -- the world the requests are sent into --------------------------------------------------------
class World:
    def __init__(self, app):
        self.app = app
        self.http = app.test_client()
        state = app.extensions["idp"]
        self.rp = RP(app, self.http, scope="openid profile org id_number offline_access")
        self.victim_client, _ = state.clients.create({"client_name": "fuzz target",
                                                      "redirect_uris": ["https://t.example/cb"]})
        lv, lv_secret = state.clients.create({
            "client_name": "fuzz mini", "redirect_uris": [],
            "grant_types": ["client_credentials"], "scope": "liveness"})
        self.liveness_bearer = "Bearer " + client_credentials_token(app, lv.client_id, lv_secret)
        admin, admin_secret = state.clients.create({
            "client_name": "fuzz admin", "grant_types": ["client_credentials"], "scope": "admin"},
            is_admin=True)
        self.admin_bearer = "Bearer " + client_credentials_token(app, admin.client_id, admin_secret)
        tokens = self.rp.tokens()
        self.user_bearer = "Bearer " + tokens["access_token"]
        self.id_token = tokens["id_token"]
        account = make_account(app, "fuzz-admin")
        page = self.http.get("/admin/login").get_data(as_text=True)
        self.http.post("/admin/login", data={"username": account.username,
                                             "password": account.password,
                                             "code": account.totp.now(), "csrf_token": csrf_from(page)})
        self.csrf = csrf_from(self.http.get(f"/login/{self.new_txn()}").get_data(as_text=True))
        self.kid = state.keyring.jwks()["keys"][0]["kid"]
        session = self.http.post("/api/v1/liveness/sessions", json={"mode": "passive"},
                                 headers={"Authorization": self.liveness_bearer}).get_json()
        self.session_id = session["session"]
        txn = self.new_txn()
        self.challenge = challenge_of(self.http.get(f"/login/{txn}/enterprise").get_data(as_text=True))

    def new_txn(self) -> str:
        """A fresh login transaction of this browser (its binding cookie is set)."""
        resp = self.rp.authorize(prompt="login")  # the browser has an SSO session
        return resp.headers["Location"].rsplit("/login/", 1)[1]

    def path_value(self, name: str):
        real = {"client_id": self.victim_client.client_id, "cid": self.challenge,
                "session_id": self.session_id, "kid": self.kid, "authority_id": "1",
                "action": "disable", "filename": "idp.css"}
        if name == "txn_id":
            return usually("<fresh txn>")
        return usually(real.get(name, "x"))

    def authorization(self, rule: str):
        if rule.startswith("/api/"):
            real = self.liveness_bearer
        elif rule.startswith(("/admin/api/", "/register")):
            real = self.admin_bearer
        elif rule.startswith("/userinfo"):
            real = self.user_bearer
        elif rule in ("/token", "/introspect", "/revoke"):
            real = self.rp.auth()["Authorization"]
        else:
            return st.none()
        return usually(real)

    def query(self, rule: str):
        if rule == "/authorize":
            _, challenge = pkce_pair()
            valid = {"client_id": self.rp.client_id, "redirect_uri": self.rp.redirect,
                     "response_type": "code", "scope": "openid profile", "state": "s",
                     "nonce": "n", "code_challenge": challenge, "code_challenge_method": "S256"}
            # at most one of the required parameters odd, so that most requests get past
            # the client checks to the parameters behind them
            base = st.tuples(st.sampled_from([None] * len(valid) + list(valid)), odd_text).map(
                lambda odd: {**valid, odd[0]: odd[1]} if odd[0] else dict(valid))
            optional = ["acr_values", "prompt", "max_age", "id_token_hint", "login_hint",
                        "ui_locales", "response_mode"]
            extra = st.tuples(st.sampled_from([None] * 3 + optional), odd_text).map(
                lambda odd: {odd[0]: odd[1]} if odd[0] else {})
            return st.tuples(base, extra, claims_request).map(
                lambda parts: {**parts[0], **parts[1], "claims": parts[2]})
        if rule == "/end-session":
            return st.fixed_dictionaries({}, optional={
                "id_token_hint": usually(self.id_token), "post_logout_redirect_uri": odd_text,
                "client_id": usually(self.rp.client_id), "state": odd_text})
        return st.dictionaries(st.one_of(st.sampled_from(
            ["challenge", "refresh", "lang", "since", "until", "limit", "outcome", "client_id",
             "acr", "code", "state", "error", "page", "q"]), odd_text), odd_text, max_size=4)


def body_strategy():
    form = st.dictionaries(field_name, odd_text, max_size=6)
    upload = st.tuples(st.one_of(st.just("frames"), odd_text),
                       st.one_of(st.binary(max_size=64), st.binary(max_size=64).map(
                           lambda b: b"\xff\xd8\xff" + b)),
                       odd_text, st.sampled_from(["image/jpeg", "image/png", "text/plain", ""]))
    multipart = st.tuples(form, st.lists(upload, max_size=3))
    raw = st.tuples(st.binary(max_size=128), st.sampled_from([
        "application/json", "multipart/form-data; boundary=x", "multipart/form-data",
        "application/x-www-form-urlencoded", "text/plain", "application/jwt", ""]))
    return st.one_of(st.just(("none", None)), json_text.map(lambda b: ("json", b)),
                     form.map(lambda b: ("form", b)), multipart.map(lambda b: ("multipart", b)),
                     raw.map(lambda b: ("raw", b)))


def send(world: World, rule, method, path_args, query, body, authorization, csrf_ok):
    args = {}
    for name, value in path_args.items():
        if value == "<fresh txn>":
            value = world.new_txn()
        args[name] = quote(str(value), safe="")
    path = rule
    for name, value in args.items():
        path = path.replace(f"<{name}>", value).replace(f"<path:{name}>", value)
    headers = {}
    if csrf_ok:
        headers["X-CSRF-Token"] = world.csrf
    if authorization is not None:
        headers["Authorization"] = authorization
    kind, payload = body
    if rule == "/authorize" and method == "POST":  # the same parameters, as a form
        kind, payload, query = "form", query, {}
    kwargs = {"query_string": query, "headers": headers}
    if kind == "json":
        kwargs.update(data=payload.encode("utf-8", "surrogatepass"), content_type="application/json")
    elif kind == "form":
        kwargs.update(data=dict(payload, csrf_token=world.csrf) if csrf_ok else payload)
    elif kind == "multipart":
        fields, files = payload
        data = dict(fields)
        if csrf_ok:
            data["csrf_token"] = world.csrf
        for i, (name, content, filename, ctype) in enumerate(files):
            data.setdefault(name, [])
            if isinstance(data[name], list):
                data[name].append((io.BytesIO(content), filename or f"f{i}", ctype or None))
        kwargs.update(data=data, content_type="multipart/form-data")
    elif kind == "raw":
        content, ctype = payload
        kwargs.update(data=content, content_type=ctype or None)
    return world.http.open(path, method=method, **kwargs)


def _declared_unready(rule: str, resp) -> bool:
    """The readiness probe answers 503 while a dependency is not ready: its contract, not a
    failure (whatever the request looks like)."""
    return rule == "/readyz" and resp.status_code == 503 and \
        (resp.get_json(silent=True) or {}).get("status") == "not_ready"


def fuzz_route(world: World, rule, method, endpoint) -> list[str]:
    failures: list[str] = []
    params = sorted(rule.arguments)
    path_args = st.fixed_dictionaries({name: world.path_value(name) for name in params})
    with_body = method not in ("GET", "DELETE")

    @seed(zlib.crc32(f"{method} {rule.rule}".encode()))
    @settings(max_examples=COUNTS.get(endpoint, EXAMPLES), deadline=None, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(path_args=path_args, query=world.query(rule.rule),
           body=body_strategy() if with_body else st.just(("none", None)),
           authorization=world.authorization(rule.rule), csrf_ok=st.booleans())
    def run(path_args, query, body, authorization, csrf_ok):
        resp = send(world, rule.rule, method, path_args, query, body, authorization, csrf_ok)
        if resp.status_code >= 500 and not _declared_unready(rule.rule, resp):
            failures.append(f"{method} {rule.rule} -> {resp.status_code}: query={query!r:.300} "
                            f"body={body!r:.100} path={path_args!r:.100}")

    run()
    return failures


def test_no_route_answers_5xx(make_app):
    """Fails on the commit before the bounded JSON reader: deep JSON bodies on the liveness
    API and the licence response, and ``claims`` with ``"values": 5`` or deep nesting."""
    from idp.elicense.authority import init_authority
    app = make_app(demo=True)
    init_authority(app.extensions["idp"].settings.keys_dir)
    world = World(app)
    failures = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - SKIP_METHODS):
            failures += fuzz_route(world, rule, method, rule.endpoint)
    assert not failures, "\n".join(failures[:20])
