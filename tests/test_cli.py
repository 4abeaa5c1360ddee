"""The ``idp`` command (DESIGN section 12), run in-process with click's CliRunner."""
from __future__ import annotations

import base64
import json

import pytest
from click.testing import CliRunner

from idp.cli import main
from tests.helpers.cli import app_for, cli_env, cli_runner


@pytest.fixture
def env(tmp_path):
    return cli_env(tmp_path)


@pytest.fixture
def idp(env):
    return cli_runner(env)


_app = app_for


def _cc_status(env, client_id, secret) -> int:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    resp = _app(env).test_client().post("/token", data={"grant_type": "client_credentials"},
                                        headers={"Authorization": "Basic " + basic})
    return resp.status_code


def test_init_creates_database_and_keys(env, tmp_path):
    result = CliRunner().invoke(main, ["init"], env=env)
    assert result.exit_code == 0, result.output
    assert "database ready" in result.output and "signing keys:" in result.output
    assert len(list((tmp_path / "keys").glob("*.pem"))) == 2
    assert (tmp_path / "instance" / "idp.sqlite3").exists()
    again = CliRunner().invoke(main, ["init"], env=env)  # idempotent
    assert again.exit_code == 0
    assert len(list((tmp_path / "keys").glob("*.pem"))) == 2


def test_config_file_option(tmp_path):
    config = tmp_path / "idp.toml"
    config.write_text(f'instance_dir = "{tmp_path / "inst2"}"\nkeys_dir = "{tmp_path / "keys2"}"\n'
                      f'secret_key = "{"k" * 48}"\n')
    result = CliRunner().invoke(main, ["--config", str(config), "init"], env={})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "inst2" / "idp.sqlite3").exists()
    assert len(list((tmp_path / "keys2").glob("*.pem"))) == 2


def test_clients_lifecycle(idp, env):
    created = idp("clients", "create", "--name", "Tax office", "--redirect-uri",
                  "https://tax.example.gov/cb", "--grant-type", "authorization_code",
                  "--grant-type", "client_credentials", "--scope", "openid", "--scope", "liveness",
                  "--post-logout-redirect-uri", "https://tax.example.gov/bye", "--json")
    data = json.loads(created.stdout)
    cid, secret = data["client_id"], data["client_secret"]
    assert secret and data["client_name"] == "Tax office" and data["enabled"] is True
    assert data["redirect_uris"] == ["https://tax.example.gov/cb"]
    assert data["token_endpoint_auth_method"] == "client_secret_basic"
    assert data["scope"] == "openid liveness"

    shown = json.loads(idp("clients", "show", cid, "--json").stdout)
    assert "client_secret" not in shown and secret not in json.dumps(shown)
    assert shown["client_id"] == cid

    listed = json.loads(idp("clients", "list", "--json").stdout)
    assert [c["client_id"] for c in listed] == [cid]
    assert secret not in idp("clients", "list").stdout

    updated = json.loads(idp("clients", "update", cid, "--redirect-uri",
                             "https://tax.example.gov/new", "--json").stdout)
    assert updated["redirect_uris"] == ["https://tax.example.gov/new"]
    assert updated["post_logout_redirect_uris"] == ["https://tax.example.gov/bye"]  # kept

    assert _cc_status(env, cid, secret) == 200
    rotated = json.loads(idp("clients", "rotate-secret", cid, "--json").stdout)
    new_secret = rotated["client_secret"]
    assert new_secret and new_secret != secret
    assert _cc_status(env, cid, secret) == 401  # the old secret stops working
    assert _cc_status(env, cid, new_secret) == 200

    assert "disabled" in idp("clients", "disable", cid).output
    assert json.loads(idp("clients", "show", cid, "--json").stdout)["enabled"] is False
    assert _cc_status(env, cid, new_secret) == 401
    idp("clients", "enable", cid)
    assert _cc_status(env, cid, new_secret) == 200

    refused = idp("clients", "delete", cid, input="n\n", code=None)
    assert refused.exit_code != 0
    assert json.loads(idp("clients", "list", "--json").stdout) != []
    idp("clients", "delete", cid, "--yes")
    assert json.loads(idp("clients", "list", "--json").stdout) == []
    missing = idp("clients", "show", cid, code=None)
    assert missing.exit_code == 1 and "no client" in missing.output


def test_human_output_prints_secret_once_with_a_warning(idp):
    result = idp("clients", "create", "--name", "Human", "--redirect-uri", "https://h.example/cb")
    assert "client_secret:" in result.stdout
    assert "shown only now" in result.stderr


def test_public_client_has_no_secret(idp):
    data = json.loads(idp("clients", "create", "--name", "SPA", "--redirect-uri",
                          "https://spa.example/cb", "--auth-method", "none", "--json").stdout)
    assert "client_secret" not in data and data["token_endpoint_auth_method"] == "none"
    result = idp("clients", "rotate-secret", data["client_id"], code=None)
    assert result.exit_code == 1 and "no secret to rotate" in result.output


def test_private_key_jwt_client_from_jwks_file(idp, tmp_path):
    from joserfc.jwk import ECKey
    key = ECKey.generate_key("P-256", {"kid": "k1"})
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    data = json.loads(idp("clients", "create", "--name", "Keyed", "--grant-type",
                          "client_credentials", "--scope", "liveness", "--auth-method",
                          "private_key_jwt", "--jwks", str(path), "--json").stdout)
    assert data["jwks"]["keys"][0]["kid"] == "k1" and "client_secret" not in data


@pytest.mark.parametrize("args, message", [
    (["--redirect-uri", "not-a-uri"], "redirect_uris"),
    (["--redirect-uri", "http://rp.example.com/cb"], "must use https"),
    (["--redirect-uri", "https://rp.example.com/cb#frag"], "fragment"),
    (["--redirect-uri", "https://rp.example.com/cb", "--scope", "everything"], "unknown scope"),
    (["--redirect-uri", "https://rp.example.com/cb", "--auth-method", "private_key_jwt"],
     "jwks"),
    (["--grant-type", "authorization_code"], "redirect_uris is required"),
])
def test_invalid_client_is_refused_and_nothing_created(idp, args, message):
    result = idp("clients", "create", "--name", "Bad", *args, code=None)
    assert result.exit_code == 1
    assert message in result.output
    assert json.loads(idp("clients", "list", "--json").stdout) == []


def test_duplicate_name_is_refused(idp):
    idp("clients", "create", "--name", "Twin", "--redirect-uri", "https://t.example/cb")
    result = idp("clients", "create", "--name", "Twin", "--redirect-uri", "https://t.example/cb",
                 code=None)
    assert result.exit_code == 1 and "already exists" in result.output


def test_unknown_client_commands_fail_cleanly(idp):
    for args in (["update", "nope", "--name", "x"], ["rotate-secret", "nope"], ["disable", "nope"],
                 ["delete", "nope", "--yes"]):
        result = idp("clients", *args, code=None)
        assert result.exit_code == 1 and "no client" in result.output, args


def test_keys_list_and_rotate(idp):
    listed = json.loads(idp("keys", "list", "--json").stdout)
    assert sorted(k["alg"] for k in listed) == ["ES256", "RS256"]
    assert {k["status"] for k in listed} == {"active"}
    out = idp("keys", "rotate", "--alg", "RS256").output
    assert "published" in out and "signing starts in" in out
    after = json.loads(idp("keys", "list", "--json").stdout)
    rs = {k["status"] for k in after if k["alg"] == "RS256"}
    assert rs == {"active", "next"}
    idp("keys", "rotate", "--alg", "ES256", "--activate-in", "0")
    es = sorted(k["status"] for k in json.loads(idp("keys", "list", "--json").stdout)
                if k["alg"] == "ES256")
    assert es == ["active", "retired"]
    assert "active" in idp("keys", "list").stdout


def test_keys_retire(idp):
    idp("keys", "rotate", "--alg", "RS256", "--activate-in", "0")
    listed = json.loads(idp("keys", "list", "--json").stdout)
    old = next(k["kid"] for k in listed if k["alg"] == "RS256" and k["status"] == "retired")
    assert f"retired {old}" in idp("keys", "retire", old).output
    kids = [k["kid"] for k in json.loads(idp("keys", "list", "--json").stdout)
            if k["status"] != "removed"]
    assert old not in kids


def test_bad_config_is_a_clean_error(env):
    result = CliRunner().invoke(main, ["clients", "list"], env={**env, "IDP_CODE_TTL": "-1"})
    assert result.exit_code == 1 and "IDP_CODE_TTL" in result.output


def test_init_with_a_wrong_passphrase_fails_clearly(env):
    first = CliRunner().invoke(main, ["init"], env={**env, "IDP_KEYS_PASSPHRASE": "right one"})
    assert first.exit_code == 0, first.output
    result = CliRunner().invoke(main, ["init"], env={**env, "IDP_KEYS_PASSPHRASE": "wrong one"})
    assert result.exit_code == 1
    assert "IDP_KEYS_PASSPHRASE" in result.output and "Traceback" not in result.output


def test_create_with_es256_id_tokens_and_logo(idp):
    data = json.loads(idp("clients", "create", "--name", "ES", "--redirect-uri",
                          "https://a.example/cb", "--id-token-alg", "ES256",
                          "--logo-uri", "https://a.example/logo.png", "--json").stdout)
    assert data["id_token_signed_response_alg"] == "ES256"
    assert data["logo_uri"] == "https://a.example/logo.png"


def test_update_keeps_server_side_metadata_and_show_hides_it(idp, env):
    client_id = json.loads(idp("clients", "create", "--name", "P", "--redirect-uri",
                               "https://a.example/cb", "--json").stdout)["client_id"]
    clients = _app(env).extensions["idp"].clients
    clients.set_private_metadata(client_id, {"registration_access_token_hash": "ab" * 32})
    idp("clients", "update", client_id, "--name", "P2", "--json")
    clients._cache.clear()
    assert clients.get(client_id).metadata["registration_access_token_hash"] == "ab" * 32
    shown = idp("clients", "show", client_id, "--json").stdout
    assert "registration_access_token_hash" not in shown and '"P2"' in shown


def test_client_ids_never_look_like_options():
    from idp.clients.service import new_client_id
    assert all(new_client_id()[0].isalnum() for _ in range(2000))
