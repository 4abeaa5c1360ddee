"""Import persons into a registry from a CSV file and a folder of reference photos.

The CSV has a header row with at least ``id_number,name,photo`` (any order, extra columns
ignored); ``photo`` names a file inside the photos folder.  Every row is validated on its
own and either imported whole or rejected with a reason and its row number (the header is
row 1, as a spreadsheet shows it).  Photos are read one at a time, turned into a face
template by ``make_template`` and dropped: the photo itself is never stored.

``make_template(image_bytes)`` returns the template (512 bytes, or a float32[128] array) or
raises an exception whose ``reason`` attribute is ``no_face``, ``multiple_faces`` or
``bad_image``; the row is then rejected with that reason.  An exception without a ``reason``
is a fault of the engine, not of the row, and stops the import (rows already committed stay:
re-running the import replaces them, it never duplicates).

Rejection reasons: ``invalid_id_number`` (detail: the ``InvalidIdNumber`` reason),
``invalid_name``, ``duplicate`` (the number was imported from an earlier row of this file),
``photo_missing``, ``photo_path`` (outside the folder), ``photo_too_large``,
``photo_unreadable``, ``no_face``, ``multiple_faces``, ``bad_image``, ``bad_template``.
"""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ..idnumber import InvalidIdNumber, parse_id_number
from .base import Enrolment, Registry, check_template, clean_name

REQUIRED_COLUMNS = ("id_number", "name", "photo")
MAX_PHOTO_BYTES = 20 * 1024 * 1024
ProgressFn = Callable[[int, int], None]  # (rows done, rows in the file)


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (missing columns, wrong encoding, broken CSV)."""


class RowRejected(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Rejection:
    row: int  # spreadsheet row number: the header is row 1
    reason: str
    detail: str = ""  # never the ID number, the name or the photo's content


@dataclass
class ImportReport:
    total: int = 0
    imported: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    def by_reason(self) -> dict[str, int]:
        return dict(Counter(r.reason for r in self.rejections))

    def as_dict(self) -> dict:
        return {"total": self.total, "imported": self.imported, "rejected": self.rejected,
                "by_reason": self.by_reason(),
                "rejections": [vars(r) for r in self.rejections]}


def import_persons(registry: Registry, csv_path, photos_dir, make_template: Callable, *,
                   progress: ProgressFn | None = None, source: str = "import",
                   batch_size: int = 200, encoding: str = "utf-8-sig",
                   max_photo_bytes: int = MAX_PHOTO_BYTES) -> ImportReport:
    csv_path, photos = Path(csv_path), Path(photos_dir).resolve()
    if not photos.is_dir():
        raise ImportFileError(f"photos folder {photos_dir} does not exist")
    # First pass: the whole file parses and decodes, and we know the total for the progress
    # bar, before anything is written.
    total = sum(1 for _ in _rows(csv_path, encoding))
    report, batch, seen = ImportReport(total=total), [], set()
    for done, (row_number, row) in enumerate(_rows(csv_path, encoding), start=1):
        try:
            entry = _validate(row, photos, make_template, source, seen, max_photo_bytes)
        except RowRejected as rejected:
            report.rejections.append(Rejection(row_number, rejected.reason, rejected.detail))
        else:
            seen.add(entry.id_number)
            batch.append(entry)
            if len(batch) >= batch_size:
                report.imported += registry.enrol_many(batch)
                batch = []
        if progress:
            progress(done, total)
    if batch:
        report.imported += registry.enrol_many(batch)
    return report


def _rows(path: Path, encoding: str) -> Iterator[tuple[int, dict]]:
    try:
        with path.open(newline="", encoding=encoding) as handle:
            reader = csv.DictReader(handle)
            header = [(name or "").strip().lower() for name in reader.fieldnames or []]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise ImportFileError(f"the header lacks the column(s) {', '.join(missing)}")
            reader.fieldnames = header
            for row in reader:
                yield reader.line_num, row
    except UnicodeDecodeError:
        raise ImportFileError(f"{path} is not {encoding} text; "
                              "save it as CSV UTF-8 or pass its encoding") from None
    except LookupError:
        raise ImportFileError(f"unknown text encoding {encoding!r}") from None
    except csv.Error as error:
        raise ImportFileError(f"{path} is not valid CSV: {error}") from None
    except OSError as error:
        raise ImportFileError(f"cannot read {path}: {error.strerror}") from None


def _validate(row: dict, photos: Path, make_template: Callable, source: str, seen: set,
              max_photo_bytes: int) -> Enrolment:
    try:
        number = parse_id_number(row.get("id_number") or "").number
    except InvalidIdNumber as error:
        raise RowRejected("invalid_id_number", error.reason) from None
    try:
        name = clean_name(row.get("name") or "")
    except ValueError as error:
        raise RowRejected("invalid_name", str(error)) from None
    if number in seen:
        raise RowRejected("duplicate")
    image = _read_photo(photos, (row.get("photo") or "").strip(), max_photo_bytes)
    try:
        template = _template_bytes(make_template(image))
    except RowRejected:
        raise
    except Exception as error:
        reason = getattr(error, "reason", None)
        # Only the engine's own exceptions speak for the row; a built-in error (some, like
        # UnicodeDecodeError, also carry a ``reason``) is a fault, and rejecting every row
        # for it would hide it: stop instead.
        if not isinstance(reason, str) or type(error).__module__ == "builtins":
            raise
        raise RowRejected(reason, str(getattr(error, "detail", "") or "")) from None
    return Enrolment(id_number=number, name=name, template=template, source=source)


def _read_photo(photos: Path, name: str, max_bytes: int) -> bytes:
    if not name:
        raise RowRejected("photo_missing", "no photo named")
    path = (photos / name).resolve()
    if not path.is_relative_to(photos):  # "../x" or an absolute path or a symlink out
        raise RowRejected("photo_path", "the photo is outside the photos folder")
    try:
        if not path.is_file():
            raise RowRejected("photo_missing", "no such file")
        if path.stat().st_size > max_bytes:
            raise RowRejected("photo_too_large", f"larger than {max_bytes} bytes")
        return path.read_bytes()
    except OSError as error:
        raise RowRejected("photo_unreadable", error.strerror or type(error).__name__) from None


def _template_bytes(value) -> bytes:
    if hasattr(value, "astype"):  # a numpy array from the face engine
        value = value.astype("<f4").tobytes()
    try:
        return check_template(value)
    except ValueError as error:
        raise RowRejected("bad_template", str(error)) from None
