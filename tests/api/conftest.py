"""Fixtures of the mini-program API tests: a platform client with the liveness scope."""
from __future__ import annotations

import base64

import pytest

from tests.person.conftest import (CLIP_MS, ID, NAME, FakeEngine, frame, frames,  # noqa: F401
                                   person_app, template, times, upload_form, video)

TE = "urn:ietf:params:oauth:grant-type:token-exchange"
LIVENESS = "urn:idp:params:oauth:token-type:liveness"


@pytest.fixture
def app(person_app):
    return person_app()


class Platform:
    """A mini-program's back end: client credentials, liveness sessions, token exchange."""

    def __init__(self, app, *, scope="liveness openid profile id_number",
                 grant_types=("client_credentials", TE), **meta):
        self.app = app
        self.http = app.test_client()
        state = app.extensions["idp"]
        metadata = {"client_name": "mini " + str(id(self)), "redirect_uris": [],
                    "grant_types": list(grant_types), "scope": scope, **meta}
        self.client, self.secret = state.clients.create(metadata)
        self.client_id = self.client.client_id
        self._token = None

    def basic(self) -> dict:
        raw = f"{self.client_id}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def access_token(self, scope="liveness") -> str:
        resp = self.http.post("/token", data={"grant_type": "client_credentials", "scope": scope},
                              headers=self.basic())
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp.get_json()["access_token"]

    def bearer(self) -> dict:
        if self._token is None:
            self._token = self.access_token()
        return {"Authorization": "Bearer " + self._token}

    def open(self, headers=None, **body):
        return self.http.post("/api/v1/liveness/sessions", json=body,
                              headers=headers or self.bearer())

    def send(self, session, nonce, images=None, headers=None, *, clip=None, times_ms=None,
             wait=True):
        """Upload a clip (``clip``: video bytes) or timestamped frames, after letting the
        capture's time pass on the sessions' clock (``wait``: True for the fake clips'
        duration, or seconds)."""
        data = {"nonce": nonce, **upload_form(images, clip=clip, times_ms=times_ms)}
        clock = self.app.extensions["idp"].services["person"].sessions.clock
        if wait and hasattr(clock, "advance"):
            clock.advance(CLIP_MS / 1000 + 0.5 if wait is True else wait)
        return self.http.post(f"/api/v1/liveness/sessions/{session}/frames", data=data,
                              headers=headers or self.bearer(), content_type="multipart/form-data")

    def state(self, session, headers=None):
        return self.http.get(f"/api/v1/liveness/sessions/{session}", headers=headers or self.bearer())

    def run(self, frames=None, **body) -> dict:
        ch = self.open(**body).get_json()
        resp = self.send(ch["session"], ch["nonce"], frames)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return {"challenge": ch, **resp.get_json()}

    def exchange(self, assertion, headers=None, **extra):
        data = {"grant_type": TE, "subject_token": assertion, "subject_token_type": LIVENESS, **extra}
        return self.http.post("/token", data=data, headers=headers or self.basic())


@pytest.fixture
def platform(app):
    return Platform(app)


SESSIONS = "/api/v1/liveness/sessions"
FRAMES = "/api/v1/liveness/sessions/{session}/frames"
STATE = "/api/v1/liveness/sessions/{session}"


@pytest.fixture
def contract(app):
    from .contract import Contract
    return Contract(app.test_client().get("/api/v1/openapi.json").get_json())
