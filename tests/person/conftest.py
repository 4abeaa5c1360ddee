"""Fixtures of the person login tests.

Most tests drive the HTTP layer with ``FakeEngine``: frames are tiny JPEG-signed byte
strings whose text says what the engine should see (``live:<seed>``, ``spoof``,
``no_face``), and a face "matches" a reference when the reference is the template made
from the same seed; a fake video is an MP4-signed byte string saying the same and its
duration.  Time is a ``Clock`` the tests advance: ``Browser.send`` lets the capture's time
pass before uploading, as a real page does.  The tests marked ``models`` run the real
pipeline on real clips.
"""
from __future__ import annotations

import io
import json
import random
import re
import struct
import time
from dataclasses import dataclass, field

import pytest

from idp.idnumber import check_char
from tests.oidc.rp import RP, csrf_from, query

JPEG = b"\xff\xd8\xff"
MP4 = b"\x00\x00\x00\x14ftypisom"
ID = "11010519491231002X"
CLIP_MS = 3000  # the span of the fake clips
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


def frames(kind: str = "live:1", count: int = 30) -> list[bytes]:
    return [frame(kind, i) for i in range(count)]


def times(count: int, span: float = CLIP_MS) -> list[float]:
    return [1000.0 + span * i / (count - 1) for i in range(count)]


def video(kind: str = "live:1", duration_ms: float = CLIP_MS) -> bytes:
    return MP4 + f"{kind}|{duration_ms}".encode()


def upload_form(images=None, *, clip=None, times_ms=None) -> dict:
    """The multipart fields of a capture: ``clip`` (video bytes), or timestamped frames
    (default: the fake live clip's frames at the fake clip's pace)."""
    if clip is not None:
        return {"clip": (io.BytesIO(clip), "clip.mp4", "video/mp4")}
    images = images if images is not None else frames()
    return {"frames": [(io.BytesIO(f), f"f{i}.jpg", "image/jpeg") for i, f in enumerate(images)],
            "times": json.dumps(times_ms if times_ms is not None else
                                times(len(images)) if len(images) > 1 else [0])}


class Clock:
    """The sessions' wall clock, advanced by the tests (a capture takes time)."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class FakeClip:
    kind: str
    frames: int
    duration_ms: float
    source: str


@dataclass
class FakeResult:
    live: bool
    reason: str | None
    score: float | None = 0.99
    match: dict | None = None
    actions_passed: bool | None = None
    detail: str | None = None
    presence: dict = field(default_factory=lambda: {"passed": True, "scores": {"residual": 0.07}})
    identity: dict = field(default_factory=lambda: {"min_similarity": 0.8})
    frames: int = 30
    duration_ms: float = float(CLIP_MS)
    fps: float = 10.0
    timings_ms: dict = field(default_factory=lambda: {"total": 1.0})


class FakeEngine:
    """Stands in for ``FaceEngine``: same methods, decisions read from the frame bytes."""

    def __init__(self):
        self.calls = []
        self.actions = None  # force the actions of the next sessions

    def decode(self, upload, limits):
        from idp.person.clipupload import InvalidClip
        if upload.kind == "video":
            kind, _, ms = upload.video[len(MP4):].decode(errors="replace").partition("|")
            if not ms:
                raise InvalidClip("bad_clip", "the clip was refused: bad_clip")
            return FakeClip(kind, 30, float(ms), "video/mp4")
        first = upload.frames[0][1]
        return FakeClip(first[3:].decode(errors="replace").split("#")[0], len(upload.frames),
                        upload.duration_ms, "burst")

    def check_clip(self, clip, *, actions, reference=None, seen=None, session_id=None):
        self.calls.append({"frames": clip.frames, "actions": list(actions),
                           "reference": reference, "duration_ms": clip.duration_ms})
        kind = clip.kind
        match = None
        if kind.startswith("live:"):
            result = FakeResult(True, None, actions_passed=True)
            if reference is not None:
                same = reference == template(int(re.match(r"\d+", kind.split(":")[1]).group()))
                match = {"similarity": 0.9 if same else 0.05, "same": same}
                result.reason = None if same else "face_mismatch"
            result.match = match
            return result
        if kind == "spoof":
            return FakeResult(False, "spoof", score=0.1)
        if kind == "planar":
            return FakeResult(False, "planar", score=0.97,
                              match={"similarity": 0.9, "same": True})
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
    def guided_actions():
        return ["turn_either", "move_closer"]

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
        state.services["person"].sessions.clock = Clock()
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

    def send(self, challenge, images=None, txn=None, *, times_ms=None, clip=None, wait=True,
             **kwargs):
        """Upload a clip (``clip``: video bytes) or timestamped frames, after letting the
        capture's time pass on the sessions' clock (``wait``: True for the fake clips'
        duration, or seconds)."""
        data = {"session": challenge["session"], "nonce": challenge["nonce"],
                **upload_form(images, clip=clip, times_ms=times_ms)}
        if wait:
            self.app.extensions["idp"].services["person"].sessions.clock.advance(
                CLIP_MS / 1000 + 0.5 if wait is True else wait)
        return self.client.post(f"/login/{txn or self.txn}/person/frames", data=data,
                                headers={"X-CSRF-Token": self.csrf},
                                content_type="multipart/form-data", **kwargs)

    def login(self, frames=None, **start) -> dict:
        """Start, send a clip, accept consent; return the RP callback parameters."""
        challenge = self.challenge(**start)
        resp = self.send(challenge, frames, **{k: v for k, v in start.items() if k == "environ_base"})
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
