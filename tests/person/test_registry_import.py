"""``idp registry import`` with the real face engine, then a login of an imported person."""
import numpy as np
import pytest
from click.testing import CliRunner

from idp.admin import auditlog
from idp.cli import main

from . import faces
from .conftest import Browser, Clock, make_number

pytestmark = pytest.mark.models
T1 = make_number("11010519900307002")
OBAMA = make_number("31010119610804001")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return faces.warm_engine(tmp_path_factory)


def test_import_then_login(make_app, engine, tmp_path):
    app = make_app()
    state = app.extensions["idp"]
    state.services["liveness"] = engine
    state.services["person"].engine = engine
    state.services["person"].sessions.clock = Clock()
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("live_T1", "obama_1"):
        (photos / f"{name}.jpg").write_bytes(faces.read(name))
    (photos / "person.jpg").write_bytes(faces.reference())  # the person of the genuine clip
    (photos / "empty.jpg").write_bytes(faces.jpeg(np.full((480, 640, 3), 128, np.uint8)))
    csv = tmp_path / "persons.csv"
    csv.write_text("id_number,name,photo\n"
                   f"{T1},李华,person.jpg\n{OBAMA},奥巴马,obama_1.jpg\n"
                   f"{make_number('44030419900101001')},无脸,empty.jpg\n"
                   "110105194912310021,坏号,live_T1.jpg\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["registry", "import", str(csv), "--photos", str(photos)],
                                obj={"app": app, "initialised": True})
    assert result.exit_code == 0, result.output
    assert "rows: 4  imported: 2  rejected: 2" in result.output
    assert "row 4: no_face" in result.output and "row 5: invalid_id_number (checksum)" in result.output
    assert T1 not in result.output and "李华" not in result.output
    count = CliRunner().invoke(main, ["registry", "count"], obj={"app": app, "initialised": True})
    assert count.output.strip() == "2"
    # One audit event with the counts (the console's registry page lists them), no row content.
    with state.db.session(write=False) as s:
        events, _ = auditlog.search(s, event="registry.import")
    assert [(e["outcome"], e["details"]["imported"], e["details"]["rejected"]) for e in events] \
        == [("info", 2, 2)]
    assert events[0]["details"]["by_reason"] == {"no_face": 1, "invalid_id_number": 1}
    assert events[0]["details"]["file"] == "persons.csv" and T1 not in str(events[0])
    b = Browser(app)
    images, times = faces.genuine()
    resp = b.send(b.challenge(id_number=T1, name="李华"), images, times_ms=times, wait=5.0)
    assert resp.status_code == 200, resp.get_json()
    assert resp.status_code == 200 and resp.get_json()["ok"] is True
