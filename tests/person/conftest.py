"""Fixtures of the person login tests.

Most tests drive the HTTP layer with ``FakeEngine``: frames are tiny JPEG-signed byte
strings whose text says what the engine should see (``live:<seed>``, ``spoof``,
``noface``), and a face "matches" a reference when the reference is the template made
from the same seed.  The tests marked ``models`` run the real pipeline on the shared faces.
"""
from __future__ import annotations

import io
import random
import re
import struct
from dataclasses import dataclass, field

import pytest

from idp.idnumber import check_char
from tests.oidc.rp import RP, csrf_from, query

JPEG = b"\xff\xd8\xff"
ID = "11010519491231002X"
NAME = "张三"


def make_number(body: str) -> str:
    return body + check_char(body)


def template(seed: int) -> bytes:
    rng = random.Random(seed)
    values = [rng.uniform(-1, 1) for _ in range(128)]
    norm = sum(v * v for v in values) ** 0.5
    return struct.pack("<128f", *(v / norm for v in values))


def frame(kind: str = "live:1", n: int = 0) -> bytes:
    return JPEG + f"{kind}#{n}".encode()


@dataclass
class FakeResult:
    live: bool
    reason: str | None
    score: float | None = 0.99
    match: dict | None = None
    actions_passed: bool | None = None
    near_duplicates: list = field(default_factory=list)
    timings_ms: dict = field(default_factory=lambda: {"total": 1.0})


class FakeEngine:
    """Stands in for ``FaceEngine``: same methods, decisions read from the frame bytes."""

    def __init__(self):
        self.calls = []
        self.actions = None  # force the actions of the next sessions

    def check_session(self, frames, *, actions=None, reference=None, seen=None, session_id=None):
        self.calls.append({"frames": len(frames), "actions": actions, "reference": reference})
        kind = frames[0][3:].decode(errors="replace").split("#")[0]
        match = None
        if kind.startswith("live:"):
            result = FakeResult(True, None, actions_passed=bool(actions) or None)
            if reference is not None:
                same = reference == template(int(re.match(r"\d+", kind.split(":")[1]).group()))
                match = {"similarity": 0.9 if same else 0.05, "same": same}
                result.reason = None if same else "face_mismatch"
            result.match = match
            return result
        if kind == "spoof":
            return FakeResult(False, "spoof", score=0.1)
        if kind == "still":
            return FakeResult(False, "challenge_failed", actions_passed=False)
        return FakeResult(False, kind, score=None)

    def make_template(self, image: bytes) -> bytes:
        from liveness.errors import TemplateError
        text = (image[3:] if image.startswith(JPEG) else image).decode(errors="replace")
        if not text.startswith("live:"):
            raise TemplateError("no_face", "no face found in the photo")
        return template(int(text.split(":")[1].split("#")[0]))

    def random_actions(self, n=None):
        return list(self.actions) if self.actions else ["turn_left", "look_up"][: n or 2]

    @staticmethod
    def decoy_template() -> bytes:
        return template(random.randrange(10**6, 10**7))


@pytest.fixture
def person_app(make_app):
    """An app with the fake face engine and one registered person (seed 1)."""

    def factory(**overrides):
        app = make_app(**overrides)
        state = app.extensions["idp"]
        engine = FakeEngine()
        state.services["liveness"] = engine
        state.services["person"].engine = engine
        state.services["registry"].enrol(ID, NAME, template(1), "test")
        return app

    return factory


@pytest.fixture
def app(person_app):
    return person_app()


class Browser:
    """One user agent on the person pages of one login transaction."""

    def __init__(self, app, client=None, rp=None, **authorize):
        self.app = app
        self.client = client or app.test_client()
        self.rp = rp or RP(app, self.client)
        resp = self.rp.authorize(**authorize)
        assert resp.status_code == 302, resp.get_data(as_text=True)
        self.txn = resp.headers["Location"].rsplit("/login/", 1)[1]
        page = self.client.get(f"/login/{self.txn}/person")
        assert page.status_code == 200
        self.html = page.get_data(as_text=True)
        self.csrf = csrf_from(self.html)

    def start(self, id_number=ID, name=NAME, consent=True, **kwargs):
        body = {"id_number": id_number, "name": name, "consent": consent}
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.client.post(f"/login/{self.txn}/person", json=body, headers=headers, **kwargs)

    def challenge(self, **kwargs) -> dict:
        resp = self.start(**kwargs)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp.get_json()

    def send(self, challenge, frames, txn=None, **kwargs):
        data = {"session": challenge["session"], "nonce": challenge["nonce"],
                "frames": [(io.BytesIO(f), f"f{i}.jpg", "image/jpeg") for i, f in enumerate(frames)]}
        return self.client.post(f"/login/{txn or self.txn}/person/frames", data=data,
                                headers={"X-CSRF-Token": self.csrf},
                                content_type="multipart/form-data", **kwargs)

    def login(self, frames=None, **start) -> dict:
        """Start, send frames, accept consent; return the RP callback parameters."""
        challenge = self.challenge(**start)
        resp = self.send(challenge, frames or [frame("live:1", i) for i in range(3)])
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return self.follow(resp.get_json()["redirect"])

    def follow(self, location: str) -> dict:
        if "/consent" in location:
            path = location.replace(self.rp.issuer, "")
            page = self.client.get(path)
            token = csrf_from(page.get_data(as_text=True))
            resp = self.client.post(path, data={"decision": "allow", "csrf_token": token})
            location = resp.headers["Location"]
        assert location.startswith(self.rp.redirect), location
        return query(location)


@pytest.fixture
def browser(app):
    return Browser(app)
