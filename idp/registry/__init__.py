"""Population registry adapters: ``local`` (encrypted table) and ``http`` (remote service)."""
from .base import (TEMPLATE_BYTES, TEMPLATE_DIM, TEMPLATE_MODEL, Enrolment, NotSupported,
                   PersonRecord, Registry, RegistryUnavailable)
from .factory import make_registry

__all__ = ["TEMPLATE_BYTES", "TEMPLATE_DIM", "TEMPLATE_MODEL", "Enrolment", "NotSupported",
           "PersonRecord", "Registry", "RegistryUnavailable", "make_registry"]
