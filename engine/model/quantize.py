"""Dynamic int8 Linear layers for CPU inference: ~0.7x the CPU time of fp32 at the same quality.

Measured on the project machine (``python -m bench.model_latency``: 4 variations of the demo region,
CPU seconds 1.08 against 1.49) and on quality (``python -m bench.lever_quality``: 23 validation regions,
NLL of the real notes per generated cell 1.7918 against 1.7897 nats, paired difference +0.0021 +- 0.0028,
i.e. within noise; a 160-row window, the other cheap lever, cost +0.18 +- 0.07). Weights are quantised
per tensor once at load (``torch.ao.quantization.quantize_dynamic``), activations per batch at run time,
so nothing is calibrated and the checkpoint stays fp32. Where this torch or CPU cannot run it (no
quantized engine, the API gone from a later torch), the caller keeps the fp32 model.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from engine.model.network import SAModel
from engine.representation.vocab import N_CATEGORIES, N_COLUMNS

QUANTIZED_ENGINES = ("x86", "fbgemm", "onednn", "qnnpack")


def quantize_linear_int8(model: SAModel) -> SAModel | None:
    """A copy of ``model`` (eval mode, CPU) whose nn.Linear layers run in dynamic int8, or None when
    that cannot run here; a two-row forward pass is tried before the copy is returned."""
    try:
        if not any(e in torch.backends.quantized.supported_engines for e in QUANTIZED_ENGINES):
            return None
        with warnings.catch_warnings():  # torch marks the eager API deprecated in favour of torchao
            warnings.simplefilter("ignore")
            quantized = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
            quantized.eval()
            with torch.no_grad():
                rows = torch.zeros(1, 2, N_COLUMNS, dtype=torch.long)
                flags = torch.ones(1, 2, N_COLUMNS, dtype=torch.bool)
                ids = torch.zeros(1, 2, dtype=torch.long)
                quantized(rows, flags, ids, ids, flags[..., 0], ids[:, 0], torch.zeros(1, N_CATEGORIES),
                          torch.full((1,), 1000.0))
    except (AttributeError, ImportError, NotImplementedError, RuntimeError):
        return None
    return quantized  # type: ignore[no-any-return]
