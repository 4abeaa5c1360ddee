"""A minimal, strict DER reader and writer (ITU-T X.690 section 10).

Only what the licence profile needs: walking TLVs (to reach the SubjectPublicKeyInfo of an
SM2 certificate, which ``cryptography`` cannot turn into a key, and to splice TBS structures
in the tooling) and encoding the few types of the holder-information extension.  The reader
rejects indefinite lengths (X.690 10.1), non-minimal lengths (10.1) and multi-byte tags it
does not need; every failure is a ``DerError``.
"""
from __future__ import annotations

SEQUENCE = 0x30
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
UTF8_STRING = 0x0C
ENUMERATED = 0x0A
BOOLEAN = 0x01


class DerError(ValueError):
    """The bytes are not the DER this code expects."""


def read_tlv(data: bytes, offset: int = 0) -> tuple[int, int, int]:
    """Read one TLV at ``offset``: return (tag, value_start, value_end)."""
    if offset + 2 > len(data):
        raise DerError("truncated TLV")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DerError("high tag numbers are not used by this profile")
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:  # 0: indefinite form, forbidden in DER (X.690 10.1)
            raise DerError("unsupported length form")
        if pos + count > len(data):
            raise DerError("truncated length")
        length = int.from_bytes(data[pos:pos + count], "big")
        if length < 0x80 or data[pos] == 0:  # DER requires the shortest length form
            raise DerError("non-minimal length")
        pos += count
    if pos + length > len(data):
        raise DerError("truncated value")
    return tag, pos, pos + length


def children(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[int, bytes, bytes]]:
    """Split ``data[start:end]`` into (tag, value, whole_tlv) triples."""
    end = len(data) if end is None else end
    items = []
    pos = start
    while pos < end:
        tag, vstart, vend = read_tlv(data, pos)
        if vend > end:
            raise DerError("child overruns its parent")
        items.append((tag, data[vstart:vend], data[pos:vend]))
        pos = vend
    return items


def sequence_items(tlv: bytes, tag: int = SEQUENCE) -> list[tuple[int, bytes, bytes]]:
    """Parse a whole TLV that must be a ``tag`` (SEQUENCE by default) and return its children."""
    got, vstart, vend = read_tlv(tlv, 0)
    if got != tag or vend != len(tlv):
        raise DerError("expected exactly one constructed value")
    return children(tlv, vstart, vend)


# -- writer ------------------------------------------------------------------------------

def tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + value


def seq(*items: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(items))


def integer(value: int, tag: int = INTEGER) -> bytes:
    if value < 0:
        raise ValueError("negative integers are not used by this profile")
    raw = value.to_bytes(value.bit_length() // 8 + 1, "big")  # leading 0x00 keeps it positive
    if len(raw) > 1 and raw[0] == 0 and raw[1] < 0x80:
        raw = raw[1:]
    return tlv(tag, raw)


def decode_integer(value: bytes) -> int:
    """Decode a non-negative INTEGER/ENUMERATED body, minimally encoded (X.690 8.3.2)."""
    if not value or (len(value) > 1 and value[0] == 0 and value[1] < 0x80) or value[0] & 0x80:
        raise DerError("bad or negative integer")
    return int.from_bytes(value, "big")


def utf8(text: str, tag: int = UTF8_STRING) -> bytes:
    return tlv(tag, text.encode("utf-8"))


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(OID, bytes(body))


def bit_string(data: bytes) -> bytes:
    return tlv(BIT_STRING, b"\x00" + data)
