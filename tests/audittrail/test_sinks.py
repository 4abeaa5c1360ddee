"""The syslog and http sinks: each checkpoint sent once; a failed send is retried; a URL
serving the lines verifies like the file."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .conftest import add_events, check


class Collector:
    """An append-only checkpoint endpoint: POST stores a line, GET returns them all."""

    def __init__(self):
        self.lines, self.fail = [], False
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                if not owner.fail:
                    owner.lines.append(body)
                self.send_response(503 if owner.fail else 204)
                self.end_headers()

            def do_GET(self):
                body = "".join(line + "\n" for line in owner.lines).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/checkpoints"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def collector():
    c = Collector()
    yield c
    c.httpd.shutdown()
    c.httpd.server_close()


def test_http_sink_retries_and_serves_a_verifiable_url(make_app, tmp_path, collector):
    app = make_app(audit_checkpoint_sinks="http", audit_checkpoint_url=collector.url,
                   audit_checkpoint_events=0, audit_checkpoint_seconds=0)
    state = app.extensions["idp"]
    cp = state.services["checkpoints"]
    add_events(state, 3)
    cp.checkpoint()
    collector.fail = True
    add_events(state, 2)
    cp.checkpoint()  # the endpoint is down: kept in the database, not lost
    assert [json.loads(x)["seq"] for x in collector.lines] == [1]
    collector.fail = False
    add_events(state, 1)
    cp.checkpoint()
    assert [json.loads(x)["seq"] for x in collector.lines] == [1, 2, 3]
    from idp.audittrail.cli import _read_source  # what `verify --checkpoints URL` reads
    report = check(state, _read_source(collector.url))
    assert report.ok and report.checkpoints == 3


def test_syslog_sink_sends_each_checkpoint(make_app):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    address = "127.0.0.1:%d" % sock.getsockname()[1]
    app = make_app(audit_checkpoint_sinks="syslog,file", audit_checkpoint_syslog=address,
                   audit_checkpoint_events=0, audit_checkpoint_seconds=0)
    state = app.extensions["idp"]
    add_events(state, 2)
    head = state.services["checkpoints"].checkpoint()
    message = sock.recv(65536).decode()
    sock.close()
    assert message.startswith("<37>idp-audit-checkpoint: {")
    assert json.loads(message.split(": ", 1)[1])["jws"] == head.jws
