"""ONNX export of the full model and of the single streaming step, checked with onnxruntime."""

import numpy as np
import pytest
import torch

from seqbench.export import StepModule, export_onnx, export_step_onnx
from onnx_stream import run_stream
from seqbench.nn import make_model

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


def test_tcn_language_model_step_and_full_model(tmp_path):
    model = make_model("tcn", input_size=11, head="lm", input_adapter="embedding", embedding_size=5,
                       channels=[5, 4, 5], kernel_size=3, norm="layer").eval()
    x = torch.randint(0, 11, (3, 14))
    with torch.no_grad():
        full = model(x).numpy()
    step_file = export_step_onnx(model, tmp_path / "step.onnx")
    streamed = run_stream(ort.InferenceSession(str(step_file)), StepModule(model), x)
    np.testing.assert_allclose(streamed, full, atol=1e-5, rtol=1e-5)
    full_file = export_onnx(model, tmp_path / "full.onnx", x)
    other = torch.randint(0, 11, (2, 9))  # another batch size and length: both dynamic
    got = ort.InferenceSession(str(full_file)).run(None, {"x": other.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, model(other).numpy(), atol=1e-5, rtol=1e-5)


def test_lstm_step(tmp_path):
    model = make_model("lstm", input_size=3, output_size=2, hidden_size=6, num_layers=2).eval()
    x = torch.randn(2, 8, 3)
    step_file = export_step_onnx(model, tmp_path / "step.onnx")
    streamed = run_stream(ort.InferenceSession(str(step_file)), StepModule(model), x)
    with torch.no_grad():
        np.testing.assert_allclose(streamed, model(x).numpy(), atol=1e-5, rtol=1e-5)


def test_step_module_matches_eager_step_with_batch_norm():
    model = make_model("tcn", input_size=2, output_size=3, channels=[4, 6], kernel_size=2, norm="batch", head="last")
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
    model.eval()
    step = StepModule(model)
    x = torch.randn(2, 10, 2)
    s1, s2 = model.init_state(2), step.initial_state(2)
    with torch.no_grad():
        for t in range(10):
            y1, s1 = model.step(x[:, t], s1)
            y2, *s2 = step(x[:, t], *s2)
            torch.testing.assert_close(y1, y2, atol=1e-5, rtol=1e-5)


def test_mean_head_cannot_export_a_step():
    model = make_model("tcn", input_size=2, output_size=1, head="mean", channels=[3], kernel_size=2)
    with pytest.raises(ValueError, match="mean"):
        StepModule(model)
