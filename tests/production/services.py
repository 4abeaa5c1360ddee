"""Real processes for the production tests: OP nodes, a private Redis, a cuttable TCP proxy.

Everything binds to 127.0.0.1 on free ports and is stopped in ``finally`` blocks by the
fixtures that start it.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# -- Redis ------------------------------------------------------------------------------------
class RedisServer:
    """A private redis-server (no persistence) that a test may stop and start again."""

    def __init__(self, workdir: Path, *extra: str):
        self.binary = shutil.which("redis-server")
        if not self.binary:
            pytest.skip("redis-server is not installed")
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.extra = list(extra)  # e.g. "--replicaof", host, port
        self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.dir / "redis.log", "ab")
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), *self.extra], stdout=log, stderr=log)
        wait_until(self._answers, 10, what="redis-server")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


# -- a TCP proxy that can be cut ----------------------------------------------------------------
class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; ``cut()`` drops every connection and refuses
    new ones (as if the database host vanished), ``restore()`` listens again."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self._listener = None
        self._thread = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        with self._lock:
            self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def _accept(self, listener) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # cut while this one was being set up
                    for sock in (client, upstream):
                        sock.close()
                    return
                self._socks.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            socks, self._socks = self._socks, set()
        if listener is not None:
            try:
                # shutdown wakes the accept() blocked in the other thread (close alone does
                # not on Linux, and that accept would go on forwarding a new connection)
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def restore(self) -> None:
        self.start()

    def close(self) -> None:
        self.cut()


# -- OP nodes ------------------------------------------------------------------------------------
class Node:
    """``python -m tests.production.node``: gunicorn via idp.serving, with the test login."""

    def __init__(self, name: str, env: dict, workdir: Path, workers: int = 1, threads: int = 4):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(env, IDP_INSTANCE_DIR=str(workdir / f"instance-{name}"))
        self.log_path = workdir / f"node-{name}.log"
        self.workers, self.threads = workers, threads
        self.proc = None

    def start(self) -> "Node":
        env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
        env.update(self.env)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env["PYTHONPATH"] = str(ROOT)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.production.node", str(self.port), str(self.workers),
             str(self.threads)], cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 40) -> "Node":
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"node {self.name} exited: {self.log_tail()}")
            try:
                return requests.get(self.url + "/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False
        wait_until(ready, timeout, 0.1, f"node {self.name} to be ready")
        return self

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self, graceful: bool = True, timeout: float = 15) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM if graceful else signal.SIGKILL)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        except ProcessLookupError:
            pass

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def cli(env: dict, *args, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the ``idp`` command with these settings (as an operator would)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    full.update(env)
    full["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "idp.cli", *args], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=timeout)
