"""HttpRegistry against a real HTTP server on 127.0.0.1 (a thread in this process)."""
import base64
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from .support import make_number, make_template

from idp.idnumber import InvalidIdNumber
from idp.registry import NotSupported, PersonRecord, Registry, RegistryUnavailable, make_registry
from idp.registry.http import MAX_RESPONSE_BYTES, HttpRegistry

NUMBER = "11010519491231002X"
TOKEN = "registry-token"
TEMPLATE = make_template(3)


def person(name="张三", template=TEMPLATE, model="sface-2021dec"):
    return {"found": True, "name": name, "template": base64.b64encode(template).decode(),
            "template_model": model}


class FakeRegistry(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.persons = {NUMBER: person()}
        self.script = []  # (status, body, delay, headers) answered before the default logic
        self.requests = []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append((self.path, dict(self.headers), body))
        if self.server.script:
            status, payload, delay, headers = self.server.script.pop(0)
            time.sleep(delay)
        elif self.headers.get("Authorization") != f"Bearer {TOKEN}":
            status, payload, headers = 401, b'{"error":"unauthorized"}', {}
        else:
            number = json.loads(body)["id_number"]
            record = self.server.persons.get(number, {"found": False})
            status, payload, headers = 200, json.dumps(record).encode(), {}
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers and headers.get("X-No-Length") is None:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if headers.get("X-Cut"):  # promise more than is sent, then stall or hang up
                self.wfile.write(payload[:10])
                self.wfile.flush()
                time.sleep(float(headers["X-Cut"]))
                self.close_connection = True
            elif headers.get("X-Drip"):  # a slow server: each piece well within the timeout
                for i in range(0, len(payload), 16):
                    self.wfile.write(payload[i:i + 16])
                    self.wfile.flush()
                    time.sleep(0.05)
            else:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left, as intended

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = FakeRegistry()
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def registry(server, sleeps):
    return HttpRegistry(server.url, token=TOKEN, timeout=0.5, retries=2, sleep=sleeps.append)


def answer(status=200, body=b"", delay=0.0, headers=None):
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return status, body, delay, headers or {}


def unavailable(registry, reason, number=NUMBER):
    with pytest.raises(RegistryUnavailable) as caught:
        registry.lookup(number)
    assert caught.value.reason == reason
    assert caught.value.status == 503
    assert caught.value.to_dict()["error"] == "temporarily_unavailable"
    return caught.value


def test_found(server, registry):
    assert isinstance(registry, Registry)
    assert registry.lookup(NUMBER) == PersonRecord("张三", TEMPLATE)
    ((path, headers, body),) = server.requests
    assert path == "/v1/persons/lookup"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(body) == {"id_number": NUMBER}


def test_number_is_normalised_and_only_in_the_body(server, registry):
    registry.lookup(" 110105491231002 ")  # legacy spelling of NUMBER
    ((path, _, body),) = server.requests
    assert json.loads(body) == {"id_number": NUMBER} and "110105" not in path


def test_not_found(server, registry):
    assert registry.lookup(make_number("31010119800101001")) is None


def test_malformed_number_never_leaves_the_process(server, registry):
    with pytest.raises(InvalidIdNumber):
        registry.lookup("110105194912310021")
    assert server.requests == []


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_is_not_retried(server, registry, status):
    server.script = [answer(status, {"error": "denied"})]
    error = unavailable(registry, "auth")
    assert len(server.requests) == 1
    assert "token" not in error.description and TOKEN not in error.detail


def test_missing_token_is_refused(server, sleeps):
    unavailable(HttpRegistry(server.url, sleep=sleeps.append), "auth")
    assert "Authorization" not in server.requests[0][1]


def test_500_then_success_is_retried(server, registry, sleeps):
    server.script = [answer(500, b"oops"), answer(503, b"")]
    assert registry.lookup(NUMBER).name == "张三"
    assert len(server.requests) == 3
    assert len(sleeps) == 2 and 0.05 <= sleeps[0] <= 0.15 and 0.1 <= sleeps[1] <= 0.3


def test_persistent_500_fails_closed_after_the_retries(server, registry):
    server.script = [answer(500)] * 3
    unavailable(registry, "http_status")
    assert len(server.requests) == 3


def test_timeouts_are_retried_then_fail_closed(server, sleeps):
    registry = HttpRegistry(server.url, token=TOKEN, timeout=0.2, retries=1,
                            sleep=sleeps.append)
    server.script = [answer(200, person(), delay=0.6)] * 2
    started = time.monotonic()
    unavailable(registry, "timeout")
    assert len(server.requests) == 2 and time.monotonic() - started < 1.5


def test_timeout_then_success(server, registry):
    server.script = [answer(200, person(), delay=0.8)]
    assert registry.lookup(NUMBER).name == "张三"


def test_connection_refused(sleeps):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    registry = HttpRegistry(f"http://127.0.0.1:{port}", retries=1, sleep=sleeps.append)
    unavailable(registry, "connection")
    assert len(sleeps) == 1


@pytest.mark.parametrize("status", [400, 404, 422])
def test_other_4xx_is_not_retried(server, registry, status):
    server.script = [answer(status, {})]
    unavailable(registry, "http_status")
    assert len(server.requests) == 1


def test_redirects_are_not_followed(server, registry):
    server.script = [answer(302, b"", headers={"Location": server.url + "/elsewhere"})]
    unavailable(registry, "http_status")
    assert len(server.requests) == 1


@pytest.mark.parametrize("body,reason", [
    (b"<html>gateway</html>", "not_json"),
    (b"", "not_json"),
    (b"[" * 100_00 + b"]" * 100_00, "not_json"),     # nesting past the recursion limit
    (b"[]", "malformed"),
    (b'{"name": "x"}', "malformed"),
    (b'{"found": "yes"}', "malformed"),
    (b'{"found": 1}', "malformed"),
    (json.dumps(person(template=TEMPLATE[:-4])).encode(), "malformed"),   # 508 bytes
    (json.dumps(person(template=TEMPLATE + b"\0" * 4)).encode(), "malformed"),
    (json.dumps(person(template=b"\0" * 512)).encode(), "malformed"),
    (json.dumps({**person(), "template": "not base64!"}).encode(), "malformed"),
    (json.dumps({**person(), "template": None}).encode(), "malformed"),
    (json.dumps({**person(), "name": ""}).encode(), "malformed"),
    (json.dumps({**person(), "name": 42}).encode(), "malformed"),
    (json.dumps(person(model="arcface-r100")).encode(), "template_model"),
    (json.dumps({k: v for k, v in person().items() if k != "template_model"}).encode(),
     "template_model"),
])
def test_malformed_answers_fail_closed(server, registry, body, reason):
    server.script = [answer(200, body)]
    unavailable(registry, reason)
    assert len(server.requests) == 1  # the same answer would come back: no retry


def test_extra_members_are_ignored(server, registry):
    server.script = [answer(200, {**person(), "photo_id": "abc", "version": 2})]
    assert registry.lookup(NUMBER).template == TEMPLATE


def test_declared_oversize_response(server, registry):
    big = json.dumps({**person(), "pad": "x" * MAX_RESPONSE_BYTES}).encode()
    server.script = [answer(200, big)]
    unavailable(registry, "too_large")


def test_streamed_oversize_response_without_length(server, registry):
    big = json.dumps({**person(), "pad": "x" * MAX_RESPONSE_BYTES}).encode()
    server.script = [answer(200, big, headers={"X-No-Length": "1"})]
    unavailable(registry, "too_large")


def test_a_dripping_body_is_cut_off_at_the_timeout(server, sleeps):
    registry = HttpRegistry(server.url, token=TOKEN, timeout=0.3, sleep=sleeps.append)
    body = json.dumps(person()).encode()  # ~800 bytes: 50 pieces, 2.5 s in all
    server.script = [answer(200, body, headers={"X-Drip": "1"})]
    started = time.monotonic()
    unavailable(registry, "timeout")
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("stall,reason", [("0.8", "timeout"), ("0", "connection")])
def test_a_body_cut_short(server, registry, stall, reason):
    body = json.dumps(person()).encode()
    server.script = [answer(200, body, headers={"X-Cut": stall})]
    unavailable(registry, reason)


def test_error_bodies_are_not_read(server, registry):
    server.script = [answer(401, b"x" * (MAX_RESPONSE_BYTES * 2))]
    unavailable(registry, "auth")


def test_read_only(registry):
    with pytest.raises(NotSupported) as caught:
        registry.enrol(NUMBER, "张三", TEMPLATE, "import")
    assert caught.value.status == 501
    with pytest.raises(NotSupported):
        registry.enrol_many([])
    with pytest.raises(NotSupported):
        registry.count()


def test_factory_builds_it(server):
    registry = make_registry("http", secret_key="s", url=server.url + "/", token=TOKEN)
    assert isinstance(registry, HttpRegistry)
    assert registry.url == server.url + "/v1/persons/lookup"
    assert registry.lookup(NUMBER).name == "张三"
