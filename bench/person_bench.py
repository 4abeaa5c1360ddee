"""Issues 4 and 16: full natural-person logins on clips against ``idp serve`` (gunicorn).

One login is what a browser and its service platform do: ``GET /authorize`` -> ``GET
/login/{txn}/person`` (page, CSRF) -> ``POST /login/{txn}/person`` (ID number + name) -> the
capture's time passes (the server refuses a clip longer than the time since its session
started) -> ``POST .../frames`` (a genuine clip as the camera page sends it: a timestamped
JPEG burst of a real person's video, ~15 frames/s, 480 px) -> the redirect with a code ->
``POST /token`` (code + PKCE, client_secret_basic).  Each login uses a fresh cookie jar, so no
SSO session short-cuts it; consent is given once per person in the warm-up.

A clip can be sent only once (the server refuses replays, perceptual ones included): the
benchmark cycles through several windows of the shared videos and, before each login,
deletes the replay index from the short-lived store it owns (nothing else uses it).

Targets (issue 16): a clip decided in <= 1.5 s wall p95 (the ``frames`` step) and <= 400 ms
of CPU median; the in-process section measures decode + ``check_clip`` alone on one thread.

    python bench/person_bench.py [--logins 120] [--concurrency 8] [--configs sync:2x1,gthread:2x2]
                                 [--sqlite] [--redis] [--decisions 40] [--json out.json]

Runs on PostgreSQL (a throw-away database) unless --sqlite.  Prints numbers; asserts nothing.
Besides the measured rate it prints the CPU each login cost the OP (its gunicorn process
group), the databases and this client, and the rate two otherwise idle cores could carry at
that cost: on a shared machine the measured rate depends on what else runs.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import itertools
import json
import os
import re
import secrets
import statistics
import struct
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (Deployment, Server, dump_json, flush_redis,  # noqa: E402
                          machine, pg_database, print_table)
from tests.oidc.rp import pkce_pair  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REDIRECT = "https://platform.example.org/cb"
STEPS = ("authorize", "page", "start", "frames", "token")
# Windows of the shared videos (name, start s) that the face engine counts as genuine (real
# people turning, the guided movement; liveness.evaluate.WINDOWS), each also mirrored: a
# mirrored capture of a real head is another genuine capture, not a replay of the first.
WINDOWS = [("lp_d3.mp4", 8.0), ("lp_d6.mp4", 27.0)]
CLIP_SECONDS = 4.0
# A Redis database of its own: other benchmarks flush theirs.
REDIS_URL = os.environ.get("IDP_PERSON_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


class Clips:
    """Genuine clips as the camera page sends them, one bench person each.  A clip is sent by
    one login at a time (its lock is held from clearing the replay index to the answer), so
    no upload is ever the replay of another in flight."""

    def __init__(self):
        import cv2
        from tests.person import faces
        self.clips = []
        for name, start in WINDOWS:
            frames = faces.video_frames(name, start, CLIP_SECONDS)
            for mirror in (False, True):
                shown = [(t, cv2.flip(img, 1) if mirror else img) for t, img in frames]
                self.clips.append((faces.burst(shown), faces.jpeg(shown[0][1], 95)))
        self.locks = [threading.Lock() for _ in self.clips]

    def __len__(self) -> int:
        return len(self.clips)

    def clip(self, index: int) -> tuple[list[bytes], list[float]]:
        return self.clips[index % len(self.clips)][0]

    def lock(self, index: int) -> threading.Lock:
        return self.locks[index % len(self.clips)]


class ReplayIndex:
    """Deletes the replay index (``seen:`` keys) from the benchmark's own short-lived store."""

    def __init__(self, database_url: str, redis_url: str):
        self.redis_url, self.database_url = redis_url, database_url
        self._engine = None

    def forget(self) -> None:
        if self.redis_url:
            import redis
            client = redis.Redis.from_url(self.redis_url)
            keys = list(client.scan_iter(match="*seen:*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()
            return
        import sqlalchemy as sa
        if self._engine is None:
            self._engine = sa.create_engine(self.database_url)
        with self._engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM ephemeral WHERE key LIKE '%seen:%'"))


def setup(deployment: Deployment, clips: Clips) -> tuple[dict, list[tuple[str, str]]]:
    from idp.idnumber import check_char
    from idp.registry.base import Enrolment
    state = deployment.app.extensions["idp"]
    engine = state.services["liveness"]
    people, rows = [], []
    for i, (_, reference) in enumerate(clips.clips):
        body = f"11010519800{1 + i % 9}1{i % 10}{i:03d}"[:17]
        number = body + check_char(body)
        people.append((number, f"测试{i:03d}"))
        rows.append(Enrolment(number, people[-1][1], engine.make_template(reference), "bench"))
    state.services["registry"].enrol_many(rows)
    client, secret = state.clients.create({
        "client_name": "bench platform " + secrets.token_hex(3), "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code"], "scope": "openid profile"})
    return {"client_id": client.client_id, "secret": secret}, people


class Browser:
    """A lean client for one login: keep-alive when the server allows it, its own cookies.

    ``requests`` cost this load generator ~6 ms of CPU per login on the same two cores as the
    OP; plain ``http.client`` costs about a third of that."""

    def __init__(self, base: str):
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            self.conn.close()  # the server closed an idle keep-alive connection: once more
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        data = resp.read()
        for value in resp.headers.get_all("Set-Cookie") or ():
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if resp.will_close:
            self.conn.close()
        return resp.status, resp.headers, data

    def close(self):
        self.conn.close()


def _multipart(fields: dict, files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f'{value}\r\n'.encode())
    for name, filename, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
                     + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Refused(Exception):
    """The face engine refused a genuine clip (a false rejection): the decision still counts
    for the decision times; the login does not count."""

    def __init__(self, times: dict):
        super().__init__("refused")
        self.times = times


def login(base: str, issuer: str, rp: dict, person: tuple[str, str], clips: Clips, index: int,
          replays) -> dict:
    browser = Browser(base)
    try:
        return _login(browser, issuer, rp, person, clips, index, replays)
    finally:
        browser.close()


def _login(http: Browser, issuer: str, rp: dict, person: tuple[str, str], clips: Clips,
           index: int, replays: "ReplayIndex") -> dict:
    times = {}
    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": rp["client_id"], "redirect_uri": REDIRECT,
              "scope": "openid profile", "state": secrets.token_urlsafe(8),
              "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
              "code_challenge_method": "S256"}

    def timed(step, method, path, body=None, headers=None, expect=200):
        t = time.perf_counter()
        status, head, data = http.request(method, path, body, headers)
        times[step] = times.get(step, 0.0) + (time.perf_counter() - t) * 1000
        if step == "frames" and status == 403:
            raise Refused(times)
        if status != expect:
            raise RuntimeError(f"{step}: HTTP {status} {data[:200]!r}")
        return head, data

    head, _ = timed("authorize", "GET", f"/authorize?{urlencode(params)}", expect=302)
    txn = head["Location"].rsplit("/login/", 1)[1]
    _, page = timed("page", "GET", f"/login/{txn}/person")
    csrf = re.search(rb'name="csrf-token" content="([^"]+)"', page).group(1).decode()
    _, data = timed("start", "POST", f"/login/{txn}/person", json.dumps(
        {"id_number": person[0], "name": person[1], "consent": True}).encode(),
        {"X-CSRF-Token": csrf, "Content-Type": "application/json"})
    ch = json.loads(data)
    images, times_ms = clips.clip(index)
    started = time.perf_counter()
    body, ctype = _multipart({"session": ch["session"], "nonce": ch["nonce"],
                              "times": json.dumps(times_ms)},
                             [("frames", f"f{i}.jpg", d) for i, d in enumerate(images)])
    # the user records for the clip's duration after the challenge arrived
    time.sleep(max(0.0, (times_ms[-1] - times_ms[0]) / 1000 + 0.1 - (time.perf_counter() - started)))
    with clips.lock(index):
        replays.forget()
        _, data = timed("frames", "POST", f"/login/{txn}/person/frames", body,
                        {"X-CSRF-Token": csrf, "Content-Type": ctype})
    done = json.loads(data)
    if not done.get("ok"):
        raise RuntimeError(f"login failed: {done}")
    location = done["redirect"].replace(issuer, "")
    if "/consent" in location:  # first login of a person (the warm-up)
        _, page = http.request("GET", location)[1:]
        token = re.search(rb'name="csrf-token" content="([^"]+)"', page).group(1).decode()
        _, head, _ = http.request("POST", location, urlencode(
            {"decision": "allow", "csrf_token": token}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"})
        location = head["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    basic = base64.b64encode(f"{rp['client_id']}:{rp['secret']}".encode()).decode()
    _, data = timed("token", "POST", "/token", urlencode({
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier}).encode(),
        {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
    if "id_token" not in json.loads(data):
        raise RuntimeError(f"token request failed: {data[:200]!r}")
    return times


def measure(server: Server, issuer: str, rp: dict, people, clips: Clips, replays: "ReplayIndex",
            logins: int, concurrency: int) -> dict:
    for i, person in enumerate(people):  # warm-up: consent once per person, models loaded
        for _ in range(5):
            try:
                login(server.url, issuer, rp, person, clips, i, replays)
                break
            except Refused:
                continue
    order = list(range(logins))
    results, errors, refused = [], [], []

    def one(i):
        t = time.perf_counter()
        try:
            times = login(server.url, issuer, rp, people[i % len(people)], clips, i, replays)
        except Refused as exc:
            refused.append(exc.times["frames"])
            return
        except Exception as exc:  # counted and reported, the run goes on
            errors.append(repr(exc)[:200])
            return
        times["total"] = (time.perf_counter() - t) * 1000
        results.append(times)

    group = server.proc.pid  # the server runs in its own process group
    before = (_busy_seconds(), _own_seconds(), _group_seconds(group), _store_seconds())
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, order))
    elapsed = time.perf_counter() - start
    after = (_busy_seconds(), _own_seconds(), _group_seconds(group), _store_seconds())
    busy, mine, served, stores = (b - a for a, b in zip(before, after))
    decided = sorted([r["frames"] for r in results] + refused)
    row = {"server": server.describe, "conc": concurrency, "logins": len(results),
           "refused": len(refused), "errors": len(errors), "rate": len(results) / elapsed,
           "p50": decided[len(decided) // 2] if decided else None,
           "p95": decided[int(len(decided) * 0.95)] if decided else None}
    for step in STEPS:
        row[step] = statistics.mean(r[step] for r in results) if results else None
    if results:  # where the CPU went, per login (ms)
        n = len(results)
        row.update(cpu=busy * 1000 / n, server_cpu=served * 1000 / n,
                   store_cpu=stores * 1000 / n, client_cpu=mine * 1000 / n)
        # What two otherwise idle cores could carry: the OP, its databases and the client.
        own = row["server_cpu"] + row["store_cpu"] + row["client_cpu"]
        row["capacity"] = 2000 / own if own else None
    row["target"] = ("met" if (row["p95"] or 1e9) <= 1500 else "MISSED") + " p95<=1.5s"
    if errors:
        print("first errors:", *errors[:3], sep="\n  ")
    return row


def _busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _proc_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _processes():
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    text = fh.read()
            except OSError:
                continue
            comm = text[text.index("(") + 1:text.rindex(")")]
            fields = text.rsplit(")", 1)[1].split()
            yield int(name), comm, int(fields[2])  # pid, command, process group


def _group_seconds(group: int) -> float:
    """CPU seconds of the server's processes (gunicorn master and workers)."""
    return sum(_proc_seconds(pid) for pid, _, pgrp in _processes() if pgrp == group)


def _store_seconds() -> float:
    """CPU seconds of PostgreSQL and Redis (every user of them on this machine)."""
    return sum(_proc_seconds(pid) for pid, comm, _ in _processes()
               if comm.startswith(("postgres", "redis-server")))


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system


def decisions(clips: Clips, count: int) -> dict:
    """Decode + ``check_clip`` in this process on one thread: the clip decision alone."""
    from idp.person.clipupload import ClipUpload, UploadLimits
    from idp.person.engine import FaceEngine
    from liveness.replay import MemorySeenFrames
    engine = FaceEngine(ROOT / "models", threads=1)
    engine.warm_up()
    templates = [engine.make_template(reference) for _, reference in clips.clips]
    walls, cpus, reasons = [], [], {}
    for i in range(count + 2):
        images, times_ms = clips.clip(i)
        upload = ClipUpload("burst", frames=list(zip(times_ms, images)))
        wall, cpu = time.perf_counter(), time.process_time()
        clip = engine.decode(upload, UploadLimits())
        result = engine.check_clip(clip, actions=engine.guided_actions(),
                                   reference=templates[i % len(templates)],
                                   seen=MemorySeenFrames(), session_id=f"bench{i}")
        if i >= 2:  # two warm-up decisions
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
            key = "live" if result.live else result.reason
            reasons[key] = reasons.get(key, 0) + 1
    walls.sort()
    # (every decision had a fresh replay index: the same clips come round again)
    return {"decisions": count, "wall_p50": walls[len(walls) // 2],
            "wall_p95": walls[min(len(walls) - 1, int(len(walls) * 0.95))],
            "cpu_p50": statistics.median(cpus), "frames": len(clips.clip(0)[0]),
            "outcomes": ", ".join(f"{k}: {v}" for k, v in sorted(reasons.items())),
            "target": ("met" if walls[min(len(walls) - 1, int(len(walls) * 0.95))] <= 1500
                       and statistics.median(cpus) <= 400 else "MISSED")
            + " p95<=1500, cpu<=400"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logins", type=int, default=120)
    parser.add_argument("--concurrency", type=int, default=8,
                        help="users at once; each spends the clip's ~3.5 s recording it")
    parser.add_argument("--configs", default="sync:2x1,gthread:2x2",
                        help="worker configurations, e.g. gthread:2x4,sync:2x1,gthread:3x3")
    parser.add_argument("--decisions", type=int, default=40,
                        help="clip decisions measured in-process first (0: skip)")
    parser.add_argument("--sqlite", action="store_true", help="embedded SQLite instead of PostgreSQL")
    parser.add_argument("--redis", action="store_true", help=f"short-lived state in {REDIS_URL}")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    print(f"person login benchmark: {machine()}")
    clips = Clips()
    if args.decisions:
        print_table(f"clip decision in-process, one thread ({len(clips)} genuine clips of "
                    f"{CLIP_SECONDS} s; ms)", [decisions(clips, args.decisions)],
                    [("decisions", "clips"), ("frames", "frames/clip"), ("wall_p50", "wall p50"),
                     ("wall_p95", "wall p95"), ("cpu_p50", "cpu median"),
                     ("outcomes", "outcomes"), ("target", "target")])
    rows = []
    with tempfile.TemporaryDirectory(prefix="idp-person-bench-") as tmp:
        workdir = Path(tmp)
        if args.sqlite:
            database = _nullcontext(f"sqlite:///{workdir / 'idp.sqlite3'}")
        else:
            database = pg_database()
        with database as url:
            if args.redis:
                flush_redis(REDIS_URL)
            deployment = Deployment(workdir, url, REDIS_URL if args.redis else "")
            deployment.env.update({"IDP_ATTEMPT_LIMIT": "1000000", "IDP_LIVENESS_THREADS": "1"})
            rp, people = setup(deployment, clips)
            replays = ReplayIndex(url, REDIS_URL if args.redis else "")
            issuer = deployment.env["IDP_ISSUER"]
            deployment.close()
            for item in filter(None, args.configs.split(",")):
                kind, _, shape = item.partition(":")
                workers, _, threads = shape.partition("x")
                with Server(deployment, workers=int(workers), threads=int(threads),
                            worker_class=kind) as server:
                    rows.append(measure(server, issuer, rp, people, clips, replays,
                                        args.logins, args.concurrency))
    if not rows:
        return
    store = "Redis" if args.redis else "SQL"
    db = "SQLite" if args.sqlite else "PostgreSQL"
    print_table(f"full person logins ({db}, short-lived store: {store}; step means in ms; "
                "p50/p95: the frames step, upload + clip decision)", rows,
                [("server", "server"), ("conc", "conc"), ("logins", "logins"),
                 ("refused", "refused"), ("errors", "errors"), ("rate", "logins/s"),
                 ("p50", "p50 ms"),
                 ("p95", "p95 ms")] + [(s, s) for s in STEPS]
                + [("server_cpu", "OP cpu"), ("store_cpu", "db cpu"), ("client_cpu", "client cpu"),
                   ("cpu", "machine cpu"), ("capacity", "2-core capacity/s"),
                   ("target", "target")])
    dump_json(args.json, rows)


class _nullcontext:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main()
