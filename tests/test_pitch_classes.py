"""Pitch-class features and the sounding chord (ModelConfig.pitch_classes, chord_context) and key
transposition of training examples."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.diffusion.batch import collate
from engine.model import ModelConfig, SAModel
from engine.model.checkpoint import load_checkpoint, save_checkpoint
from engine.model.pitch_classes import pitch_class_table, sounding_chord
from engine.representation import vocab as V
from engine.representation.example import SAExample
from engine.representation.transpose import transpose_example
from tests.test_model import random_example, run, train_and_sample

torch.set_num_threads(1)


def test_pitch_class_table_rows() -> None:
    table = pitch_class_table()
    assert table.shape == (V.COLUMN_SIZES[V.COL_PITCH], 12)
    assert table[V.pitch_token(60)].tolist() == [1.0] + [0.0] * 11  # C4
    assert table[V.pitch_token(61)].argmax() == 1 and table[V.pitch_token(73)].argmax() == 1  # C#4, C#5
    a_minor = table[V.chord_token(9, "m")]  # A C E
    assert torch.allclose(a_minor[[9, 0, 4]], torch.full((3,), 1 / 3)) and a_minor.sum() == 1.0
    for tok in (V.PAD, V.MASK, V.NO_CHORD):
        assert table[tok].abs().sum() == 0


def test_pitch_class_head_ties_octaves_and_chords() -> None:
    """With the per-token head zeroed, the pitch logits are exactly the 12-way pitch-class scores: every C
    gets the same logit, and a chord gets the mean score of its tones."""
    model = SAModel(ModelConfig.tiny(pitch_classes=True))
    heads = model.heads
    with torch.no_grad():
        heads.proj[V.COL_PITCH].weight.zero_()
        heads.proj[V.COL_PITCH].bias.zero_()
    h = torch.randn(1, 3, 4, model.cfg.cell_embed_dim)
    logits = heads.logits_per_column(h, torch.zeros(1, model.cfg.d_model))[V.COL_PITCH]
    pc = heads.pitch_class(h[:, :, V.COL_PITCH])
    cs = [V.pitch_token(p) for p in (24, 36, 48, 60, 72, 84, 96, 108)]
    assert torch.allclose(logits[..., cs], pc[..., :1].expand(-1, -1, len(cs)))
    assert torch.allclose(logits[..., V.chord_token(0, "")], pc[..., [0, 4, 7]].mean(-1), atol=1e-6)
    assert torch.isneginf(logits[..., V.MASK]).all()


def test_pitch_class_input_links_a_note_to_its_octaves() -> None:
    model = SAModel(ModelConfig.tiny(pitch_classes=True))
    emb = model.embedding
    with torch.no_grad():
        emb.tokens[V.COL_PITCH].weight.zero_()
    ids = torch.tensor([[[0, 0, V.pitch_token(p), 0] for p in (60, 72, 61)]])
    cells = emb.embed_tokens(ids)[0, :, V.COL_PITCH]
    assert torch.allclose(cells[0], cells[1]) and not torch.allclose(cells[0], cells[2])


def test_pitch_class_model_round_trips_through_a_checkpoint(tmp_path) -> None:  # noqa: ANN001
    cfg = ModelConfig.tiny(pitch_classes=True)
    model = SAModel(cfg)
    save_checkpoint(tmp_path, model)
    loaded, loaded_cfg = load_checkpoint(tmp_path)
    assert loaded_cfg.pitch_classes
    b = collate([random_example(3)], cfg.max_rows)
    for a, c in zip(run(model, b).logits, run(loaded, b).logits, strict=True):
        assert torch.equal(a, c)


def test_config_without_the_field_rebuilds_the_old_network() -> None:
    d = ModelConfig.tiny().to_dict()
    del d["pitch_classes"]
    model = SAModel(ModelConfig.from_dict(d))
    assert not hasattr(model.heads, "pitch_class") and "embedding.pitch_class.weight" not in model.state_dict()


def _notes(ex: SAExample) -> list[int]:
    return [V.token_pitch(int(t)) for t in ex.tokens[:, V.COL_PITCH] if V.token_pitch(int(t)) is not None]


def test_transpose_moves_notes_and_chord_roots_together() -> None:
    ex = random_example(0)
    up = transpose_example(ex, 3)
    assert [p + 3 for p in _notes(ex)] == _notes(up)
    for a, b in zip(ex.tokens[:, V.COL_PITCH], up.tokens[:, V.COL_PITCH], strict=True):
        chord = V.token_chord(int(a))
        if chord is not None and chord[0] is not None:
            assert V.token_chord(int(b)) == ((chord[0] + 3) % 12, chord[1])
    # Everything but the pitch column is untouched, and the source example is not modified.
    assert np.array_equal(up.tokens[:, [0, 1, 3]], ex.tokens[:, [0, 1, 3]])
    assert np.array_equal(up.given, ex.given) and up.tempo == ex.tempo
    assert _notes(transpose_example(up, -3)) == _notes(ex)


def test_transpose_keeps_drums_and_pads_and_respects_the_range() -> None:
    drum, piano = V.category_token("DRUMS"), V.category_token("PIANO")
    tokens = np.array([
        [V.CHORD_ROW, V.FIRST_POS, V.NO_CHORD, V.bar_length_token(32)],
        [drum, V.FIRST_POS, V.pitch_token(36), V.duration_token(1)],
        [piano, V.FIRST_POS, V.pitch_token(105), V.duration_token(4)],
        [piano, V.PAD, V.PAD, V.PAD],
    ], dtype=np.int64)
    ex = SAExample(tokens, np.ones_like(tokens, dtype=bool), np.array([0, 1, 2, 2]), np.zeros(4, dtype=np.int64))
    up = transpose_example(ex, 5)  # 105 + 5 is past C8: an octave lower instead (-7)
    assert up.tokens[1, V.COL_PITCH] == V.pitch_token(36)  # drum kit piece unchanged
    assert up.tokens[2, V.COL_PITCH] == V.pitch_token(98)
    assert up.tokens[0, V.COL_PITCH] == V.NO_CHORD and (up.tokens[3] == tokens[3]).all()
    assert transpose_example(ex, 12) is ex


def _bar_with_change() -> torch.Tensor:
    """One bar: C at pos 0, a change to G7 at pos 16, then notes at 0, 8, 16, 24 and one with a MASK onset."""
    rows = [
        [V.CHORD_ROW, V.FIRST_POS, V.chord_token(0, ""), V.bar_length_token(32)],
        [V.CHORD_ROW, V.FIRST_POS + 16, V.chord_token(7, "7"), V.CHANGE],
        *[[V.category_token("PIANO"), V.FIRST_POS + p, V.pitch_token(60), V.duration_token(4)] for p in (0, 8, 16, 24)],
        [V.category_token("PIANO"), V.MASK, V.MASK, V.MASK],
        [V.CHORD_ROW, V.FIRST_POS, V.chord_token(9, "m"), V.bar_length_token(32)],  # the next bar
        [V.category_token("BASS"), V.FIRST_POS + 4, V.pitch_token(45), V.duration_token(4)],
    ]
    return torch.tensor([rows])


def test_sounding_chord_follows_changes_inside_the_bar() -> None:
    table = pitch_class_table()
    known = _bar_with_change()
    bar = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 1, 1]])
    chord = sounding_chord(known, bar, torch.ones_like(bar, dtype=torch.bool), table)
    c, g7, am = table[V.chord_token(0, "")], table[V.chord_token(7, "7")], table[V.chord_token(9, "m")]
    want = [c, g7, c, c, g7, g7, c, am, am]  # the MASK onset takes the bar's opening chord
    for row, w in enumerate(want):
        assert torch.equal(chord[0, row], w), row
    # A chord cell not known yet gives no chord; padding rows are never read.
    masked = known.clone()
    masked[0, 7, V.COL_PITCH] = V.MASK
    chord = sounding_chord(masked, bar, torch.ones_like(bar, dtype=torch.bool), table)
    assert chord[0, 8].abs().sum() == 0


def test_chord_context_changes_the_output_and_needs_ids_for_vectors() -> None:
    cfg = ModelConfig.tiny(pitch_classes=True, chord_context=True)
    model = SAModel(cfg)
    b = collate([random_example(4)], cfg.max_rows)
    other = b.tokens.clone()
    chord_rows = other[..., 0] == V.CHORD_ROW
    other[..., V.COL_PITCH][chord_rows] = V.chord_token(6, "dim")
    a, c = run(model, b).logits[V.COL_PITCH], run(model, b, tokens=other).logits[V.COL_PITCH]
    notes = ~chord_rows
    assert not torch.allclose(a[notes], c[notes])  # the notes' rows hear the chords
    vectors = model.embedding.embed_tokens(b.tokens)
    with pytest.raises(ValueError, match="known token ids"):
        model(vectors, b.given, b.track_id, b.bar_index, b.valid, b.tempo, b.instruments, torch.zeros(1))
    model.eval()
    with torch.no_grad():
        from_ids = model(b.tokens, b.given, b.track_id, b.bar_index, b.valid, b.tempo, b.instruments, torch.zeros(1))
        from_vecs = model(vectors, b.given, b.track_id, b.bar_index, b.valid, b.tempo, b.instruments, torch.zeros(1),
                          b.tokens)
    assert torch.allclose(from_ids.hidden, from_vecs.hidden, atol=1e-5)


@pytest.mark.parametrize("kind", ["absorbing", "embedding"])
def test_both_diffusions_train_and_sample_with_chord_context(kind: str) -> None:
    model = train_and_sample(ModelConfig.tiny(pitch_classes=True, chord_context=True, diffusion=kind), n_bars=3)
    assert model.embedding.chord.weight.grad.abs().sum() > 0
