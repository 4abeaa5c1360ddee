"""The signing key ring: init, JWKS, rotation without downtime, retirement, encryption at rest,
and agreement between processes (DESIGN sections 3 and 4)."""
from __future__ import annotations

import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest
from joserfc import jws

from idp.errors import ConfigError
from tests.oidc.rp import RP

ROOT = Path(__file__).resolve().parents[1]
PRIVATE_PARTS = {"d", "p", "q", "dp", "dq", "qi", "oth"}


class Clock:
    def __init__(self):
        self.now = time.time()

    def __call__(self):
        return self.now


def _fake_clock(app) -> Clock:
    ring = app.extensions["idp"].keyring
    clock = Clock()
    ring.clock = clock
    ring.cache_seconds = 0  # look at the database on every read: the clock jumps
    return clock


def _kid(token: str) -> str:
    return jws.extract_compact(token.encode()).headers()["kid"]


def _jwks_kids(client) -> list[str]:
    return [k["kid"] for k in client.get("/jwks.json").get_json()["keys"]]


def _id_token(app, client, **meta) -> str:
    return RP(app, client, **meta).tokens()["id_token"]


def test_init_creates_rs256_and_es256_keys_and_a_public_jwks(app, client, tmp_path):
    ring = app.extensions["idp"].keyring
    infos = ring.infos()
    assert sorted(i.alg for i in infos) == ["ES256", "RS256"]
    pems = sorted((tmp_path / "keys").glob("*.pem"))
    assert [p.stem for p in pems] == sorted(i.kid for i in infos)
    for pem in pems:
        assert stat.S_IMODE(pem.stat().st_mode) == 0o600
        assert b"BEGIN PRIVATE KEY" in pem.read_bytes()
    resp = client.get("/jwks.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    keys = resp.get_json()["keys"]
    assert {(k["kty"], k["alg"]) for k in keys} == {("RSA", "RS256"), ("EC", "ES256")}
    for key in keys:
        assert key["use"] == "sig" and key["kid"]
        assert not PRIVATE_PARTS & set(key), key
    assert ring.ready()


def test_init_is_idempotent(app, make_app):
    before = {i.kid for i in app.extensions["idp"].keyring.infos()}
    again = make_app()  # same instance and keys folders
    assert {i.kid for i in again.extensions["idp"].keyring.infos()} == before


def test_rotation_publishes_first_then_signs(app, client):
    ring = app.extensions["idp"].keyring
    clock = _fake_clock(app)
    old = _kid(_id_token(app, client))
    (new_rs, new_es) = ring.rotate(activate_in=600)
    # published at once, so relying parties learn it before it signs ...
    assert {old, new_rs, new_es} <= set(_jwks_kids(client))
    # ... but not signing yet
    assert _kid(_id_token(app, client)) == old
    statuses = {i["kid"]: i["status"] for i in
                (info.to_dict(clock.now, ring.signer_kids()) for info in ring.infos())}
    assert statuses[new_rs] == "next" and statuses[old] == "active"

    clock.now += 601  # the publish delay has passed
    assert _kid(_id_token(app, client)) == new_rs
    es_token = _id_token(app, client, id_token_signed_response_alg="ES256")
    assert _kid(es_token) == new_es
    assert old in _jwks_kids(client)  # still verifies tokens it signed

    clock.now += ring.retire_grace + 1  # every token the old key signed has expired
    kids = _jwks_kids(client)
    assert old not in kids and {new_rs, new_es} <= set(kids)


def test_rotation_with_activate_in_zero_signs_at_once(app, client):
    ring = app.extensions["idp"].keyring
    old = _kid(_id_token(app, client))
    new_rs, _ = ring.rotate(activate_in=0)
    assert _kid(_id_token(app, client)) == new_rs
    assert old in _jwks_kids(client)


def test_tokens_signed_by_the_old_key_still_verify_after_rotation(app, client):
    rp = RP(app, client)
    tokens = rp.tokens()
    app.extensions["idp"].keyring.rotate(activate_in=0)
    assert rp.introspect(tokens["access_token"])["active"] is True
    info = client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert info.status_code == 200


def test_retire_withdraws_a_key_at_once(app, client):
    ring = app.extensions["idp"].keyring
    rp = RP(app, client)
    tokens = rp.tokens()
    old = _kid(tokens["id_token"])
    new_rs, _ = ring.rotate(activate_in=600)
    ring.retire(old)  # compromise: the successor signs now, the old key is gone
    assert old not in _jwks_kids(client)
    assert _kid(_id_token(app, client)) == new_rs
    assert rp.introspect(tokens["access_token"]) == {"active": False}


def test_retire_refuses_the_only_key_and_unknown_kids(app):
    from idp.errors import IdpError
    ring = app.extensions["idp"].keyring
    rs = next(i.kid for i in ring.infos() if i.alg == "RS256")
    with pytest.raises(IdpError) as err:
        ring.retire(rs)
    assert "only current RS256 key" in err.value.description
    with pytest.raises(IdpError) as err:
        ring.retire("no-such-kid")
    assert err.value.status == 404


def test_retire_of_the_newest_key_does_not_revive_an_old_one(app, client):
    ring = app.extensions["idp"].keyring
    _fake_clock(app)
    new_rs, _ = ring.rotate(activate_in=0)
    # the old key is already retired; withdrawing the newest one would leave only a
    # key on its way out, so it is refused: rotate first
    from idp.errors import IdpError
    with pytest.raises(IdpError):
        ring.retire(new_rs)
    assert _kid(_id_token(app, client)) == new_rs


def test_passphrase_encrypts_keys_at_rest(make_app, tmp_path):
    app = make_app(keys_passphrase="correct horse battery staple")
    pems = list((tmp_path / "keys").glob("*.pem"))
    assert len(pems) == 2
    for pem in pems:
        assert b"BEGIN ENCRYPTED PRIVATE KEY" in pem.read_bytes()
    assert app.extensions["idp"].keyring.ready()
    client = app.test_client()
    assert RP(app, client).tokens()["id_token"]


@pytest.mark.parametrize("passphrase", ["wrong passphrase", ""])
def test_wrong_or_missing_passphrase_is_a_clear_config_error(make_app, passphrase):
    make_app(keys_passphrase="correct horse battery staple")
    with pytest.raises(ConfigError) as err:
        make_app(keys_passphrase=passphrase)
    assert "IDP_KEYS_PASSPHRASE" in err.value.description
    assert ".pem" in err.value.description


def test_two_processes_agree_on_the_active_kid(make_app):
    first = make_app()
    second = make_app()  # another "process": same database and keys folder
    c1, c2 = first.test_client(), second.test_client()
    assert _kid(_id_token(first, c1)) == _kid(_id_token(second, c2))
    new_rs, _ = first.extensions["idp"].keyring.rotate(activate_in=0)
    time.sleep(1.05)  # the key ring caches the key table for one second
    assert new_rs in _jwks_kids(c2)
    assert _kid(_id_token(second, c2)) == new_rs
    # a token signed by one process verifies on the other
    rp = RP(first, c1)
    tokens = rp.tokens()
    info = c2.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert info.status_code == 200


def test_a_key_activated_on_another_node_verifies_during_a_reload(make_app):
    """A token signed with a key another process activated a moment ago verifies here, even
    when the request arrives while another thread of this process holds the reload (the
    request would otherwise go on with the keys loaded before the rotation)."""
    first, second = make_app(), make_app()
    c1, c2 = first.test_client(), second.test_client()
    ring = second.extensions["idp"].keyring
    assert ring.signing_key("RS256") is not None   # loaded before the rotation
    ring.cache_seconds = 0.2
    new_rs, _ = first.extensions["idp"].keyring.rotate(activate_in=0)
    tokens = RP(first, c1).tokens()
    assert _kid(tokens["access_token"]) == new_rs
    time.sleep(0.25)  # past this process's cache window

    held = threading.Event()

    def reloading_elsewhere():  # e.g. the audit checkpointer's thread signing a checkpoint
        with ring._lock:
            held.set()
            time.sleep(0.3)

    other = threading.Thread(target=reloading_elsewhere)
    other.start()
    held.wait(5)
    info = c2.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    other.join()
    assert info.status_code == 200, info.get_data(as_text=True)


def test_keys_folder_is_kept_out_of_git():
    for name in ("keys/abc.pem", "keys/abc.tmp", "keys/licence.key.pem"):
        result = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT)
        assert result.returncode == 0, f"{name} is not ignored by git"
    assert subprocess.run(["git", "ls-files", "--error-unmatch", "keys/.gitignore"], cwd=ROOT,
                          capture_output=True).returncode == 0


def test_a_custom_keys_folder_gets_its_own_gitignore(app, tmp_path):
    ignore = tmp_path / "keys" / ".gitignore"
    assert ignore.exists() and "*" in ignore.read_text().split()


def test_last_known_keys_serve_while_the_database_is_down(make_app, monkeypatch):
    from idp.errors import DatabaseUnavailable
    app = make_app()
    ring = app.extensions["idp"].keyring
    jwks = ring.jwks()
    signer = ring.signing_key("RS256").kid

    def down(*args, **kwargs):
        raise DatabaseUnavailable()

    monkeypatch.setattr(ring.db, "session", down)
    ring._loaded_at = 0.0  # force a reload
    assert ring.jwks() == jwks
    assert ring.signing_key("RS256").kid == signer


def test_keys_fail_closed_when_never_loaded(make_app, monkeypatch):
    import pytest
    from idp.errors import DatabaseUnavailable
    from idp.keys import KeyRing
    app = make_app()
    state = app.extensions["idp"]
    fresh = KeyRing(state.settings.keys_dir, state.db)

    def down(*args, **kwargs):
        raise DatabaseUnavailable()

    monkeypatch.setattr(state.db, "session", down)
    with pytest.raises(DatabaseUnavailable):
        fresh.jwks()


def test_signed_headers_follow_the_active_kid_and_the_type(app):
    """The minter keeps each (kid, typ) header segment once: still the active key's kid after
    a rotation, and each token type its own typ."""
    from joserfc import jws
    ring, minter = app.extensions["idp"].keyring, app.extensions["idp"].provider.minter

    def header(token):
        return jws.extract_compact(token.encode()).headers()

    first, _ = minter.access_token(client_id="c", scope="s", ttl=60)
    assert header(first) == {"alg": "RS256", "kid": ring.signing_key("RS256").kid, "typ": "at+jwt"}
    assert header(minter.sign({"a": 1}, typ="liveness+jwt"))["typ"] == "liveness+jwt"
    new_rs, _ = ring.rotate(activate_in=0)
    again, _ = minter.access_token(client_id="c", scope="s", ttl=60)
    assert header(again) == {"alg": "RS256", "kid": new_rs, "typ": "at+jwt"}
