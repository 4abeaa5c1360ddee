"""Faults under load (DESIGN section 10): Redis and PostgreSQL go away and come back.

The nodes talk to a private redis-server (stopped and started by the test) and to
PostgreSQL through a TCP proxy the test can cut.  While a dependency is gone, requests that
need it fail closed with 503 and a JSON error (never a 500, never a hang); requests that do
not need it go on; nothing durable is lost; service resumes by itself.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy.engine import make_url

from .conftest import init_cluster, node_env
from .httprp import Browser, HttpRP
from .services import Node, TcpProxy, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
MAX_LATENCY = 4.0  # seconds: a dead dependency costs a request its timeouts, not a hang


@pytest.fixture(scope="module")
def pg_proxy(database_url):
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture(scope="module")
def nodes(workdir, database_url, redis_server, pg_proxy):
    proxied = make_url(database_url).set(host="127.0.0.1", port=pg_proxy.port,
                                         query={"connect_timeout": "2"})
    env = node_env(workdir, proxied.render_as_string(hide_password=False), redis_server.url,
                   rate_limit_token=100000, rate_limit_login=100000)
    app = init_cluster(dict(env, IDP_DATABASE_URL=database_url), workdir)
    pair = [Node("f1", env, workdir), Node("f2", env, workdir)]
    try:
        for node in pair:
            node.start()
        for node in pair:
            node.wait_ready()
        yield {"env": env, "app": app, "nodes": pair}
    finally:
        for node in pair:
            node.stop(graceful=False)
        app.extensions["idp"].db.dispose()


@pytest.fixture
def rp(nodes):
    state = nodes["app"].extensions["idp"]
    client, secret = state.clients.create({
        "client_name": f"fault rp {time.monotonic_ns()}", "redirect_uris": ["https://rp.example.org/cb"],
        "scope": "openid profile offline_access liveness",
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"]})
    return HttpRP(client.client_id, secret, nodes["env"]["IDP_ISSUER"])


def _tokens(rp, node) -> dict:
    browser = Browser(rp.issuer)
    resp = rp.token(node, rp.code(browser, node)["code"])
    assert resp.status_code == 200, resp.text
    return resp.json()


class Load:
    """A few threads sending a mix of requests to the nodes until stopped (bounded)."""

    def __init__(self, rp, nodes, steps, threads=4, max_seconds=30):
        self.rp, self.nodes, self.steps = rp, nodes, steps
        self.results: list[tuple[float, str, int, str, float]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                         for i in range(threads)]
        self.deadline = time.monotonic() + max_seconds

    def _run(self, index):
        i = index
        while not self._stop.is_set() and time.monotonic() < self.deadline:
            name, call = self.steps[i % len(self.steps)]
            node = self.nodes[i % len(self.nodes)]
            i += 1
            started = time.monotonic()
            try:
                resp = call(node)
                status, error = resp.status_code, _error_of(resp)
            except requests.RequestException as exc:
                status, error = -1, type(exc).__name__
            with self._lock:
                self.results.append((started, name, status, error, time.monotonic() - started))
            time.sleep(0.01)

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(15)

    def between(self, start, end):
        """Requests that started and finished inside [start, end): one still waiting when
        the service came back may rightly succeed."""
        return [r for r in self.results if start <= r[0] and r[0] + r[4] < end]


def _error_of(resp) -> str:
    if resp.status_code < 400:
        return ""
    try:
        return resp.json().get("error", "?")
    except ValueError:
        return "not-json"


def _assert_failed_closed(results, store_steps):
    """Every answer is a success or a 503 with a JSON error; nothing hangs or crashes."""
    assert results
    for started, name, status, error, seconds in results:
        assert status != -1, f"{name}: no answer ({error})"
        assert status < 500 or status == 503, f"{name}: HTTP {status} {error}"
        if status == 503 and name != "authorize":
            assert error == "temporarily_unavailable", (name, error)
        assert seconds < MAX_LATENCY, f"{name} took {seconds:.1f} s"


def test_redis_outage_under_load(nodes, rp, redis_server):
    pair = nodes["nodes"]
    before = _tokens(rp, pair[0])
    steps = [
        ("client_credentials", lambda n: rp.client_credentials(n, "liveness")),
        ("introspect", lambda n: requests.post(n.url + "/introspect", auth=rp.auth(), timeout=10,
                                               data={"token": before["access_token"]})),
        ("authorize", lambda n: requests.get(n.url + "/authorize", allow_redirects=False, timeout=10,
                                             params={"response_type": "code", "client_id": rp.client_id,
                                                     "redirect_uri": rp.redirect, "scope": "openid",
                                                     "code_challenge": "x" * 43,
                                                     "code_challenge_method": "S256"})),
        ("discovery", lambda n: requests.get(n.url + "/.well-known/openid-configuration", timeout=10)),
    ]
    with Load(rp, pair, steps) as load:
        time.sleep(1.0)
        down_at = time.monotonic()
        redis_server.stop()
        time.sleep(2.0)
        up_at = time.monotonic()
        redis_server.start()
        # Service resumes by itself: introspection answers again on both nodes.
        for node in pair:
            wait_until(lambda n=node: rp.introspect(n, before["access_token"]).get("active") is True,
                       10, 0.1, f"{node.name} to use Redis again")
        time.sleep(0.5)
    results = load.results
    _assert_failed_closed(results, {"introspect", "authorize"})
    outage = load.between(down_at + 0.2, up_at)
    by_step = {name: Counter(r[2] for r in outage if r[1] == name) for name, _ in steps}
    # What needs Redis failed closed ...
    assert by_step["introspect"][503] > 0 and by_step["introspect"][200] == 0, by_step
    assert by_step["authorize"][503] > 0 and by_step["authorize"][302] == 0, by_step
    # ... what does not need it went on (the token rate limiter fails open, by design).
    assert by_step["client_credentials"][200] > 0 and set(by_step["client_credentials"]) == {200}, by_step
    assert set(by_step["discovery"]) == {200}, by_step
    # Nothing durable was lost: the refresh token issued before the outage still works.
    resp = rp.refresh(pair[1], before["refresh_token"])
    assert resp.status_code == 200, resp.text
    assert _tokens(rp, pair[1])["access_token"]


def test_postgres_outage_under_load(nodes, rp, pg_proxy):
    pair = nodes["nodes"]
    before = _tokens(rp, pair[0])
    steps = [
        ("client_credentials", lambda n: rp.client_credentials(n, "liveness")),
        ("introspect_refresh", lambda n: requests.post(n.url + "/introspect", auth=rp.auth(), timeout=10,
                                                       data={"token": before["refresh_token"],
                                                             "token_type_hint": "refresh_token"})),
        ("healthz", lambda n: requests.get(n.url + "/healthz", timeout=10)),
    ]
    with Load(rp, pair, steps) as load:
        time.sleep(1.0)
        down_at = time.monotonic()
        pg_proxy.cut()
        time.sleep(3.0)
        ready = [requests.get(n.url + "/readyz", timeout=10) for n in pair]
        up_at = time.monotonic()
        pg_proxy.restore()
        for node in pair:
            wait_until(lambda n=node: rp.client_credentials(n, "liveness").status_code == 200,
                       15, 0.2, f"{node.name} to use PostgreSQL again")
            wait_until(lambda n=node: requests.get(n.url + "/readyz", timeout=10).status_code == 200,
                       15, 0.2, f"{node.name} to be ready again")
        time.sleep(0.5)
    for resp in ready:
        assert resp.status_code == 503 and "database" in resp.json()["not_ready"]
    _assert_failed_closed(load.results, set())
    outage = load.between(down_at + 1.5, up_at)  # after the 1 s client and key caches
    by_step = {name: Counter(r[2] for r in outage if r[1] == name) for name, _ in steps}
    assert by_step["introspect_refresh"][503] > 0 and by_step["introspect_refresh"][200] == 0, by_step
    assert by_step["client_credentials"][503] > 0, by_step
    assert set(by_step["healthz"]) == {200}, by_step  # the process itself is fine
    resp = rp.refresh(pair[1], before["refresh_token"])
    assert resp.status_code == 200, resp.text


def test_one_refresh_token_used_by_two_threads_exactly_one_wins(nodes, rp):
    pair = nodes["nodes"]
    for _ in range(5):
        tokens = _tokens(rp, pair[0])
        barrier = threading.Barrier(2)

        def use(node):
            barrier.wait()
            return rp.refresh(node, tokens["refresh_token"])

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(use, (pair[0], pair[0])))
        assert sorted(r.status_code for r in results) == [200, 400], [r.text for r in results]
        assert next(r for r in results if r.status_code == 400).json()["error"] == "invalid_grant"


def test_two_nodes_redeeming_one_code_exactly_one_wins(nodes, rp):
    pair = nodes["nodes"]
    browser = Browser(rp.issuer)
    for _ in range(5):
        callback = rp.code(browser, pair[0])
        barrier = threading.Barrier(2)

        def redeem(node):
            barrier.wait()
            return rp.token(node, callback["code"])

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(redeem, pair))
        assert sorted(r.status_code for r in results) == [200, 400], [r.text for r in results]
        assert next(r for r in results if r.status_code == 400).json()["error"] == "invalid_grant"


def test_a_database_failure_while_rotating_a_refresh_token_loses_nothing(make_app, monkeypatch):
    from idp.errors import DatabaseUnavailable
    from tests.oidc.rp import RP

    app = make_app()
    rp = RP(app, app.test_client())
    tokens = rp.tokens(scope="openid offline_access")
    grants = app.extensions["idp"].provider.grant_store
    real = grants.issue_refresh_token

    def fail(*args, **kwargs):
        raise DatabaseUnavailable()

    monkeypatch.setattr(grants, "issue_refresh_token", fail)
    assert rp.refresh(tokens["refresh_token"]).status_code == 503
    monkeypatch.setattr(grants, "issue_refresh_token", real)
    retry = rp.refresh(tokens["refresh_token"])  # the client retries after the outage
    assert retry.status_code == 200, retry.get_json()
