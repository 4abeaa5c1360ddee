"""The population registry interface: what login needs to know about a person.

A registry answers one question, "who is registered under this ID number, and what does
their reference face look like?", as a ``PersonRecord`` or ``None``.  It never says why a
lookup found nothing, and the login view compares the name itself and answers both
"unknown number" and "wrong name" the same way, so the HTTP layer is no existence oracle.

Face templates are the SFace embedding of the reference photo: 128 float32, little-endian,
512 bytes.  This layer keeps them as bytes (no numpy here); the face engine decodes them.
"""
from __future__ import annotations

import math
import struct
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Protocol, runtime_checkable

from ..errors import IdpError, ServiceUnavailable

TEMPLATE_DIM = 128
TEMPLATE_BYTES = TEMPLATE_DIM * 4
TEMPLATE_MODEL = "sface-2021dec"  # the embedder the templates were made with
MAX_NAME_CHARS = 128
MAX_SOURCE_CHARS = 32  # registry_persons.source is String(32)


class RegistryUnavailable(ServiceUnavailable):
    """The population registry is unavailable; please try again later."""

    def __init__(self, reason: str = "unavailable", detail: str = ""):
        # The caller sees only the generic description; ``reason`` (a short code such as
        # ``timeout``, ``auth`` or ``malformed``) and ``detail`` are for logs and metrics.
        super().__init__()
        self.reason = reason
        self.detail = detail


class NotSupported(IdpError):
    """This registry does not support the operation."""

    error = "not_supported"
    status = 501


@dataclass(frozen=True)
class PersonRecord:
    """One registered person.  ``repr`` hides both fields: they are personal data."""

    name: str = field(repr=False)
    # None only for a row enrolled without a reference face: such a person cannot pass a
    # face match, and the caller must treat it as a failed login.
    template: bytes | None = field(repr=False)


@dataclass(frozen=True)
class Enrolment:
    """One person to write with ``Registry.enrol_many`` (the importer's batches)."""

    id_number: str = field(repr=False)
    name: str = field(repr=False)
    template: bytes = field(repr=False)
    source: str = "import"


@runtime_checkable
class Registry(Protocol):
    def lookup(self, id_number: str) -> PersonRecord | None:
        """The person registered under ``id_number``, or None.

        Raises ``InvalidIdNumber`` for a malformed number, ``RegistryUnavailable`` when the
        registry cannot answer (never None in that case: an outage is not "unknown").
        """

    def enrol(self, id_number: str, name: str, template: bytes, source: str) -> None:
        """Create or replace the person's record (local registries only)."""

    def enrol_many(self, entries: Iterable[Enrolment]) -> int:
        """Create or replace several records in one transaction; returns how many."""

    def count(self) -> int:
        """How many persons are registered."""


def check_template(template: bytes) -> bytes:
    """Refuse anything but 128 finite float32: a bad template would match nobody, silently."""
    if not isinstance(template, (bytes, bytearray)) or len(template) != TEMPLATE_BYTES:
        raise ValueError(f"a face template is {TEMPLATE_BYTES} bytes (float32[{TEMPLATE_DIM}])")
    values = struct.unpack(f"<{TEMPLATE_DIM}f", template)
    if not all(math.isfinite(v) for v in values):
        raise ValueError("a face template must hold finite numbers")
    if not any(values):
        raise ValueError("a face template must not be all zeros")
    return bytes(template)


def clean_name(name: str) -> str:
    """NFC, surrounding whitespace removed, bounded: the form names are stored and compared in."""
    if not isinstance(name, str):
        raise ValueError("a name must be text")
    name = unicodedata.normalize("NFC", name).strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise ValueError(f"a name has 1 to {MAX_NAME_CHARS} characters")
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise ValueError("a name must not contain control characters")
    return name


def check_source(source: str) -> str:
    if not isinstance(source, str) or not source or len(source) > MAX_SOURCE_CHARS:
        raise ValueError(f"source is 1 to {MAX_SOURCE_CHARS} characters")
    return source
