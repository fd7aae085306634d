"""Training loop: exact resume, DDP == one big batch, CLI outputs. Tiny model on a tiny dataset built here."""

from __future__ import annotations

import csv
import os
import shutil
import socket
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from engine.data.build import dataset_main
from engine.diffusion import SABatch
from engine.errors import CheckpointError
from engine.model.checkpoint import load_checkpoint
from engine.representation.vocab import MASK, N_COLUMNS
from engine.train.config import TrainConfig
from engine.train.loop import train, train_main
from engine.train.schedule import lr_at
from tests.midi_fixtures import pop_band, waltz, write

TINY = TrainConfig(model="tiny", max_rows=64, batch_size=4, steps=6, lr=2e-3, warmup_steps=2, ema_decay=0.9,
                   eval_every=3, checkpoint_every=100, log_every=1, val_examples=8, val_batch_size=4, amp="off")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("train_data")
    src = root / "midi"
    src.mkdir()
    for i in range(6):
        write(pop_band(bars=8 + i), src, f"band{i}.mid")
    write(waltz(bars=12), src, "waltz.mid")
    assert dataset_main(["build", "--midi-folder", str(src), "--out", str(root / "ds"), "--workers", "1",
                         "--split", "70/30/0", "--quiet"]) == 0
    return root / "ds"


def _log(run: Path) -> list[dict[str, str]]:
    with open(run / "log.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_lr_schedule_warms_up_then_decays() -> None:
    cfg = TrainConfig(lr=1.0, warmup_steps=10, steps=110, min_lr_ratio=0.1)
    lrs = [lr_at(s, cfg) for s in range(120)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))
    assert lrs[110] == pytest.approx(0.1) and lrs[119] == pytest.approx(0.1)
    lin = TrainConfig(lr=1.0, warmup_steps=0, steps=100, schedule="linear", min_lr_ratio=0.0)
    assert lr_at(50, lin) == pytest.approx(0.5)


def test_interrupted_and_resumed_run_equals_uninterrupted(tiny_data: Path, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    full = train(TINY, tiny_data, tmp_path / "full", device="cpu", progress=False)
    train(TINY, tiny_data, tmp_path / "split", device="cpu", progress=False, stop_after=3)
    resumed = train(TINY, tiny_data, tmp_path / "split", device="cpu", progress=False)
    assert [s for s, _ in resumed.losses] == [4, 5, 6]
    assert resumed.losses == full.losses[3:]
    a, b = _log(tmp_path / "full"), _log(tmp_path / "split")
    assert [r["step"] for r in b] == [str(s) for s in range(1, 7)]
    for key in ("loss", "val_loss", "val_ppl", "lr"):
        assert [r[key] for r in a] == [r[key] for r in b], key  # exactly equal floats
    assert a[2]["val_loss"] != "" and a[5]["val_ppl"] != ""
    for part in ("model", "ema"):
        wa = load_file(str(tmp_path / "full/checkpoints/step-00000006" / part / "model.safetensors"))
        wb = load_file(str(tmp_path / "split/checkpoints/step-00000006" / part / "model.safetensors"))
        assert all(torch.equal(wa[k], wb[k]) for k in wa), part
    assert not list(tmp_path.rglob("*.pt")) and not list(tmp_path.rglob("*.pkl"))


def test_resume_refuses_a_changed_config(tiny_data: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(**{**TINY.to_dict(), "steps": 2, "eval_every": 100})
    train(cfg, tiny_data, tmp_path / "run", device="cpu", progress=False, stop_after=1)
    with pytest.raises(ValueError, match="lr"):
        train(TrainConfig(**{**cfg.to_dict(), "lr": 1e-2}), tiny_data, tmp_path / "run", device="cpu", progress=False)


# -- DDP ---------------------------------------------------------------------------------------------------
def full_mask_loss(model: torch.nn.Module, batch: SABatch, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
    """Deterministic loss (every generated cell masked, mean CE per example, mean over examples), so the
    per-rank means average to exactly the big batch's mean and no random draw depends on batch layout."""
    gen = batch.generate
    cells = batch.tokens.masked_fill(gen, MASK)
    t = torch.full((batch.size,), 1000.0)
    out = model(cells, batch.given, batch.track_id, batch.bar_index, batch.valid, batch.tempo, batch.instruments, t)
    total = torch.zeros(batch.size)
    for c in range(N_COLUMNS):
        logp = F.log_softmax(out.logits[c].float(), -1).gather(-1, batch.tokens[..., c, None])[..., 0]
        total = total + torch.where(gen[..., c], -logp, torch.zeros_like(logp)).sum(1)
    loss = (total / gen.flatten(1).sum(1).clamp(min=1)).mean()
    return loss, {"loss": float(loss.detach())}


def _grad_saver(path: Path):  # noqa: ANN202
    def save(step: int, model: torch.nn.Module) -> None:
        if step == 1:
            save_file({n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}, str(path))
    return save


def _ddp_worker(rank: int, world: int, port: int, data: str, out: str, cfg_json: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    cfg = TrainConfig.from_dict(__import__("json").loads(cfg_json))
    saver = _grad_saver(Path(out) / f"grads-{rank}.safetensors")
    train(cfg, data, out, device="cpu", progress=False, loss_fn=full_mask_loss, after_backward=saver)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_ddp_equals_one_process_on_the_concatenated_batch(tiny_data: Path, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    cfg = TrainConfig(**{**TINY.to_dict(), "steps": 1, "warmup_steps": 0, "ema_decay": 0.0, "val_examples": 0,
                         "batch_size": 3})
    ddp_out = tmp_path / "ddp"
    torch.multiprocessing.spawn(_ddp_worker, args=(2, _free_port(), str(tiny_data), str(ddp_out), cfg.to_json()),
                                nprocs=2, join=True)
    single = TrainConfig(**{**cfg.to_dict(), "batch_size": 6})
    one_out = tmp_path / "one"
    train(single, tiny_data, one_out, device="cpu", progress=False, loss_fn=full_mask_loss,
          after_backward=_grad_saver(one_out / "grads-0.safetensors"))
    g_one = load_file(str(one_out / "grads-0.safetensors"))
    for rank in (0, 1):  # after the all-reduce every rank holds the big batch's gradient
        g = load_file(str(ddp_out / f"grads-{rank}.safetensors"))
        assert g.keys() == g_one.keys()
        for k in g_one:
            torch.testing.assert_close(g[k], g_one[k], rtol=1e-4, atol=1e-6, msg=k)
    pa = load_file(str(ddp_out / "checkpoints/step-00000001/model/model.safetensors"))
    pb = load_file(str(one_out / "checkpoints/step-00000001/model/model.safetensors"))
    # Adam divides by |g| + eps: where a gradient is ~1e-8 the float noise the gradient check allows
    # moves the step by up to lr, so parameters are compared where the gradient is well above eps.
    names = dict(zip([k.removeprefix("model.") for k in g_one], g_one.values(), strict=True))
    checked = sum(int((names[k].abs() > 1e-5).sum()) for k in pb if k in names)
    # ~37 % of the tiny model: unused embedding rows get no gradient at all
    assert checked > 0.25 * sum(v.numel() for v in pb.values()), "too few parameters compared"
    for k in pb:
        well_defined = names[k].abs() > 1e-5 if k in names else torch.ones_like(pb[k], dtype=torch.bool)
        diff = (pa[k] - pb[k])[well_defined].abs()
        assert diff.numel() == 0 or diff.max().item() <= 1e-6, k


# -- command line ------------------------------------------------------------------------------------------
def test_cli_writes_csv_log_and_loadable_checkpoints(tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    rc = train_main(["--config", "configs/train_tiny.json", "--data", str(tiny_data), "--out", str(run), "--steps", "4",
                     "--batch-size", "2", "--eval-every", "2", "--checkpoint-every", "2", "--set", "log_every=1",
                     "--set", "max_rows=64", "--set", "val_examples=4", "--device", "cpu", "--quiet"])
    assert rc == 0 and "examples/s" in capsys.readouterr().out
    rows = _log(run)
    assert list(rows[0]) == ["step", "loss", "val_loss", "val_ppl", "lr", "examples_per_s"]
    assert [r["step"] for r in rows] == ["1", "2", "3", "4"] and rows[1]["val_ppl"] != ""
    assert (run / "latest.txt").read_text() == "checkpoints/step-00000004"
    for folder in (run / "checkpoints/step-00000002/model", run / "checkpoints/step-00000004/ema", run / "model"):
        model, mcfg = load_checkpoint(folder)
        assert mcfg.max_rows == 64 and model.num_parameters() > 0
    rc = train_main(["--data", str(tiny_data), "--out", str(tmp_path / "bad"), "--set", "amp=fp32"])
    assert rc == 2 and "amp" in capsys.readouterr().out


def test_training_continues_from_a_checkpoint_with_a_new_option(tiny_data: Path, tmp_path: Path) -> None:
    base = replace(TINY, steps=2, eval_every=100)
    train(base, tiny_data, tmp_path / "base", device="cpu", progress=False)
    # lr 0: the run must end with exactly the checkpoint's weights (a fresh start would not).
    frozen = replace(base, lr=0.0, model_overrides={"rhythm_context": True}, init_from=str(tmp_path / "base/model"))
    train(frozen, tiny_data, tmp_path / "frozen", device="cpu", progress=False)
    start, _ = load_checkpoint(tmp_path / "base/model")
    kept, cfg = load_checkpoint(tmp_path / "frozen/model")
    assert cfg.rhythm_context
    a, b = start.state_dict(), kept.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    fresh = replace(frozen, init_from="")
    train(fresh, tiny_data, tmp_path / "fresh", device="cpu", progress=False)
    c = load_checkpoint(tmp_path / "fresh/model")[0].state_dict()
    assert any(not torch.equal(a[k], c[k]) for k in a)
    with pytest.raises(CheckpointError):
        train(replace(frozen, init_from=str(tmp_path / "nowhere")), tiny_data, tmp_path / "x", device="cpu",
              progress=False)
    # Resuming restores the run's own checkpoint and never reads init_from again (it may be gone by then).
    shutil.rmtree(tmp_path / "base/model")
    assert train(frozen, tiny_data, tmp_path / "frozen", device="cpu", progress=False).step == frozen.steps


def test_every_config_in_configs_loads_and_builds_its_network() -> None:
    """The configs `make model` and the README name must load with this engine (a renamed option would
    otherwise only fail an hour into `make model`)."""
    paths = sorted(Path("configs").glob("*.json"))
    assert len(paths) >= 5
    for p in paths:
        cfg = TrainConfig.load(p)
        assert cfg.model_config().max_rows == cfg.max_rows
    stage6 = TrainConfig.load("configs/train_cpu_copy.json").with_overrides(
        ["init_from=runs/x/model", "seed=6", "thin_context=0.5", "part_spans=0.5"])
    assert stage6.model_config().copy_context and stage6.thin_context == 0.5 and stage6.part_spans == 0.5
