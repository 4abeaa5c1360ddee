import pytest
from .support import make_number, make_template

from idp.registry import PersonRecord
from idp.registry.importer import ImportFileError, Rejection, import_persons

A = "11010519491231002X"
B = make_number("31010119800101001")
C = make_number("44030519751231002")
D = make_number("81000019600101001")  # Hong Kong permit


class FaceError(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def fake_make_template(image: bytes) -> bytes:
    """Photos are text: face:<seed>, noface, many, garbage, crash."""
    kind, _, seed = image.decode().partition(":")
    if kind == "face":
        return make_template(int(seed))
    if kind == "short":
        return b"\x01" * 100
    if kind == "crash":
        raise RuntimeError("model file missing")
    raise FaceError({"noface": "no_face", "many": "multiple_faces"}.get(kind, "bad_image"))


class Recorder:
    """A registry that records the batches it is given."""

    def __init__(self):
        self.batches = []

    def enrol_many(self, entries):
        self.batches.append(list(entries))
        return len(self.batches[-1])


@pytest.fixture
def files(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()

    def write(csv_text, photo_files=None, encoding="utf-8"):
        for name, content in (photo_files or {}).items():
            (photos / name).write_bytes(content)
        path = tmp_path / "persons.csv"
        path.write_bytes(csv_text.encode(encoding))
        return path, photos
    return write


def test_imports_valid_rows_into_the_local_registry(files, local_registry):
    csv_path, photos = files(
        f"id_number,name,photo\n{A},张三,a.jpg\n{B},李四,b.jpg\n",
        {"a.jpg": b"face:1", "b.jpg": b"face:2"})
    report = import_persons(local_registry, csv_path, photos, fake_make_template)
    assert (report.total, report.imported, report.rejected) == (2, 2, 0)
    assert local_registry.lookup(A) == PersonRecord("张三", make_template(1))
    assert local_registry.lookup(B) == PersonRecord("李四", make_template(2))


def test_every_rejection_has_a_reason_and_a_spreadsheet_row(files, tmp_path):
    (tmp_path / "outside.jpg").write_bytes(b"face:9")
    rows = [
        f"{A},张三,a.jpg",              # row 2: good
        "110105194912310021,王五,a.jpg",  # 3: checksum
        f"{B},,b.jpg",                  # 4: no name
        f"{A},张三,a.jpg",              # 5: duplicate of row 2
        f"{B},李四,",                   # 6: no photo named
        f"{B},李四,missing.jpg",        # 7
        f"{B},李四,../outside.jpg",     # 8
        f"{B},李四,noface.jpg",         # 9
        f"{B},李四,many.jpg",           # 10
        f"{B},李四,garbage.jpg",        # 11
        f"{B},李四,short.jpg",          # 12: engine returned a bad template
        f"{B},李四,big.jpg",            # 13
        f"{C},赵六,c.jpg",              # 14: good
        f"{B},李四,b.jpg",              # 15: good: earlier B rows were rejected, not imported
        f"{D},陈七,d.jpg",              # 16: good, a permit
        "20250101,x,a.jpg",             # 17: format
    ]
    csv_path, photos = files("id_number,name,photo\n" + "\n".join(rows) + "\n", {
        "a.jpg": b"face:1", "b.jpg": b"face:2", "c.jpg": b"face:3", "d.jpg": b"face:4",
        "noface.jpg": b"noface", "many.jpg": b"many", "garbage.jpg": b"garbage",
        "short.jpg": b"short", "big.jpg": b"face:5" + b" " * 100})
    registry = Recorder()
    report = import_persons(registry, csv_path, photos, fake_make_template, max_photo_bytes=64)
    assert [(r.row, r.reason) for r in report.rejections] == [
        (3, "invalid_id_number"), (4, "invalid_name"), (5, "duplicate"), (6, "photo_missing"),
        (7, "photo_missing"), (8, "photo_path"), (9, "no_face"), (10, "multiple_faces"),
        (11, "bad_image"), (12, "bad_template"), (13, "photo_too_large"),
        (17, "invalid_id_number")]
    assert report.rejections[0] == Rejection(3, "invalid_id_number", "checksum")
    assert report.rejections[-1].detail == "format"
    assert (report.total, report.imported, report.rejected) == (16, 4, 12)
    assert [e.id_number for e in registry.batches[0]] == [A, C, B, D]
    assert report.by_reason()["photo_missing"] == 2
    text = repr(report.as_dict())
    for secret in (A, B, "张三", "李四", "110105194912310021"):
        assert secret not in text


def test_commits_in_batches_and_reports_progress(files):
    numbers = [make_number(f"31010119800101{i:03d}") for i in range(5)]
    body = "".join(f"{n},某,p.jpg\n" for n in numbers)
    csv_path, photos = files("id_number,name,photo\n" + body, {"p.jpg": b"face:1"})
    registry, progress = Recorder(), []
    report = import_persons(registry, csv_path, photos, fake_make_template, batch_size=2,
                            progress=lambda done, total: progress.append((done, total)))
    assert [len(b) for b in registry.batches] == [2, 2, 1]
    assert progress == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    assert report.imported == 5


def test_header_may_be_reordered_padded_and_carry_a_bom_and_extra_columns(files):
    csv_path, photos = files(f"\ufeff Photo , NAME,note,ID_Number\na.jpg,张三,vip,{A}\n",
                             {"a.jpg": b"face:1"})
    registry = Recorder()
    assert import_persons(registry, csv_path, photos, fake_make_template).imported == 1
    assert registry.batches[0][0].name == "张三"


def test_quoted_fields_and_gb18030_files(files):
    csv_path, photos = files(f'id_number,name,photo\n"{A}","欧阳, 娜娜","a.jpg"\n',
                             {"a.jpg": b"face:1"}, encoding="gb18030")
    registry = Recorder()
    report = import_persons(registry, csv_path, photos, fake_make_template, encoding="gb18030")
    assert report.imported == 1 and registry.batches[0][0].name == "欧阳, 娜娜"


@pytest.mark.parametrize("csv_text,message", [
    ("id_number,name\n", "photo"),
    ("", "id_number, name, photo"),
    ("number;name;photo\n", "id_number"),
])
def test_header_must_name_the_required_columns(files, csv_text, message):
    csv_path, photos = files(csv_text)
    with pytest.raises(ImportFileError, match=message):
        import_persons(Recorder(), csv_path, photos, fake_make_template)


def test_wrong_encoding_fails_before_anything_is_written(files):
    # A GBK file (Excel's default on Chinese Windows) read as UTF-8: the bad row is last,
    # so a single streaming pass would already have written the first rows.
    good = "".join(f"{make_number(f'31010119800101{i:03d}')},Li,p.jpg\n" for i in range(3))
    csv_path, photos = files("id_number,name,photo\n" + good + f"{A},张三,p.jpg\n",
                             {"p.jpg": b"face:1"}, encoding="gbk")
    registry = Recorder()
    with pytest.raises(ImportFileError, match="not utf-8-sig"):
        import_persons(registry, csv_path, photos, fake_make_template, batch_size=1)
    assert registry.batches == []


def test_unknown_encoding(files):
    csv_path, photos = files(f"id_number,name,photo\n{A},张三,a.jpg\n")
    with pytest.raises(ImportFileError, match="unknown text encoding"):
        import_persons(Recorder(), csv_path, photos, fake_make_template, encoding="klingon")


def test_missing_files(tmp_path):
    with pytest.raises(ImportFileError, match="photos folder"):
        import_persons(Recorder(), tmp_path / "x.csv", tmp_path / "nope", fake_make_template)
    with pytest.raises(ImportFileError, match="cannot read"):
        import_persons(Recorder(), tmp_path / "x.csv", tmp_path, fake_make_template)


def test_an_engine_fault_stops_the_import(files):
    csv_path, photos = files(f"id_number,name,photo\n{A},张三,a.jpg\n{B},李四,crash.jpg\n",
                             {"a.jpg": b"face:1", "crash.jpg": b"crash"})
    with pytest.raises(RuntimeError, match="model file missing"):
        import_persons(Recorder(), csv_path, photos, fake_make_template)


def test_builtin_errors_with_a_reason_are_faults_not_rejections(files):
    def broken(image):
        return b"\xff".decode()  # UnicodeDecodeError has a .reason

    csv_path, photos = files(f"id_number,name,photo\n{A},张三,a.jpg\n", {"a.jpg": b"x"})
    with pytest.raises(UnicodeDecodeError):
        import_persons(Recorder(), csv_path, photos, broken)


def test_numpy_templates_from_the_face_engine(files):
    np = pytest.importorskip("numpy")
    csv_path, photos = files(f"id_number,name,photo\n{A},张三,a.jpg\n", {"a.jpg": b"x"})
    vector = np.linspace(-1, 1, 128, dtype=np.float64)
    registry = Recorder()
    import_persons(registry, csv_path, photos, lambda image: vector)
    assert registry.batches[0][0].template == vector.astype("<f4").tobytes()


def test_re_import_replaces_rather_than_duplicates(files, local_registry):
    csv_path, photos = files(f"id_number,name,photo\n{A},张三,a.jpg\n", {"a.jpg": b"face:1"})
    import_persons(local_registry, csv_path, photos, fake_make_template)
    (photos / "a.jpg").write_bytes(b"face:2")
    import_persons(local_registry, csv_path, photos, fake_make_template)
    assert local_registry.count() == 1
    assert local_registry.lookup(A).template == make_template(2)
