"""After logins, no face image bytes and no unmasked ID number are in the database (every
table and column, the short-lived table included) or in the logs."""
import logging

from .conftest import ID, NAME, JPEG, Browser, frame, make_number
from .privacy import dump_database, id_number_forms, image_chunks, leaks

OTHER = make_number("31010119800101001")


def _frames(tag: str) -> list[bytes]:
    # distinctive bytes, long enough that a stored copy cannot hide
    return [frame(tag, i) + bytes(range(256)) * 4 + f"{tag}-tail-{i}".encode() for i in range(3)]


def test_no_images_and_no_id_numbers_are_kept(app, caplog):
    caplog.set_level(logging.DEBUG)
    sent = []
    b = Browser(app, scope="openid profile id_number")
    sent += _frames("spoof")
    assert b.send(b.challenge(), sent[-3:]).status_code == 403
    frames = _frames("live:1")
    sent += frames
    cb = b.login(frames=frames)
    b.rp.token(cb["code"])
    other = Browser(app)
    sent += _frames("live:1x")
    assert other.send(other.challenge(id_number=OTHER, name="王五"), sent[-3:]).status_code == 403
    from tests.api.conftest import Platform  # the mini-program API and the token exchange
    platform = Platform(app)
    sent += _frames("live:1a")
    out = platform.run(frames=sent[-3:], id_number=ID, name=NAME)
    assert platform.exchange(out["assertion"]).status_code == 200

    cells = dump_database(app.extensions["idp"].db)
    tables = {t for t, _, _ in cells}
    assert {"ephemeral", "audit_events", "grants"} <= tables
    assert leaks(cells, [b"1****************X"])  # the dump does see the audit trail
    assert leaks(cells, id_number_forms(ID) + id_number_forms(OTHER)) == []
    assert leaks(cells, image_chunks(sent)) == []
    assert leaks(cells, [NAME.encode(), "王五".encode(), b"\\u5f20\\u4e09"]) == []
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for needle in (ID, ID.lower(), OTHER, NAME, "王五"):
        assert needle not in logs
    assert JPEG.decode("latin-1") not in logs
