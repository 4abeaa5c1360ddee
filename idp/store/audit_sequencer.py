"""The background thread of each serving process that chains staged audit events
(``audit_staging``) soon after they are staged.

Woken by every ``stage`` of its process, it runs at most every ``interval`` seconds, so
under load one transaction chains the events of many requests (one lock, one read of the
tail, one multi-row insert and delete).  While it lives it also looks for staged events
every ``poll`` seconds, so events another node staged and could not chain (it crashed, or
lost the database) are chained by this one.  A failure (database away) leaves the events
staged, where the next run, on this node or any other, finds them; nothing is retried
from memory, so nothing can be chained twice.
"""
from __future__ import annotations

import logging
import os
import threading
import time

from . import audit_staging

log = logging.getLogger(__name__)

INTERVAL = 0.2    # seconds between runs under load: the latency of chaining (and its cost:
                  # ~5 runs a second per process, each one transaction of three round trips)
POLL = 1.0        # seconds between looks for leftovers while the thread lives
IDLE = 60.0       # the thread ends after this long without a stage (restarts on demand)


class Sequencer:
    def __init__(self, database, *, interval: float = INTERVAL, poll: float = POLL,
                 idle: float = IDLE):
        self.db = database
        self.interval, self.poll, self.idle = interval, poll, idle
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread = None
        self._pid = None
        self._last_wake = 0.0
        self.failures = 0  # consecutive failed runs (for health and tests)

    def wake(self) -> None:
        """An event was staged: chain it soon (starts the thread if it is not running)."""
        self._last_wake = time.monotonic()
        self._wake.set()
        thread = self._thread
        if thread is not None and self._pid == os.getpid() and thread.is_alive():
            return
        with self._lock:
            thread = self._thread
            if thread is None or self._pid != os.getpid() or not thread.is_alive():
                self._pid = os.getpid()  # after fork() the parent's thread is not here
                self._thread = threading.Thread(target=self._run, name="audit-sequencer",
                                                daemon=True)
                self._thread.start()

    def flush(self) -> int:
        """Chain everything staged until now, in this thread; ``DatabaseUnavailable`` if the
        database does not answer (the events stay staged)."""
        return audit_staging.flush(self.db)

    def _run(self) -> None:
        while True:
            woken = self._wake.wait(self.poll)
            if not woken and time.monotonic() - self._last_wake > self.idle:
                with self._lock:  # a wake() racing with the end starts a new thread
                    if not self._wake.is_set():
                        if self._thread is threading.current_thread():
                            self._thread = None
                        return
                continue
            self._wake.clear()
            started = time.monotonic()
            try:
                # Not woken: a look for events other nodes staged (one indexed read first).
                moved = audit_staging.flush(self.db, only_if_pending=not woken)
                if self.failures:
                    log.warning("audit sequencer: chaining again (%d events)", moved)
                self.failures = 0
            except Exception as exc:  # noqa: BLE001 - the events stay staged; try again later
                self.failures += 1
                log.warning("audit sequencer: staged events not chained yet: %s", exc)
                time.sleep(min(0.5 * 2 ** min(self.failures, 5), 10.0))
                if time.monotonic() - self._last_wake < self.idle:
                    self._wake.set()  # this process staged lately: keep trying
                continue
            rest = self.interval - (time.monotonic() - started)
            if rest > 0:
                time.sleep(rest)
