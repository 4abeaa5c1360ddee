"""Shared parts of the benchmarks: a throw-away PostgreSQL database, an OP under gunicorn,
clients, wrk runs and their parsing.  Benchmarks print numbers; they assert nothing."""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("IDP_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("IDP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
# The face models' directory (the OP's /readyz waits for them); this checkout's by default.
MODELS_DIR = os.environ.get("IDP_BENCH_MODELS_DIR", str(ROOT / "models"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def pg_database():
    """A fresh PostgreSQL database (psycopg URL), dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url
    name = f"idp_bench_{secrets.token_hex(5)}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN).set(drivername="postgresql+psycopg", database=name) \
            .render_as_string(hide_password=False)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis(url: str) -> None:
    import redis
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.flushdb()
    finally:
        client.close()


class Deployment:
    """Settings for one benchmark run: a database, optionally Redis, keys, a secret."""

    def __init__(self, workdir: Path, database_url: str, redis_url: str = ""):
        self.workdir = workdir
        self.env = {"IDP_ISSUER": "http://127.0.0.1:8000", "IDP_DATABASE_URL": database_url,
                    "IDP_SECRET_KEY": "bench-" + "s" * 48, "IDP_KEYS_DIR": str(workdir / "keys"),
                    "IDP_INSTANCE_DIR": str(workdir / "instance"),
                    "IDP_MODELS_DIR": MODELS_DIR, "IDP_DEMO": "1"}
        if redis_url:
            self.env["IDP_REDIS_URL"] = redis_url
        self._app = None

    @property
    def app(self):
        if self._app is None:
            import logging
            logging.getLogger("idp").setLevel(logging.ERROR)
            from idp import create_app
            self._app = create_app(init=True, **{k[4:].lower(): v for k, v in self.env.items()})
        return self._app

    def client(self, **meta) -> tuple[str, str]:
        state = self.app.extensions["idp"]
        base = {"client_name": "bench " + secrets.token_hex(4), "redirect_uris": [],
                "grant_types": ["client_credentials"], "scope": "liveness"}
        base.update(meta)
        client, secret = state.clients.create(base)
        return client.client_id, secret

    def close(self):
        if self._app is not None:
            self._app.extensions["idp"].db.dispose()


class Server:
    """An OP under gunicorn in its own process group (``idp serve``)."""

    def __init__(self, deployment: Deployment, *, workers=2, threads=4, worker_class=None,
                 access_log=False, server="gunicorn"):
        """``server=None``: ``idp serve``'s default server."""
        """``workers=None, threads=None``: ``idp serve``'s own defaults (no flags given)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "PROMETHEUS_"))}
        env.update(deployment.env, PYTHONPATH=str(ROOT))
        cmd = [sys.executable, "-m", "idp.cli", "serve", "--port", str(self.port)]
        if workers is not None:
            cmd += ["--workers", str(workers), "--threads", str(threads)]
        else:
            workers, threads, _ = serve_defaults()
        if worker_class:
            cmd += ["--worker-class", worker_class]
        if server:
            cmd += ["--server", server]
        self.server = server or serve_defaults()[2]
        if not access_log:
            cmd.append("--no-access-log")
        self.log = tempfile.NamedTemporaryFile(prefix="idp-bench-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.workers = workers
        kind = "granian" if self.server == "granian" else \
            worker_class or ("gthread" if threads > 1 else "sync")
        self.describe = f"{kind} {workers}x{threads}"

    def wait_ready(self, timeout=60) -> "Server":
        """Wait for ``/readyz``, then for every worker to be in its request loop.

        ``/readyz`` answers as soon as the first worker has loaded the app.  Load started at
        that moment opens all its keep-alive connections on that worker (the others are still
        importing), and a gthread worker keeps them: measured with ``mix_bench.py``, gthread 2x4,
        one worker at 100 % CPU and the other idle, 490-570 instead of 670-840 requests/s.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited:\n" + Path(self.log.name).read_text()[-3000:])
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        if self.server == "gunicorn":
                            self._wait_workers_booted(deadline)
                        else:  # no heartbeat files: give the other workers time to boot
                            time.sleep(3)
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server not ready:\n" + Path(self.log.name).read_text()[-3000:])

    def _wait_workers_booted(self, deadline: float) -> None:
        """Until every worker has touched its heartbeat file.

        Each gunicorn worker holds an unlinked ``wgunicorn-*`` file whose mtime its request loop
        sets to ``time.monotonic()`` on every turn (``WorkerTmp.notify``), after the app is
        loaded and the listening socket registered; until then the mtime is the file's
        creation time (wall clock).
        """
        while time.monotonic() < deadline:
            pids = list(self.worker_cpu())
            if len(pids) >= self.workers and all(_heartbeat_seen(pid) for pid in pids):
                return
            time.sleep(0.1)

    def worker_cpu(self) -> dict[int, float]:
        """CPU seconds used so far by each worker (pid -> seconds)."""
        return {pid: cpu for pid, (ppid, cpu) in _processes().items() if ppid == self.proc.pid}

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the server's processes (master and workers)."""
        return group_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        stop_group(self.proc, grace=20, files=(self.log.name,))

    def __enter__(self):
        return self.wait_ready()

    def __exit__(self, *exc):
        self.stop()


def stop_group(proc: subprocess.Popen, *, grace: float, files=()) -> None:
    """Stop a server started with ``start_new_session=True``: SIGTERM to its process group,
    SIGKILL after ``grace`` seconds; then remove its temporary ``files``."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    for path in files:
        with contextlib.suppress(OSError):
            os.unlink(path)


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds used so far by the live processes of process group ``pgid``."""
    return sum(cpu for pgrp, cpu in _processes(group=True).values() if pgrp == pgid)


def serve_defaults() -> tuple[int, int, str]:
    """The worker processes, threads and server ``idp serve`` uses when given none."""
    from idp.cli import serve
    params = {p.name: p.default for p in serve.params}
    return params["workers"], params["threads"], params["server_kind"]


def _heartbeat_seen(pid: int) -> bool:
    """Whether gunicorn worker ``pid`` has been through its request loop (see wait_ready)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if "wgunicorn-" in os.readlink(f"/proc/{pid}/fd/{fd}"):
                # notify() writes time.monotonic() (seconds since boot), far below the wall clock
                return os.stat(f"/proc/{pid}/fd/{fd}").st_mtime < time.time() - 1e8
        except OSError:
            continue
    return False


def _processes(group: bool = False) -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, or process group id with ``group``; user + system CPU seconds)."""
    found = {}
    tick = os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(pid)] = (int(fields[2] if group else fields[1]),
                           (int(fields[11]) + int(fields[12])) / tick)
    return found


# -- wrk ---------------------------------------------------------------------------------------
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url: str, *, seconds=10, connections=16, threads=1, script=None, env=None) -> dict:
    """Run wrk; return requests/s, the requests and the seconds they took, latency
    percentiles (ms) and error counts."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
           "--timeout", "5s"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 60,
                         env={**os.environ, **(env or {})}).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
              "requests": int(re.search(r"(\d+) requests in", out).group(1)),
              "elapsed": _ms(re.search(r"requests in ([\d.]+(?:us|ms|s|m)),", out).group(1)) / 1000,
              "non2xx": int((re.search(r"Non-2xx or 3xx responses: (\d+)", out) or [0, 0])[1]),
              "socket_errors": 0, "raw": out}
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors:
        result["socket_errors"] = sum(int(x) for x in errors.groups())
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+(?:us|ms|s|m))", out)
        result[f"p{pct}"] = _ms(m.group(1)) if m else None
    return result


def token_script(workdir: Path, client_id: str, secret: str, scope: str = "",
                 name: str = "client_credentials") -> Path:
    """A wrk Lua script posting the client-credentials grant (client_secret_basic)."""
    import base64
    from urllib.parse import quote
    basic = base64.b64encode(f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()).decode()
    body = "grant_type=client_credentials" + (f"&scope={quote(scope)}" if scope else "")
    path = workdir / f"{name}.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        f'wrk.headers["Authorization"] = "Basic {basic}"\n'
        f'wrk.body = "{body}"\n')
    return path


def print_table(title: str, rows: list[dict], columns: list[tuple[str, str]]) -> None:
    print(f"\n{title}")
    widths = [max(len(header), *(len(_fmt(r.get(key))) for r in rows)) for key, header in columns]
    print("  ".join(h.ljust(w) for (_, h), w in zip(columns, widths)))
    for r in rows:
        print("  ".join(_fmt(r.get(k)).ljust(w) for (k, _), w in zip(columns, widths)))
    sys.stdout.flush()


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if value >= 100 else f"{value:.2f}"
    return str(value)


def machine() -> str:
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} CPUs, load average {load:.2f} at start, Python {sys.version.split()[0]}"


def dump_json(path: Path | None, data) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2))
