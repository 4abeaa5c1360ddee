"""Rotating the root secret while two nodes on one PostgreSQL database serve logins: no
login fails, every ``sub`` a relying party saw before is the same after, refresh tokens
issued before still work, and the registry still matches faces (issue 15)."""
from __future__ import annotations

import copy
import threading

from idp.rootsecrets import secret_ring
from idp.rootsecrets.rotate import rotate, status
from tests.helpers.pg import pg_database
from tests.oidc.rp import RP
from tests.person.conftest import ID, NAME, Browser, Clock, FakeEngine, template

S0, S1 = "t" * 48, "n" * 48
USERS = ["alice", "bob", "carol", "dave"]
CLOCK = Clock()  # the sessions' clock of every node: a face capture takes time on all of them


def _node(make_app, url, tmp_path, name, **secret):
    app = make_app(database_url=url, instance_dir=str(tmp_path / name),
                   audit_checkpoint_events=0, audit_checkpoint_seconds=0, **secret)
    state = app.extensions["idp"]
    engine = FakeEngine()
    state.services["liveness"] = engine
    state.services["person"].engine = engine
    state.services["person"].sessions.clock = CLOCK
    return app


def _on(app, rp: RP) -> RP:
    """The same relying party, talking to ``app`` with a fresh browser."""
    other = copy.copy(rp)
    other.app, other.browser = app, app.test_client()
    return other


def _sub(rp: RP, user: str, exchange_on: RP | None = None) -> tuple[str, str]:
    callback = rp.login(user=user)
    answer = (exchange_on or rp).token(callback["code"], verifier=rp.last["verifier"])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    tokens = answer.get_json()
    return rp.verify(tokens["id_token"])["sub"], tokens["refresh_token"]


def _face_login(app, rp: RP) -> str:
    """A face login (the fake engine matches only the registry's decrypted template)."""
    here = _on(app, rp)
    browser = Browser(app, client=here.browser, rp=here)
    callback = browser.login()
    answer = here.token(callback["code"])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return here.verify(answer.get_json()["id_token"])["sub"]


def _logins(nodes, rp, seen, errors, rounds=3):
    def work(i, app):
        try:
            for r in range(rounds):
                user = USERS[(i + r) % len(USERS)]
                here, there = _on(app, rp), _on(nodes[(i + 1) % len(nodes)], rp)
                sub, _ = _sub(here, user, exchange_on=there)  # the code crosses nodes
                assert sub == seen[user], f"sub of {user} changed"
                assert _face_login(app, rp) == seen["face"]
        except Exception as exc:  # reported by the caller
            errors.append(exc)

    return [threading.Thread(target=work, args=(i, app)) for i, app in enumerate(nodes)]


def _run(threads):
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)


def test_rotation_under_load_on_two_nodes(make_app, tmp_path):
    with pg_database() as url:
        old = [_node(make_app, url, tmp_path, f"a{i}") for i in range(2)]
        old[0].extensions["idp"].services["registry"].enrol(ID, NAME, template(1), "test")
        rp = RP(old[0], old[0].test_client())
        seen, refresh = {}, {}
        for i, user in enumerate(USERS):
            seen[user], refresh[user] = _sub(_on(old[i % 2], rp), user)
        seen["face"] = _face_login(old[1], rp)

        # 1. the new secret is known everywhere, current on one node only (rolling out)
        mixed = [_node(make_app, url, tmp_path, "b0", secret_key="", secret_keys=f"1:{S1},0:{S0}"),
                 _node(make_app, url, tmp_path, "b1", secret_key="", secret_keys=f"0:{S0},1:{S1}")]
        errors: list = []
        _run(_logins(mixed, rp, seen, errors))
        assert not errors, errors

        # 2. current everywhere; rotate while both nodes keep logging people in
        new = [_node(make_app, url, tmp_path, f"c{i}", secret_key="", secret_keys=f"1:{S1},0:{S0}")
               for i in range(2)]
        state = new[0].extensions["idp"]
        ring = secret_ring(state.settings)
        threads = _logins(new, rp, seen, errors, rounds=4)
        rotator = threading.Thread(target=lambda: rotate(state.db, ring, batch=2))
        _run(threads + [rotator])
        assert not errors, errors
        rotate(state.db, ring)  # what the nodes wrote during the first pass
        counts = status(state.db, ring)
        assert counts["registry_persons.template_enc"] == {"1": 1}
        assert all(set(tally) <= {"1"} for tally in counts.values()), counts

        # 3. the old secret removed: everything still opens, nothing changed for anyone
        final = [_node(make_app, url, tmp_path, f"d{i}", secret_key="", secret_keys=f"1:{S1}")
                 for i in range(2)]
        for i, user in enumerate(USERS):
            here = _on(final[i % 2], rp)
            assert _sub(here, user)[0] == seen[user]
            again = here.refresh(refresh[user])  # a grant sealed under the old secret
            assert again.status_code == 200, again.get_data(as_text=True)
            assert here.verify(again.get_json()["id_token"])["sub"] == seen[user]
        assert _face_login(final[0], rp) == seen["face"]
        record = final[1].extensions["idp"].services["registry"].lookup(ID)
        assert record.template == template(1) and record.name == NAME
        for app in old + mixed + new + final:
            app.extensions["idp"].db.engine.dispose()
