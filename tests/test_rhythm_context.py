"""Rhythm context (ModelConfig.rhythm_context): the onsets a row's track plays in neighbouring bars, and
loading a trained model's weights into one with the option (init_weights_from; the training loop's
``init_from`` is tested in test_training.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine.diffusion.batch import collate
from engine.errors import CheckpointError
from engine.model import ModelConfig, SAModel
from engine.model.checkpoint import init_weights_from, load_checkpoint, save_checkpoint
from engine.model.rhythm import BAR_OFFSETS, N_POSITIONS, neighbour_onsets
from engine.representation import vocab as V
from tests.test_model import random_example, run, train_and_sample

torch.set_num_threads(1)
PREV, NEXT = BAR_OFFSETS.index(-1), BAR_OFFSETS.index(1)


def _two_bars() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Bar 0: piano (track 1) at positions 0 and 16, bass (track 2) at 8; bar 1: a piano row with a MASK
    onset, an empty piano slot (PAD onset), a piano note at 24 and a bass slot still masked."""
    piano, bass = V.category_token("PIANO"), V.category_token("BASS")
    rows = [
        [V.CHORD_ROW, V.FIRST_POS, V.chord_token(0, ""), V.bar_length_token(32)],
        [piano, V.FIRST_POS + 0, V.pitch_token(60), V.duration_token(4)],
        [piano, V.FIRST_POS + 16, V.pitch_token(64), V.duration_token(4)],
        [bass, V.FIRST_POS + 8, V.pitch_token(36), V.duration_token(4)],
        [V.CHORD_ROW, V.FIRST_POS, V.chord_token(7, ""), V.bar_length_token(32)],
        [piano, V.MASK, V.MASK, V.MASK],
        [piano, V.PAD, V.PAD, V.PAD],
        [piano, V.FIRST_POS + 24, V.pitch_token(67), V.duration_token(4)],
        [bass, V.MASK, V.MASK, V.MASK],
    ]
    track = torch.tensor([[0, 1, 1, 2, 0, 1, 1, 1, 2]])
    bar = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1, 1]])
    return torch.tensor([rows]), track, bar


def _positions(row: torch.Tensor) -> list[int]:
    return torch.nonzero(row).flatten().tolist()


def test_neighbour_onsets_reads_known_notes_of_the_same_track() -> None:
    known, track, bar = _two_bars()
    out = neighbour_onsets(known, track, bar, torch.ones_like(track, dtype=torch.bool))
    assert out.shape == (1, 9, len(BAR_OFFSETS), N_POSITIONS)
    assert _positions(out[0, 5, PREV]) == [0, 16]  # the masked piano row hears the piano of bar 0
    assert _positions(out[0, 8, PREV]) == [8]  # the bass slot hears only the bass
    assert _positions(out[0, 1, NEXT]) == [24]  # bar 0 hears bar 1's known piano note, not the MASK/PAD rows
    assert _positions(out[0, 3, NEXT]) == []  # the bass of bar 1 is still masked
    assert out[0, [0, 4]].sum() == 0  # chord/bar rows get nothing
    far = [o for o in range(len(BAR_OFFSETS)) if o not in (PREV, NEXT)]
    assert out[0][:, far].sum() == 0  # no bars 2 or 4 away in a 2-bar table
    # Padding rows (valid False) are never read.
    valid = torch.ones_like(track, dtype=torch.bool)
    valid[0, 2] = False
    assert _positions(neighbour_onsets(known, track, bar, valid)[0, 5, PREV]) == [0]


def test_rhythm_context_is_zero_at_first_and_then_changes_the_onsets(tmp_path: Path) -> None:
    """Zero-initialised, so a model given the option and the weights of one without it computes the
    same function; once its gate is non-zero, the neighbouring onsets move the onset logits."""
    torch.manual_seed(0)
    old = SAModel(ModelConfig.tiny(pitch_classes=True, chord_context=True))
    save_checkpoint(tmp_path / "old", old)
    new = SAModel(ModelConfig.tiny(pitch_classes=True, chord_context=True, rhythm_context=True))
    added = init_weights_from(new, tmp_path / "old")
    assert added == ["embedding.rhythm.weight", "heads.rhythm_gate.bias", "heads.rhythm_gate.weight"]
    b = collate([random_example(3, n_bars=4), random_example(5, n_bars=4)], new.cfg.max_rows)
    a, c = run(old, b), run(new, b)
    for la, lc in zip(a.logits, c.logits, strict=True):
        assert torch.equal(la, lc)
    with torch.no_grad():
        new.heads.rhythm_gate.bias.fill_(5.0)
    boosted = run(new, b).logits[V.COL_ONSET]
    rhythm = neighbour_onsets(b.tokens, b.track_id, b.bar_index, b.valid)
    gain = (boosted - c.logits[V.COL_ONSET])[..., V.FIRST_POS:]
    assert torch.allclose(gain, 5.0 * rhythm.sum(2), atol=1e-4)
    assert gain.max() > 0
    # The new option survives a checkpoint round trip.
    save_checkpoint(tmp_path / "new", new)
    loaded, cfg = load_checkpoint(tmp_path / "new")
    assert cfg.rhythm_context and torch.equal(run(loaded, b).logits[V.COL_ONSET], boosted)


def test_init_weights_from_refuses_what_does_not_fit(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "abs", SAModel(ModelConfig.tiny()))
    with pytest.raises(CheckpointError, match="absorbing"):
        init_weights_from(SAModel(ModelConfig.tiny(diffusion="embedding")), tmp_path / "abs")
    with pytest.raises(CheckpointError, match="shape"):
        init_weights_from(SAModel(ModelConfig.tiny(d_model=32)), tmp_path / "abs")
    save_checkpoint(tmp_path / "pc", SAModel(ModelConfig.tiny(pitch_classes=True)))
    with pytest.raises(CheckpointError, match="lacks"):  # dropping an option would silently lose weights
        init_weights_from(SAModel(ModelConfig.tiny()), tmp_path / "pc")


@pytest.mark.parametrize("kind", ["absorbing", "embedding"])
def test_both_diffusions_train_and_sample_with_rhythm_context(kind: str) -> None:
    model = train_and_sample(ModelConfig.tiny(rhythm_context=True, diffusion=kind))
    assert model.embedding.rhythm.weight.grad.abs().sum() > 0
    if kind == "absorbing":  # the embedding kind reads x0 from the hidden state, not the onset logits
        assert model.heads.rhythm_gate.weight.grad.abs().sum() > 0
