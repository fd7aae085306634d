"""Chords from a melody alone (issue 16): the harmonisation training examples, the bare-melody context,
and the chord cells' loss weight."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from engine.analysis.grid import beat_grid
from engine.representation.chord_source import has_harmony
from engine.representation.encode import encode, score_categories
from engine.representation.training_masks import (
    harmonise_problem,
    melody_only,
    random_training_problem,
    without_chords_outside,
)
from engine.representation.vocab import CHANGE, CHORD_ROW, MASK, NO_CHORD
from engine.score import ChordLabel, Note, Score, Track

BAR = 1920


def _band(bars: int = 16) -> Score:
    roots = [0, 7, 9, 5]
    melody = Track("Melody", 73, False, [Note(b * BAR + k * 480, b * BAR + k * 480 + 400, 72 + roots[b % 4] % 12, 90)
                                           for b in range(bars) for k in range(4)])
    piano = Track("Piano", 0, False, [Note(b * BAR, b * BAR + BAR, 48 + roots[b % 4] + i, 80) for b in range(bars) for i in (0, 4, 7)])
    drums = Track("Drums", 0, True, [Note(b * BAR + k * 480, b * BAR + k * 480 + 60, 36 if k % 2 == 0 else 38, 100)
                                     for b in range(bars) for k in range(4)])
    chords = [ChordLabel(b * BAR + h * 960, b * BAR + (h + 1) * 960, (roots[b % 4] + 5 * h) % 12, "") for b in range(bars) for h in range(2)]
    return Score(tracks=[melody, piano, drums], chords=chords)


def test_melody_only_keeps_melody_drums_and_chord_rows() -> None:
    enc = encode(_band())
    reduced = melody_only(enc)
    assert set(reduced.track_of_row.tolist()) == {-1, 0, 2}  # the piano (track 1) is gone
    assert reduced.categories == enc.categories and np.array_equal(reduced.instruments, enc.instruments)
    assert (reduced.tokens[reduced.track_of_row == -1] == enc.tokens[enc.track_of_row == -1]).all()


def test_harmonise_problem_masks_only_the_spans_chords() -> None:
    enc = encode(_band())
    seen_blank = seen_kept = 0
    for k in range(30):
        problem = harmonise_problem(enc, np.random.default_rng([3, k]))
        assert problem is not None
        ex, sel = problem.example, problem.selection
        assert sel.chords and sel.tracks == () and 1 <= sel.end_bar - sel.start_bar <= 16
        assert 1 not in problem.track_of_row.tolist()  # no harmony part to read the chords from
        open_rows = (~ex.given).any(1)
        assert open_rows.any() and (problem.track_of_row[open_rows] == -1).all()
        assert set(problem.bar_of_row[open_rows].tolist()) == set(range(sel.start_bar, sel.end_bar)) & set(problem.bar_of_row.tolist())
        assert (ex.tokens[open_rows, 2] != MASK).all()  # training targets: the true chords
        outside = (problem.track_of_row == -1) & ((problem.bar_of_row < sel.start_bar) | (problem.bar_of_row >= sel.end_bar))
        if outside.any():
            if (ex.tokens[outside, 2] == NO_CHORD).all():
                seen_blank += 1
            else:
                seen_kept += 1
    assert seen_blank and seen_kept  # both a bare melody and a song with chords around the span


def test_no_melody_no_harmonise_problem() -> None:
    song = _band()
    enc = encode(replace(song, tracks=song.tracks[1:]))
    assert harmonise_problem(enc, np.random.default_rng(0)) is None


def test_chords_removed_outside_are_what_a_song_without_chords_encodes() -> None:
    song = _band()
    bare = replace(song, tracks=[song.tracks[0]], chords=[])
    expected = encode(bare, grid=beat_grid(bare), chords=[])
    got = without_chords_outside(encode(replace(song, tracks=[song.tracks[0]])), 0, 0)
    assert np.array_equal(got.tokens, expected.tokens)
    inside = without_chords_outside(encode(song), 4, 8)
    chord = inside.tokens[:, 0] == CHORD_ROW
    kept = chord & (inside.bar_of_row >= 4) & (inside.bar_of_row < 8)
    assert (inside.tokens[kept, 3] == CHANGE).any() and (inside.tokens[kept, 2] != NO_CHORD).all()
    assert (inside.tokens[chord & ~kept, 2] == NO_CHORD).all() and not (inside.tokens[chord & ~kept, 3] == CHANGE).any()


def test_harmonise_is_drawn_only_when_asked() -> None:
    enc = encode(_band())
    for k in range(20):
        a = random_training_problem(enc, np.random.default_rng([1, k]), chord_masks=0.3)
        b = random_training_problem(enc, np.random.default_rng([1, k]), chord_masks=0.3, harmonise=0.0)
        assert np.array_equal(a.example.tokens, b.example.tokens)
    drawn = [random_training_problem(enc, np.random.default_rng([2, k]), harmonise=1.0) for k in range(10)]
    assert all(p.selection.chords and p.selection.tracks == () for p in drawn)


def test_has_harmony() -> None:
    song = _band()
    cats = score_categories(song)
    assert has_harmony(song, cats)
    assert not has_harmony(song, cats, exclude={1})  # melody and drums carry no harmony for the detector
    assert not has_harmony(replace(song, tracks=[song.tracks[0], song.tracks[2]]), (cats[0], cats[2]))


def test_chord_loss_weight_scales_only_chord_cells() -> None:
    from engine.diffusion import collate, make_diffusion
    from engine.model.config import ModelConfig
    from engine.model.network import SAModel

    torch.manual_seed(0)
    cfg = ModelConfig(d_model=32, n_layers=1, n_heads=2, n_full_heads=1, n_track_heads=0, n_bar_heads=1, ffn=64,
                      cell_embed_dim=8, max_rows=128, max_bars=32)
    model = SAModel(cfg).eval()
    enc = encode(_band(8))
    chords_batch = collate([harmonise_problem(enc, np.random.default_rng(5), 128).example], 128)
    notes_only = random_training_problem(enc, np.random.default_rng(0), 128)
    assert not notes_only.selection.chords
    notes_batch = collate([notes_only.example], 128)
    diffusion = make_diffusion(cfg)

    def loss(batch, weight: float) -> float:  # noqa: ANN001
        diffusion.chord_weight = weight
        with torch.no_grad():
            return float(diffusion.loss(model, batch, torch.Generator().manual_seed(1))[0])

    assert loss(chords_batch, 4.0) > 1.5 * loss(chords_batch, 1.0)
    assert abs(loss(notes_batch, 4.0) - loss(notes_batch, 1.0)) < 1e-6


def test_a_bare_melody_band_writes_chords_on_unknown_context(monkeypatch) -> None:  # noqa: ANN001
    """A band for a melody with no chords, the network asked to write them (chord lane selected): the
    chords around the region are not the detector's guesses, and the chords-only stage samples at its own
    temperature (argmax: the same chords for every seed)."""
    import engine.representation.encode as encode_module
    from engine.infill import infill
    from engine.representation.masks import Selection
    from tests.model_fixtures import plausible_model

    model = replace(plausible_model(), writes_chords=True)
    song = _band(8)
    bare = replace(song, tracks=[song.tracks[0]], chords=[])
    calls: list[int] = []
    real = encode_module._score_chords

    def spy(score, grid):  # noqa: ANN001, ANN202
        calls.append(1)
        return real(score, grid)

    monkeypatch.setattr(encode_module, "_score_chords", spy)
    sel = Selection(2, 6, (), new_tracks=("PIANO",), chords=True)
    outs = [infill(bare, sel, model=model, seed=s, steps=3, chord_temperature=0.0)[0] for s in (1, 2)]
    assert not calls  # no chord detection on the bare melody
    region = [[(c.start, c.root, c.quality) for c in o.chords if 2 * BAR <= c.start < 6 * BAR] for o in outs]
    assert region[0] and region[0] == region[1]
    outside = [c for o in outs for c in o.chords if c.start < 2 * BAR or c.start >= 6 * BAR]
    assert all(c.root is None for c in outside)  # no chord is made up outside the region
