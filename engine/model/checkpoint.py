"""Checkpoints: ``model.safetensors`` + ``config.json`` in one folder; never pickle.

``config.json`` records the ModelConfig, the vocabulary the model was trained with (VocabInfo, including
VOCAB_VERSION), the diffusion kind, free-form metadata and the SHA-256 of the weights file, so a folder
whose two files come from different saves is refused instead of silently loading wrong weights. Both
files are written to temporary names and renamed into place, so a crash never leaves a half-written file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine.errors import CheckpointError
from engine.model.config import ModelConfig
from engine.model.network import SAModel
from engine.representation.vocab import VocabInfo

WEIGHTS, CONFIG = "model.safetensors", "config.json"
FORMAT = "popdiffuseq-checkpoint"
FORMAT_VERSION = 1


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _replace_atomically(tmp: Path, final: Path) -> None:
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)


def save_checkpoint(directory: str | Path, model: SAModel, metadata: dict[str, object] | None = None) -> Path:
    """Write the model's weights and config to `directory` (created if needed); returns the folder."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    tmp_w, tmp_c = d / (WEIGHTS + ".tmp"), d / (CONFIG + ".tmp")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp_w), metadata={"format": FORMAT})
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model.cfg.to_dict(),
        "vocab": dataclasses.asdict(VocabInfo()),
        "diffusion": model.cfg.diffusion,
        "metadata": metadata or {},
        "weights_sha256": _sha256(tmp_w),
    }
    tmp_c.write_text(json.dumps(info, indent=2, sort_keys=True))
    _replace_atomically(tmp_w, d / WEIGHTS)
    _replace_atomically(tmp_c, d / CONFIG)
    return d


def read_checkpoint_info(directory: str | Path) -> dict[str, object]:
    """The parsed config.json (model config, vocab, metadata) without loading any weights."""
    path = Path(directory) / CONFIG
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise CheckpointError(f"{directory} is not a model folder: {CONFIG} is missing") from e
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"cannot read {path}: {e}") from e
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a Pop-Diffuseq Studio model config")
    if info.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format {info.get('format_version')}; "
                              f"this version of the program reads format {FORMAT_VERSION}")
    return info


def _check_vocab(saved: dict[str, object]) -> None:
    here = dataclasses.asdict(VocabInfo())
    if saved.get("version") != here["version"]:
        raise CheckpointError(f"the model was trained with vocabulary {saved.get('version')!r}, but this "
                              f"program uses {here['version']!r}: it needs a model trained for this version")
    for key in ("column_sizes", "n_tempo", "n_categories"):
        value = saved.get(key)
        value = list(value) if isinstance(value, list | tuple) else value
        expected = list(here[key]) if isinstance(here[key], tuple) else here[key]
        if value != expected:
            raise CheckpointError(f"the model's vocabulary {key} is {value}, this program's is {expected}")


def _read_checked(d: Path) -> tuple[dict[str, object], dict[str, torch.Tensor]]:
    """(config.json, weights) of a checkpoint folder whose vocabulary and weights hash check out."""
    info = read_checkpoint_info(d)
    _check_vocab(info.get("vocab") or {})  # type: ignore[arg-type]
    weights = d / WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"{d} has no {WEIGHTS}")
    if info.get("weights_sha256") != _sha256(weights):
        raise CheckpointError(f"{weights} does not match {CONFIG} (the folder mixes files from two saves)")
    try:
        return info, load_file(str(weights))
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"cannot read {weights}: {e}") from e


def load_checkpoint(directory: str | Path, device: str | torch.device = "cpu") -> tuple[SAModel, ModelConfig]:
    """Rebuild the model of a checkpoint folder (eval mode). Any mismatch raises CheckpointError."""
    d = Path(directory)
    info, state = _read_checked(d)
    try:
        cfg = ModelConfig.from_dict(info["model"])  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"the model config in {d / CONFIG} is invalid: {e}") from e
    model = SAModel(cfg)
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{d / WEIGHTS} does not fit this model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    wrong = [k for k in expected if expected[k].shape != state[k].shape]
    if wrong:
        raise CheckpointError(f"{d / WEIGHTS} has tensors of the wrong shape: {wrong[:5]}")
    model.load_state_dict(state, strict=True)
    return model.to(device).eval(), cfg


def init_weights_from(model: SAModel, directory: str | Path) -> list[str]:
    """Copy a checkpoint's weights into ``model`` to continue training it with new parts (a model option
    turned on, e.g. ``rhythm_context``). Every tensor of the checkpoint must exist in ``model`` with the
    same shape; tensors the checkpoint lacks keep their initial values (the new options zero-initialise
    theirs, so the continued model starts as the checkpoint's). Returns the names of those new tensors."""
    d = Path(directory)
    info, state = _read_checked(d)
    saved_kind = info.get("diffusion")
    if saved_kind != model.cfg.diffusion:
        raise CheckpointError(f"{d} holds a {saved_kind} diffusion model; this run trains {model.cfg.diffusion}")
    expected = model.state_dict()
    unexpected = sorted(set(state) - set(expected))
    if unexpected:
        raise CheckpointError(f"{d / WEIGHTS} has tensors this model lacks: {unexpected[:5]}")
    wrong = [k for k in state if expected[k].shape != state[k].shape]
    if wrong:
        raise CheckpointError(f"{d / WEIGHTS} has tensors of another shape than this model's: {wrong[:5]}")
    model.load_state_dict(state, strict=False)
    return sorted(set(expected) - set(state))
