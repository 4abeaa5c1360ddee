"""onnxruntime sessions built once per model, from verified bytes."""
from __future__ import annotations

import onnxruntime as ort


def session_options(threads: int = 1) -> ort.SessionOptions:
    if threads < 1:
        raise ValueError("threads must be >= 1")
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return so


def create_session(model: bytes, threads: int = 1) -> ort.InferenceSession:
    """A CPU session for already-verified model bytes (never a path: see models.load_verified)."""
    return ort.InferenceSession(model, sess_options=session_options(threads),
                                providers=["CPUExecutionProvider"])
