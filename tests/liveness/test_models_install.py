"""The installer and the graph derivations, on tiny synthetic ONNX models (no shared files),
plus the real models where ../shared/models is present."""
from __future__ import annotations

import hashlib
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the model installer needs the 'onnx' package")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
import onnxruntime as ort  # noqa: E402

from liveness import derive  # noqa: E402
from liveness.errors import ModelInstallError, ModelMissingError  # noqa: E402
from liveness.manifest import load_manifest  # noqa: E402
from liveness.models import install, load_verified, verify  # noqa: E402

from .conftest import SHARED_MODELS  # noqa: E402


def _model(nodes, inputs, outputs, inits, opset=21, ir=10):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir)


def detector_like():
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 64, 64])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 64, 64])
    return _model([helper.make_node("Relu", ["input"], ["out"])], [x], [y], [])


def prelu_model():
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4, 5, 5])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4, 5, 5])
    slope = numpy_helper.from_array(np.array([-0.5, 0.0, 0.3, 1.7], np.float32).reshape(4, 1, 1), "a")
    return _model([helper.make_node("PRelu", ["input", "a"], ["output"])], [x], [y], [slope])


def sface_like():
    """Blocked int8 weights, a Reshape of them, an unused declared input, initializers
    listed as inputs and a PRelu: the shapes of the upstream SFace file."""
    rng = np.random.default_rng(0)
    q = rng.integers(-127, 127, (8, 6), dtype=np.int8)
    scales = rng.uniform(0.01, 0.1, (8, 3)).astype(np.float32)   # block 2 along axis 1
    zps = rng.integers(-3, 3, (8, 3), dtype=np.int8)
    shape = np.array([8, 6, 1, 1], np.int64)
    bn = [numpy_helper.from_array(v, n) for n, v in (
        ("scale", rng.uniform(0.5, 1.5, 8).astype(np.float32)), ("bias", rng.normal(size=8).astype(np.float32)),
        ("mean", rng.normal(size=8).astype(np.float32)), ("var", rng.uniform(0.5, 2, 8).astype(np.float32)))]
    inits = [numpy_helper.from_array(q, "w_q"), numpy_helper.from_array(scales, "w_s"),
             numpy_helper.from_array(zps, "w_z"), numpy_helper.from_array(shape, "w_shape"),
             numpy_helper.from_array(rng.uniform(-0.5, 0.5, (8, 1, 1)).astype(np.float32), "slope")] + bn
    nodes = [
        helper.make_node("DequantizeLinear", ["w_q", "w_s", "w_z"], ["w_dq"], axis=1, block_size=2),
        helper.make_node("Reshape", ["w_dq", "w_shape"], ["w"]),
        helper.make_node("Conv", ["data", "w"], ["c"]),
        helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["b"]),
        helper.make_node("PRelu", ["b", "slope"], ["fc1"]),
    ]
    inputs = [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 6, 4, 4]),
              helper.make_tensor_value_info("unused_weight", TensorProto.FLOAT, [8, 6, 1, 1])]
    inputs += [helper.make_tensor_value_info(i.name, i.data_type, list(i.dims)) for i in bn]
    out = [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [1, 8, 4, 4])]
    return _model(nodes, inputs, out, inits)


def _run(data: bytes, feeds):
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}
    return sess.run(None, {k: v for k, v in feeds.items() if k in names})[0]


def test_split_prelu_is_equivalent():
    original = prelu_model().SerializeToString()
    derived = derive.derive(original, ["split_prelu"])
    x = np.random.default_rng(1).normal(size=(1, 4, 5, 5)).astype(np.float32)
    assert "PRelu" not in {n.op_type for n in onnx.load_from_string(derived).graph.node}
    assert np.allclose(_run(original, {"input": x}), _run(derived, {"input": x}), atol=1e-6)


def test_sface_steps_are_equivalent_and_remove_the_extra_inputs():
    original = sface_like().SerializeToString()
    steps = ["dequantize", "prune_inputs", "initializers_not_inputs", "split_prelu"]
    derived = derive.derive(original, steps)
    graph = onnx.load_from_string(derived).graph
    assert [i.name for i in graph.input] == ["data"]
    assert not {"DequantizeLinear", "PRelu"} & {n.op_type for n in graph.node}
    x = np.random.default_rng(2).normal(size=(1, 6, 4, 4)).astype(np.float32)
    want = _run(original, {"data": x, "unused_weight": np.zeros((8, 6, 1, 1), np.float32)})
    assert np.allclose(want, _run(derived, {"data": x}), atol=1e-5)
    assert derive.derive(original, steps) == derived  # deterministic


def test_dynamic_hw():
    derived = derive.derive(detector_like().SerializeToString(), ["dynamic_hw"])
    sess = ort.InferenceSession(derived, providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape == [1, 3, "height", "width"]
    assert sess.run(None, {"input": np.ones((1, 3, 32, 96), np.float32)})[0].shape == (1, 3, 32, 96)


def test_split_prelu_names_unnamed_nodes():
    """Graphs converted from tflite (the face mesh) leave node names empty; the split nodes
    still get unique names (onnxruntime refuses duplicates)."""
    model = prelu_model()
    model.graph.node[0].name = ""
    derived = derive.derive(model.SerializeToString(), ["split_prelu"])
    x = np.random.default_rng(2).normal(size=(1, 4, 5, 5)).astype(np.float32)
    assert np.allclose(_run(derived, {"input": x}), _run(model.SerializeToString(), {"input": x}), atol=1e-6)


def test_unknown_step():
    with pytest.raises(ModelInstallError):
        derive.derive(detector_like().SerializeToString(), ["nope"])


@pytest.fixture
def fake_upstream(tmp_path, monkeypatch):
    """Upstream files in a directory, one of them only inside a fake installed package, and
    a manifest pinning them and their derivations."""
    src = tmp_path / "upstream"
    src.mkdir()
    pkg = tmp_path / "site" / "fakefacepkg" / "models"
    pkg.mkdir(parents=True)
    (pkg.parent / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    entries = {
        "detector": (detector_like(), ["dynamic_hw"], src),
        "antispoof_v2": (prelu_model(), ["split_prelu"], src),
        "antispoof_v1se": (prelu_model(), [], src),
        "recognizer": (sface_like(), ["dequantize", "prune_inputs", "initializers_not_inputs",
                                      "split_prelu"], pkg),
    }
    toml, blobs = ["schema = 1"], {}
    for key, (model, steps, where) in entries.items():
        data = model.SerializeToString()
        (where / f"{key}_up.onnx").write_bytes(data)
        out = derive.derive(data, steps)
        blobs[key] = (data, out)
        toml += [f"[models.{key}]", f'name = "{key}"', f'file = "{key}.onnx"',
                 f'sha256 = "{hashlib.sha256(out).hexdigest()}"', f"bytes = {len(out)}",
                 'licence = "test"', f"[models.{key}.input]", 'crop_scale = 2.7',
                 f"[models.{key}.source]", f'file = "{key}_up.onnx"',
                 f'sha256 = "{hashlib.sha256(data).hexdigest()}"', f"bytes = {len(data)}",
                 f'url = "https://example.invalid/{key}.onnx"', f"derive = {steps!r}".replace("'", '"')]
        if where is pkg:
            toml += ['package = "fakefacepkg"', f'package_path = "models/{key}_up.onnx"']
    manifest = tmp_path / "manifest.toml"
    manifest.write_text("\n".join(toml) + "\n")
    return src, manifest, blobs


def test_install_verify_idempotent(fake_upstream, tmp_path):
    src, manifest, blobs = fake_upstream
    target = tmp_path / "models"
    calls = []
    statuses = install(target, from_dirs=[src], manifest=manifest,
                       progress=lambda done, total, name: calls.append((done, total, name)))
    assert [s.status for s in statuses] == ["installed"] * 4
    assert "fakefacepkg" not in sys.modules  # found with find_spec, never imported
    assert calls[0] == (0, 4, "detector") and calls[-1] == (4, 4, "done")
    assert (target / "manifest.toml").read_bytes() == manifest.read_bytes()
    for key, (_, out) in blobs.items():
        assert (target / f"{key}.onnx").read_bytes() == out
    assert all(s.ok and s.status == "present" for s in verify(target))
    again = install(target, from_dirs=[src], manifest=manifest)
    assert [s.status for s in again] == ["present"] * 4


def test_mismatched_or_missing_upstream(fake_upstream, tmp_path):
    src, manifest, _ = fake_upstream
    (src / "detector_up.onnx").write_bytes(b"not the pinned bytes")
    with pytest.raises(ModelInstallError) as info:
        install(tmp_path / "models", from_dirs=[src], manifest=manifest)
    by_model = {s.model: s for s in info.value.statuses}
    assert by_model["detector"].status == "missing" and "rejected" in by_model["detector"].detail
    assert by_model["antispoof_v2"].ok and "detector" in str(info.value)


def test_tampered_install_is_refused_at_load(fake_upstream, tmp_path):
    src, manifest, _ = fake_upstream
    target = tmp_path / "models"
    install(target, from_dirs=[src], manifest=manifest)
    spec = load_manifest(target / "manifest.toml")["antispoof_v2"]
    assert load_verified(target, spec)
    data = bytearray((target / spec.file).read_bytes())
    data[-1] ^= 1
    (target / spec.file).write_bytes(bytes(data))
    assert {s.model: s.status for s in verify(target)}["antispoof_v2"] == "mismatch"
    with pytest.raises(ModelMissingError) as info:
        load_verified(target, spec)
    assert "idp models install --from" in str(info.value) and "antispoof_v2" in str(info.value)
    (target / spec.file).unlink()
    with pytest.raises(ModelMissingError, match="is missing"):
        load_verified(target, spec)
    install(target, from_dirs=[src], manifest=manifest)  # repairs
    assert all(s.ok for s in verify(target))


def test_download(fake_upstream, tmp_path, monkeypatch):
    src, manifest, blobs = fake_upstream
    asked = []

    class Response:
        def __init__(self, data):
            self.data = data

        def read(self, n=-1):
            return self.data

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fake_urlopen(request, timeout=None):
        key = request.full_url.rsplit("/", 1)[1][: -len(".onnx")]
        asked.append(key)
        return Response(blobs[key][0])

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    statuses = install(tmp_path / "models", from_dirs=[], manifest=manifest, download=True)
    assert all(s.ok for s in statuses)
    assert sorted(asked) == ["antispoof_v1se", "antispoof_v2", "detector"]  # recognizer: package


def test_download_without_network_is_a_clear_error(fake_upstream, tmp_path, monkeypatch):
    _, manifest, _ = fake_upstream

    def offline(request, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(ModelInstallError) as info:
        install(tmp_path / "models", from_dirs=[], manifest=manifest, download=True)
    assert "https://example.invalid/" in str(info.value) and "--from DIR" in str(info.value)


def test_missing_model_error_names_the_command(models_dir, tmp_path):
    from liveness import LivenessPipeline
    partial = tmp_path / "partial"
    partial.mkdir()
    for f in models_dir.iterdir():
        if "sface" not in f.name:
            (partial / f.name).write_bytes(f.read_bytes())
    with pytest.raises(ModelMissingError) as info:
        LivenessPipeline.from_dir(partial)
    assert info.value.model == "recognizer"
    assert "idp models install --from ../shared/models" in str(info.value)


def test_real_install_matches_the_pins(models_dir):
    """The pinned derived sha256 is reproduced here (the installer checks it), and a second
    install is a no-op."""
    manifest = load_manifest(models_dir / "manifest.toml")
    for spec in manifest.models.values():
        data = (models_dir / spec.file).read_bytes()
        assert hashlib.sha256(data).hexdigest() == spec.sha256 and len(data) == spec.bytes
    again = install(models_dir, from_dirs=[SHARED_MODELS])
    assert [s.status for s in again] == ["present"] * len(manifest.models)
    assert "mesh" in manifest.models
    assert manifest["recognizer"].input["colour"] == "RGB"
    assert manifest["detector"].thresholds["det_score"] == 0.8
