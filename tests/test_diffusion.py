"""Diffusion processes: collation, given cells, guidance, call counts, determinism, cancel, the DPM-Solver++
update, and a tiny model that overfits one song and reproduces its hidden track."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.diffusion import (
    AbsorbingDiffusion,
    EmbeddingDiffusion,
    SABatch,
    SamplingCancelled,
    collate,
    make_diffusion,
    split_tokens,
)
from engine.diffusion.base import drop_prompt, guide, guided_forward
from engine.model import ModelConfig, SAModel, SAOutput
from engine.representation import vocab as V
from engine.representation.example import SAExample

torch.set_num_threads(1)
KINDS = ["absorbing", "embedding"]


def song(hidden_track: int = 2) -> SAExample:
    """4 bars x 3 tracks of a repeating pop pattern (44 rows); all cells given except one track's."""
    chords = [(0, ""), (9, "m"), (5, ""), (7, "7")]
    rows, track, bar = [], [], []

    def add(row: list[int], k: int, b: int) -> None:
        rows.append(row)
        track.append(k)
        bar.append(b)

    for b, (root, q) in enumerate(chords):
        add([V.CHORD_ROW, V.FIRST_POS, V.chord_token(root, q), V.bar_length_token(32)], 0, b)
        for i in range(4):
            add([V.category_token("MELODY"), V.FIRST_POS + 8 * i, V.pitch_token(72 + root + (2 * i) % 5),
                 V.duration_token(4)], 1, b)
        for i in range(2):
            add([V.category_token("BASS"), V.FIRST_POS + 16 * i, V.pitch_token(36 + root + 7 * i),
                 V.duration_token(8)], 2, b)
        for i in range(4):
            add([V.category_token("PIANO"), V.FIRST_POS + 8 * i, V.pitch_token(60 + root + 4 * (i % 2)),
                 V.duration_token(2)], 3, b)
    tokens = np.array(rows, dtype=np.int64)
    track_a = np.array(track, dtype=np.int64)
    given = np.ones_like(tokens, dtype=bool)
    given[track_a == hidden_track] = False
    inst = np.zeros(V.N_CATEGORIES, dtype=bool)
    inst[[0, 1, 6]] = True  # melody, piano, bass
    return SAExample(tokens, given, track_a, np.array(bar, dtype=np.int64), tempo=2, instruments=inst)


def tiny(kind: str, seed: int = 0) -> tuple[SAModel, AbsorbingDiffusion | EmbeddingDiffusion]:
    cfg = ModelConfig.tiny(diffusion=kind)
    torch.manual_seed(seed)
    return SAModel(cfg), make_diffusion(cfg)  # type: ignore[return-value]


class CallCounter:
    """Forward hook recording the batch size of every model call."""

    def __init__(self, model: SAModel) -> None:
        self.batch_sizes: list[int] = []
        model.register_forward_hook(lambda m, args, out: self.batch_sizes.append(int(args[0].shape[0])))


def test_collate_and_split_round_trip() -> None:
    a, b = song(), song(hidden_track=1)
    b = SAExample(b.tokens[:30], b.given[:30], b.track_id[:30], b.bar_index[:30], tempo=4, instruments=None)
    batch = collate([a, b], 256)
    assert batch.tokens.shape == (2, 44, 4)
    assert batch.valid.sum(1).tolist() == [44, 30]
    assert batch.given[1, 30:].all() and not batch.generate[1, 30:].any()
    assert batch.instruments[1].sum() == 0 and batch.tempo.tolist() == [2, 4]
    out = split_tokens(batch.tokens, batch)
    assert np.array_equal(out[0], a.tokens) and np.array_equal(out[1], b.tokens)
    assert batch.repeat(3).size == 6 and torch.equal(batch.repeat(3).tokens[2], batch.tokens[0])


def test_drop_prompt() -> None:
    batch = collate([song()] * 4, 256)
    dropped = drop_prompt(batch, 1.0)
    assert (dropped.tempo == V.TEMPO_NULL).all() and dropped.instruments.sum() == 0
    assert drop_prompt(batch, 0.0) is batch


@pytest.mark.parametrize("kind", KINDS)
def test_loss_is_finite_and_trains(kind: str) -> None:
    model, diff = tiny(kind)
    loss, metrics = diff.loss(model, collate([song()] * 2, 256), torch.Generator().manual_seed(0))
    loss.backward()
    assert torch.isfinite(loss) and "acc" in metrics
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("guidance", [1.0, 2.5])
def test_given_cells_never_change_and_call_count(kind: str, guidance: float) -> None:
    model, diff = tiny(kind)
    batch = collate([song(), song(hidden_track=3)], 256)
    calls = CallCounter(model)
    seen: list[tuple[int, int]] = []
    out = diff.sample(model, batch, steps=7, guidance=guidance, generator=torch.Generator().manual_seed(1),
                      progress=lambda i, n: seen.append((i, n)))
    assert torch.equal(out[batch.given], batch.tokens[batch.given])
    assert not (out[batch.generate] == V.MASK).any()
    assert calls.batch_sizes == [2 if guidance == 1.0 else 4] * 7  # one (batched) call per step
    assert seen == [(i, 7) for i in range(1, 8)]
    assert model.training  # the sampler restores the training flag


def test_guidance_one_is_the_conditional_model() -> None:
    model, _ = tiny("absorbing")
    model.eval()
    batch = collate([song()], 256)
    t = torch.full((1,), 300.0)
    with torch.no_grad():
        cond = model(batch.tokens, batch.given, batch.track_id, batch.bar_index, batch.valid,
                     batch.tempo, batch.instruments, t)
        g1 = guided_forward(model, batch.tokens, batch, t, 1.0)
        u = batch.without_prompt()
        unc = model(batch.tokens, u.given, u.track_id, u.bar_index, u.valid, u.tempo, u.instruments, t)
        g3 = guided_forward(model, batch.tokens, batch, t, 3.0)
    assert torch.equal(g1.hidden, cond.hidden)
    assert all(torch.equal(a, b) for a, b in zip(g1.logits, cond.logits, strict=True))
    assert torch.allclose(g3.hidden, unc.hidden + 3.0 * (cond.hidden - unc.hidden), atol=1e-5)
    for lg, c, n in zip(g3.logits, cond.logits, unc.logits, strict=True):
        assert torch.isneginf(lg[..., V.MASK]).all() and not torch.isnan(lg).any()
        assert torch.allclose(lg[..., 2:], n[..., 2:] + 3.0 * (c[..., 2:] - n[..., 2:]), atol=1e-4)
    x = torch.tensor([float("-inf"), 1.0])
    assert torch.equal(guide(x, torch.tensor([float("-inf"), 0.0]), 2.0), torch.tensor([float("-inf"), 2.0]))


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_samples(kind: str) -> None:
    model, diff = tiny(kind)
    batch = collate([song()], 256).repeat(2)
    a = diff.sample(model, batch, steps=5, guidance=2.0, generator=torch.Generator().manual_seed(7))
    b = diff.sample(model, batch, steps=5, guidance=2.0, generator=torch.Generator().manual_seed(7))
    c = diff.sample(model, batch, steps=5, guidance=2.0, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("kind", KINDS)
def test_cancel_stops_early(kind: str) -> None:
    model, diff = tiny(kind)
    calls = CallCounter(model)
    done: list[int] = []
    with pytest.raises(SamplingCancelled):
        diff.sample(model, collate([song()], 256), steps=10, progress=lambda i, n: done.append(i),
                    cancel=lambda: len(done) >= 3)
    assert len(calls.batch_sizes) == 3


def test_absorbing_commits_on_a_cosine_schedule() -> None:
    model, diff = tiny("absorbing")
    batch = collate([song()], 256)
    n_gen = int(batch.generate.sum())
    masked_seen: list[int] = []
    model.register_forward_hook(lambda m, args, out: masked_seen.append(int((args[0] == V.MASK).sum())))
    out = diff.sample(model, batch, steps=4, generator=torch.Generator().manual_seed(0))
    # Row decisions (an empty slot is PAD in all its cells) may settle a few cells ahead of the cosine
    # schedule or keep a content row's PAD draw open one step longer; the schedule stays the guide.
    targets = [math.floor(n_gen * math.cos(math.pi / 2 * s / 4)) for s in range(4)]
    assert masked_seen[0] == n_gen and masked_seen == sorted(masked_seen, reverse=True)
    assert all(abs(seen - t) <= n_gen // 4 for seen, t in zip(masked_seen, targets, strict=True))
    assert not (out == V.MASK).any()


@pytest.mark.parametrize("kind", ["absorbing", "embedding"])
def test_sampled_rows_follow_the_row_grammar(kind: str) -> None:
    """Every generated note row is either an empty slot (PAD in all generated cells) or a full note with a
    pitch (never a chord token) and a duration (never a bar length), whatever the untrained model says."""
    model, diff = tiny(kind)
    examples = [song(hidden_track=t) for t in (1, 2, 3)]
    for ex in examples:  # as in the editor: the slot's instrument is given, the model writes the rest
        ex.given[:, 0] = True
    batch = collate(examples, 256)
    out = diff.sample(model, batch, steps=5, generator=torch.Generator().manual_seed(3))
    gen_rows = batch.generate.any(-1)
    for b, r in gen_rows.nonzero().tolist():
        row = out[b, r]
        assert int(row[0]) >= V.FIRST_CATEGORY
        body = row[1:].tolist()
        if V.PAD in body:
            assert body == [V.PAD] * 3, f"half-empty row {row.tolist()}"
        else:
            assert V.FIRST_PITCH <= body[1] < V.FIRST_CHORD, row.tolist()
            assert V.token_duration(body[2]) is not None, row.tolist()


def _gaussian_oracle(diff: EmbeddingDiffusion, mu: float, s: float):
    """Exact x0-predictor for data ~ N(mu, s^2) per coordinate, as a forward hook on the model."""

    def hook(m, args, out: SAOutput) -> SAOutput:
        x, t = args[0], args[7]
        n = (t * diff.cfg.T / 1000.0).round().long()
        a = torch.from_numpy(diff.alpha).float()[n][:, None, None, None]
        sg = torch.from_numpy(diff.sigma).float()[n][:, None, None, None]
        d = mu + a * s**2 / (a**2 * s**2 + sg**2) * (x - a * mu)
        return SAOutput(d, out.logits)

    return hook


def test_dpm_solver_pp_2m_solves_the_probability_flow_ode() -> None:
    """For Gaussian data the PF-ODE is known in closed form: x_n = alpha_n mu + sqrt(alpha_n^2 s^2 + sigma_n^2) z.
    The solver must converge to it as steps grow; log-SNR spacing (the default) beats time-uniform."""
    model, diff = tiny("embedding")
    mu, s = 0.7, 0.5
    model.register_forward_hook(_gaussian_oracle(diff, mu, s))
    ex = song()
    ex = SAExample(ex.tokens, np.zeros_like(ex.given), ex.track_id, ex.bar_index, ex.tempo, ex.instruments)
    batch = collate([ex], 256)
    errs: dict[tuple[str, int], float] = {}
    for spacing in ("logsnr", "time_uniform"):
        diff.spacing = spacing
        for steps in (5, 10, 20):
            x = diff.solve(model, batch, steps=steps, generator=torch.Generator().manual_seed(3))
            x_T = torch.randn(x.shape, generator=torch.Generator().manual_seed(3)).double()
            nT = diff.timesteps(steps)[0]
            z = (x_T - diff.alpha[nT] * mu) / math.sqrt(diff.alpha[nT] ** 2 * s**2 + diff.sigma[nT] ** 2)
            exact = diff.alpha[0] * mu + math.sqrt(diff.alpha[0] ** 2 * s**2 + diff.sigma[0] ** 2) * z
            errs[spacing, steps] = (x.double() - exact).abs().max().item()
    assert errs["logsnr", 5] > errs["logsnr", 10] > errs["logsnr", 20]
    assert errs["logsnr", 10] < 0.2 * s and errs["logsnr", 20] < 0.02 * s
    assert errs["time_uniform", 20] < errs["time_uniform", 5]
    assert errs["logsnr", 10] < errs["time_uniform", 10]


@pytest.mark.parametrize("kind", KINDS)
def test_tiny_model_overfits_one_song_and_reproduces_the_hidden_track(kind: str) -> None:
    model, diff = tiny(kind)
    ex = song(hidden_track=2)
    batch = collate([ex] * 8, 256)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    g = torch.Generator().manual_seed(0)
    for _ in range(300):
        loss, _ = diff.loss(model, batch, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    one: SABatch = collate([ex], 256)
    out = diff.sample(model, one, steps=10, guidance=1.5, generator=torch.Generator().manual_seed(0))
    gen = one.generate
    acc = (out[gen] == one.tokens[gen]).float().mean().item()
    assert acc >= 0.95, f"{kind}: reproduced {acc:.0%} of the hidden track's cells"


def _row_logits(n_rows: int, p_pad: float) -> list[torch.Tensor]:
    """Logits for n_rows note slots whose onset, pitch and duration each say PAD with probability p_pad
    (the rest spread evenly over the column's other classes, MASK excluded)."""
    out = []
    for c, size in enumerate(V.COLUMN_SIZES):
        probs = torch.full((size,), (1 - p_pad) / (size - 2))
        probs[V.PAD], probs[V.MASK] = (p_pad if c else 0.0), 0.0
        if c == 0:
            probs = torch.zeros(size)
            probs[V.category_token("PIANO")] = 1.0
        out.append(probs.log().expand(1, n_rows, size).clone())
    return out


def test_a_slot_is_emptied_once_with_the_models_probability() -> None:
    """Each of a row's three cells says PAD with p = 0.4. Drawn cell by cell, 1 - 0.6^3 = 0.78 of the
    rows get a PAD somewhere (and the sampler empties such rows); tied, 0.4 of them are empty, and every
    row is either PAD in all three cells or in none."""
    from engine.diffusion.absorbing import draw_cells

    n = 20_000
    logits = _row_logits(n, 0.4)
    pending = torch.ones(1, n, 4, dtype=torch.bool)
    pending[..., 0] = False
    gen = torch.Generator().manual_seed(0)
    untied, _ = draw_cells(logits, pending, 1.0, gen, tie_empty_rows=False)
    assert (untied[0, :, 1:] == V.PAD).any(-1).float().mean().item() == pytest.approx(0.784, abs=0.02)
    tied, logp = draw_cells(logits, pending, 1.0, gen)
    pad = tied[0, :, 1:] == V.PAD
    assert pad.float().mean().item() == pytest.approx(0.4, abs=0.02)
    assert torch.equal(pad.all(-1), pad.any(-1))
    assert torch.allclose(logp[0, pad.all(-1), 1], torch.full((1,), math.log(0.4)))
    # A row whose PAD is ruled out (it already holds a note) is never emptied; argmax at temperature 0.
    logits[2][..., V.PAD] = float("-inf")
    only_pitch = torch.zeros_like(pending)
    only_pitch[..., 2] = True
    assert (draw_cells(logits, only_pitch, 1.0, gen)[0][0, :, 2] != V.PAD).all()
    assert (draw_cells(_row_logits(4, 0.6), pending[:, :4], 0.0, gen)[0][0, :, 1:] == V.PAD).all()
