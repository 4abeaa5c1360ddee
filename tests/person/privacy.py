"""Helpers to prove that nothing personal is kept in clear: a dump of every table."""
from __future__ import annotations

import base64

from sqlalchemy import MetaData, select

# Encrypted at rest by the registry (FieldCipher), and checked by the registry's own tests.
ENCRYPTED = {("registry_persons", "name_enc"), ("registry_persons", "template_enc")}


def dump_database(db) -> list[tuple[str, str, bytes]]:
    """(table, column, value as bytes) for every cell of every table, the short-lived
    ``ephemeral`` table included, minus the registry's encrypted fields."""
    meta = MetaData()
    meta.reflect(bind=db.engine)
    cells = []
    with db.engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for column, value in row.items():
                    if (table.name, column) in ENCRYPTED or value is None:
                        continue
                    raw = value if isinstance(value, (bytes, bytearray)) else str(value).encode()
                    cells.append((table.name, column, bytes(raw)))
    return cells


def id_number_forms(number: str) -> list[bytes]:
    """The number as text, lowercased, JSON-escaped and base64: any clear copy of it."""
    forms = {number, number.lower(), number[:17]}
    out = [f.encode() for f in forms]
    out += [base64.b64encode(number.encode()), base64.urlsafe_b64encode(number.encode())]
    return out


def image_chunks(frames: list[bytes], size: int = 48) -> list[bytes]:
    """Slices of each frame (and of its base64) that any stored copy would contain."""
    chunks = []
    for data in frames:
        for start in (0, len(data) // 3, len(data) // 2, max(0, len(data) - size)):
            piece = data[start:start + size]
            if len(piece) >= 16:
                chunks.append(piece)
        encoded = base64.b64encode(data)
        chunks.append(encoded[60:60 + size])
    return chunks


def leaks(cells, needles) -> list[tuple[str, str]]:
    return [(table, column) for table, column, raw in cells for needle in needles
            if needle and needle in raw]
