"""Deterministic ONNX graph rewrites that turn an upstream model into the runnable file.

Each step maps a ``ModelProto`` to an equivalent one (same outputs up to float rounding);
the manifest lists the steps per model and pins the sha256 of the result, so the same
upstream bytes always give the same runnable bytes.  Needs the ``onnx`` package (the
``models`` extra); nothing here runs at inference time.

- ``dynamic_hw``: YuNet's graph is size-agnostic (reshapes use -1, upsampling uses scales)
  but declares a fixed 640x640 input; declaring height/width symbolic lets the detector run
  at a smaller letterboxed size.
- ``dequantize``: SFace ships block-quantized int8 weights (DequantizeLinear with
  ``block_size``); folding them to fp32 initializers halves CPU latency with onnxruntime.
- ``prune_inputs``: drops graph inputs no node reads (SFace declares 29; onnxruntime then
  asks for them and OpenCV refuses the file) and unused initializers.
- ``initializers_not_inputs``: initializers also listed as graph inputs (old IR style) can
  be overridden at run time, which stops onnxruntime from folding BatchNorm into Conv.
- ``split_prelu``: ``PRelu(x, a) == a*x + (1-a)*relu(x)``; onnxruntime's per-channel PRelu
  kernel costs more than the convolutions around it, the rewrite halves MiniFASNet and
  SFace latency.
"""
from __future__ import annotations

import hashlib


def _onnx():
    try:
        import onnx  # noqa: PLC0415 - optional dependency, only for installing models
        from onnx import helper, numpy_helper  # noqa: F401
    except ImportError:
        from .errors import ModelInstallError
        raise ModelInstallError(
            "deriving the runnable model files needs the 'onnx' package: "
            "pip install 'idp[models]'") from None
    return onnx


def dynamic_hw(model):
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, name in ((dims[2], "height"), (dims[3], "width")):
        dim.Clear()
        dim.dim_param = name
    for out in model.graph.output:
        for i, dim in enumerate(out.type.tensor_type.shape.dim):
            if i == 1:
                dim.Clear()
                dim.dim_param = f"{out.name}_n"
    del model.graph.value_info[:]
    return model


def _dequantize_array(q, scale, zero_point, axis: int, block: int):
    import numpy as np
    q = q.astype(np.int32)
    zero_point = np.broadcast_to(zero_point.astype(np.int32), scale.shape)
    axis = axis % q.ndim
    if block:  # blocked quantization (opset 21): one scale per `block` elements along `axis`
        index = np.arange(q.shape[axis]) // block
        scale = np.take(scale, index, axis=axis)
        zero_point = np.take(zero_point, index, axis=axis)
    elif scale.ndim == 1 and scale.size > 1:  # per-axis
        shape = [1] * q.ndim
        shape[axis] = scale.size
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return ((q - zero_point).astype(np.float32) * scale.astype(np.float32)).astype(np.float32)


def dequantize(model):
    _onnx()  # a clear error when the optional onnx package is missing
    from onnx import helper, numpy_helper
    graph = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    folded, kept = {}, []
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and all(i in inits for i in node.input):
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            q, scale = inits[node.input[0]], inits[node.input[1]]
            zp = inits[node.input[2]] if len(node.input) > 2 else scale.astype("int8") * 0
            folded[node.output[0]] = _dequantize_array(
                q, scale, zp, attrs.get("axis", 1), attrs.get("block_size", 0))
        elif (node.op_type == "Reshape" and node.input[0] in folded and node.input[1] in inits):
            src = folded.pop(node.input[0])
            shape = [s if s != 0 else src.shape[i] for i, s in enumerate(inits[node.input[1]])]
            folded[node.output[0]] = src.reshape(shape)
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in sorted(folded.items()))
    del graph.value_info[:]
    return model


def prune_inputs(model):
    graph = model.graph
    used = {name for node in graph.node for name in node.input}
    used |= {o.name for o in graph.output}
    inputs = [i for i in graph.input if i.name in used]
    inits = [i for i in graph.initializer if i.name in used]
    del graph.input[:]
    graph.input.extend(inputs)
    del graph.initializer[:]
    graph.initializer.extend(inits)
    return model


def initializers_not_inputs(model):
    graph = model.graph
    names = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in names]
    del graph.input[:]
    graph.input.extend(inputs)
    return model


def split_prelu(model):
    _onnx()
    from onnx import helper, numpy_helper
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    nodes, extra = [], []
    for node in graph.node:
        if node.op_type != "PRelu" or node.input[1] not in inits:
            nodes.append(node)
            continue
        x, slope_name = node.input
        y = node.output[0]
        base = node.name or y   # converted graphs (the face mesh) leave node names empty
        slope = numpy_helper.to_array(inits[slope_name])
        extra.append(numpy_helper.from_array((1.0 - slope).astype(slope.dtype), f"{y}__one_minus_slope"))
        nodes += [
            helper.make_node("Relu", [x], [f"{y}__relu"], name=f"{base}__relu"),
            helper.make_node("Mul", [x, slope_name], [f"{y}__ax"], name=f"{base}__ax"),
            helper.make_node("Mul", [f"{y}__relu", f"{y}__one_minus_slope"], [f"{y}__brelu"],
                             name=f"{base}__brelu"),
            helper.make_node("Add", [f"{y}__ax", f"{y}__brelu"], [y], name=base),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(extra)
    return model


STEPS = {
    "dynamic_hw": dynamic_hw,
    "dequantize": dequantize,
    "prune_inputs": prune_inputs,
    "initializers_not_inputs": initializers_not_inputs,
    "split_prelu": split_prelu,
}


def derive(data: bytes, steps) -> bytes:
    """Apply ``steps`` (names from ``STEPS``) to the serialized model ``data``."""
    if not steps:
        return data
    onnx = _onnx()
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        from .errors import ModelInstallError
        raise ModelInstallError(f"unknown derivation step(s) {unknown}")
    model = onnx.load_model_from_string(data)
    for step in steps:
        model = STEPS[step](model)
    return model.SerializeToString(deterministic=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
