"""Replicated state stores for the failover tests, started and stopped by the tests.

- ``RedisSentinelSet``: a Redis primary, replicas and three Sentinels (Debian's
  ``redis-server``; ``redis-sentinel`` or ``redis-server --sentinel``);
- ``PgPair``: a PostgreSQL 15 primary and a streaming-replication hot standby made with
  ``pg_basebackup``, synchronously replicated, run as the ``postgres`` user.

Each binds 127.0.0.1 on free ports, keeps its data under a temporary folder, and is killed
(process group) by ``stop()``; the system PostgreSQL and Redis are never touched.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from .services import RedisServer, free_port, wait_until

PG_BIN = Path(os.environ.get("IDP_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVICE = "idp"
# A replica's full sync starts at once (Redis waits 5 s for more replicas by default); any
# server may be primary after a failover.
FAST_SYNC = ("--repl-diskless-sync-delay", "0")


def _ask(port: int, *words: str, timeout: float = 0.5) -> str:
    """One inline command to a Redis or Sentinel; the raw reply ('' if it does not answer)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall((" ".join(words) + "\r\n").encode())
            return s.recv(65536).decode(errors="replace")
    except OSError:
        return ""


# -- Redis + Sentinel -------------------------------------------------------------------------
def replicas_online(primary: RedisServer, count: int) -> None:
    wait_until(lambda: _ask(primary.port, "INFO", "replication").count("state=online") == count,
               15, 0.05, "redis replicas to be online")


class Sentinel:
    def __init__(self, workdir: Path, primary_port: int, quorum: int = 2,
                 down_after_ms: int = 1000):
        self.binary = shutil.which("redis-sentinel")
        self.args = [] if self.binary else ["--sentinel"]
        self.binary = self.binary or shutil.which("redis-server")
        self.dir, self.port = workdir, free_port()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = self.dir / "sentinel.conf"  # Sentinel rewrites it: its own file
        self.config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} {quorum}\n"
            f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}\n"
            f"sentinel failover-timeout {SERVICE} 10000\n"
            f"sentinel parallel-syncs {SERVICE} 2\n")
        self.proc = None

    def start(self) -> None:
        log = open(self.dir / "sentinel.log", "ab")
        self.proc = subprocess.Popen([self.binary, str(self.config), *self.args],
                                     stdout=log, stderr=log)
        wait_until(lambda: _ask(self.port, "PING").startswith("+PONG"), 10, what="sentinel")

    def primary_port(self) -> int | None:
        reply = _ask(self.port, "SENTINEL", "get-master-addr-by-name", SERVICE)
        lines = reply.split("\r\n")
        return int(lines[4]) if len(lines) > 4 and lines[4].isdigit() else None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class RedisSentinelSet:
    """A primary, ``replicas`` replicas and three Sentinels (quorum 2)."""

    def __init__(self, workdir: Path, replicas: int = 2):
        self.primary = RedisServer(workdir / "redis-0", *FAST_SYNC)
        self.replicas = [RedisServer(workdir / f"redis-{i + 1}", *FAST_SYNC, "--replicaof",
                                     "127.0.0.1", str(self.primary.port)) for i in range(replicas)]
        self.sentinels = []
        self.workdir = workdir

    @property
    def servers(self) -> list[RedisServer]:
        return [self.primary, *self.replicas]

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def start(self) -> "RedisSentinelSet":
        for server in self.servers:
            server.start()
        replicas_online(self.primary, len(self.replicas))
        self.sentinels = [Sentinel(self.workdir / f"sentinel-{i}", self.primary.port)
                          for i in range(3)]
        for sentinel in self.sentinels:
            sentinel.start()
        # Every Sentinel knows the replicas and the other Sentinels before the test kills.
        wait_until(lambda: all(_master_field(s.port, "num-other-sentinels") == 2 and
                               _master_field(s.port, "num-slaves") == len(self.replicas)
                               for s in self.sentinels), 20, 0.2, "the sentinels to meet")
        return self

    def primary_port(self) -> int | None:
        """The primary's port as the Sentinels agree on it (None while they disagree)."""
        ports = {s.primary_port() for s in self.sentinels}
        return ports.pop() if len(ports) == 1 else None

    def server_on(self, port: int) -> RedisServer:
        return next(s for s in self.servers if s.port == port)

    def stop(self) -> None:
        for process in [*self.sentinels, *self.servers]:
            process.stop()


def _master_field(port: int, field: str) -> int:
    """A number from ``SENTINEL MASTER`` (a flat RESP array of name/value pairs)."""
    lines = _ask(port, "SENTINEL", "MASTER", SERVICE).split("\r\n")
    values = [line for line in lines if line and line[0] not in "*$"]
    for name, value in zip(values[::2], values[1::2]):
        if name == field:
            return int(value)
    return -1


# -- PostgreSQL primary + standby ----------------------------------------------------------------
class PgPair:
    """A primary and a hot standby; commits wait for the standby (synchronous replication)."""

    def __init__(self):
        for tool in ("initdb", "postgres", "pg_basebackup"):
            if not (PG_BIN / tool).exists():
                pytest.skip(f"PostgreSQL 15 binaries not found in {PG_BIN} (apt-get install "
                            "postgresql-15)")
        try:
            self.user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("no 'postgres' user to run PostgreSQL as")
        if os.geteuid() != 0 and os.geteuid() != self.user.pw_uid:
            pytest.skip("the test must run as root or postgres to start its own PostgreSQL")
        if os.geteuid() == 0 and not shutil.which("setpriv"):
            pytest.skip("setpriv (util-linux) is needed to run PostgreSQL as postgres")
        # Not pytest's tmp_path: its 0700 parents are closed to the postgres user.
        self.root = Path(tempfile.mkdtemp(prefix="idp-failover-pg-"))
        os.chmod(self.root, 0o755)
        os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        self.ports = {"primary": free_port(), "standby": free_port()}
        self.procs: dict[str, subprocess.Popen] = {}

    def _as_postgres(self, *command: str, **kwargs) -> list[str]:
        prefix = [] if os.geteuid() == self.user.pw_uid else [
            "setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}",
            "--init-groups", "--"]
        return prefix + [str(PG_BIN / command[0]), *command[1:]]

    def _run(self, *command: str) -> None:
        done = subprocess.run(self._as_postgres(*command), capture_output=True, text=True,
                              timeout=120, cwd=self.root)
        if done.returncode:
            raise AssertionError(f"{command[0]} failed: {done.stderr[-2000:]}")

    def url(self, database: str = "postgres", *names: str) -> str:
        """libpq multi-host URL over ``names`` (default: both, primary first)."""
        hosts = ",".join(f"127.0.0.1:{self.ports[n]}" for n in names or ("primary", "standby"))
        return (f"postgresql://postgres@{hosts}/{database}"
                "?target_session_attrs=read-write&connect_timeout=2")

    def conninfo(self, name: str, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.ports[name]} user=postgres dbname={database} connect_timeout=2"

    def start(self) -> "PgPair":
        primary, standby = self.root / "primary", self.root / "standby"
        self._run("initdb", "-D", str(primary), "-A", "trust", "-U", "postgres", "--no-sync",
                  "-E", "UTF8", "--locale=C")
        # Synchronous replication: a commit returns once the standby has flushed it, so a
        # grant or a rotation the OP confirmed survives the primary's death.  Given on the
        # command line, not in the data folder, so the promoted standby does not inherit it
        # (it would wait forever for a standby it no longer has; Patroni does the same).
        self._start("primary", "-c", "synchronous_standby_names=*")
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.ports["primary"]), "-U",
                  "postgres", "-D", str(standby), "-R", "-X", "stream", "--no-sync")
        self._start("standby")
        wait_until(lambda: self._query("primary", "SELECT count(*) FROM pg_stat_replication "
                                       "WHERE sync_state = 'sync'") == 1, 30, 0.2,
                   "the standby to stream synchronously")
        return self

    def _start(self, name: str, *options: str) -> None:
        log = open(self.root / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            self._as_postgres("postgres", "-D", str(self.root / name), "-p", str(self.ports[name]),
                              "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root}",
                              "-c", "fsync=off", "-c", "max_connections=200",
                              "-c", "wal_level=replica", "-c", "hot_standby=on", *options),
            stdout=log, stderr=log, start_new_session=True)
        wait_until(lambda: self._query(name, "SELECT 1") == 1, 30, 0.2, f"postgres {name}")

    def _query(self, name: str, sql: str):
        import psycopg
        try:
            with psycopg.connect(self.conninfo(name), autocommit=True) as conn:
                return conn.execute(sql).fetchone()[0]
        except psycopg.Error:
            return None

    def execute(self, name: str, sql: str, database: str = "postgres"):
        import psycopg
        with psycopg.connect(self.conninfo(name, database), autocommit=True) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else None

    def kill(self, name: str) -> None:
        """The machine dies: the postmaster and every backend at once."""
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)

    def promote(self, name: str = "standby") -> None:
        """What a failover manager (Patroni) does once it has seen the primary die."""
        assert self._query(name, "SELECT pg_promote(true, 30)") is True
        wait_until(lambda: self._query(name, "SELECT NOT pg_is_in_recovery()") is True, 30, 0.1,
                   "the standby to be promoted")

    def stop(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)

