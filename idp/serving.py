"""Production serving: gunicorn, the app built once per worker by ``create_app``.

* Workers: ``sync`` (one request at a time per worker) or ``gthread`` (a thread pool per
  worker); ``gthread`` is the default when ``threads > 1``.
* Metrics: gunicorn workers are separate processes, so Prometheus runs in multi-process mode:
  ``PROMETHEUS_MULTIPROC_DIR`` is set (a fresh private directory unless the operator set
  one, which is then emptied) before any worker starts, each dead worker is marked so its
  live gauges vanish, and ``/metrics`` on any worker aggregates all of them.
* Graceful shutdown: SIGTERM stops accepting connections, lets in-flight requests finish
  (``graceful_timeout``) and waits briefly for queued back-channel logout deliveries.
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile

from gunicorn.app.base import BaseApplication

log = logging.getLogger(__name__)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class IdpApplication(BaseApplication):
    def __init__(self, config_path, options: dict):
        self.config_path = config_path
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        from . import create_app
        from .errors import DatabaseUnavailable
        app = create_app(self.config_path)
        try:
            # Load the signing keys now: a wrong IDP_KEYS_PASSPHRASE or a missing key file
            # stops the worker at boot rather than failing the first token request.
            app.extensions["idp"].keyring.jwks()
        except DatabaseUnavailable:
            log.warning("database unavailable at start; keys load on the first request")
        return app


def prepare_multiproc_dir() -> tuple[str, bool]:
    """Set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory; return it and whether we own it."""
    if "prometheus_client" in sys.modules:
        log.warning("prometheus_client was imported before %s was set: metrics of the "
                    "workers may not aggregate", MULTIPROC_ENV)
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):  # files of a previous run would be summed in
            if name.endswith(".db"):
                os.unlink(os.path.join(path, name))
        return path, False
    path = tempfile.mkdtemp(prefix="idp-metrics-")
    os.environ[MULTIPROC_ENV] = path
    return path, True


def _child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def _worker_exit(server, worker):
    app = getattr(worker, "wsgi", None)
    state = getattr(app, "extensions", {}).get("idp") if app is not None else None
    if state is not None:
        state.backchannel.flush(timeout=5)


def gunicorn_options(*, host: str, port: int, workers: int, threads: int,
                     worker_class: str | None = None, timeout: int = 60,
                     graceful_timeout: int = 20, max_requests: int = 0) -> dict:
    worker_class = worker_class or ("gthread" if threads > 1 else "sync")
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": worker_class,
        "graceful_timeout": graceful_timeout,
        "timeout": timeout,
        "keepalive": 5,
        "backlog": 2048,
        "max_requests": max_requests,
        "max_requests_jitter": max_requests // 10 if max_requests else 0,
        "accesslog": None,  # the app writes one access line per request (idp.ops.reqlog)
        "errorlog": "-",
        "preload_app": False,  # database and Redis pools must not cross fork()
        "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,
        "child_exit": _child_exit,
        "worker_exit": _worker_exit,
        "proc_name": "idp",
    }


def run_gunicorn(config_path, *, host: str, port: int, workers: int, threads: int,
                 worker_class: str | None = None, application=IdpApplication,
                 multiproc: tuple[str, bool] | None = None, **extra) -> None:
    """Run gunicorn until it is stopped; ``application`` may be a subclass (tests, tools).

    ``multiproc`` is what ``prepare_multiproc_dir`` returned when the caller had to set the
    metrics directory up earlier (before building an app of its own in this process)."""
    path, owned = multiproc or prepare_multiproc_dir()
    master = os.getpid()
    try:
        options = gunicorn_options(host=host, port=port, workers=workers, threads=threads,
                                   worker_class=worker_class, **extra)
        application(config_path, options).run()
    finally:
        if owned and os.getpid() == master:  # forked workers unwind through here too
            shutil.rmtree(path, ignore_errors=True)
