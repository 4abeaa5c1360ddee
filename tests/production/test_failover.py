"""No single point of failure (issue 13): the state stores fail over under load.

Two OP nodes (gunicorn) use Redis through three Sentinels (a primary and two replicas) and
PostgreSQL through a libpq multi-host URL (a primary and a synchronous hot standby made
with pg_basebackup).  Under a load of logins, code redemptions (each second one replayed
on the other node), refreshes and client-credentials tokens, and while clients and registry
persons are written, the test kills the Redis primary (the Sentinels promote a replica) and
later the PostgreSQL primary (the test promotes the standby, as Patroni would).

It prints and asserts: only 2xx-4xx and 503 answers, the length of each 503 window, every
code redeemed at most once, every refresh family consistent, every token and row the OP
confirmed still there, the audit chain intact, and both nodes serving again unrestarted.
"""
from __future__ import annotations

import hashlib
import random
import struct
import threading
import time
from collections import Counter, defaultdict
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.oidc.rp import pkce_pair

from .conftest import init_cluster, node_env
from .httprp import REDIRECT, Browser, HttpRP, csrf_from
from .replicas import FAST_SYNC, PgPair, RedisSentinelSet, replicas_online
from .services import Node, RedisServer, TcpProxy, cli, wait_until

pytestmark = pytest.mark.failover
TIMEOUT = 10  # seconds per request: a hang shows up as "no answer" (-1), and fails the test


# -- the services --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def redis_set(workdir):
    servers = RedisSentinelSet(workdir / "sentinel-set")
    try:
        yield servers.start()
    finally:
        servers.stop()


@pytest.fixture(scope="module")
def pg_pair():
    pair = PgPair()
    try:
        pair.start()
        pair.execute("primary", "CREATE DATABASE idp")
        yield pair
    finally:
        pair.stop()


@pytest.fixture(scope="module")
def cluster(workdir, redis_set, pg_pair):
    env = node_env(workdir, pg_pair.url("idp"), redis_set.url,
                   rate_limit_token=100000, rate_limit_login=100000, rate_limit_api=100000)
    app = init_cluster(env, workdir)
    nodes = [Node("n1", env, workdir), Node("n2", env, workdir)]
    try:
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait_ready()
        yield {"env": env, "app": app, "nodes": nodes}
    finally:
        for node in nodes:
            node.stop(graceful=False)
        state = app.extensions["idp"]
        state.store.close()
        state.db.dispose()


# -- the load --------------------------------------------------------------------------------------
class Recorder:
    """Every request the load sent: (started, step, status, error, seconds)."""

    def __init__(self):
        self.results: list[tuple[float, str, int, str, float]] = []
        self._lock = threading.Lock()

    def __call__(self, step: str, send):
        started = time.monotonic()
        try:
            resp = send()
            status, error = resp.status_code, _error_of(resp)
        except requests.RequestException as exc:
            resp, status, error = None, -1, type(exc).__name__
        with self._lock:
            self.results.append((started, step, status, error, time.monotonic() - started))
        return resp


def _error_of(resp) -> str:
    if resp.status_code < 400:
        return ""
    try:
        return resp.json().get("error", "?")
    except ValueError:
        return "html"


class Ledger:
    """What the relying party was given, to check against what the stores kept."""

    def __init__(self):
        self.lock = threading.Lock()
        self.redemptions: dict[str, list[int]] = defaultdict(list)  # code -> statuses
        self.issued: list[str] = []  # every refresh token handed out in a 200
        self.rotated: list[str] = []  # every refresh token a 200 answer replaced
        self.families: list[list[str]] = []  # chains of refresh tokens, oldest first
        self.clients: list[str] = []  # client ids whose creation the service confirmed
        self.persons: list[str] = []  # registry keys whose enrolment was confirmed


class Load:
    """Threads running logins + redemptions, refreshes and client-credentials tokens."""

    def __init__(self, rp: HttpRP, nodes, threads: int = 4, max_seconds: float = 120):
        self.rp, self.nodes = rp, nodes
        self.record, self.ledger = Recorder(), Ledger()
        self._stop = threading.Event()
        self.deadline = time.monotonic() + max_seconds
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                         for i in range(threads)]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self, index: int) -> None:
        family: list[str] = []
        turn = index
        while not self._stop.is_set() and time.monotonic() < self.deadline:
            near, far = self.nodes[turn % 2], self.nodes[(turn + 1) % 2]
            kind = turn % 4
            turn += 1
            if kind == 0 or (kind == 1 and not family):
                family = self._login_and_redeem(near, far, replay=turn % 8 == 1) or family
            elif kind == 1:
                family = self._refresh(near, family)
            else:
                self.record("client_credentials",
                            lambda: self.rp.client_credentials(near, "liveness"))
            time.sleep(0.005)

    def _login_and_redeem(self, near, far, replay: bool) -> list[str] | None:
        found = login(self.rp, Browser(self.rp.issuer), near, self.record)
        if found is None:
            return None
        code, verifier = found
        resp = self.record("redeem", lambda: token(self.rp, far, code, verifier))
        statuses = [resp.status_code if resp is not None else -1]
        if replay:  # an attacker (or a confused client) redeems it again on the other node
            again = self.record("replay", lambda: token(self.rp, near, code, verifier))
            statuses.append(again.status_code if again is not None else -1)
        with self.ledger.lock:
            self.ledger.redemptions[code] += statuses
            if statuses[0] == 200:
                self.ledger.issued.append(resp.json()["refresh_token"])
        if statuses[0] != 200 or replay:  # a replayed code revoked its grant: start afresh
            return None
        chain = [resp.json()["refresh_token"]]
        with self.ledger.lock:
            self.ledger.families.append(chain)
        return chain

    def _refresh(self, node, chain: list[str]) -> list[str]:
        resp = self.record("refresh", lambda: self.rp.refresh(node, chain[-1]))
        if resp is None or resp.status_code == 503:
            return chain  # not confirmed: the client keeps its token and tries again later
        if resp.status_code != 200:
            return []  # the family ended (e.g. a rotation in doubt was applied): log in again
        new = resp.json()["refresh_token"]
        with self.ledger.lock:
            self.ledger.rotated.append(chain[-1])
            self.ledger.issued.append(new)
            chain.append(new)
        return chain


def login(rp: HttpRP, browser: Browser, node, record) -> tuple[str, str] | None:
    """/authorize -> test login -> (consent) -> callback on one node; (code, verifier)."""
    verifier, challenge = pkce_pair()
    query = urlencode({"response_type": "code", "client_id": rp.client_id, "redirect_uri": REDIRECT,
                       "scope": "openid profile offline_access", "state": "s", "nonce": "n",
                       "code_challenge": challenge, "code_challenge_method": "S256",
                       "prompt": "login"})
    resp = record("authorize", lambda: browser.get(node, "/authorize?" + query))
    if resp is None or resp.status_code != 302:
        return None
    txn = resp.headers["Location"].rsplit("/login/", 1)[1]
    page = record("login_page", lambda: browser.get(node, f"/login/{txn}"))
    if page is None or page.status_code != 200:
        return None
    done = record("login", lambda: browser.post(
        node, f"/login/{txn}/test", data={"user": "alice"},
        headers={"X-CSRF-Token": csrf_from(page.text), "Accept": "application/json"}))
    if done is None or done.status_code != 200:
        return None
    url = done.json()["redirect"]
    if "/consent" in url:
        page = record("consent_page", lambda: browser.get(node, url))
        if page is None or page.status_code != 200:
            return None
        resp = record("consent", lambda: browser.post(
            node, url, data={"decision": "allow", "csrf_token": csrf_from(page.text)}))
        if resp is None or resp.status_code != 302:
            return None
        url = resp.headers["Location"]
    return parse_qs(urlsplit(url).query)["code"][0], verifier


def token(rp: HttpRP, node, code: str, verifier: str):
    return requests.post(node.url + "/token", auth=rp.auth(), timeout=TIMEOUT, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier})


class Writer(threading.Thread):
    """Creates a client and enrols a registry person every 0.2 s through the test process's
    app (the admin's side); keeps what the service confirmed."""

    def __init__(self, app, ledger: Ledger):
        super().__init__(daemon=True)
        self.state, self.ledger = app.extensions["idp"], ledger
        self.registry = self.state.services.get("registry")
        self._done = threading.Event()

    def run(self) -> None:
        from idp.errors import ServiceUnavailable
        from idp.idnumber import check_char

        n = 0
        while not self._done.wait(0.2):
            n += 1
            try:
                client, _ = self.state.clients.create({
                    "client_name": f"failover client {n}", "redirect_uris": [REDIRECT],
                    "grant_types": ["client_credentials"], "scope": "liveness"})
                self.ledger.clients.append(client.client_id)
                if self.registry is not None:
                    body = f"11010519800101{n:03d}"
                    number = body + check_char(body)
                    self.registry.enrol(number, "张三", face_template(n), "test")
                    self.ledger.persons.append(self.registry.key_for(number))
            except ServiceUnavailable:
                pass  # not confirmed: not counted

    def stop(self) -> None:
        self._done.set()
        self.join(30)


def face_template(seed: int) -> bytes:
    """A unit-length 128-float template, as the face engine stores (no model needed)."""
    rng = random.Random(seed)
    values = [rng.uniform(-1, 1) for _ in range(128)]
    norm = sum(v * v for v in values) ** 0.5
    return struct.pack("<128f", *(v / norm for v in values))


# -- measuring -----------------------------------------------------------------------------------
def window(results, start: float, end: float) -> dict:
    """The 503s that ended in [start, end) (the kill and the next event): how many, and how
    long after the kill the last one ended."""
    ends = [(r[0] + r[4], r) for r in results if start <= r[0] + r[4] < end]
    failed = [(t, r) for t, r in ends if r[2] == 503]
    return {"requests": len(ends), "503": len(failed),
            "seconds": round(max((t for t, _ in failed), default=start) - start, 2),
            "by_step": dict(Counter(r[1] for _, r in failed))}


def serving(rp: HttpRP, nodes) -> bool:
    """A full login + redemption + refresh succeeds with each node in each role."""
    quiet = Recorder()
    for near, far in ((nodes[0], nodes[1]), (nodes[1], nodes[0])):
        found = login(rp, Browser(rp.issuer), near, quiet)
        if found is None:
            return False
        resp = token(rp, far, *found)
        if resp.status_code != 200 or rp.refresh(near, resp.json()["refresh_token"]).status_code != 200:
            return False
    return True


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# -- the tests -----------------------------------------------------------------------------------
def test_redis_and_postgres_primaries_die_under_load(cluster, redis_set, pg_pair):
    nodes, env = cluster["nodes"], cluster["env"]
    state = cluster["app"].extensions["idp"]
    client, secret = state.clients.create({
        "client_name": "failover rp", "redirect_uris": [REDIRECT],
        "scope": "openid profile offline_access liveness",
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"]})
    rp = HttpRP(client.client_id, secret, env["IDP_ISSUER"])
    pids = [node.proc.pid for node in nodes]
    started = time.monotonic()
    marks = {}
    with Load(rp, nodes) as load:
        writer = Writer(cluster["app"], load.ledger)
        writer.start()
        time.sleep(3)
        # 1. The Redis primary dies; the Sentinels promote a replica.
        old = redis_set.primary_port()
        marks["redis_kill"] = time.monotonic()
        redis_set.server_on(old).stop()
        wait_until(lambda: redis_set.primary_port() not in (None, old), 30, 0.1,
                   "the sentinels to promote a replica")
        marks["redis_promoted"] = time.monotonic()
        wait_until(lambda: serving(rp, nodes), 30, 0.2, "service after the Redis failover")
        marks["redis_back"] = time.monotonic()
        time.sleep(3)
        # 2. The PostgreSQL primary dies; a second later the standby is promoted.
        marks["pg_kill"] = time.monotonic()
        pg_pair.kill("primary")
        time.sleep(1)
        pg_pair.promote("standby")
        marks["pg_promoted"] = time.monotonic()
        wait_until(lambda: serving(rp, nodes), 30, 0.2, "service after the PostgreSQL failover")
        marks["pg_back"] = time.monotonic()
        time.sleep(3)
        marks["end"] = time.monotonic()
        writer.stop()
    results, ledger = load.record.results, load.ledger
    redis_window = window(results, marks["redis_kill"], marks["pg_kill"])
    pg_window = window(results, marks["pg_kill"], marks["end"] + 60)
    print(f"\nfailover load: {len(results)} requests in {marks['end'] - started:.1f} s "
          f"{dict(Counter(r[1] for r in results))}")
    print(f"statuses: {dict(Counter((r[1], r[2]) for r in results))}")
    print(f"redis: primary killed, promoted after {marks['redis_promoted'] - marks['redis_kill']:.2f} s, "
          f"503 window {redis_window}, full service after "
          f"{marks['redis_back'] - marks['redis_kill']:.2f} s")
    print(f"postgres: primary killed, standby promoted after "
          f"{marks['pg_promoted'] - marks['pg_kill']:.2f} s (1 s simulated failover manager), "
          f"503 window {pg_window}, full service after {marks['pg_back'] - marks['pg_kill']:.2f} s")
    print(f"codes {len(ledger.redemptions)}, tokens issued {len(ledger.issued)}, rotations "
          f"{len(ledger.rotated)}, clients {len(ledger.clients)}, persons {len(ledger.persons)}")

    # Only successes, client errors and 503: never another 5xx, never a hang.
    bad = [r for r in results if r[2] == -1 or (r[2] >= 500 and r[2] != 503)]
    assert not bad, bad[:10]
    assert all(r[3] in ("temporarily_unavailable", "html") for r in results if r[2] == 503)
    assert redis_window["503"] + pg_window["503"] > 0  # the failovers were seen ...
    assert sum(1 for r in results if r[0] > marks["pg_back"] and r[2] == 200) > 0  # ... and ended

    # Every code redeemed at most once (replays included).
    assert ledger.redemptions and all(s.count(200) <= 1 for s in ledger.redemptions.values())
    replays = [s for s in ledger.redemptions.values() if len(s) > 1]
    assert replays and all(s[1] != 200 for s in replays)

    # What the OP confirmed survived both failovers; every family is consistent.
    rows = {r[0]: r for r in pg_pair.execute(
        "standby", "SELECT token_hash, grant_id, used_at IS NOT NULL, revoked_at IS NOT NULL "
        f"FROM refresh_tokens WHERE client_id = '{client.client_id}'", "idp")}
    lost = [t for t in ledger.issued if _hash(t) not in rows]
    assert not lost, f"{len(lost)} issued refresh tokens lost"
    assert all(rows[_hash(t)][2] for t in ledger.rotated), "a confirmed rotation was lost"
    live = Counter(grant for _, grant, used, revoked in rows.values() if not used and not revoked)
    assert all(n == 1 for n in live.values()), "a family with two live refresh tokens"
    rotated_families = [chain for chain in ledger.families if len(chain) > 1][:10]
    for chain in rotated_families:  # a rotated token is refused (and revokes its family)
        resp = rp.refresh(nodes[0], chain[-2])
        assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant", resp.text
        assert rp.refresh(nodes[1], chain[-1]).status_code == 400

    clients = {r[0] for r in pg_pair.execute("standby", "SELECT client_id FROM clients", "idp")}
    assert set(ledger.clients) <= clients, "a confirmed client was lost"
    persons = {r[0] for r in pg_pair.execute("standby", "SELECT id_hash FROM registry_persons", "idp")}
    assert set(ledger.persons) <= persons, "a confirmed registry person was lost"

    verify = cli(env, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    print(f"audit: {verify.stdout.strip()}")

    # Back without restarting anything: same processes, one worker boot each.
    for node, pid in zip(nodes, pids):
        assert node.running and node.proc.pid == pid
        assert node.log_tail(200000).count("Booting worker") == node.workers, node.log_tail()


def test_a_take_the_replica_did_not_confirm_is_never_handed_out(workdir):
    """The attack WAIT defends against: a primary acknowledges GETDEL of a code, dies before
    its replica has the delete, the replica is promoted, and the code is redeemable again.

    The replica replicates through a proxy the test cuts, so the delete is lost for sure.
    Without write confirmation the value comes out twice; with it, the first take fails
    closed (503) and the code is handed out at most once.
    """
    import redis

    from idp.errors import StoreUnavailable
    from idp.store.redis_store import RedisStore

    outcomes = {}
    for wait in (0, 1):
        primary = RedisServer(workdir / f"attack-{wait}-primary", *FAST_SYNC)
        primary.start()
        link = TcpProxy("127.0.0.1", primary.port)
        link.start()
        replica = RedisServer(workdir / f"attack-{wait}-replica", "--replicaof", "127.0.0.1",
                              str(link.port))
        try:
            replica.start()
            replicas_online(primary, 1)
            url = f"redis://127.0.0.1:{primary.port}/0?wait_replicas={wait}&wait_timeout=300"
            store = RedisStore(url, prefix="attack:")
            store.put("code:x", {"grant": "g"}, 60)
            promoted = RedisStore(f"redis://127.0.0.1:{replica.port}/0", prefix="attack:")
            wait_until(lambda: promoted.get("code:x") is not None, 10, what="replication")
            link.cut()  # the replica stops hearing from the primary
            try:
                first = store.take("code:x")
            except StoreUnavailable:
                first = "503"
            primary.stop()  # ... and the primary dies; the replica is promoted
            redis.Redis(port=replica.port).replicaof("NO", "ONE")
            outcomes[wait] = (first, promoted.take("code:x"))
            store.close()
            promoted.close()
        finally:
            link.close()
            replica.stop()
            primary.stop()
    # Without WAIT: handed out by the old primary AND by the promoted replica.
    assert outcomes[0] == ({"grant": "g"}, {"grant": "g"})
    # With WAIT 1: the unconfirmed take failed closed; only the promoted copy remains.
    assert outcomes[1] == ("503", {"grant": "g"})
