"""Electronic business licence certificate profile, version 1 (also in PROFILE.md).

A licence is an X.509 v3 certificate (RFC 5280) issued by a licence authority to one legal
person (company, institution, other organisation), used to sign the login challenge.

Subject (RFC 5280 section 4.1.2.6):

- ``organizationIdentifier`` (OID 2.5.4.97, X.520): exactly one; the 18-character unified
  social credit code (USCC, GB 32100-2015) in upper case, e.g. ``91350100M000100Y43``; its
  18th character must be the GB 32100 check character.  The ETSI EN 319 412-1 section 5.1.4
  form ``NTRCN-`` + USCC is accepted as well.
- ``O``: exactly one; the registered name of the entity.  ``CN``: the same name.
  ``C``: ``CN`` (optional).

Key and JWS algorithm: RSA of at least 2048 bits (``RS256`` or ``PS256``), EC P-256
(``ES256``) or SM2 (``SM2``: SM2-with-SM3, ID ``1234567812345678``).

Extensions:

- ``keyUsage`` (critical): ``digitalSignature`` (``nonRepudiation`` may be added).
- ``basicConstraints``: absent, or ``cA`` FALSE.
- ``subjectKeyIdentifier``, ``authorityKeyIdentifier`` (keyIdentifier) as RFC 5280 4.2.1.1/2.
- ``cRLDistributionPoints`` (optional): an http(s) URL of the issuing CA's CRL.
- holder information, OID ``1.3.6.1.4.1.55555.1.1`` (``id-elicense-holderInfo``; the
  55555 enterprise arc is a placeholder a production authority replaces with its own IANA
  PEN), non-critical (a verifier that knows it accepts it marked critical too), its
  ``extnValue`` the DER encoding of::

      LicenceHolderInfo ::= SEQUENCE {
          version              INTEGER { v1(1) },
          legalRepresentative  UTF8String (SIZE (1..128)),
          role                 ENUMERATED { legalRepresentative(0), administrator(1), agent(2) },
          agentName        [0] IMPLICIT UTF8String (SIZE (1..128)) OPTIONAL,
                               -- present if and only if role is agent(2)
          keyStorage       [1] IMPLICIT ENUMERATED { software(0), hardware(1) } OPTIONAL
                               -- absent means software; when present it is hardware(1):
                               -- the authority asserts the key was generated in and
                               -- never left a hardware token
      }

  Names are non-empty, at most 128 characters, without control characters.

Licence-authority certificates are CA certificates (``basicConstraints`` cA TRUE, critical;
``keyUsage`` ``keyCertSign`` and ``cRLSign``); every CA publishes a CRL (RFC 5280 section 5)
with a ``nextUpdate``, signed with its own key, reachable through the distribution point of
the certificates it issues or through the ``NAME.crl-source`` file configured beside it.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID
from stdnum.cn import uscc as _uscc

from . import der
from .errors import LicenceError

HOLDER_INFO_OID = x509.ObjectIdentifier("1.3.6.1.4.1.55555.1.1")
ORGANIZATION_IDENTIFIER = x509.ObjectIdentifier("2.5.4.97")
ROLES = ("legal_representative", "administrator", "agent")
ETSI_PREFIX = "NTRCN-"  # ETSI EN 319 412-1 section 5.1.4: NTR (national trade register), CN
MAX_NAME = 128
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")  # GB 32100 code alphabet: no I, O, S, V, Z


@dataclass(frozen=True)
class LicenceSubject:
    uscc: str
    org_name: str
    legal_representative: str
    role: str
    agent_name: str | None
    hardware: bool


def check_name(text: str, what: str) -> str:
    if not 0 < len(text) <= MAX_NAME or any(unicodedata.category(c)[0] == "C" for c in text):
        raise ValueError(f"{what} must be 1..{MAX_NAME} printable characters")
    return text


def encode_holder_info(legal_representative: str, role: str = "legal_representative",
                       agent_name: str | None = None, hardware: bool = False) -> bytes:
    """DER of LicenceHolderInfo (see the module docstring)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if (role == "agent") != bool(agent_name):
        raise ValueError("agent_name is required for role agent and only for it")
    parts = [der.integer(1), der.utf8(check_name(legal_representative, "legal representative")),
             der.integer(ROLES.index(role), der.ENUMERATED)]
    if agent_name:
        parts.append(der.utf8(check_name(agent_name, "agent name"), 0x80))
    if hardware:
        parts.append(der.integer(1, 0x81))
    return der.seq(*parts)


def holder_info_extension(*args, **kwargs) -> x509.UnrecognizedExtension:
    return x509.UnrecognizedExtension(HOLDER_INFO_OID, encode_holder_info(*args, **kwargs))


def decode_holder_info(value: bytes) -> tuple[str, str, str | None, bool]:
    """(legal_representative, role, agent_name, hardware); ValueError when not the profile."""
    items = der.sequence_items(value)
    if len(items) < 3 or [t for t, _, _ in items[:3]] != [der.INTEGER, der.UTF8_STRING, der.ENUMERATED]:
        raise ValueError("LicenceHolderInfo must start with version, legalRepresentative, role")
    if der.decode_integer(items[0][1]) != 1:
        raise ValueError("unsupported LicenceHolderInfo version")
    legal_rep = check_name(items[1][1].decode("utf-8"), "legalRepresentative")
    role_index = der.decode_integer(items[2][1])
    if role_index >= len(ROLES):
        raise ValueError("unknown role")
    role = ROLES[role_index]
    agent_name, hardware, rest = None, False, items[3:]
    if rest and rest[0][0] == 0x80:
        agent_name = check_name(rest[0][1].decode("utf-8"), "agentName")
        rest = rest[1:]
    if rest and rest[0][0] == 0x81:
        if der.decode_integer(rest[0][1]) != 1:  # DER: a value equal to the default is absent
            raise ValueError("keyStorage, when present, must be hardware(1)")
        hardware, rest = True, rest[1:]
    if rest:
        raise ValueError("unexpected fields in LicenceHolderInfo")
    if (role == "agent") != (agent_name is not None):
        raise ValueError("agentName must be present exactly when role is agent")
    return legal_rep, role, agent_name, hardware


def check_uscc(value: str) -> str:
    """The USCC from an organizationIdentifier value; LicenceError uscc_invalid when wrong."""
    code = value[len(ETSI_PREFIX):] if value.startswith(ETSI_PREFIX) else value
    # GB 32100-2015 section 4: 18 characters, the last one a check character (section 5)
    if not _USCC_SHAPE.fullmatch(code) or not _uscc.is_valid(code) or _uscc.compact(code) != code:
        raise LicenceError("uscc_invalid", "the unified social credit code is malformed "
                                           "or its check character is wrong")
    return code


def subject_of(cert: x509.Certificate) -> LicenceSubject:
    """Read and check the licence profile of a leaf certificate."""
    ids = cert.subject.get_attributes_for_oid(ORGANIZATION_IDENTIFIER)
    if not ids:
        raise LicenceError("uscc_missing")
    if len(ids) > 1 or not isinstance(ids[0].value, str):
        raise LicenceError("uscc_invalid", "the subject must carry exactly one organizationIdentifier")
    code = check_uscc(ids[0].value)
    names = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    if len(names) != 1 or not isinstance(names[0].value, str) or not names[0].value.strip():
        raise LicenceError("org_name_missing", "the subject must carry exactly one organisation name (O)")
    try:
        ext = cert.extensions.get_extension_for_oid(HOLDER_INFO_OID)
    except x509.ExtensionNotFound:
        raise LicenceError("holder_info_missing") from None
    try:
        legal_rep, role, agent_name, hardware = decode_holder_info(ext.value.value)
    except (ValueError, UnicodeDecodeError, AttributeError) as exc:
        raise LicenceError("holder_info_invalid", f"holder-information extension: {exc}") from None
    return LicenceSubject(code, names[0].value, legal_rep, role, agent_name, hardware)
