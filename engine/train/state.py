"""Training checkpoints with exact resume and no pickle: tensors in safetensors, everything else in JSON.

A checkpoint folder ``checkpoints/step-00001000/`` holds::

    model/  ema/               engine.model.checkpoint folders (load_checkpoint reads either)
    optimizer.safetensors      AdamW moments and step counters, keys "state.<param>.<name>"
    trainer.json               step, examples seen, param groups, GradScaler, train config
    rng-<rank>.safetensors     torch CPU/CUDA RNG and the loss generator of that rank
    rng-<rank>.json            numpy and python RNG states of that rank

``torch.save`` of an optimizer would be a pickle (arbitrary code on load); these files are plain data.
The run folder's ``latest.txt`` names the newest complete checkpoint and is written last.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

LATEST = "latest.txt"


def checkpoint_dir(out: Path, step: int) -> Path:
    return out / "checkpoints" / f"step-{step:08d}"


def latest_checkpoint(out: Path) -> Path | None:
    p = out / LATEST
    if not p.is_file():
        return None
    d = out / p.read_text().strip()
    return d if d.is_dir() else None


def mark_latest(out: Path, ckpt: Path) -> None:
    tmp = out / (LATEST + ".tmp")
    tmp.write_text(ckpt.relative_to(out).as_posix())
    tmp.replace(out / LATEST)


# -- optimizer ----------------------------------------------------------------------------------------------
def save_optimizer(opt: torch.optim.Optimizer, path: Path) -> dict[str, object]:
    """Tensors of the optimizer state to ``path``; returns the JSON-able rest (param groups, scalars)."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, object]] = {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"state.{pid}.{k}"] = v.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[k] = v
    save_file(tensors, str(path))
    return {"param_groups": sd["param_groups"], "scalars": scalars}


def load_optimizer(opt: torch.optim.Optimizer, path: Path, rest: dict[str, object]) -> None:
    state: dict[int, dict[str, object]] = {}
    for key, v in load_file(str(path)).items():
        _, pid, name = key.split(".", 2)
        state.setdefault(int(pid), {})[name] = v
    for pid, extra in (rest.get("scalars") or {}).items():  # type: ignore[union-attr]
        state.setdefault(int(pid), {}).update(extra)
    groups = rest["param_groups"]
    for g in groups:  # type: ignore[union-attr]
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
    opt.load_state_dict({"state": state, "param_groups": groups})


# -- random number generators -------------------------------------------------------------------------------
def save_rng(folder: Path, rank: int, loss_gen: torch.Generator) -> None:
    tensors = {"torch_cpu": torch.get_rng_state(), "loss_generator": loss_gen.get_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda_{i}"] = s
    save_file(tensors, str(folder / f"rng-{rank}.safetensors"))
    name, keys, pos, has_gauss, cached = np.random.get_state()
    py = random.getstate()
    (folder / f"rng-{rank}.json").write_text(json.dumps({
        "numpy": {"name": name, "keys": np.asarray(keys).tolist(), "pos": int(pos), "has_gauss": int(has_gauss),
                  "cached_gaussian": float(cached)},
        "python": [py[0], list(py[1]), py[2]],
    }))


def load_rng(folder: Path, rank: int, loss_gen: torch.Generator) -> bool:
    """Restore this rank's RNGs; False when the checkpoint has none for it (other world size)."""
    st, js = folder / f"rng-{rank}.safetensors", folder / f"rng-{rank}.json"
    if not st.is_file() or not js.is_file():
        return False
    tensors = load_file(str(st))
    torch.set_rng_state(tensors["torch_cpu"])
    loss_gen.set_state(tensors["loss_generator"])
    cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("cuda_"))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    d = json.loads(js.read_text())
    n = d["numpy"]
    np.random.set_state((n["name"], np.asarray(n["keys"], dtype=np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    v, state, gauss = d["python"]
    random.setstate((v, tuple(state), gauss))
    return True
