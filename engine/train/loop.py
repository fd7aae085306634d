"""The training loop, top to bottom: data -> model -> AdamW steps with warmup/decay, AMP, EMA, DDP -> logs
and exact-resume checkpoints.

Exact resume rests on three choices: the example stream is a pure function of (seed, example number)
(``engine.data.shards.TrainingExamples``), the LR is a pure function of the step (``schedule.lr_at``),
and every source of randomness the step uses (torch CPU/CUDA, numpy, python, the diffusion's own noise
generator) is saved with the weights. A run stopped at step k and resumed then takes bit-identical steps
on CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from engine.data.shards import SongStore, TrainingExamples
from engine.diffusion import SABatch, collate, make_diffusion
from engine.model.checkpoint import WEIGHTS, init_weights_from, save_checkpoint
from engine.model.density import write_tempo_density
from engine.model.network import SAModel
from engine.train.config import TrainConfig, updated
from engine.train.distributed import DDP, DistInfo, barrier, cleanup_distributed, init_distributed
from engine.train.ema import EMA
from engine.train.runlog import RunLog
from engine.train.schedule import lr_at
from engine.train.state import (
    checkpoint_dir,
    latest_checkpoint,
    load_optimizer,
    load_rng,
    mark_latest,
    save_optimizer,
    save_rng,
)

LossFn = Callable[[torch.nn.Module, SABatch, torch.Generator], tuple[torch.Tensor, dict[str, float]]]
# Fields that may change between a run and its resumption without changing what is computed.
RESUMABLE_CHANGES = {"steps", "eval_every", "checkpoint_every", "log_every", "num_workers"}


@dataclass
class RunResult:
    step: int  # optimizer steps done
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, train loss) of this process's steps
    val: list[tuple[int, float, float]] = field(default_factory=list)  # (step, val_loss, val_ppl)
    checkpoint: Path | None = None
    examples_per_s: float = 0.0


class IndexBatches:
    """Batch sampler: the example numbers of every micro-batch of steps [start, end) for one rank.

    Step s, micro-batch m of rank r reads examples ((s * accum + m) * world + r) * batch + [0, batch), so
    ranks never overlap, and the world's micro-batch is the concatenation of the ranks' ones."""

    def __init__(self, start: int, end: int, cfg: TrainConfig, info: DistInfo) -> None:
        self.start, self.end, self.cfg, self.info = start, end, cfg, info

    def __len__(self) -> int:
        return (self.end - self.start) * self.cfg.grad_accum

    def __iter__(self) -> Iterator[list[int]]:
        c, i = self.cfg, self.info
        for s in range(self.start, self.end):
            for m in range(c.grad_accum):
                base = ((s * c.grad_accum + m) * i.world_size + i.rank) * c.batch_size
                yield list(range(base, base + c.batch_size))


def amp_dtype(cfg: TrainConfig, dev: torch.device) -> torch.dtype | None:
    """bf16 (or fp16 where bf16 is missing) on CUDA for 'auto'; never fp16 on CPU."""
    if cfg.amp == "off" or (dev.type != "cuda" and cfg.amp in ("auto", "fp16")):
        return None
    if cfg.amp == "bf16":
        return torch.bfloat16
    if cfg.amp == "fp16":
        return torch.float16
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _batches(ds: TrainingExamples, sampler: IndexBatches, cfg: TrainConfig, dev: torch.device) -> Iterator[SABatch]:
    if cfg.num_workers <= 0:
        for idx in sampler:
            yield collate([ds[k] for k in idx], cfg.max_rows)
        return
    loader = torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=partial(collate, max_rows=cfg.max_rows),
                                         num_workers=cfg.num_workers, pin_memory=dev.type == "cuda")
    yield from loader


def _val_batches(data: Path, cfg: TrainConfig, max_bars: int) -> list[SABatch]:
    """A fixed, seeded set of validation masks (the same for every evaluation and every resume)."""
    store = SongStore(data, "valid")
    if len(store) == 0 or cfg.val_examples <= 0:
        return []
    ds = TrainingExamples(store, cfg.seed + 104_729, cfg.max_rows, max_bars)
    exs = [ds[k] for k in range(cfg.val_examples)]
    return [collate(exs[i : i + cfg.val_batch_size], cfg.max_rows) for i in range(0, len(exs), cfg.val_batch_size)]


@torch.no_grad()
def evaluate(model: SAModel, diffusion, batches: list[SABatch], seed: int, dev: torch.device,  # noqa: ANN001
             autocast: Callable[[], contextlib.AbstractContextManager]) -> tuple[float, float]:
    """(mean loss, PPL = exp of the mean cross-entropy per scored cell) with a fixed noise seed, so two
    evaluations differ only by the weights. Scored cells: masked ones (absorbing) or all generated ones
    (embedding diffusion's rounding term). Does not touch the global RNGs."""
    was = model.training
    model.eval()
    gen = torch.Generator(device=dev).manual_seed(seed + 7_777)
    losses, ce, cells = [], 0.0, 0.0
    for b in batches:
        b = b.to(dev)
        with autocast():
            loss, info = diffusion.loss(model, b, gen)
        losses.append(float(loss))
        if "masked" in info:
            n = info["masked"]
            ce, cells = ce + info["loss"] * n, cells + n
        else:
            n = float(b.generate.sum())
            ce, cells = ce + info.get("rounding", info["loss"]) * n, cells + n
    model.train(was)
    return float(np.mean(losses)), math.exp(min(ce / max(cells, 1.0), 50.0))


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def train(cfg: TrainConfig, data: str | Path, out: str | Path, *, device: str | None = None, resume: bool = True,
          stop_after: int | None = None, loss_fn: LossFn | None = None, progress: bool = True,
          after_backward: Callable[[int, torch.nn.Module], None] | None = None) -> RunResult:
    """Train on the built dataset ``data`` into the run folder ``out``; see the module docstring.

    ``stop_after`` ends this invocation after that many total steps (with a checkpoint) while keeping
    the schedule of ``cfg.steps``; ``loss_fn`` replaces the diffusion loss (tests use a deterministic one);
    ``after_backward(step, model)`` sees each step's final (all-reduced) gradients before clipping.
    """
    from tqdm import tqdm

    data, out = Path(data), Path(out)
    info, dev = init_distributed(device)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        mcfg = cfg.model_config()
        _seed_everything(cfg.seed)  # same initial weights on every rank
        model = SAModel(mcfg).to(dev)
        ckpt = latest_checkpoint(out) if resume else None
        if cfg.init_from and ckpt is None:  # a resumed run restores its own weights below
            new = init_weights_from(model, cfg.init_from)
            if info.is_main and progress:
                print(f"weights from {cfg.init_from}; new: {', '.join(new) or 'none'}", flush=True)
        ema = EMA(model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        diffusion = make_diffusion(mcfg)
        if cfg.chord_loss_weight != 1.0:
            if not hasattr(diffusion, "chord_weight"):
                raise ValueError(f"chord_loss_weight needs the absorbing diffusion, not {mcfg.diffusion!r}")
            diffusion.chord_weight = float(cfg.chord_loss_weight)
        if hasattr(diffusion, "density_dropout"):
            diffusion.density_dropout = float(cfg.density_dropout)
        loss_fn = loss_fn or diffusion.loss
        decay = [p for p in model.parameters() if p.ndim >= 2]
        no_decay = [p for p in model.parameters() if p.ndim < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=cfg.betas)
        dtype = amp_dtype(cfg, dev)
        scaler = torch.amp.GradScaler(dev.type, enabled=dtype == torch.float16)
        autocast = (lambda: torch.autocast(dev.type, dtype=dtype)) if dtype else contextlib.nullcontext
        _seed_everything(cfg.seed * 1_000 + 1 + info.rank)  # per-rank streams (dropout etc.)
        loss_gen = torch.Generator(device=dev).manual_seed(cfg.seed * 1_000 + 2 + info.rank)

        start = 0
        if ckpt is not None:
            start = _restore(ckpt, cfg, model, ema, opt, scaler, loss_gen, info, dev)
        elif info.is_main:
            (out / "train_config.json").write_text(cfg.to_json())
        end = min(cfg.steps, stop_after) if stop_after is not None else cfg.steps

        train_ds = TrainingExamples(SongStore(data, "train"), cfg.seed, cfg.max_rows, mcfg.max_bars,
                                    transpose=cfg.transpose, thin_context=cfg.thin_context,
                                    part_spans=cfg.part_spans, chord_masks=cfg.chord_masks,
                                    tempo_balance=cfg.tempo_balance, harmonise=cfg.harmonise,
                                    loose_slots=cfg.loose_slots, density_shift=cfg.density_shift)
        val = _val_batches(data, cfg, mcfg.max_bars) if info.is_main else []
        net = DDP(model, device_ids=[dev.index] if dev.type == "cuda" else None) if info.enabled else model
        log = RunLog(out, start) if info.is_main else None
        result = RunResult(step=start)
        batches = _batches(train_ds, IndexBatches(start, end, cfg, info), cfg, dev)
        bar = tqdm(total=end, initial=start, desc="training", unit="step", disable=not (progress and info.is_main))
        window_loss, window_n, window_time = 0.0, 0, 0.0
        examples_per_step = cfg.batch_size * cfg.grad_accum * info.world_size
        total_time, total_steps = 0.0, 0
        model.train()
        for step in range(start, end):
            t0 = time.perf_counter()
            lr = lr_at(step, cfg)
            for g in opt.param_groups:
                g["lr"] = lr
            step_loss = 0.0
            for m in range(cfg.grad_accum):
                batch = next(batches).to(dev)
                sync = info.enabled and m < cfg.grad_accum - 1
                with net.no_sync() if sync else contextlib.nullcontext():  # backward inside: DDP checks it there
                    with autocast():
                        loss, _ = loss_fn(net, batch, loss_gen)
                    scaler.scale(loss / cfg.grad_accum).backward()
                step_loss += float(loss.detach()) / cfg.grad_accum
            if after_backward is not None:
                after_backward(step + 1, model)
            if cfg.clip_grad > 0:
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
            scaler.step(opt)
            scaler.update()
            opt.zero_grad(set_to_none=True)
            if ema is not None:
                ema.update(model)
            done = step + 1
            dt = time.perf_counter() - t0
            window_loss, window_n, window_time = window_loss + step_loss, window_n + 1, window_time + dt
            total_time, total_steps = total_time + dt, total_steps + 1
            result.losses.append((done, step_loss))
            bar.update(1)
            bar.set_postfix(loss=f"{step_loss:.4f}", lr=f"{lr:.2e}")

            do_log = done % cfg.log_every == 0 or done == end
            do_eval = bool(val) and (done % cfg.eval_every == 0 or done == cfg.steps)
            if do_log or do_eval:
                mean = _all_mean(window_loss / max(window_n, 1), info, dev)
                vl = vp = None
                if do_eval:
                    vl, vp = evaluate(model, diffusion, val, cfg.seed, dev, autocast)
                    result.val.append((done, vl, vp))
                if log is not None:
                    log.write(done, loss=mean, val_loss=vl, val_ppl=vp, lr=lr,
                              examples_per_s=examples_per_step * window_n / max(window_time, 1e-9))
                window_loss, window_n, window_time = 0.0, 0, 0.0
                barrier(info)
            if done % cfg.checkpoint_every == 0 or done == end:
                result.checkpoint = _save(out, done, cfg, model, ema, opt, scaler, loss_gen, info)
        bar.close()
        result.step = end
        result.examples_per_s = examples_per_step * total_steps / max(total_time, 1e-9)
        if end == cfg.steps and info.is_main and end > start:
            final = ema.model if ema is not None else model
            save_checkpoint(out / "model", final, {"step": end, "weights": "ema" if ema else "raw",
                                                   "train_config": cfg.to_dict()})
            if mcfg.density_condition:  # what the tempo prompt asks of a part's density at sampling
                write_tempo_density(out / "model", SongStore(data, "train"))
        if log is not None:
            log.close()
        return result
    finally:
        cleanup_distributed()


def _all_mean(x: float, info: DistInfo, dev: torch.device) -> float:
    if not info.enabled:
        return x
    t = torch.tensor([x], device=dev, dtype=torch.float64)
    torch.distributed.all_reduce(t)
    return float(t) / info.world_size


def _save(out: Path, step: int, cfg: TrainConfig, model: SAModel, ema: EMA | None, opt: torch.optim.Optimizer,
          scaler: torch.amp.GradScaler, loss_gen: torch.Generator, info: DistInfo) -> Path:
    d = checkpoint_dir(out, step)
    d.mkdir(parents=True, exist_ok=True)
    save_rng(d, info.rank, loss_gen)
    if info.is_main:
        meta = {"step": step, "train_config": cfg.to_dict()}
        save_checkpoint(d / "model", model, {**meta, "weights": "raw"})
        if ema is not None:
            save_checkpoint(d / "ema", ema.model, {**meta, "weights": "ema", "ema_decay": ema.decay})
        rest = save_optimizer(opt, d / "optimizer.safetensors")
        state = {"step": step, "next_example": step * cfg.batch_size * cfg.grad_accum * info.world_size,
                 "world_size": info.world_size, "ema_updates": ema.updates if ema else 0,
                 "scaler": scaler.state_dict(), "optimizer": rest, "train_config": cfg.to_dict()}
        (d / "trainer.json").write_text(json.dumps(state, indent=1))
    barrier(info)
    if info.is_main:
        mark_latest(out, d)
    return d


def _restore(ckpt: Path, cfg: TrainConfig, model: SAModel, ema: EMA | None, opt: torch.optim.Optimizer,
             scaler: torch.amp.GradScaler, loss_gen: torch.Generator, info: DistInfo, dev: torch.device) -> int:
    state = json.loads((ckpt / "trainer.json").read_text())
    saved = state["train_config"]
    changed = sorted(k for k, v in cfg.to_dict().items() if saved.get(k) != v and k not in RESUMABLE_CHANGES)
    if changed:
        raise ValueError(f"cannot resume {ckpt}: the training config changed in {', '.join(changed)} "
                         "(use a new --out, or --no-resume to start over)")
    model.load_state_dict(load_file(str(ckpt / "model" / WEIGHTS), device=str(dev)))
    if ema is not None and (ckpt / "ema" / WEIGHTS).is_file():
        ema.model.load_state_dict(load_file(str(ckpt / "ema" / WEIGHTS), device=str(dev)))
        ema.updates = int(state.get("ema_updates", 0))
    load_optimizer(opt, ckpt / "optimizer.safetensors", state["optimizer"])
    if state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    if not load_rng(ckpt, info.rank, loss_gen) and info.is_main:
        print(f"note: {ckpt} has no RNG state for rank {info.rank} (world size changed); resuming with fresh seeds")
    return int(state["step"])


# -- command line -------------------------------------------------------------------------------------------
def train_main(argv: list[str] | None = None) -> int:
    """``popdiffuseq train --config configs/train_small.json --data DATA --out RUN`` (also under torchrun)."""
    ap = argparse.ArgumentParser(prog="popdiffuseq train", description="Train the infilling model on a built dataset.")
    ap.add_argument("--config", type=Path, help="training config JSON (configs/train_*.json); default: built-in defaults")
    ap.add_argument("--data", type=Path, required=True, help="folder written by 'popdiffuseq dataset build'")
    ap.add_argument("--out", type=Path, required=True, help="run folder (logs, checkpoints); resumed if it has one")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--eval-every", type=int)
    ap.add_argument("--checkpoint-every", type=int)
    ap.add_argument("--workers", type=int, help="DataLoader worker processes")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any config field")
    ap.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda when available)")
    ap.add_argument("--no-resume", action="store_true", help="start over even if --out has a checkpoint")
    ap.add_argument("--stop-after", type=int, help="stop (with a checkpoint) after this many total steps")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        cfg = TrainConfig.load(args.config) if args.config else TrainConfig()
        cfg = updated(cfg, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                      eval_every=args.eval_every, checkpoint_every=args.checkpoint_every, num_workers=args.workers)
        cfg = cfg.with_overrides(args.set)
        result = train(cfg, args.data, args.out, device=args.device, resume=not args.no_resume,
                       stop_after=args.stop_after, progress=not args.quiet)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}")
        return 2
    last = result.losses[-1][1] if result.losses else float("nan")
    val = f", val loss {result.val[-1][1]:.4f}, val ppl {result.val[-1][2]:.3f}" if result.val else ""
    print(f"step {result.step}: train loss {last:.4f}{val}; {result.examples_per_s:.1f} examples/s; "
          f"checkpoint {result.checkpoint}")
    return 0
