"""Exceptions raised by the liveness library.

Per-image problems (unreadable bytes, no face, ...) are *results*, reported through a
machine-readable ``reason`` on ``FrameResult``/``SessionResult``; exceptions are kept for
problems the caller must fix (missing models, bad arguments) and for ``make_template``,
whose only useful answer is a template.
"""
from __future__ import annotations

INSTALL_HINT = "idp models install --from ../shared/models"


class LivenessError(Exception):
    """Base class of every exception this package raises on purpose."""


class ModelMissingError(LivenessError):
    """A model file is absent, or its bytes do not match the sha256 pinned in the manifest."""

    def __init__(self, model: str, path, problem: str):
        self.model = model
        self.path = str(path)
        self.problem = problem
        super().__init__(
            f"model {model!r} ({self.path}) {problem}; install the models with "
            f"`{INSTALL_HINT}` (or `liveness models install --from DIR`)")


class ModelInstallError(LivenessError):
    """The installer could not produce a verified runnable file."""

    def __init__(self, message: str, statuses=None):
        super().__init__(message)
        self.statuses = list(statuses or [])


class ImageError(LivenessError):
    """The bytes are not an image this library accepts; ``reason`` is the result code."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class TemplateError(LivenessError):
    """No reference template can be made from the photo; ``reason`` says why."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)
