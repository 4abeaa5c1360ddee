import json

import pytest
from click.testing import CliRunner

from idp.admin import auditlog
from idp.cli import main
from idp.registry import make_registry

from .support import make_number, make_template

A = "11010519491231002X"
B = make_number("31010119800101001")


class FakeEngine:
    def make_template(self, image: bytes) -> bytes:
        from liveness.errors import TemplateError

        if image == b"noface":
            raise TemplateError("no_face")
        return make_template(int(image))


@pytest.fixture
def app(make_app):
    app = make_app()
    app.extensions["idp"].services["liveness"] = FakeEngine()
    return app


@pytest.fixture
def files(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(b"1")
    (photos / "b.jpg").write_bytes(b"noface")
    csv_path = tmp_path / "persons.csv"
    csv_path.write_text(f"id_number,name,photo\n{A},张三,a.jpg\n{B},李四,b.jpg\n")
    return str(csv_path), str(photos)


def run(app, *args):
    return CliRunner().invoke(main, list(args), obj={"app": app, "initialised": True})


def test_import_reports_and_fills_the_local_registry(app, files):
    csv_path, photos = files
    result = run(app, "registry", "import", csv_path, "--photos", photos)
    assert result.exit_code == 0, result.output
    assert "rows: 2  imported: 1  rejected: 1" in result.output
    assert "row 3: no_face" in result.output
    assert A not in result.output and "张三" not in result.output
    state = app.extensions["idp"]
    registry = make_registry("local", database=state.db, secret_key=state.settings.secret_key)
    assert registry.lookup(A).name == "张三"
    assert run(app, "registry", "count").output.strip() == "1"


def test_import_json_report(app, files):
    csv_path, photos = files
    result = run(app, "registry", "import", csv_path, "--photos", photos, "--json")
    report = json.loads(result.stdout)
    assert report["by_reason"] == {"no_face": 1} and report["imported"] == 1


def test_import_without_the_face_engine_fails_clearly(app, files):
    del app.extensions["idp"].services["liveness"]
    result = run(app, "registry", "import", *files[:1], "--photos", files[1])
    assert result.exit_code == 1 and "face engine is not available" in result.output


def test_import_of_a_bad_file_fails_clearly(app, files, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("number,name\n")
    result = run(app, "registry", "import", str(bad), "--photos", files[1])
    assert result.exit_code == 1 and "lacks the column(s) id_number, photo" in result.output
    with app.extensions["idp"].db.session(write=False) as s:
        events, _ = auditlog.search(s, event="registry.import")
    assert [(e["outcome"], e["reason"], e["details"]["file"]) for e in events] \
        == [("failure", "bad_file", "bad.csv")]
