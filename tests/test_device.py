"""Device and thread choice: the selection rules run on any machine; the GPU check skips without CUDA."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.backends import EngineBackend
from engine.cli import build_parser
from engine.device import DeviceError, pick_device, resolve_device, use_half, use_int8
from engine.infill import Selection, infill, load_model
from engine.model.checkpoint import save_checkpoint
from engine.threads import choose_threads, configure_torch_threads, prefer_passive_wait
from tests.midi_fixtures import pop_band
from tests.model_fixtures import plausible_model


@pytest.mark.parametrize(("asked", "cuda", "mps", "expected"), [
    ("auto", True, False, "cuda"), ("auto", True, True, "cuda"), ("auto", False, True, "mps"),
    ("auto", False, False, "cpu"), ("cpu", True, True, "cpu"), ("cuda", True, False, "cuda"),
    ("AUTO", False, False, "cpu"), ("", False, False, "cpu"),
])
def test_pick_device(asked, cuda, mps, expected):
    assert pick_device(asked, cuda, mps) == expected


@pytest.mark.parametrize(("asked", "cuda", "mps"), [("cuda", False, True), ("mps", True, False), ("tpu", True, True)])
def test_pick_device_refuses_what_is_not_there(asked, cuda, mps):
    with pytest.raises(DeviceError):
        pick_device(asked, cuda, mps)


def test_half_precision_only_on_cuda_and_int8_only_on_cpu():
    assert use_half("cuda") and use_half("cuda", "fp16")
    assert not use_half("cuda", "fp32") and not use_half("cpu") and not use_half("mps") and not use_half("cpu", "fp16")
    assert use_int8("cpu") and use_int8("cpu", "int8")
    assert not use_int8("cpu", "fp32") and not use_int8("cuda") and not use_int8("mps") and not use_int8("cuda", "int8")
    with pytest.raises(DeviceError):
        use_half("cuda", "bf15")
    with pytest.raises(DeviceError):
        use_int8("cpu", "int4")


def test_resolve_device_on_this_machine():
    choice = resolve_device("cpu")
    assert (choice.kind, choice.half, choice.int8) == ("cpu", False, True) and choice.label.startswith("CPU")
    assert not resolve_device("cpu", "fp32").int8
    assert resolve_device("auto").kind == ("cuda" if torch.cuda.is_available() else choice.kind if not
                                           torch.backends.mps.is_available() else "mps")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA"):
            resolve_device("cuda")


def test_cli_device_option():
    parser = build_parser()
    assert parser.parse_args(["infill", "x.mid"]).device == "auto"
    assert parser.parse_args(["infill", "x.mid", "--device", "cpu"]).device == "cpu"
    with pytest.raises(SystemExit):
        parser.parse_args(["infill", "x.mid", "--device", "gpu"])


def test_choose_threads():
    assert choose_threads(2) == (2, choose_threads(2)[1])
    assert choose_threads(1)[0] == 1 and choose_threads(64)[0] == 8
    assert choose_threads(2, "1")[0] == 1
    for bad in ("0", "two", "-3"):
        with pytest.raises(ValueError):
            choose_threads(2, bad)


def test_configure_keeps_a_lowered_thread_count(monkeypatch):
    monkeypatch.delenv("POPDIFFUSEQ_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        plan = configure_torch_threads()
        assert plan.intra_op == 1 == torch.get_num_threads()
        monkeypatch.setenv("POPDIFFUSEQ_THREADS", "2")
        assert configure_torch_threads().intra_op == 2 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def test_passive_wait_is_a_default_not_an_override(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert prefer_passive_wait() is False  # torch is imported in this process: too late to matter
    import os

    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def _saved(tmp_path):
    m = plausible_model()  # untrained: enough to test where a loaded model lives
    save_checkpoint(tmp_path / "m", m.model)
    return tmp_path / "m"


def test_loaded_model_says_where_it_runs(tmp_path):
    path = _saved(tmp_path)
    m = load_model(path, "cpu", "fp32")
    assert m.device.kind == "cpu" and next(m.model.parameters()).device.type == "cpu"
    backend = EngineBackend("cpu")
    assert backend.device_label == ""
    backend._model = m  # what load() stores; the status bar reads the label
    assert backend.device_label.startswith("CPU")
    backend.set_device("cpu")
    assert backend._model is m, "the same setting keeps the loaded model"
    backend.set_device("auto")
    assert backend._model is None and backend.device == "auto", "a new device reloads on the next request"
    with pytest.raises(ValueError):
        backend.set_device("gpu")


def test_int8_model_on_cpu_keeps_the_bundled_models_predictions():
    """The CPU default quantises the Linear layers; on the demo region its first-step log-probabilities of
    fp32's choices stay within 0.1 nats on average in every column (measured 0.05; weights perturbed by
    8 int8 steps give 0.70, so the check can fail), and infill returns the same structure."""
    from engine.demo import demo_score
    from engine.diffusion import collate
    from engine.diffusion.base import guided_forward
    from engine.infill import DEFAULT_MODEL_DIR
    from engine.representation.encode import encode
    from engine.representation.masks import build_infill_problem

    q, f = load_model(DEFAULT_MODEL_DIR, "cpu"), load_model(DEFAULT_MODEL_DIR, "cpu", "fp32")
    assert q.device.int8 and q.device.label.endswith("int8)") and not f.device.int8
    assert any("quantized" in type(mod).__module__ for mod in q.model.modules())
    score, sel = demo_score(), Selection(8, 12, (0, 1, 2))
    problem = build_infill_problem(encode(score), sel, None, f.max_rows, f.thin_context)
    batch = collate([problem.example], f.max_rows)
    t = torch.full((1,), 1000.0)
    noisy = load_model(DEFAULT_MODEL_DIR, "cpu", "fp32")
    with torch.no_grad():
        for p in noisy.model.parameters():
            if p.dim() == 2:
                p.add_(torch.randn_like(p) * p.abs().max() / 127 * 8)

        def gap(model) -> float:
            ref = guided_forward(f.model, batch.tokens, batch, t, 2.0).logits
            got = guided_forward(model.model, batch.tokens, batch, t, 2.0).logits
            gaps = []
            for c in range(1, 4):
                cells = batch.generate[..., c]
                r, g = ref[c].log_softmax(-1)[cells], got[c].log_softmax(-1)[cells]
                choice = r.argmax(-1, keepdim=True)
                gaps.append((r.gather(-1, choice) - g.gather(-1, choice)).abs().mean().item())
            return max(gaps)

        int8_gap, noisy_gap = gap(q), gap(noisy)
        assert int8_gap < 0.1
        assert noisy_gap > 2 * int8_gap
    out = infill(score, sel, n_variations=2, model=q, steps=2)
    assert [len(s.tracks) for s in out] == [len(score.tracks)] * 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_infill_fp16_matches_fp32():
    """On CUDA, with the bundled model: the weights live on the GPU, infill returns the same structure in
    fp16 and fp32, and fp16 autocast's first-step log-probabilities match fp32's (the same argmax on
    nearly every generated cell, mean gap at fp32's choice under 0.05 nats)."""
    from engine.diffusion import collate
    from engine.diffusion.base import guided_forward
    from engine.infill import DEFAULT_MODEL_DIR
    from engine.representation.encode import encode
    from engine.representation.masks import build_infill_problem

    half, full = load_model(DEFAULT_MODEL_DIR, "cuda"), load_model(DEFAULT_MODEL_DIR, "cuda", "fp32")
    assert half.device.half and not full.device.half and half.device.label.startswith("GPU")
    assert next(half.model.parameters()).is_cuda
    score, sel = pop_band(8), Selection(2, 6, (2,))
    a = infill(score, sel, n_variations=2, seed=1, model=half)
    b = infill(score, sel, n_variations=2, seed=1, model=full)
    assert [len(s.tracks) for s in a] == [len(s.tracks) for s in b] == [5, 5]
    problem = build_infill_problem(encode(score), sel, None, full.max_rows)
    batch = collate([problem.example], full.max_rows).to("cuda")
    t = torch.full((1,), 1000.0, device="cuda")
    with torch.no_grad():
        ref = guided_forward(full.model, batch.tokens, batch, t, 1.5).logits
        with half.autocast():
            low = guided_forward(half.model, batch.tokens, batch, t, 1.5).logits
    gen = batch.generate
    for c in range(1, 4):
        cells = gen[..., c]
        r, lo = ref[c].float().log_softmax(-1)[cells], low[c].float().log_softmax(-1)[cells]
        choice = r.argmax(-1, keepdim=True)
        assert (lo.argmax(-1, keepdim=True) == choice).float().mean().item() > 0.95
        gap = (r.gather(-1, choice) - lo.gather(-1, choice)).abs()
        assert np.isfinite(gap.cpu().numpy()).all() and gap.mean().item() < 0.05


def test_preloading_torch_libraries_then_importing_torch_works():
    """In a fresh process: the libraries load before the import (with the GIL released) and torch then
    imports and computes; in this process, where torch is already imported, nothing is done."""
    import subprocess
    import sys

    code = ("from engine.threads import preload_torch_libraries as p; libs = p(); import torch; "
            "print(','.join(libs)); print(float(torch.ones(3).sum()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    libs, total = out.stdout.split()
    assert "libtorch_cpu.so" in libs.split(",") and float(total) == 3.0
    from engine.threads import preload_torch_libraries

    assert preload_torch_libraries() == []


def test_gil_handoff_sets_a_finer_switch_interval_and_restores_it() -> None:
    import sys

    from engine.threads import LOAD_SWITCH_INTERVAL_S, gil_handoff

    before = sys.getswitchinterval()
    with gil_handoff():
        assert sys.getswitchinterval() == pytest.approx(min(LOAD_SWITCH_INTERVAL_S, before))
    assert sys.getswitchinterval() == before
    try:
        with gil_handoff():
            raise RuntimeError("a failed load")
    except RuntimeError:
        pass
    assert sys.getswitchinterval() == before
