"""Settings: defaults, TOML file, ``IDP_*`` environment, overrides; validated at start
(DESIGN section 11)."""
from __future__ import annotations

import pytest

from idp.config import Settings, ensure_secret_key, load_settings, warn_unsafe
from idp.errors import ConfigError


def _toml(tmp_path, text: str):
    path = tmp_path / "idp.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults():
    s = load_settings(env={})
    assert s.issuer == "http://127.0.0.1:8000"
    assert s.redis_url == "" and s.database_url == "" and s.keys_dir == "keys"
    assert s.code_ttl == 60  # DESIGN section 4: codes live 60 s
    assert s.demo is False and s.keys_passphrase == ""
    assert s.sqlalchemy_url.startswith("sqlite:///") and s.sqlalchemy_url.endswith("idp.sqlite3")
    assert s.cookie_secure is False  # local http issuer
    assert s.retire_grace == max(s.access_token_ttl, s.id_token_ttl) + 60


def test_toml_file(tmp_path):
    path = _toml(tmp_path, 'issuer = "https://id.example.gov"\ncode_ttl = 30\ndemo = true\n'
                           'IDP_ACCESS_TOKEN_TTL = 300\n')
    s = load_settings(path, env={})
    assert s.issuer == "https://id.example.gov" and s.code_ttl == 30 and s.demo is True
    assert s.access_token_ttl == 300
    assert s.cookie_secure is True  # https issuer: Secure cookies


def test_config_file_from_environment(tmp_path):
    path = _toml(tmp_path, "code_ttl = 42\n")
    assert load_settings(env={"IDP_CONFIG": str(path)}).code_ttl == 42


def test_precedence_defaults_file_env_overrides(tmp_path):
    path = _toml(tmp_path, "code_ttl = 30\naccess_token_ttl = 301\nid_token_ttl = 302\n")
    env = {"IDP_ACCESS_TOKEN_TTL": "401", "IDP_ID_TOKEN_TTL": "402"}
    s = load_settings(path, env=env, id_token_ttl=502)
    assert s.code_ttl == 30  # file over default
    assert s.access_token_ttl == 401  # environment over file
    assert s.id_token_ttl == 502  # overrides over everything


def test_dict_config_and_env_types():
    s = load_settings({"demo": "yes"}, env={"IDP_LIVENESS_THRESHOLD": "0.7",
                                            "IDP_SECURE_COOKIES": "1"})
    assert s.demo is True and s.liveness_threshold == 0.7 and s.secure_cookies is True


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("YES", True),
                                             ("on", True), ("0", False), ("false", False),
                                             ("no", False), ("off", False), ("", False)])
def test_booleans(value, expected):
    assert load_settings(env={"IDP_DEMO": value}).demo is expected


@pytest.mark.parametrize("env, needle", [
    ({"IDP_ISSUER": "not a url"}, "IDP_ISSUER"),
    ({"IDP_ISSUER": "ftp://id.example"}, "IDP_ISSUER"),
    ({"IDP_ISSUER": "https://id.example/"}, "IDP_ISSUER"),
    ({"IDP_ISSUER": "https://id.example?x=1"}, "IDP_ISSUER"),
    ({"IDP_ISSUER": "http://id.example.gov"}, "IDP_ISSUER"),  # http outside localhost
    ({"IDP_CODE_TTL": "-5"}, "IDP_CODE_TTL"),
    ({"IDP_CODE_TTL": "0"}, "IDP_CODE_TTL"),
    ({"IDP_CODE_TTL": "601"}, "IDP_CODE_TTL"),
    ({"IDP_ACCESS_TOKEN_TTL": "-1"}, "IDP_ACCESS_TOKEN_TTL"),
    ({"IDP_REFRESH_TOKEN_TTL": "ten"}, "IDP_REFRESH_TOKEN_TTL"),
    ({"IDP_SESSION_TTL": "1.5"}, "IDP_SESSION_TTL"),
    ({"IDP_DEMO": "maybe"}, "IDP_DEMO"),
    ({"IDP_SECURE_COOKIES": "sometimes"}, "IDP_SECURE_COOKIES"),
    ({"IDP_LIVENESS_THRESHOLD": "1.5"}, "IDP_LIVENESS_THRESHOLD"),
    ({"IDP_FACE_MATCH_THRESHOLD": "abc"}, "IDP_FACE_MATCH_THRESHOLD"),
    ({"IDP_MAX_BODY_BYTES": "0"}, "IDP_MAX_BODY_BYTES"),
    ({"IDP_REDIS_URL": "http://localhost:6379"}, "IDP_REDIS_URL"),
])
def test_invalid_environment_values_name_the_variable(env, needle):
    with pytest.raises(ConfigError) as err:
        load_settings(env=env)
    assert needle in err.value.description


def test_http_issuer_outside_localhost_is_allowed_in_demo():
    s = load_settings(env={"IDP_ISSUER": "http://id.example.gov", "IDP_DEMO": "1"})
    assert s.issuer == "http://id.example.gov"


@pytest.mark.parametrize("issuer", ["http://localhost:8000", "http://127.0.0.1", "http://[::1]:9000"])
def test_http_issuer_on_localhost_is_allowed(issuer):
    assert load_settings(env={"IDP_ISSUER": issuer}).issuer == issuer


@pytest.mark.parametrize("text, needle", [
    ("unknown_thing = 1\n", "unknown_thing"),
    ("code_ttl = -1\n", "IDP_CODE_TTL"),
    ("demo = \"perhaps\"\n", "IDP_DEMO"),
    ("code_ttl = true\n", "IDP_CODE_TTL"),
    ("this is not toml", "not valid TOML"),
])
def test_invalid_file_values(tmp_path, text, needle):
    with pytest.raises(ConfigError) as err:
        load_settings(_toml(tmp_path, text), env={})
    assert needle in err.value.description


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "nope.toml", env={})
    assert "cannot read config file" in err.value.description


def test_unknown_environment_variables_are_ignored():
    s = load_settings(env={"IDP_SOMETHING_NEW": "1", "OTHER": "x"})
    assert s.extra == {"IDP_SOMETHING_NEW": "1"}


@pytest.mark.parametrize("env, needle", [
    ({"IDP_BACKCHANNEL_RETRIES": "0"}, "IDP_BACKCHANNEL_RETRIES"),
    ({"IDP_BACKCHANNEL_TIMEOUT": "-1"}, "IDP_BACKCHANNEL_TIMEOUT"),
    ({"IDP_KEY_PUBLISH_DELAY": "-10"}, "IDP_KEY_PUBLISH_DELAY"),
    ({"IDP_KEY_RETIRE_GRACE": "-10"}, "IDP_KEY_RETIRE_GRACE"),
    ({"IDP_ID_NUMBER_MASK_KEEP": "-1"}, "IDP_ID_NUMBER_MASK_KEEP"),
    ({"IDP_RATE_LIMIT_TOKEN": "-1"}, "IDP_RATE_LIMIT_TOKEN"),
])
def test_unbounded_settings_are_refused(env, needle):
    with pytest.raises(ConfigError) as err:
        load_settings(env=env)
    assert needle in err.value.description


def test_secret_key(tmp_path):
    with pytest.raises(ConfigError) as err:
        ensure_secret_key(load_settings(env={"IDP_SECRET_KEY": "short"}))
    assert "IDP_SECRET_KEY" in err.value.description
    s = load_settings(env={"IDP_INSTANCE_DIR": str(tmp_path)})
    first = ensure_secret_key(s).secret_key
    assert len(first) >= 32 and ensure_secret_key(s).secret_key == first  # kept in the instance
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_unsafe_defaults_warn_outside_demo():
    warnings = warn_unsafe(load_settings(env={}))
    assert any("IDP_KEYS_PASSPHRASE" in w for w in warnings)
    assert warn_unsafe(load_settings(env={"IDP_DEMO": "1"})) == []


def test_create_app_reads_the_environment(monkeypatch, tmp_path):
    from idp import create_app
    monkeypatch.setenv("IDP_INSTANCE_DIR", str(tmp_path / "inst"))
    monkeypatch.setenv("IDP_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("IDP_ISSUER", "https://id.example.gov")
    monkeypatch.setenv("IDP_CODE_TTL", "33")
    app = create_app(init=True, code_ttl=44)
    settings = app.extensions["idp"].settings
    assert settings.issuer == "https://id.example.gov" and settings.code_ttl == 44
    doc = app.test_client().get("/.well-known/openid-configuration").get_json()
    assert doc["issuer"] == "https://id.example.gov"
    assert doc["token_endpoint"] == "https://id.example.gov/token"


def test_create_app_refuses_bad_settings(monkeypatch, tmp_path):
    from idp import create_app
    monkeypatch.setenv("IDP_INSTANCE_DIR", str(tmp_path / "inst"))
    monkeypatch.setenv("IDP_ACCESS_TOKEN_TTL", "-3")
    with pytest.raises(ConfigError) as err:
        create_app()
    assert "IDP_ACCESS_TOKEN_TTL" in err.value.description


def test_settings_are_frozen():
    s = Settings()
    with pytest.raises(Exception):
        s.issuer = "https://x"  # type: ignore[misc]
