"""The licence login through the OP with OCSP configured for the demo issuing CA (RFC 6960)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509

from idp.admin.authorities import Authorities, parse_ca_certificate
from idp.elicense import x509build as xb
from idp.elicense.authority import authority_dir
from tests.elicense.ocsp_responder import OcspResponder
from tests.enterprise.test_flow import answer, start


@pytest.fixture
def responder(licence):
    folder = authority_dir(licence["keys_dir"])
    cert = x509.load_pem_x509_certificate((folder / "ca.crt.pem").read_bytes())
    key = xb.load_private_key((folder / "ca.key.pem").read_bytes())
    srv = OcspResponder(SimpleNamespace(cert=cert, key=key, name=cert.subject)).start()
    yield srv
    srv.stop()


def _configure(licence, url: str) -> None:
    """``keys/trust/intermediates/NAME.ocsp-source`` beside the demo issuing CA."""
    [pem] = (Path(licence["keys_dir"]) / "trust" / "intermediates").glob("*.pem")
    pem.with_suffix(".ocsp-source").write_text(url + "\n")


def test_login_with_a_good_ocsp_answer(licensed_app, licence, responder):
    _configure(licence, responder.url)
    client = licensed_app.test_client()
    _, txn, cid = start(licensed_app, client)
    resp = answer(client, cid, licence)
    assert resp.status_code == 200, resp.get_json()
    assert client.get(f"/login/{txn}/enterprise/status").get_json()["state"] == "done"
    assert len(responder.requests) == 1


def test_revoked_by_ocsp_is_refused(licensed_app, licence, responder):
    _configure(licence, responder.url)
    responder.behaviour.statuses[int(licence["serial"], 16)] = x509.ReasonFlags.key_compromise
    client = licensed_app.test_client()
    _, txn, cid = start(licensed_app, client)
    resp = answer(client, cid, licence)
    assert resp.status_code == 400
    assert resp.get_json()["error_description"].startswith("revoked") and \
        "keyCompromise" in resp.get_json()["error_description"]
    # refused to the holder only; the browser's login still waits
    assert client.get(f"/login/{txn}/enterprise/status").get_json() == {"state": "pending"}


@pytest.mark.parametrize("trouble,reason", [("down", "ocsp_unavailable"), ("unknown", "ocsp_unknown"),
                                            ("stale", "ocsp_stale"), ("garbage", "ocsp_invalid")])
def test_ocsp_trouble_fails_closed(licensed_app, licence, responder, trouble, reason):
    import datetime as dt
    _configure(licence, responder.url)
    if trouble == "down":
        responder.stop()
    elif trouble == "unknown":
        responder.behaviour.statuses[int(licence["serial"], 16)] = "unknown"
    elif trouble == "stale":
        responder.behaviour.this_update = dt.timedelta(days=-2)
    else:
        responder.behaviour.body = b"\x30\x00"
    client = licensed_app.test_client()
    _, txn, cid = start(licensed_app, client)
    resp = answer(client, cid, licence)
    assert resp.status_code == 503 and resp.get_json()["error"] == "temporarily_unavailable"
    assert resp.get_json()["error_description"].startswith(reason)
    # refused to the holder only (and not counted): the browser's login still waits
    assert client.get(f"/login/{txn}/enterprise/status").get_json() == {"state": "pending"}


def test_ocsp_source_from_the_authorities_table(licensed_app, licence, responder):
    """The issuing CA added through the admin service, with an OCSP source, instead of a file."""
    trust = Path(licence["keys_dir"]) / "trust" / "intermediates"
    folder = authority_dir(licence["keys_dir"])
    for path in trust.iterdir():
        path.unlink()
    state = licensed_app.extensions["idp"]
    ca = parse_ca_certificate((folder / "ca.crt.pem").read_bytes())
    with state.db.session() as s:
        Authorities(state.db).add(s, ca, name=None, crl_source=str(folder / "crl.pem"),
                                  ocsp_source=responder.url)
    client = licensed_app.test_client()
    _, _, cid = start(licensed_app, client)
    assert answer(client, cid, licence).status_code == 200
    assert len(responder.requests) == 1
