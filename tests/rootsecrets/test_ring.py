"""Versioned root secrets: configuration, sealing with recorded ids, stable data keys,
and ``idp secrets status|rotate`` (resumable, audited)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from idp.config import ensure_secret_key, load_settings
from idp.errors import ConfigError
from idp.idnumber import check_char
from idp.oidc.subjects import Subjects
from idp.registry.crypto import FieldCipher
from idp.rootsecrets import parse_ring, secret_ring
from idp.rootsecrets.datakeys import DataKeys
from idp.rootsecrets.rotate import rotate, status
from idp.sealing import Sealer
from idp.store.db import Database
from idp.store.models import AuditEvent, DataKey
from tests.person.conftest import template

S0, S1, S2 = "a" * 40, "b" * 40, "c" * 40


@pytest.mark.parametrize("text, message", [
    ("", "no id:secret entry"),
    ("1", "each entry is id:secret"),
    ("bad id:" + S0, "each entry is id:secret"),
    ("1:short", "at least 32 characters"),
    (f"1:{S0},1:{S1}", "appears twice"),
])
def test_bad_rings_are_refused(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_ring(text)


def test_ring_from_env_or_file_sets_the_current_secret(tmp_path):
    settings = ensure_secret_key(load_settings(env={}, secret_keys=f"2:{S2}, 1:{S1}"))
    assert settings.secret_key == S2 and secret_ring(settings).ids == ["2", "1"]
    keys = tmp_path / "keys.txt"
    keys.write_text(f"# current first\n2:{S2}\n1:{S1}\n")
    from_file = ensure_secret_key(load_settings(env={"IDP_SECRET_KEYS_FILE": str(keys)}))
    assert secret_ring(from_file) == secret_ring(settings)
    assert repr(secret_ring(settings)) == "SecretRing(ids=['2', '1'])"  # never the secrets
    with pytest.raises(ConfigError, match="is not one of IDP_SECRET_KEYS"):
        ensure_secret_key(load_settings(env={}, secret_keys=f"2:{S2}", secret_key=S0))
    with pytest.raises(ConfigError, match="not both"):
        ensure_secret_key(load_settings(env={}, secret_keys=f"2:{S2}", secret_keys_file=str(keys)))


def test_sealed_blobs_record_the_secret_and_legacy_blobs_still_open():
    legacy = Sealer(S0, "claims").seal({"name": "张三"}, aad="g1")
    rotated = Sealer(parse_ring(f"1:{S1},0:{S0}"), "claims")
    assert rotated.open(legacy, aad="g1") == {"name": "张三"}
    blob = rotated.seal_bytes(b"x", b"a")
    assert rotated.key_id(blob) == "1" and rotated.open_bytes(blob, b"a") == b"x"
    assert Sealer(S0, "claims").open_bytes(blob, b"a") is None  # needs secret 1
    assert Sealer(parse_ring(f"1:{S1}"), "claims").open_bytes(blob, b"a") == b"x"
    assert Sealer(parse_ring(f"1:{S2}"), "claims").open_bytes(blob, b"a") is None  # wrong secret
    # while the legacy secret is current, blobs keep the old layout (older nodes read them)
    assert Sealer(parse_ring(f"0:{S0},1:{S1}"), "claims").key_id(
        Sealer(parse_ring(f"0:{S0},1:{S1}"), "claims").seal_bytes(b"x")) == "0"


def test_field_cipher_reads_by_recorded_id():
    old, new = bytes(32), bytes(range(32))
    blob = FieldCipher(old).encrypt(b"face", b"row")
    both = FieldCipher({"1": new, "0": old})
    assert both.decrypt(blob, b"row") == b"face" and both.key_id(blob) == "0"
    fresh = both.encrypt(b"face", b"row")
    assert both.key_id(fresh) == "1" and FieldCipher({"1": new}).decrypt(fresh, b"row") == b"face"


def test_subjects_do_not_change_at_the_upgrade_or_after_rotation(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    db.upgrade()
    before = Subjects(S0).person("11010519491231002X")  # the release before versioned secrets
    assert Subjects(DataKeys(db, S0)).person("11010519491231002X") == before
    ring = parse_ring(f"1:{S1},0:{S0}")
    assert rotate(db, ring).resealed["data_keys.wrapped"] == 2
    assert Subjects(DataKeys(db, parse_ring(f"1:{S1}"))).person("11010519491231002X") == before
    with pytest.raises(ConfigError, match="sealed under root secret id '1'"):
        Subjects(DataKeys(db, parse_ring(f"2:{S2}"))).person("x")


def test_a_fresh_deployment_gets_random_data_keys(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    db.upgrade()
    keys = DataKeys(db, parse_ring(f"1:{S1}"))
    assert keys.get("subject-key", lambda s: b"derived") != b"derived"
    with db.session(write=False) as s:
        assert s.scalar(select(DataKey.name)) == "subject-key"


def test_cli_rotate_is_resumable_and_audited(tmp_path):
    from idp.cli import main
    from tests.helpers.cli import cli_env
    env = cli_env(tmp_path)
    runner = CliRunner()

    def idp(*args, code=0, input=None, **extra):
        result = runner.invoke(main, list(args), env={**env, **extra}, input=input,
                               catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    idp("init")
    idp("admin", "create", "op", "--role", "operator", "--password-stdin",
        input="operator password 1\n")
    from idp import create_app
    app = create_app(instance_dir=env["IDP_INSTANCE_DIR"], keys_dir=env["IDP_KEYS_DIR"],
                     secret_key=env["IDP_SECRET_KEY"])
    state = app.extensions["idp"]
    registry = state.services["registry"]
    for i in range(5):
        body = f"11010519900101{i:03d}"
        registry.enrol(body + check_char(body), f"人{i}", template(i + 1), "test")
    state.provider.subjects.person("11010519491231002X")  # makes the data keys
    ring = f"1:{S1},0:{env['IDP_SECRET_KEY']}"
    before = json.loads(idp("secrets", "status", "--json", IDP_SECRET_KEYS=ring, IDP_SECRET_KEY=""))
    assert before["columns"]["registry_persons.name_enc"] == {"0": 5}

    def interrupted(label, n):
        if label == "registry_persons.name_enc":
            raise KeyboardInterrupt  # the operator's ^C after the first batch
    rotated = secret_ring(ensure_secret_key(load_settings(env={}, secret_keys=ring)))
    with pytest.raises(KeyboardInterrupt):
        rotate(state.db, rotated, batch=2, progress=interrupted)
    partial = status(state.db, rotated)["registry_persons.name_enc"]
    assert partial == {"1": 2, "0": 3}
    out = idp("secrets", "rotate", "--batch", "2", IDP_SECRET_KEYS=ring, IDP_SECRET_KEY="")
    assert "re-sealed" in out and "older secrets can be removed" in out
    after = json.loads(idp("secrets", "status", "--json", IDP_SECRET_KEYS=ring, IDP_SECRET_KEY=""))
    assert all(set(t) <= {"1"} for t in after["columns"].values()), after
    assert after["columns"]["admin_users.totp_secret_enc"] == {"1": 1}
    with state.db.session(write=False) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.event == "secrets.rotate")).one()
        assert event.outcome == "success" and event.details["resealed"]["registry_persons.name_enc"] == 3
    # the old secret removed: every row still opens
    only_new = create_app(instance_dir=env["IDP_INSTANCE_DIR"], keys_dir=env["IDP_KEYS_DIR"],
                          secret_keys=f"1:{S1}")
    body = "11010519900101000"
    assert only_new.extensions["idp"].services["registry"].lookup(body + check_char(body)).name == "人0"
