"""Discovery and the JWKS: ETag and conditional GET (RFC 9110 13.1.2, 15.4.5), through the
document cache (``idp.ops.fastpath``) and through the app, and a key activated on another node
showing in the JWKS (with a new ETag) once the key ring's cache window has passed."""
from __future__ import annotations

import logging

import pytest

from idp.keys import KeyRing
from idp.ops.fastpath import etag_matches

SECURITY = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
            "Referrer-Policy")
DOCS = [("/jwks.json", "public, max-age=300"),
        ("/.well-known/openid-configuration", "public, max-age=3600"),
        ("/.well-known/oauth-authorization-server", "public, max-age=3600")]


@pytest.mark.parametrize("path,cache_control", DOCS)
@pytest.mark.parametrize("query", ["", "?via=app"])  # the cache, and the app's own answer
def test_conditional_get_answers_304_with_the_same_headers(client, path, cache_control, query):
    first = client.get(path + query)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('"') and len(etag) == 34
    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get(path + query, headers={"If-None-Match": sent})
        assert again.status_code == 304, sent
        assert again.data == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == cache_control
        assert again.headers["Access-Control-Allow-Origin"] == "*"
        assert "Content-Type" not in again.headers
        for name in SECURITY + ("X-Request-Id",):
            assert again.headers[name], name
    stale = client.get(path + query, headers={"If-None-Match": '"0123", W/"abc"'})
    assert stale.status_code == 200 and stale.data == first.data
    assert stale.headers["ETag"] == etag and stale.headers["Content-Type"] == "application/json"


def test_conditional_get_is_logged_and_counted(client, caplog):
    etag = client.get("/jwks.json").headers["ETag"]
    with caplog.at_level(logging.INFO, logger="idp.access"):
        client.get("/jwks.json", headers={"If-None-Match": etag, "X-Request-Id": "abcdefgh-1234"})
    line = [r for r in caplog.records if r.name == "idp.access"][-1]
    assert line.getMessage() == "GET /jwks.json 304"
    assert (line.status, line.request_id, line.route, line.cached) == (
        304, "abcdefgh-1234", "/jwks.json", True)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'endpoint="oidc.jwks",method="GET",status="304"' in text


def test_key_activated_elsewhere_shows_with_a_new_etag_after_the_cache_window(app, client):
    ring = app.extensions["idp"].keyring
    first = client.get("/jwks.json")
    etag, kids = first.headers["ETag"], {k["kid"] for k in first.get_json()["keys"]}
    # Another node (its own key ring on the same database and keys folder) rotates now.
    other = KeyRing(ring.dir, ring.db, passphrase="", cache_seconds=ring.cache_seconds)
    new_kid, = other.rotate(["RS256"], activate_in=0)
    ring._loaded_at -= ring.cache_seconds  # this process's cache window has passed
    again = client.get("/jwks.json", headers={"If-None-Match": etag})
    assert again.status_code == 200
    published = {k["kid"] for k in again.get_json()["keys"]}
    assert new_kid in published and kids <= published  # the old key stays published
    assert again.headers["ETag"] != etag
    assert client.get("/jwks.json", headers={"If-None-Match": again.headers["ETag"]}).status_code == 304
    assert ring.signing_key("RS256").kid == new_kid


def test_etag_matching():
    assert etag_matches('"a"', '"a"') and etag_matches('W/"a"', '"a"')
    assert etag_matches(' "b" , "a" ', '"a"') and etag_matches("*", '"a"')
    assert not etag_matches('"ab"', '"a"') and not etag_matches("a", '"a"')
    assert not etag_matches("", '"a"')
