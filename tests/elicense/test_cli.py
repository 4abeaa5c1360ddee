"""`idp elicense`: demo authority, issue, revoke, and the holder tool against a local provider."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from idp.config import load_settings
from idp.elicense import LicenceError, LicenceVerifier
from idp.elicense.cli import elicense
from idp.elicense.holder import HolderError, parse_challenge_url, sign_challenge

USCC = "91350100M000100Y43"


@pytest.fixture
def run(tmp_path):
    def invoke(*args, demo=True, input=None):
        settings = load_settings(env={}, keys_dir=str(tmp_path / "keys"), demo=demo)
        return CliRunner().invoke(elicense, list(args), obj={"settings": settings}, input=input)
    return invoke


def _issue(run, out, *extra):
    result = run("issue", "--uscc", USCC, "--name", "示例科技有限公司", "--legal-rep", "王五",
                 "--out", str(out), *extra)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_init_refuses_outside_demo_mode(run, tmp_path):
    result = run("authority", "init", demo=False)
    assert result.exit_code != 0 and "demo mode only" in result.output
    assert not (tmp_path / "keys").exists()


def test_init_issue_revoke(run, tmp_path):
    assert run("authority", "init").exit_code == 0
    again = run("authority", "init")
    assert again.exit_code != 0 and "already exists" in again.output
    serial = _issue(run, tmp_path / "lic")
    assert len(serial) == 16 and int(serial, 16)
    for name in ("licence.crt.pem", "licence.key.pem", "chain.pem"):
        assert (tmp_path / "lic" / name).is_file()
    assert (tmp_path / "lic" / "licence.key.pem").stat().st_mode & 0o077 == 0
    verifier = LicenceVerifier.from_keys_dir(tmp_path / "keys")
    from idp.elicense.holder import load_licence, make_jws
    key, chain = load_licence(tmp_path / "lic/licence.crt.pem", tmp_path / "lic/licence.key.pem",
                              tmp_path / "lic/chain.pem")
    token = make_jws({"challenge": "c", "nonce": "n", "aud": "https://a", "iat": int(time.time())}, key, chain)
    identity = verifier.verify_response(token, expected_challenge="c", expected_nonce="n", expected_aud="https://a")
    assert identity.serial == serial and identity.org_name == "示例科技有限公司"
    result = run("revoke", serial.upper())
    assert result.exit_code == 0 and serial in result.output
    with pytest.raises(LicenceError) as info:
        verifier.verify_response(token, expected_challenge="c", expected_nonce="n", expected_aud="https://a")
    assert info.value.reason == "revoked"
    unknown = run("revoke", "abcdef")
    assert unknown.exit_code != 0 and "no licence with serial" in unknown.output
    assert run("authority", "crl").exit_code == 0


def test_issue_checks_its_input(run, tmp_path):
    assert run("authority", "init").exit_code == 0
    bad = run("issue", "--uscc", "91350100M000100Y44", "--name", "X", "--legal-rep", "Y", "--out", str(tmp_path))
    assert bad.exit_code != 0 and "unified social credit code" in bad.output
    agent = run("issue", "--uscc", USCC, "--name", "X", "--legal-rep", "Y", "--role", "agent", "--out", str(tmp_path))
    assert agent.exit_code != 0 and "agent_name" in agent.output
    sm2 = run("issue", "--uscc", USCC, "--name", "X", "--legal-rep", "Y", "--sm2", "--out", str(tmp_path))
    assert sm2.exit_code != 0 and "authority init --sm2" in sm2.output


def test_group_works_standalone_from_environment(tmp_path):
    env = {"IDP_KEYS_DIR": str(tmp_path / "keys"), "IDP_DEMO": "1"}
    result = CliRunner().invoke(elicense, ["authority", "init", "--sm2"], env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "keys" / "trust" / "elicense-demo-sm2.pem").is_file()


class FakeProvider:
    """The two challenge endpoints of DESIGN section 9, backed by the real verifier."""

    def __init__(self, verifier: LicenceVerifier, aud_override: str | None = None):
        self.verifier, self.aud_override, self.results = verifier, aud_override, []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                challenge = self.path.rsplit("/", 1)[-1]
                self._send(200, {"challenge": challenge, "nonce": "n-" + challenge,
                                 "aud": provider.aud_override or provider.issuer,
                                 "client_name": "Demo RP", "expires_at": int(time.time()) + 60})

            def do_POST(self):
                challenge = self.path.split("/")[-2]
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                try:
                    ident = provider.verifier.verify_response(
                        body["jws"], expected_challenge=challenge, expected_nonce="n-" + challenge,
                        expected_aud=provider.issuer)
                except LicenceError as exc:
                    provider.results.append(exc.reason)
                    return self._send(400, exc.to_dict())
                provider.results.append(ident)
                self._send(200, {"state": "done", "uscc": ident.uscc})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def issued(run, tmp_path):
    assert run("authority", "init", "--sm2").exit_code == 0
    _issue(run, tmp_path / "lic", "--sm2", "--role", "agent", "--agent-name", "赵六")
    provider = FakeProvider(LicenceVerifier.from_keys_dir(tmp_path / "keys"))
    yield provider, tmp_path / "lic"
    provider.close()


def test_sign_command_end_to_end(run, issued):
    provider, lic = issued
    url = f"{provider.issuer}/elicense/c/abc123"
    result = run("sign", url, "--cert", str(lic / "licence.crt.pem"), "--key", str(lic / "licence.key.pem"),
                 "--chain", str(lic / "chain.pem"), input="y\n")
    assert result.exit_code == 0, result.output
    assert "Demo RP" in result.output and json.loads(result.output.splitlines()[-1])["uscc"] == USCC
    ident = provider.results[-1]
    assert ident.alg == "SM2" and ident.operator == "赵六"
    declined = run("sign", url, "--cert", str(lic / "licence.crt.pem"), "--key", str(lic / "licence.key.pem"),
                   input="n\n")
    assert declined.exit_code != 0 and "not confirmed" in declined.output and len(provider.results) == 1


def test_sign_refuses_a_relayed_challenge(issued):
    provider, lic = issued
    provider.aud_override = "https://other-provider.example"
    with pytest.raises(HolderError, match="not signed"):
        sign_challenge(f"{provider.issuer}/elicense/challenges/x1", lic / "licence.crt.pem",
                       lic / "licence.key.pem")
    assert provider.results == []


def test_sign_reports_a_refusal(issued, tmp_path):
    provider, lic = issued
    provider.verifier = LicenceVerifier([])  # trusts nobody
    with pytest.raises(HolderError, match="unknown_anchor|licence authority"):
        sign_challenge(f"{provider.issuer}/elicense/c/x2", lic / "licence.crt.pem", lic / "licence.key.pem")


def test_key_must_match_certificate(issued, tmp_path, run):
    provider, lic = issued
    _issue(run, tmp_path / "other", "--sm2")
    with pytest.raises(HolderError, match="does not belong"):
        sign_challenge(f"{provider.issuer}/elicense/c/x3", lic / "licence.crt.pem", tmp_path / "other/licence.key.pem")


@pytest.mark.parametrize("url,expected", [
    ("https://idp.example/elicense/c/abc", ("https://idp.example", "abc")),
    ("https://idp.example/base/elicense/challenges/a-b_c", ("https://idp.example/base", "a-b_c")),
])
def test_parse_challenge_url(url, expected):
    assert parse_challenge_url(url) == expected


@pytest.mark.parametrize("url", ["ftp://x/elicense/c/a", "https://x/other/a", "https://x/elicense/c/a/b",
                                 "https://x/elicense/c/"])
def test_parse_challenge_url_refuses(url):
    with pytest.raises(HolderError):
        parse_challenge_url(url)
