"""Relying parties: metadata validation, the Authlib client adapter, the client service."""
from .model import OAuthClient
from .service import ClientService
from .validation import InvalidClientMetadata, validate_metadata

__all__ = ["OAuthClient", "ClientService", "InvalidClientMetadata", "validate_metadata"]
