"""Where checkpoints go besides the database: the point is that an intruder who owns the
database does not also own these.

* ``FileSink``: an append-only JSON-lines file (default ``<instance>/audit-checkpoints.jsonl``;
  put it on other storage, e.g. a WORM or remote-mounted volume, in production).  Each
  process catches the file up to the table under an exclusive ``flock``, so every node's
  file holds every checkpoint, in order, once.
* ``SyslogSink`` and ``HttpSink``: each checkpoint is claimed (``sent_at``) by one node and
  sent once; a failure releases the claim and the next checkpoint retries it.

Every line is ``{"seq", "event_id", "hash", "count", "time", "jws"}``; only ``jws`` is
trusted by ``idp audit verify --checkpoints``, the rest is for people reading the file.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import requests
from sqlalchemy import select, update

from ..store.models import AuditCheckpoint

log = logging.getLogger(__name__)
SINKS = ("file", "syslog", "http")


def line_of(row) -> str:
    when = datetime.fromtimestamp(row.ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"seq": row.seq, "event_id": row.event_id, "hash": row.hash,
                       "count": row.count, "time": when, "jws": row.jws}, separators=(",", ":"))


def _last_seq(fh) -> int:
    """The seq of the file's last complete line (0 for an empty file)."""
    size = fh.seek(0, os.SEEK_END)
    fh.seek(max(0, size - 65536))
    for raw in reversed(fh.read().splitlines()):
        try:
            return int(json.loads(raw)["seq"])
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line from a crash: the lines before it count
    return 0


class FileSink:
    name = "file"

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def catch_up(self, db) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
        with os.fdopen(fd, "r+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)  # workers of one node share the file
            last = _last_seq(fh)
            with db.session(write=False) as s:
                rows = s.execute(select(AuditCheckpoint).where(AuditCheckpoint.seq > last)
                                 .order_by(AuditCheckpoint.seq)).scalars().all()
                lines = [line_of(row) for row in rows]
            if lines:
                size = fh.seek(0, os.SEEK_END)
                if size and not self._ends_with_newline(fh, size):
                    fh.write(b"\n")  # never glue a new line to a torn one
                fh.write(("\n".join(lines) + "\n").encode())
                fh.flush()
                os.fsync(fh.fileno())
            return len(lines)

    @staticmethod
    def _ends_with_newline(fh, size: int) -> bool:
        fh.seek(size - 1)
        return fh.read(1) == b"\n"


class SyslogSink:
    """RFC 3164 framing, what local syslog daemons accept: facility auth, severity notice."""

    name = "syslog"
    PRI = 4 * 8 + 5

    def __init__(self, address: str):
        self.address = address

    def send(self, line: str) -> None:
        data = f"<{self.PRI}>idp-audit-checkpoint: {line}".encode()
        if self.address.startswith("/"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self.address)
                sock.send(data)
            return
        host, _, port = self.address.rpartition(":")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(data, (host or "127.0.0.1", int(port or 514)))


class HttpSink:
    name = "http"

    def __init__(self, url: str, timeout: float = 3.0):
        if urlsplit(url).scheme not in {"http", "https"}:
            raise ValueError("the http checkpoint sink needs an http(s) URL")
        self.url = url
        self.timeout = timeout

    def send(self, line: str) -> None:
        answer = requests.post(self.url, data=line.encode(), timeout=self.timeout,
                               headers={"Content-Type": "application/json"})
        if not 200 <= answer.status_code < 300:
            raise OSError(f"{self.url} answered {answer.status_code}")


class RemoteSinks:
    """Syslog and HTTP sinks: one node sends each checkpoint, claimed in the table."""

    name = "remote"

    def __init__(self, senders):
        self.senders = list(senders)

    def catch_up(self, db) -> int:
        with db.session(write=False) as s:
            rows = s.execute(select(AuditCheckpoint).where(AuditCheckpoint.sent_at.is_(None))
                             .order_by(AuditCheckpoint.seq).limit(100)).scalars().all()
            pending = [(row.seq, line_of(row)) for row in rows]
        sent = 0
        for seq, line in pending:
            with db.session() as s:
                claimed = s.execute(update(AuditCheckpoint).where(
                    AuditCheckpoint.seq == seq, AuditCheckpoint.sent_at.is_(None))
                    .values(sent_at=time.time())).rowcount
            if not claimed:
                continue  # another node has it
            try:
                for sender in self.senders:
                    sender.send(line)
            except Exception:
                with db.session() as s:
                    s.execute(update(AuditCheckpoint).where(AuditCheckpoint.seq == seq)
                              .values(sent_at=None))
                raise
            sent += 1
        return sent


def make_sinks(settings) -> list:
    names = [n.strip() for n in settings.audit_checkpoint_sinks.split(",") if n.strip()]
    sinks, remote = [], []
    for name in names:
        if name == "file":
            sinks.append(FileSink(settings.audit_checkpoint_file
                                  or settings.instance_path / "audit-checkpoints.jsonl"))
        elif name == "syslog":
            remote.append(SyslogSink(settings.audit_checkpoint_syslog or "/dev/log"))
        elif name == "http":
            remote.append(HttpSink(settings.audit_checkpoint_url))
    if remote:
        sinks.append(RemoteSinks(remote))
    return sinks
