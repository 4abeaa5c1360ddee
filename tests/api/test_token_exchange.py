"""RFC 8693 exchange of a liveness assertion at /token for the person's tokens."""
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.interaction import ACR_FACE, ACR_FACE_ACTIVE

from .conftest import ID, NAME, TE, Platform, frames

TOKEN = "/token"


def _verify(platform, token):
    keys = KeySet.import_key_set(platform.http.get("/jwks.json").get_json())
    return jwt.decode(token, keys, algorithms=["RS256", "ES256"]).claims


def test_exchange_gives_the_persons_tokens(platform, contract):
    out = platform.run(id_number=ID, name=NAME)
    resp = platform.exchange(out["assertion"])
    body = contract.check(TOKEN, "post", resp)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert body["token_type"] == "Bearer" and "refresh_token" not in body
    assert body["scope"] == "openid profile id_number"
    claims = _verify(platform, body["id_token"])
    assert claims["aud"] == platform.client_id and claims["acr"] == ACR_FACE
    assert claims["amr"] == ["face", "user"] and claims["name"] == NAME
    assert claims["id_number_masked"] == "1****************X" and claims["entity_type"] == "natural_person"
    assert ID not in claims["sub"]
    info = platform.http.get("/userinfo", headers={"Authorization": "Bearer " + body["access_token"]})
    assert info.status_code == 200 and info.get_json()["sub"] == claims["sub"]


def test_active_sessions_give_face_active(platform):
    out = platform.run(id_number=ID, name=NAME, mode="active",
                       frames=frames("live:1"))
    body = platform.exchange(out["assertion"]).get_json()
    claims = _verify(platform, body["id_token"])
    assert claims["acr"] == ACR_FACE_ACTIVE and claims["amr"] == ["face", "user", "mfa"]


def test_scope_can_be_narrowed(platform):
    out = platform.run(id_number=ID, name=NAME)
    body = platform.exchange(out["assertion"], scope="openid").get_json()
    assert body["scope"] == "openid"
    assert "name" not in _verify(platform, body["id_token"])


def test_assertions_are_single_use(platform, contract):
    out = platform.run(id_number=ID, name=NAME)
    assert platform.exchange(out["assertion"]).status_code == 200
    resp = platform.exchange(out["assertion"])
    assert contract.check(TOKEN, "post", resp) == {
        "error": "invalid_grant", "error_description": "subject_token was already used"}


def test_assertions_are_bound_to_their_client(app, platform, contract):
    out = platform.run(id_number=ID, name=NAME)
    thief = Platform(app)
    resp = thief.exchange(out["assertion"])
    assert contract.check(TOKEN, "post", resp)["error"] == "invalid_grant"
    assert "another client" in resp.get_json()["error_description"]
    assert platform.exchange(out["assertion"]).status_code == 200  # still the owner's


@pytest.mark.parametrize("run", [
    {"frames": frames("live:2"), "id_number": ID, "name": NAME},  # other face
    {"frames": frames("spoof"), "id_number": ID, "name": NAME},  # not live
    {},  # no person: liveness only
])
def test_only_live_matching_sessions_can_be_exchanged(platform, contract, run):
    out = platform.run(**run)
    resp = platform.exchange(out["assertion"])
    assert resp.status_code == 400
    assert contract.check(TOKEN, "post", resp)["error"] == "invalid_grant"


def test_expired_assertions(platform, monkeypatch):
    from idp.oidc import token_exchange
    monkeypatch.setattr(token_exchange, "ASSERTION_TTL", 1)
    out = platform.run(id_number=ID, name=NAME)
    time.sleep(2.1)
    resp = platform.exchange(out["assertion"])
    assert resp.get_json() == {"error": "invalid_grant",
                               "error_description": "subject_token: the token has expired"}


def test_tampered_and_foreign_tokens(platform):
    out = platform.run(id_number=ID, name=NAME)
    head, payload, sig = out["assertion"].split(".")
    tampered = ".".join([head, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), sig])
    assert platform.exchange(tampered).get_json()["error"] == "invalid_grant"
    access = platform.access_token()
    resp = platform.exchange(access)
    assert resp.get_json()["error"] == "invalid_grant"
    assert "liveness+jwt" in resp.get_json()["error_description"]


@pytest.mark.parametrize("extra,error", [
    ({"subject_token_type": "urn:ietf:params:oauth:token-type:jwt"}, "invalid_request"),
    ({"subject_token": ""}, "invalid_request"),
    ({"requested_token_type": "urn:ietf:params:oauth:token-type:id_token"}, "invalid_request"),
    ({"actor_token": "x", "actor_token_type": "urn:ietf:params:oauth:token-type:jwt"}, "invalid_request"),
    ({"scope": "openid admin"}, "invalid_scope"),
])
def test_malformed_exchanges(platform, contract, extra, error):
    out = platform.run(id_number=ID, name=NAME)
    resp = platform.exchange(out["assertion"], **extra)
    assert resp.status_code == 400 and contract.check(TOKEN, "post", resp)["error"] == error


def test_clients_need_the_grant_type(app, contract):
    platform = Platform(app, grant_types=("client_credentials",))
    out = platform.run(id_number=ID, name=NAME)
    resp = platform.exchange(out["assertion"])
    assert contract.check(TOKEN, "post", resp)["error"] == "unauthorized_client"


def test_clients_must_authenticate(platform, contract):
    out = platform.run(id_number=ID, name=NAME)
    resp = platform.http.post(TOKEN, data={"grant_type": TE, "subject_token": out["assertion"],
                                           "subject_token_type": "urn:idp:params:oauth:token-type:liveness"})
    assert resp.status_code == 401 and contract.check(TOKEN, "post", resp)["error"] == "invalid_client"


def test_exchanges_are_audited(app, platform):
    from sqlalchemy import select
    from idp.store.models import AuditEvent
    out = platform.run(id_number=ID, name=NAME)
    platform.exchange(out["assertion"])
    platform.exchange(out["assertion"])
    with app.extensions["idp"].db.session(write=False) as s:
        rows = s.execute(select(AuditEvent.event, AuditEvent.outcome).where(
            AuditEvent.event.in_(["token.exchange", "liveness.session"]))
            .order_by(AuditEvent.id)).all()
    assert [tuple(r) for r in rows] == [("liveness.session", "info"), ("liveness.session", "success"),
                                        ("token.exchange", "success"), ("token.exchange", "failure")]
