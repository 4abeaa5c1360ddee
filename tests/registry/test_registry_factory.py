import pytest

from idp.registry import make_registry
from idp.registry.factory import FIELD_KEY_PURPOSE, HASH_KEY_PURPOSE
from idp.registry.local import LocalRegistry


def test_local_keys_come_from_the_secret_by_purpose(database):
    from idp.registry.crypto import derive_key

    registry = make_registry("local", database=database, secret_key="secret")
    assert isinstance(registry, LocalRegistry)
    assert registry._hash_key == derive_key("secret", HASH_KEY_PURPOSE)
    assert registry._hash_key != derive_key("secret", FIELD_KEY_PURPOSE)


@pytest.mark.parametrize("kind,kwargs,message", [
    ("local", {}, "database"),
    ("local", {"database": object(), "secret_key": ""}, "secret"),
    ("http", {}, "URL"),
    ("http", {"url": "ftp://registry"}, "http"),
    ("ldap", {}, "unknown registry kind"),
])
def test_refuses_incomplete_configuration(kind, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_registry(kind, **{"secret_key": "secret", **kwargs})
