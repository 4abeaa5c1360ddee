"""Face liveness engine: detection, quality gates, passive anti-spoofing, active challenges,
replay detection and face matching.  A pure library (numpy, OpenCV, onnxruntime); it never
imports ``idp``.

    from liveness import LivenessPipeline, MemorySeenFrames, random_actions
    pipeline = LivenessPipeline.from_dir("models", threads=1)
    result = pipeline.check_session(frames, actions=random_actions(), reference=template,
                                    seen=MemorySeenFrames(), session_id=session)

Names are imported lazily so that ``liveness.models`` (the installer) and the CLI's help do
not load onnxruntime.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "LivenessPipeline": "pipeline",
    "Settings": "config",
    "FrameResult": "results",
    "SessionResult": "results",
    "SeenFrames": "replay",
    "MemorySeenFrames": "replay",
    "ACTIONS": "challenge",
    "random_actions": "challenge",
    "GUIDED_ACTIONS": "challenge",
    "verify_actions": "challenge",
    "install": "models",
    "verify": "models",
    "template_to_bytes": "templates",
    "template_from_bytes": "templates",
    "Clip": "clip",
    "ClipFrame": "clip",
    "ClipLimits": "clip",
    "ClipError": "clip",
    "decode_video": "clip",
    "decode_burst": "clip",
    "LivenessError": "errors",
    "ModelMissingError": "errors",
    "ModelInstallError": "errors",
    "ImageError": "errors",
    "TemplateError": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'liveness' has no attribute {name!r}")
