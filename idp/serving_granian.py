"""Serving with granian (``idp serve``'s default server), a Rust HTTP server with a WSGI interface.

Measured against gunicorn's gthread worker on the 2-core development machine (same app,
same wrk load, alternating rounds; bench/README.md): the HTTP layer costs ~0.08 ms of CPU per
request instead of ~0.3-0.4 ms, so a client-credentials token costs ~1.1-1.2 ms of server CPU
instead of ~1.6-1.7 ms, and a JWKS answer ~0.08 ms instead of ~0.4 ms.

What differs from gunicorn (``idp.serving``): ``--threads`` is the number of blocking
threads per worker; there is no request-count recycling (``--max-requests``) and no
hung-worker timeout (``--timeout``); queued back-channel logout deliveries are awaited when a
worker stops (a multiprocessing finalizer); ``PROMETHEUS_MULTIPROC_DIR`` is prepared the same way (the metrics have no
live gauges, so dead workers need no marking).  Workers build the app with ``create_app``
each (nothing crosses a fork) and load the signing keys at boot.
"""
from __future__ import annotations

import logging
import os
import shutil

from .serving import prepare_multiproc_dir

CONFIG_ENV = "IDP_CONFIG"
ACCESS_LOG_ENV = "IDP_SERVE_ACCESS_LOG"  # set by ``idp serve`` for its workers


def app_factory():
    """What each granian worker serves: the app, keys loaded, logging as ``idp serve`` sets it."""
    if not logging.getLogger().handlers:  # a freshly spawned worker: same lines as the CLI
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if os.environ.get(ACCESS_LOG_ENV) == "0":
        logging.getLogger("idp.access").setLevel(logging.WARNING)
    from . import create_app
    from .errors import DatabaseUnavailable
    app = create_app(os.environ.get(CONFIG_ENV))
    # A granian worker is a multiprocessing child: when it stops, multiprocessing runs its
    # finalizers (not atexit), so queued back-channel logout deliveries are awaited there,
    # as gunicorn's worker_exit hook does.
    from multiprocessing.util import Finalize
    Finalize(None, app.extensions["idp"].backchannel.flush, kwargs={"timeout": 5}, exitpriority=10)
    try:
        app.extensions["idp"].keyring.jwks()
    except DatabaseUnavailable:
        logging.getLogger(__name__).warning("database unavailable at start; keys load on the "
                                            "first request")
    return app


def run_granian(config_path, *, host: str, port: int, workers: int, threads: int,
                graceful_timeout: int = 20, access_log: bool = True) -> None:
    from granian.constants import Interfaces
    from granian.server import Server

    if config_path:
        os.environ[CONFIG_ENV] = str(config_path)
    os.environ[ACCESS_LOG_ENV] = "1" if access_log else "0"
    path, owned = prepare_multiproc_dir()
    master = os.getpid()
    try:
        Server("idp.serving_granian:app_factory", address=host, port=port,
               interface=Interfaces.WSGI, factory=True, workers=workers,
               blocking_threads=threads, backlog=2048, log_access=False,
               workers_kill_timeout=graceful_timeout, respawn_failed_workers=True).serve()
    finally:
        if owned and os.getpid() == master:
            shutil.rmtree(path, ignore_errors=True)
