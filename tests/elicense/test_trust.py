"""Licence authorities configured as files under keys/trust/."""
from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from idp.elicense import LicenceVerifier, trust

from .conftest import USCC, respond, verify


def _install(world, keys_dir: Path, root_source: str | None, ca_source: str | None):
    trust.install_ca(keys_dir, "root", world.root.cert.public_bytes(Encoding.PEM), root_source, anchor=True)
    trust.install_ca(keys_dir, "ca", world.ca.cert.public_bytes(Encoding.PEM), ca_source, anchor=False)


def test_relative_and_absolute_sources(world, tmp_path):
    keys_dir = tmp_path / "keys"
    _install(world, keys_dir, str(Path(world.root.crl_path)), None)
    ca_crl = keys_dir / "crls" / "ca.crl"
    ca_crl.parent.mkdir(parents=True)
    ca_crl.write_bytes(Path(world.ca.crl_path).read_bytes())
    (keys_dir / "trust" / "intermediates" / "ca.crl-source").write_text("# the issuing CA\n../../crls/ca.crl\n")
    anchors, intermediates = trust.load_trust_dir(keys_dir)
    assert anchors[0][1] == world.root.crl_path and intermediates[0][1] == str(ca_crl.resolve())
    licence = world.licence()
    verifier = LicenceVerifier.from_keys_dir(keys_dir)
    assert verify(verifier, respond(licence, chain=[licence.cert])).uscc == USCC


def test_url_source_and_empty_dir(world, tmp_path):
    assert trust.load_trust_dir(tmp_path / "nothing") == ([], [])
    _install(world, tmp_path, "https://crl.example/root.crl", "file:///srv/ca.crl")
    anchors, intermediates = trust.load_trust_dir(tmp_path)
    assert anchors[0][1] == "https://crl.example/root.crl" and intermediates[0][1] == "/srv/ca.crl"


def test_bad_files_are_configuration_errors(world, tmp_path):
    _install(world, tmp_path, None, None)
    (tmp_path / "trust" / "root.crl-source").write_text("a\nb\n")
    with pytest.raises(ValueError, match="exactly one"):
        trust.load_trust_dir(tmp_path)
    (tmp_path / "trust" / "root.crl-source").unlink()
    (tmp_path / "trust" / "two.pem").write_bytes(world.root.cert.public_bytes(Encoding.PEM) * 2)
    with pytest.raises(ValueError, match="exactly one certificate"):
        trust.load_trust_dir(tmp_path)


def test_ocsp_source_sidecars(world, tmp_path):
    trust.install_ca(tmp_path, "root", world.root.cert.public_bytes(Encoding.PEM), None, anchor=True,
                     ocsp_source="http://ocsp.example/root")
    trust.install_ca(tmp_path, "ca", world.ca.cert.public_bytes(Encoding.PEM), None, anchor=False)
    side = tmp_path / "trust" / "intermediates" / "ca.ocsp-source"
    side.write_text("# the issuing CA's responder, from its certificates\nAIA\n")
    anchors, intermediates = trust.load_trust_dir(tmp_path)
    assert anchors[0][2] == "http://ocsp.example/root" and intermediates[0][2] == "aia"
    for bad in ("ldap://ocsp.example/\n", "a\nb\n", "\n"):
        side.write_text(bad)
        with pytest.raises(ValueError, match="ca.ocsp-source"):
            trust.load_trust_dir(tmp_path)
    trust.install_ca(tmp_path, "ca", world.ca.cert.public_bytes(Encoding.PEM), None, anchor=False)
    assert not side.exists()  # re-installed without an OCSP source
