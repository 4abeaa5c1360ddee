"""Many nodes on one PostgreSQL and one Redis (DESIGN section 10): real gunicorn processes.

Three OP nodes share the database, Redis, the keys folder, the secret and the issuer, as
replicas behind a load balancer do.  Each step of a flow goes to a different node.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .conftest import init_cluster, node_env
from .httprp import Browser, HttpRP, jwt_header
from .services import Node, cli, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(scope="module")
def cluster(workdir, database_url, redis_server):
    env = node_env(workdir, database_url, redis_server.url)
    app = init_cluster(env, workdir)
    nodes = [Node("a", env, workdir, workers=2), Node("b", env, workdir), Node("c", env, workdir)]
    try:
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait_ready()
        yield {"env": env, "app": app, "nodes": nodes, "workdir": workdir}
    finally:
        for node in nodes:
            node.stop(graceful=False)
        app.extensions["idp"].db.dispose()


@pytest.fixture
def rp(cluster):
    state = cluster["app"].extensions["idp"]
    client, secret = state.clients.create({
        "client_name": f"cluster rp {time.monotonic_ns()}", "redirect_uris": ["https://rp.example.org/cb"],
        "scope": "openid profile offline_access liveness",
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "post_logout_redirect_uris": ["https://rp.example.org/bye"]})
    return HttpRP(client.client_id, secret, cluster["env"]["IDP_ISSUER"])


def _tokens(rp, browser, start, login_on, redeem_on, user="alice") -> dict:
    txn = rp.authorize(browser, start)
    callback = rp.finish(browser, login_on, rp.login(browser, login_on, txn, user))
    resp = rp.token(redeem_on, callback["code"])
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_a_login_started_on_one_node_finishes_on_another(cluster, rp):
    a, b, c = cluster["nodes"]
    browser = Browser(rp.issuer)
    tokens = _tokens(rp, browser, a, b, c)
    assert {"access_token", "id_token", "refresh_token"} <= set(tokens)
    # Any node verifies what another issued, and the refresh works on a third.
    assert rp.introspect(a, tokens["access_token"])["active"] is True
    refreshed = rp.refresh(b, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert rp.introspect(c, refreshed.json()["refresh_token"])["active"] is True
    # The SSO session is shared: a second authorization on node C needs no login.
    resp = browser.get(c, "/authorize?" + __import__("urllib.parse").parse.urlencode({
        "response_type": "code", "client_id": rp.client_id, "redirect_uri": rp.redirect,
        "scope": "openid profile offline_access", "code_challenge": "x" * 43,
        "code_challenge_method": "S256"}))
    assert resp.status_code == 302 and resp.headers["Location"].startswith(rp.redirect)
    assert "code=" in resp.headers["Location"]


def test_key_rotation_shows_on_every_node_within_seconds(cluster, rp):
    nodes = cluster["nodes"]
    before = {jwt_header(rp.client_credentials(n, "liveness").json()["access_token"])["kid"]
              for n in nodes}
    assert len(before) == 1
    done = cli(cluster["env"], "keys", "rotate", "--alg", "RS256", "--activate-in", "0")
    assert done.returncode == 0, done.stderr

    def new_kid_everywhere():
        kids = []
        for n in nodes:
            token = rp.client_credentials(n, "liveness").json()["access_token"]
            kids.append(jwt_header(token)["kid"])
        return kids[0] not in before and len(set(kids)) == 1 and kids[0]

    new = wait_until(new_kid_everywhere, 5.0, 0.05, "every node to sign with the new key")

    def published_everywhere():
        # Each node runs several workers, each with its own key-ring cache window: a JWKS
        # request can reach a worker that has not reloaded yet (with --activate-in 0 only;
        # the default publish delay publishes a key long before it signs).
        return all({new} | before <= {k["kid"] for k in requests.get(
            n.url + "/jwks.json", timeout=5).json()["keys"]} for n in nodes)

    # the old key stays published for its tokens, the new one on every node
    wait_until(published_everywhere, 5.0, 0.05, "every node to publish the old and new keys")


def test_revocation_and_logout_on_one_node_hold_on_the_others(cluster, rp):
    a, b, c = cluster["nodes"]
    browser = Browser(rp.issuer)
    first = _tokens(rp, browser, a, a, a, user="bob")
    # Revoke an access token on A: B and C see it inactive at once.
    assert rp.revoke(a, first["access_token"]).status_code == 200
    assert rp.introspect(b, first["access_token"])["active"] is False
    assert rp.introspect(c, first["access_token"])["active"] is False
    # Revoke a refresh token on B: its grant ends everywhere.
    second = _tokens(rp, browser, b, b, b, user="bob")
    assert rp.revoke(b, second["refresh_token"]).status_code == 200
    assert rp.introspect(c, second["refresh_token"])["active"] is False
    assert rp.introspect(a, second["access_token"])["active"] is False
    assert rp.refresh(a, second["refresh_token"]).status_code == 400
    # Log out on C (RP-initiated, with id_token_hint): the session's tokens die on A and B.
    third = _tokens(rp, browser, c, c, c, user="bob")
    assert rp.introspect(a, third["access_token"])["active"] is True
    out = browser.get(c, "/end-session", params={"id_token_hint": third["id_token"],
                                                 "post_logout_redirect_uri": "https://rp.example.org/bye"})
    assert out.status_code == 302, out.text[:300]
    for node in (a, b):
        assert rp.introspect(node, third["access_token"])["active"] is False
    # offline_access grants survive logout by design; a plain one does not.
    userinfo = requests.get(b.url + "/userinfo", timeout=5,
                            headers={"Authorization": "Bearer " + third["access_token"]})
    assert userinfo.status_code == 401


def test_two_nodes_redeeming_one_code_exactly_one_wins(cluster, rp):
    a, b, c = cluster["nodes"]
    browser = Browser(rp.issuer)
    for _ in range(3):
        callback = rp.code(browser, a, user="carol")
        barrier = threading.Barrier(2)

        def redeem(node):
            barrier.wait()
            return rp.token(node, callback["code"])

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(redeem, (b, c)))
        statuses = sorted(r.status_code for r in results)
        assert statuses == [200, 400], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 400)
        assert loser.json()["error"] == "invalid_grant"


def test_one_refresh_token_used_twice_at_once_exactly_one_wins(cluster, rp):
    a, b, c = cluster["nodes"]
    browser = Browser(rp.issuer)
    tokens = _tokens(rp, browser, a, a, a, user="dave")
    barrier = threading.Barrier(2)

    def use(node):
        barrier.wait()
        return rp.refresh(node, tokens["refresh_token"])

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(use, (b, c)))
    assert sorted(r.status_code for r in results) == [200, 400], [r.text for r in results]


def test_metrics_aggregate_the_workers_of_a_node(cluster, rp):
    a = cluster["nodes"][0]  # two gunicorn workers
    _tokens(rp, Browser(rp.issuer), a, a, a, user="frank")   # a login on this node, whatever ran before
    for _ in range(20):
        assert rp.client_credentials(a, "liveness").status_code == 200
    text = requests.get(a.url + "/metrics", timeout=5).text
    issued = [line for line in text.splitlines()
              if line.startswith('idp_tokens_issued_total{grant_type="client_credentials"}')]
    assert issued and float(issued[0].split()[-1]) >= 20
    assert 'idp_logins_total{method="test",outcome="success"}' in text


def test_stopping_a_node_mid_flow_loses_nothing(cluster, rp):
    env, workdir = cluster["env"], cluster["workdir"]
    a, b, c = cluster["nodes"]
    d = Node("d", env, workdir).start().wait_ready()
    try:
        browser = Browser(rp.issuer)
        earlier = _tokens(rp, browser, d, d, d, user="erin")
        txn = rp.authorize(browser, d)            # the flow starts on D ...
        d.stop(graceful=True)                      # ... D goes away (SIGTERM) ...
        assert not d.running
        callback = rp.finish(browser, b, rp.login(browser, b, txn, "erin"))  # ... B logs in
        resp = rp.token(c, callback["code"])      # ... C redeems the code
        assert resp.status_code == 200, resp.text
        # What D issued still works on the others.
        assert rp.introspect(b, earlier["access_token"])["active"] is True
        assert rp.refresh(c, earlier["refresh_token"]).status_code == 200
    finally:
        d.stop(graceful=False)
