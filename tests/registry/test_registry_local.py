import pytest
from .support import make_number, make_template
from sqlalchemy import select, update

from idp.idnumber import InvalidIdNumber
from idp.registry import Enrolment, PersonRecord, Registry, RegistryUnavailable, make_registry
from idp.registry.local import LocalRegistry
from idp.store.models import RegistryPerson

NUMBER = "11010519491231002X"
OTHER = make_number("31010119800101001")


def rows(database):
    with database.session(write=False) as s:
        return list(s.scalars(select(RegistryPerson)))


def test_is_a_registry(local_registry):
    assert isinstance(local_registry, Registry)


def test_enrol_then_lookup(local_registry):
    template = make_template(1)
    local_registry.enrol(NUMBER, " 张三 ", template, "import")
    record = local_registry.lookup(NUMBER)
    assert record == PersonRecord(name="张三", template=template)
    assert "张三" not in repr(record)
    assert local_registry.count() == 1


def test_unknown_number_is_none(local_registry):
    assert local_registry.lookup(OTHER) is None


def test_every_spelling_of_a_number_is_one_row(local_registry):
    local_registry.enrol("110105491231002", "张三", make_template(1), "import")  # legacy
    assert local_registry.lookup("11010519491231002x").name == "张三"
    assert local_registry.lookup("１１０１０５１９４９１２３１００２Ｘ") is not None  # full-width
    assert local_registry.count() == 1


def test_re_enrol_replaces_and_keeps_created_at(database):
    clock = iter([100.0, 200.0])
    registry = make_registry("local", database=database, secret_key="s" * 32)
    registry._clock = lambda: next(clock)
    registry.enrol(NUMBER, "张三", make_template(1), "import")
    registry.enrol(NUMBER, "张叁", make_template(2), "admin")
    assert registry.lookup(NUMBER) == PersonRecord("张叁", make_template(2))
    (row,) = rows(database)
    assert (row.created_at, row.updated_at, row.source) == (100.0, 200.0, "admin")


def test_nothing_personal_is_stored_in_clear(database, local_registry):
    template = make_template(7)
    local_registry.enrol(NUMBER, "张三", template, "import")
    (row,) = rows(database)
    stored = b"".join([row.id_hash.encode(), row.name_enc, row.template_enc, row.source.encode()])
    for secret in (NUMBER.encode(), "张三".encode(), template[:16], b"110105"):
        assert secret not in stored
    assert len(row.id_hash) == 64 and row.id_hash == local_registry.key_for(NUMBER)


def test_swapped_rows_fail_closed(database, local_registry):
    local_registry.enrol(NUMBER, "张三", make_template(1), "import")
    local_registry.enrol(OTHER, "李四", make_template(2), "import")
    by_key = {row.id_hash: row for row in rows(database)}
    victim, intruder = local_registry.key_for(NUMBER), local_registry.key_for(OTHER)
    with database.session() as s:
        # Someone with write access to the table gives one number another person's face.
        s.execute(update(RegistryPerson).where(RegistryPerson.id_hash == victim)
                  .values(template_enc=by_key[intruder].template_enc))
    with pytest.raises(RegistryUnavailable) as caught:
        local_registry.lookup(NUMBER)
    assert caught.value.reason == "integrity" and caught.value.status == 503


def test_swapped_columns_fail_closed(database, local_registry):
    local_registry.enrol(NUMBER, "张三", make_template(1), "import")
    (row,) = rows(database)
    with database.session() as s:
        s.execute(update(RegistryPerson).values(name_enc=row.template_enc,
                                                template_enc=row.name_enc))
    with pytest.raises(RegistryUnavailable):
        local_registry.lookup(NUMBER)


def test_another_secret_cannot_read_the_rows(database, local_registry):
    local_registry.enrol(NUMBER, "张三", make_template(1), "import")
    other = make_registry("local", database=database, secret_key="another-secret")
    assert other.lookup(NUMBER) is None  # another hash key: another row key


def test_another_field_key_fails_closed(database, local_registry):
    from idp.registry.crypto import FieldCipher

    local_registry.enrol(NUMBER, "张三", make_template(1), "import")
    same_hash = LocalRegistry(database, FieldCipher(bytes(32)), local_registry._hash_key)
    with pytest.raises(RegistryUnavailable):
        same_hash.lookup(NUMBER)


def test_row_without_template(database, local_registry):
    local_registry.enrol(NUMBER, "张三", make_template(1), "import")
    with database.session() as s:
        s.execute(update(RegistryPerson).values(template_enc=None))
    assert local_registry.lookup(NUMBER) == PersonRecord("张三", None)


@pytest.mark.parametrize("number,name,template,source,error", [
    ("110105194912310021", "张三", make_template(), "import", InvalidIdNumber),
    (NUMBER, "", make_template(), "import", ValueError),
    (NUMBER, "张\x00三", make_template(), "import", ValueError),
    (NUMBER, "x" * 129, make_template(), "import", ValueError),
    (NUMBER, "张三", b"\x00" * 512, "import", ValueError),   # all zeros
    (NUMBER, "张三", make_template()[:-4], "import", ValueError),
    (NUMBER, "张三", b"\x00\x00\xc0\x7f" * 128, "import", ValueError),  # NaN
    (NUMBER, "张三", make_template(), "", ValueError),
    (NUMBER, "张三", make_template(), "s" * 33, ValueError),
])
def test_enrol_validates(local_registry, number, name, template, source, error):
    with pytest.raises(error):
        local_registry.enrol(number, name, template, source)
    assert local_registry.count() == 0


def test_enrol_many_is_all_or_nothing(local_registry):
    good = Enrolment(NUMBER, "张三", make_template(1))
    bad = Enrolment(OTHER, "李四", b"short")
    with pytest.raises(ValueError):
        local_registry.enrol_many([good, bad])
    assert local_registry.count() == 0
    assert local_registry.enrol_many([good, Enrolment(OTHER, "李四", make_template(2))]) == 2
    assert local_registry.count() == 2


def test_lookup_refuses_malformed_numbers(local_registry):
    with pytest.raises(InvalidIdNumber):
        local_registry.lookup("1234")
