"""A demo licence authority and licences, made with the product's own tooling."""
from __future__ import annotations

import re

import pytest
from stdnum.cn import uscc as uscc_mod

from idp.elicense.authority import init_authority, issue_licence
from idp.elicense.holder import load_licence


def valid_uscc(body: str = "91350100M000100Y4") -> str:
    return body + uscc_mod.calc_check_digit(body)


@pytest.fixture
def licensed_app(make_app, tmp_path):
    app = make_app(demo=True)
    keys_dir = app.extensions["idp"].settings.keys_dir
    init_authority(keys_dir)
    return app


@pytest.fixture
def licence(licensed_app, tmp_path):
    keys_dir = licensed_app.extensions["idp"].settings.keys_dir
    out = tmp_path / "licence"
    serial = issue_licence(keys_dir, uscc=valid_uscc(), name="福州示例科技有限公司",
                           legal_rep="王五", out_dir=out)
    key, chain = load_licence(out / "licence.crt.pem", out / "licence.key.pem", out / "chain.pem")
    return {"key": key, "chain": chain, "serial": serial, "dir": out, "keys_dir": keys_dir}


def challenge_of(html: str) -> str:
    return re.search(r"challenge=([A-Za-z0-9_-]+)", html).group(1)
