"""Probes, metrics, request ids, JSON logs, rate limits and the document cache, in process."""
from __future__ import annotations

import base64
import io
import json
import logging
import time

from idp.ops import health, metrics, reqlog
from idp.serving import gunicorn_options, prepare_multiproc_dir
from tests.oidc.rp import RP

from .services import free_port

DEAD_REDIS = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there


def _cc_client(app, **meta):
    state = app.extensions["idp"]
    client, secret = state.clients.create({"client_name": f"cc {time.monotonic_ns()}",
                                           "grant_types": ["client_credentials"],
                                           "scope": "liveness", "redirect_uris": [], **meta})
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    return client.client_id, {"Authorization": f"Basic {basic}"}


def _cc(client, headers, ip="10.0.0.1"):
    return client.post("/token", data={"grant_type": "client_credentials"}, headers=headers,
                       environ_overrides={"REMOTE_ADDR": ip})


# -- probes ------------------------------------------------------------------------------------
def test_healthz_needs_no_dependency(make_app):
    app = make_app(redis_url=DEAD_REDIS)
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}
    assert resp.headers["Cache-Control"] == "no-store"


def test_readyz_reports_every_dependency(make_app, tmp_path_factory):
    from tests.person.faces import models_dir
    app = make_app(models_dir=str(models_dir(tmp_path_factory)))
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "ready"
    assert {"database", "store", "keys", "models"} <= set(body["checks"])
    assert set(body["checks"].values()) == {"ok"}


def test_readyz_fails_while_the_face_models_are_missing(make_app, tmp_path):
    (tmp_path / "no-models").mkdir()
    app = make_app(models_dir=str(tmp_path / "no-models"))
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["not_ready"] == ["models"] and body["checks"]["models"] == "not ready"
    assert app.test_client().get("/healthz").status_code == 200
    # A node deliberately without face login (IDP_MODELS_REQUIRED=0) is ready without them.
    app = make_app(models_dir=str(tmp_path / "no-models"), models_required=False)
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 200 and "models" not in resp.get_json()["checks"]


def test_readyz_names_what_is_not_ready(make_app):
    app = make_app(redis_url=DEAD_REDIS)
    state = app.extensions["idp"]

    class Engine:
        def ready(self):
            return False

    state.services["liveness"] = Engine()
    state.keyring.ready = lambda: False
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["error"] == "temporarily_unavailable"
    assert set(body["not_ready"]) == {"store", "keys", "models"}
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["store"] == "unavailable (StoreUnavailable)"
    assert "store" in body["error_description"]


def test_a_hung_dependency_fails_the_probe_in_time(app, monkeypatch):
    """A check that never returns must not hang the probe: it answers 503 "timeout".

    The check blocks until the test releases it, so the probe can only answer by giving up
    on it; no wall-clock bound is asserted (machines under load are slow, not hung)."""
    import threading

    monkeypatch.setattr(health, "BUDGET_SECONDS", 0.3)
    release = threading.Event()
    health.add_check(app, "slow", lambda: release.wait(120) and True)
    answers = []
    probe = threading.Thread(target=lambda: answers.append(app.test_client().get("/readyz")))
    probe.start()
    try:
        probe.join(60)
        assert answers, "the probe waited for a hung check instead of timing it out"
    finally:
        release.set()
        probe.join(10)
    resp = answers[0]
    assert resp.status_code == 503 and resp.get_json()["checks"]["slow"] == "timeout"


# -- request ids and logs ----------------------------------------------------------------------------
def test_every_response_carries_a_request_id(client):
    generated = client.get("/healthz").headers["X-Request-Id"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert client.get("/healthz").headers["X-Request-Id"] != generated
    sane = "proxy-4f1c2e9a:17"
    assert client.get("/healthz", headers={"X-Request-Id": sane}).headers["X-Request-Id"] == sane
    for bad in ("short", "x" * 200, "bad id", "<script>alert(1)</script>"):
        got = client.get("/healthz", headers={"X-Request-Id": bad}).headers["X-Request-Id"]
        assert got != bad and len(got) == 32
    # Errors and cached documents carry one too.
    assert client.get("/no-such-page").headers["X-Request-Id"]
    client.get("/jwks.json")
    assert client.get("/jwks.json", headers={"X-Request-Id": sane}).headers["X-Request-Id"] == sane


def test_json_logs_carry_the_request_id(make_app):
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    out = io.StringIO()
    root.handlers = [logging.StreamHandler(out)]
    access_level = reqlog.access_log.level
    try:
        reqlog.access_log.setLevel(logging.INFO)
        app = make_app(log_json=True)
        app.test_client().get("/healthz", headers={"X-Request-Id": "req-0123456789"})
        records = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    finally:
        root.handlers, root.level = saved_handlers, saved_level
        reqlog.access_log.setLevel(access_level)
    access = [r for r in records if r["logger"] == "idp.access"]
    assert access, records
    line = access[-1]
    assert line["request_id"] == "req-0123456789"
    assert line["route"] == "/healthz" and line["status"] == 200 and line["method"] == "GET"
    assert isinstance(line["duration_ms"], float) and line["level"] == "info"


def test_the_access_line_never_holds_the_query_string(make_app):
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    out = io.StringIO()
    root.handlers = [logging.StreamHandler(out)]
    try:
        reqlog.access_log.setLevel(logging.INFO)
        app = make_app(log_json=True)
        app.test_client().get("/authorize?login_hint=11010519491231002X&client_id=x")
    finally:
        root.handlers, root.level = saved_handlers, saved_level
        reqlog.access_log.setLevel(logging.NOTSET)
    assert "11010519491231002X" not in out.getvalue()
    assert '"route": "/authorize"' in out.getvalue()


# -- metrics ---------------------------------------------------------------------------------------
def _metric(text: str, prefix: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0


def test_metrics_count_requests_tokens_logins_and_liveness(app, client):
    before = client.get("/metrics").get_data(as_text=True)
    _, headers = _cc_client(app)
    assert _cc(client, headers).status_code == 200
    RP(app, client).login(user="metrics-user")
    metrics.observe_liveness("antispoof", 0.042)
    metrics.count_login("person", "failure")
    text = client.get("/metrics").get_data(as_text=True)
    key = 'idp_tokens_issued_total{grant_type="client_credentials"}'
    assert _metric(text, key) == _metric(before, key) + 1
    key = 'idp_logins_total{method="test",outcome="success"}'
    assert _metric(text, key) == _metric(before, key) + 1
    key = 'idp_logins_total{method="person",outcome="failure"}'
    assert _metric(text, key) == _metric(before, key) + 1
    assert _metric(text, 'idp_liveness_stage_seconds_count{stage="antispoof"}') >= 1
    assert _metric(text, 'idp_http_requests_total{endpoint="oidc.token",method="POST",status="200"}') >= 1
    assert 'idp_http_request_duration_seconds_bucket{endpoint="oidc.token",le="0.025"}' in text


def test_metric_labels_stay_bounded(client):
    metrics.count_login("Weird Method!" * 10, "x" * 100)
    client.get("/no/such/path/12345")
    text = client.get("/metrics").get_data(as_text=True)
    assert "/no/such/path" not in text
    assert 'idp_logins_total{method="unknown",outcome="other"}' in text
    assert 'endpoint="unmatched"' in text


def test_metrics_can_require_a_token(make_app):
    app = make_app(metrics_token="s3cret-metrics-token")
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
    assert ok.status_code == 200 and b"idp_http_requests_total" in ok.data


def test_multiprocess_metrics_aggregate_files(tmp_path, monkeypatch):
    path = tmp_path / "prom"
    path.mkdir()
    (path / "counter_999.db").write_bytes(b"stale")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(path))
    got, owned = prepare_multiproc_dir()
    assert got == str(path) and owned is False
    assert not list(path.glob("*.db"))  # a previous run's samples are not summed in
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")


# -- rate limits ---------------------------------------------------------------------------------------
def test_token_endpoint_rate_limit_per_ip(make_app):
    app = make_app(rate_limit_token=3)
    client = app.test_client()
    _, headers = _cc_client(app)
    assert [_cc(client, headers).status_code for _ in range(3)] == [200, 200, 200]
    refused = _cc(client, headers)
    assert refused.status_code == 429
    assert refused.get_json()["error"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert _cc(client, headers, ip="10.0.0.2").status_code == 200  # another address
    text = client.get("/metrics").get_data(as_text=True)
    assert _metric(text, 'idp_rate_limited_total{scope="token"}') >= 1


def test_token_endpoint_rate_limit_per_client(make_app):
    app = make_app(rate_limit_token=2, rate_limit_client_factor=2)  # 4 a minute per client
    client = app.test_client()
    client_id, headers = _cc_client(app)
    wrong = {"Authorization": "Basic " + base64.b64encode(f"{client_id}:wrong".encode()).decode()}
    # Failed authentication does not spend the client's budget (no lock-out by others) ...
    assert [_cc(client, wrong, ip=f"10.1.0.{i}").status_code for i in range(6)] == [401] * 6
    # ... but its own requests from many addresses do.
    codes = [_cc(client, headers, ip=f"10.2.0.{i}").status_code for i in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    _, other = _cc_client(app)
    assert _cc(client, other, ip="10.3.0.1").status_code == 200


def test_login_and_api_rate_limits(make_app):
    app = make_app(rate_limit_login=2, rate_limit_api=1)
    client = app.test_client()
    codes = [client.post("/login/" + "t" * 20 + "/test", data={"user": "x"},
                         headers={"Accept": "application/json"}).status_code for _ in range(3)]
    assert codes[:2] != [429, 429] and codes[2] == 429
    first = client.get("/api/v1/liveness/sessions/abc")
    assert first.status_code != 429
    second = client.get("/api/v1/liveness/sessions/abc")
    assert second.status_code == 429 and second.get_json()["error"] == "too_many_requests"
    # Pages that are not rate limited stay reachable.
    assert client.get("/.well-known/openid-configuration").status_code == 200


def test_without_the_store_login_fails_closed_and_the_token_endpoint_stays_open(make_app):
    app = make_app(redis_url=DEAD_REDIS, rate_limit_login=5, rate_limit_token=5, rate_limit_api=5)
    client = app.test_client()
    login = client.post("/login/" + "t" * 20 + "/test", data={"user": "x"},
                        headers={"Accept": "application/json"})
    assert login.status_code == 503
    assert login.get_json()["error"] == "temporarily_unavailable"
    api = client.get("/api/v1/liveness/sessions/abc")
    assert api.status_code == 503 and api.get_json()["error"] == "temporarily_unavailable"
    _, headers = _cc_client(app)
    assert [_cc(client, headers).status_code for _ in range(8)] == [200] * 8


# -- document cache ----------------------------------------------------------------------------------
def test_cached_documents_are_what_the_app_serves(app, client):
    first = client.get("/jwks.json")
    second = client.get("/jwks.json")
    assert first.data == second.data
    drop = {"X-Request-Id", "Date"}
    assert {k: v for k, v in first.headers.items() if k not in drop} == \
        {k: v for k, v in second.headers.items() if k not in drop}
    disc = client.get("/.well-known/openid-configuration")
    assert disc.get_json()["jwks_uri"].endswith("/jwks.json")
    assert client.head("/jwks.json").status_code == 200
    assert client.post("/jwks.json").status_code == 405


def test_a_rotation_shows_in_the_cached_jwks_at_once(app, client):
    before = {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}
    new = app.extensions["idp"].keyring.rotate(("RS256",), activate_in=0)
    after = {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}
    assert set(new) <= after and before <= after


# -- serving ---------------------------------------------------------------------------------------------
def test_gunicorn_options():
    opts = gunicorn_options(host="0.0.0.0", port=8000, workers=3, threads=8)
    assert opts["worker_class"] == "gthread" and opts["bind"] == "0.0.0.0:8000"
    assert opts["preload_app"] is False and callable(opts["child_exit"])
    assert gunicorn_options(host="::", port=80, workers=1, threads=1)["worker_class"] == "sync"
    assert gunicorn_options(host="::", port=80, workers=1, threads=1)["bind"] == "[::]:80"
    assert gunicorn_options(host="h", port=1, workers=1, threads=4,
                            worker_class="sync")["worker_class"] == "sync"
