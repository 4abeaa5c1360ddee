"""The model manifest (``models/manifest.toml``): what each model file must be.

One table per model pins the runnable file (name, sha256, size), its input spec and
thresholds, and the upstream file it is derived from (name, sha256, size, URL, licence, the
derivation steps).  The installer writes runnable files from upstream ones; the pipeline
loads nothing whose bytes do not match the pinned sha256.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from .errors import LivenessError

MANIFEST_NAME = "manifest.toml"
# The manifest kept with the sources (models/manifest.toml in the repository).
DEFAULT_MANIFEST = Path(__file__).resolve().parent.parent / "models" / MANIFEST_NAME
REQUIRED_MODELS = ("detector", "antispoof_v2", "antispoof_v1se", "recognizer")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Source:
    """The upstream file a runnable model is derived from."""

    file: str
    sha256: str
    bytes: int
    url: str
    derive: tuple[str, ...] = ()
    package: str | None = None        # a Python distribution that ships the file...
    package_path: str | None = None   # ...at this path inside the package


@dataclass(frozen=True)
class ModelSpec:
    key: str
    name: str
    file: str
    sha256: str
    bytes: int
    licence: str
    source: Source
    input: Mapping = field(default_factory=dict)
    thresholds: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    path: Path
    models: Mapping[str, ModelSpec]

    def __getitem__(self, key: str) -> ModelSpec:
        return self.models[key]


def find_manifest(models_dir) -> Path:
    """The manifest beside the model files if there is one, else the repository's."""
    local = Path(models_dir) / MANIFEST_NAME
    return local if local.is_file() else DEFAULT_MANIFEST


def load_manifest(path=None) -> Manifest:
    path = Path(path) if path is not None else DEFAULT_MANIFEST
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LivenessError(f"cannot read the model manifest {path}: {exc}") from None
    tables = data.get("models") or {}
    missing = [k for k in REQUIRED_MODELS if k not in tables]
    if missing:
        raise LivenessError(f"model manifest {path} lacks {', '.join(missing)}")
    models = {key: _spec(path, key, table) for key, table in tables.items()}
    return Manifest(path=path, models=MappingProxyType(models))


def _spec(path: Path, key: str, t: dict) -> ModelSpec:
    try:
        s = t["source"]
        source = Source(file=s["file"], sha256=s["sha256"], bytes=int(s["bytes"]), url=s["url"],
                        derive=tuple(s.get("derive", ())), package=s.get("package"),
                        package_path=s.get("package_path"))
        spec = ModelSpec(key=key, name=t["name"], file=t["file"], sha256=t["sha256"],
                         bytes=int(t["bytes"]), licence=t["licence"], source=source,
                         input=MappingProxyType(dict(t.get("input", {}))),
                         thresholds=MappingProxyType(dict(t.get("thresholds", {}))))
    except (KeyError, TypeError, ValueError) as exc:
        raise LivenessError(f"model manifest {path}: entry {key!r} is invalid ({exc!r})") from None
    for digest in (spec.sha256, source.sha256):
        if not _SHA256.match(digest):
            raise LivenessError(f"model manifest {path}: {key!r} has a malformed sha256 {digest!r}")
    if "/" in spec.file or "\\" in spec.file or spec.file.startswith("."):
        raise LivenessError(f"model manifest {path}: {key!r} file must be a plain file name")
    return spec
