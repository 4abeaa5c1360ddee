"""The licence login through the OP (DESIGN section 9), driven by Flask's test client."""
from __future__ import annotations

import time

import pytest

from idp.elicense.holder import make_jws
from idp.elicense.authority import revoke_licence
from tests.enterprise.conftest import challenge_of
from tests.oidc.rp import RP, query

ACR = "urn:idp:acr:entity:elicense"


def start(app, client, **meta):
    rp = RP(app, client, scope="openid profile org", **meta)
    resp = rp.authorize(scope="openid org", acr_values=ACR)
    txn = resp.headers["Location"].rsplit("/login/", 1)[1]
    chooser = client.get(f"/login/{txn}").get_data(as_text=True)
    assert f"/login/{txn}/enterprise" in chooser
    page = client.get(f"/login/{txn}/enterprise")
    assert page.status_code == 200 and "<svg" in page.get_data(as_text=True)
    return rp, txn, challenge_of(page.get_data(as_text=True))


def answer(client, cid, licence, **override):
    info = client.get(f"/elicense/challenges/{cid}").get_json()
    payload = {"challenge": info["challenge"], "nonce": info["nonce"], "aud": info["aud"],
               "iat": int(time.time()), **override}
    token = make_jws(payload, licence["key"], licence["chain"])
    return client.post(f"/elicense/challenges/{cid}/response", json={"jws": token})


def test_licence_login_end_to_end(licensed_app, licence):
    client = licensed_app.test_client()
    rp, txn, cid = start(licensed_app, client)
    info = client.get(f"/elicense/challenges/{cid}").get_json()
    assert set(info) == {"challenge", "nonce", "aud", "client_name", "expires_at"}
    assert info["aud"] == "http://127.0.0.1:8000"
    assert client.get(f"/login/{txn}/enterprise/status").get_json() == {"state": "pending"}
    resp = answer(client, cid, licence)
    assert resp.status_code == 200, resp.get_json()
    status = client.get(f"/login/{txn}/enterprise/status").get_json()
    assert status["state"] == "done"
    location = status["redirect"]
    assert "/consent" in location
    page = client.get(location.replace("http://127.0.0.1:8000", ""))
    from tests.oidc.rp import csrf_from
    done = client.post(location.replace("http://127.0.0.1:8000", ""),
                       data={"decision": "allow", "csrf_token": csrf_from(page.get_data(as_text=True))})
    cb = query(done.headers["Location"])
    tokens = rp.token(cb["code"]).get_json()
    claims = rp.verify(tokens["id_token"])
    assert claims["acr"] == ACR and claims["amr"] == ["swk"]
    assert claims["entity_type"] == "legal_person"
    assert claims["org_name"] == "福州示例科技有限公司" and claims["legal_representative"] == "王五"
    assert claims["uscc"].startswith("91350100M000100Y4")
    assert "operator" not in claims


def test_challenge_is_taken_once(licensed_app, licence):
    client = licensed_app.test_client()
    _, _, cid = start(licensed_app, client)
    assert answer(client, cid, licence).status_code == 200
    again = answer_raw = client.post(f"/elicense/challenges/{cid}/response", json={"jws": "x.y.z"})
    assert again.status_code == 404 and again.get_json()["error"] == "invalid_challenge"
    assert client.get(f"/elicense/challenges/{cid}").status_code == 404
    del answer_raw


@pytest.mark.parametrize("override,reason", [
    ({"nonce": "wrong"}, "nonce_mismatch"),
    ({"aud": "https://evil.example"}, "aud_mismatch"),
    ({"iat": int(time.time()) - 3600}, "iat_stale"),
    ({"challenge": "other"}, "challenge_mismatch"),
])
def test_bad_answers_fail_with_their_reason(licensed_app, licence, override, reason):
    client = licensed_app.test_client()
    _, txn, cid = start(licensed_app, client)
    resp = answer(client, cid, licence, **override)
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "invalid_licence"
    assert resp.get_json()["error_description"].startswith(reason)
    # refused to its sender only: the browser still waits for a response that verifies
    assert client.get(f"/login/{txn}/enterprise/status").get_json() == {"state": "pending"}


def test_revoked_licence_is_refused(licensed_app, licence):
    client = licensed_app.test_client()
    revoke_licence(licence["keys_dir"], licence["serial"])
    _, _, cid = start(licensed_app, client)
    resp = answer(client, cid, licence)
    assert resp.status_code == 400 and resp.get_json()["error_description"].startswith("revoked")


def test_expired_challenge(make_app, tmp_path):
    app = make_app(challenge_ttl=1)
    client = app.test_client()
    rp = RP(app, client, scope="openid org")
    txn = rp.authorize(scope="openid org").headers["Location"].rsplit("/login/", 1)[1]
    cid = challenge_of(client.get(f"/login/{txn}/enterprise").get_data(as_text=True))
    time.sleep(2.1)
    assert client.get(f"/elicense/challenges/{cid}").status_code == 404
    assert client.get(f"/login/{txn}/enterprise/status").get_json()["state"] == "expired"


@pytest.mark.parametrize("kwargs,status", [
    ({"data": "jws=abc", "content_type": "application/x-www-form-urlencoded"}, 415),
    ({"json": {"jws": 5}}, 400),
    ({"json": ["x"]}, 400),
    ({"json": {"jws": "a" * (70 * 1024)}}, 413),
    ({"json": {"jws": "not-a-jws"}}, 400),
    ({"json": {"jws": "eyJhbGciOiJub25lIn0.e30."}}, 400),
])
def test_garbage_answers_get_4xx(licensed_app, kwargs, status):
    client = licensed_app.test_client()
    _, _, cid = start(licensed_app, client)
    resp = client.post(f"/elicense/challenges/{cid}/response", **kwargs)
    assert resp.status_code == status
    assert resp.get_json()["error"]


def test_sm2_licence_login(licensed_app, tmp_path):
    from idp.elicense.authority import init_authority, issue_licence
    from idp.elicense.holder import load_licence
    from tests.enterprise.conftest import valid_uscc
    keys_dir = licensed_app.extensions["idp"].settings.keys_dir
    init_authority(keys_dir, sm2=True)
    out = tmp_path / "sm2"
    issue_licence(keys_dir, uscc=valid_uscc("91110000600037341"), name="国密企业",
                  legal_rep="孙八", out_dir=out, sm2=True)
    key, chain = load_licence(out / "licence.crt.pem", out / "licence.key.pem", out / "chain.pem")
    client = licensed_app.test_client()
    _, txn, cid = start(licensed_app, client)
    resp = answer(client, cid, {"key": key, "chain": chain})
    assert resp.status_code == 200, resp.get_json()
    assert client.get(f"/login/{txn}/enterprise/status").get_json()["state"] == "done"


def test_unreachable_crl_fails_closed(licensed_app, licence):
    import pathlib
    keys_dir = pathlib.Path(licence["keys_dir"])
    for side in (keys_dir / "trust").rglob("*.crl-source"):
        side.write_text("http://127.0.0.1:9/never.crl\n")
    client = licensed_app.test_client()
    _, _, cid = start(licensed_app, client)
    resp = answer(client, cid, licence)
    assert resp.status_code == 503
    assert resp.get_json()["error_description"].startswith("crl_")
