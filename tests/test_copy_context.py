"""Copy context (ModelConfig.copy_context): each row is given the same-rank row of its track one, two and
four bars away (aligned.aligned_rows), and the onset, pitch and duration heads may point at it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine.diffusion.batch import collate
from engine.model import ModelConfig, SAModel
from engine.model.aligned import ALIGNED_COLUMNS, ALIGNED_OFFSETS, aligned_rows
from engine.model.checkpoint import init_weights_from, load_checkpoint, save_checkpoint
from engine.representation import vocab as V
from tests.test_model import random_example, run, train_and_sample
from tests.test_rhythm_context import _two_bars

torch.set_num_threads(1)
PREV, NEXT, BACK4 = ALIGNED_OFFSETS.index(-1), ALIGNED_OFFSETS.index(1), ALIGNED_OFFSETS.index(-4)
MASKED = [V.MASK] * len(ALIGNED_COLUMNS)
EMPTY = [V.PAD] * len(ALIGNED_COLUMNS)


def test_aligned_rows_line_up_slots_by_rank_within_the_track() -> None:
    known, track, bar = _two_bars()
    valid = torch.ones_like(track, dtype=torch.bool)
    out = aligned_rows(known, track, bar, valid)
    assert out.shape == (1, 9, len(ALIGNED_OFFSETS), len(ALIGNED_COLUMNS))
    cells = list(ALIGNED_COLUMNS)
    # Bar 1's piano slots 0 and 1 see bar 0's piano rows 0 and 1; the bass slot sees the bass, not the piano.
    assert out[0, 5, PREV].tolist() == known[0, 1, cells].tolist()
    assert out[0, 6, PREV].tolist() == known[0, 2, cells].tolist()
    assert out[0, 8, PREV].tolist() == known[0, 3, cells].tolist()
    # Piano rank 2 in bar 1 has no rank-2 row in bar 0, a bar inside the window: "no note there".
    assert out[0, 7, PREV].tolist() == EMPTY
    # Looking forward: what is known of bar 1 (a MASK row stays MASK, an empty slot is PAD).
    assert out[0, 1, NEXT].tolist() == MASKED and out[0, 2, NEXT].tolist() == EMPTY
    # Bars outside the window are unknown, not silent; chord rows get nothing.
    assert out[0, 5, BACK4].tolist() == MASKED and out[0, 1, PREV].tolist() == MASKED
    assert (out[0, [0, 4]] == V.MASK).all()
    # Padding rows (valid False) are never read.
    valid[0, 2] = False
    assert aligned_rows(known, track, bar, valid)[0, 6, PREV].tolist() == EMPTY


def test_copy_context_is_zero_at_first_and_then_points_at_the_aligned_class(tmp_path: Path) -> None:
    torch.manual_seed(0)
    old = SAModel(ModelConfig.tiny(pitch_classes=True, chord_context=True))
    save_checkpoint(tmp_path / "old", old)
    new = SAModel(ModelConfig.tiny(pitch_classes=True, chord_context=True, copy_context=True))
    added = init_weights_from(new, tmp_path / "old")
    assert "embedding.aligned.weight" in added and "heads.copy_gate.0.weight" in added
    b = collate([random_example(3, n_bars=6), random_example(5, n_bars=6)], new.cfg.max_rows)
    a, c = run(old, b), run(new, b)
    for la, lc in zip(a.logits, c.logits, strict=True):
        assert torch.equal(la, lc)
    with torch.no_grad():
        new.heads.copy_gate[0].bias.fill_(3.0)  # the onset head trusts every offset by 3 nats
    boosted = run(new, b).logits[V.COL_ONSET]
    aligned = aligned_rows(b.tokens, b.track_id, b.bar_index, b.valid)[..., 0]  # [B, R, O] onset ids
    expected = torch.zeros_like(boosted).scatter_add_(-1, aligned, torch.full(aligned.shape, 3.0))
    gain = (boosted - c.logits[V.COL_ONSET]).nan_to_num(0.0, posinf=0.0, neginf=0.0)
    expected[..., V.MASK] = 0.0
    assert torch.allclose(gain, expected, atol=1e-4)
    assert gain.max() >= 3.0  # some row does have an aligned onset in these songs
    save_checkpoint(tmp_path / "new", new)
    loaded, cfg = load_checkpoint(tmp_path / "new")
    assert cfg.copy_context and torch.equal(run(loaded, b).logits[V.COL_ONSET], boosted)


@pytest.mark.parametrize("kind", ["absorbing", "embedding"])
def test_both_diffusions_train_and_sample_with_copy_context(kind: str) -> None:
    model = train_and_sample(ModelConfig.tiny(copy_context=True, diffusion=kind))
    assert model.embedding.aligned.weight.grad.abs().sum() > 0
    if kind == "absorbing":  # the embedding kind reads x0 from the hidden state, not the logits
        assert sum(g.weight.grad.abs().sum() for g in model.heads.copy_gate) > 0
