"""Regenerated chords: the chord rows of selected bars are sampled (Selection.chords), in training and infill."""

from __future__ import annotations

import numpy as np

from engine.analysis.grid import beat_grid
from engine.representation.apply import apply_infill
from engine.representation.encode import encode
from engine.representation.masks import Selection, build_infill_problem, build_problem, chord_slot_rows
from engine.representation.training_masks import random_training_problem
from engine.representation.vocab import CHANGE, CHORD_ROW, FIRST_POS, MASK, bar_length_token, chord_token
from engine.score import ChordLabel, Note, Score, Track

BAR = 1920


def _song(bars: int = 8) -> Score:
    roots = [0, 7, 9, 5]
    melody = Track("Melody", 73, False, [Note(b * BAR + k * 480, b * BAR + k * 480 + 400, 72 + roots[b % 4] % 12, 90)
                                           for b in range(bars) for k in range(4)])
    piano = Track("Piano", 0, False, [Note(b * BAR, b * BAR + BAR, 48 + roots[b % 4] + i, 80) for b in range(bars) for i in (0, 4, 7)])
    chords = [ChordLabel(b * BAR, (b + 1) * BAR, roots[b % 4], "m" if roots[b % 4] == 9 else "") for b in range(bars)]
    return Score(tracks=[melody, piano], chords=chords)


def _bar(chord: int, length32: int = 32) -> np.ndarray:
    return np.asarray([CHORD_ROW, FIRST_POS, chord, bar_length_token(length32)])


def test_chord_slots_hold_the_chords_on_the_first_and_middle_beats() -> None:
    c, g, am = chord_token(0, ""), chord_token(7, ""), chord_token(9, "m")
    change = lambda pos, tok: np.asarray([CHORD_ROW, FIRST_POS + pos, tok, CHANGE])  # noqa: E731
    rows = chord_slot_rows(np.stack([_bar(c), change(16, g)]), targets=True)
    assert rows[:, 2].tolist() == [c, g] and rows[1, 1] == FIRST_POS + 16
    assert chord_slot_rows(np.stack([_bar(c), change(8, am)]), targets=True)[:, 2].tolist() == [c, am]  # held to beat 3
    assert chord_slot_rows(np.stack([_bar(c), change(24, am)]), targets=True)[:, 2].tolist() == [c, c]  # after the middle
    assert chord_slot_rows(_bar(c, 24)[None], targets=True)[1, 1] == FIRST_POS + 8  # 3/4: beat 2
    assert len(chord_slot_rows(_bar(c, 8)[None], targets=True)) == 1  # a one-beat bar has no middle
    assert (chord_slot_rows(np.stack([_bar(c), change(16, g)]), targets=False)[:, 2] == MASK).all()


def test_only_the_selected_bars_chord_cells_are_generated() -> None:
    enc = encode(_song())
    problem = build_infill_problem(enc, Selection(2, 4, (1,), chords=True))
    ex = problem.example
    chord = problem.track_of_row == -1
    open_cells = chord & ~ex.given[:, 2]
    assert set(problem.bar_of_row[open_cells].tolist()) == {2, 3} and open_cells.sum() == 4
    assert ex.given[chord][:, [0, 1, 3]].all() and (ex.tokens[open_cells, 2] == MASK).all()
    plain = build_infill_problem(enc, Selection(2, 4, (1,)))
    assert plain.example.given[plain.track_of_row == -1].all()  # without the flag chords are given


def test_sampled_chords_replace_the_regions_chords_only() -> None:
    song = _song()
    problem = build_infill_problem(encode(song), Selection(2, 4, (1,), chords=True))
    sampled = problem.example.tokens.copy()
    open_cells = (problem.track_of_row == -1) & ~problem.example.given[:, 2]
    sampled[open_cells, 2] = chord_token(2, "m7")  # Dm7 everywhere in the region
    sampled[~problem.example.given] = np.where(sampled[~problem.example.given] == MASK, 0, sampled[~problem.example.given])
    out = apply_infill(song, problem, sampled)
    assert [(c.start, c.end, c.root, c.quality) for c in out.chords if 2 * BAR <= c.start < 4 * BAR] == [(2 * BAR, 4 * BAR, 2, "m7")]
    assert [c for c in out.chords if c.end <= 2 * BAR or c.start >= 4 * BAR] == [c for c in song.chords if c.end <= 2 * BAR or c.start >= 4 * BAR]
    assert out.tracks[0].notes == song.tracks[0].notes


def test_training_draws_chord_masks_only_when_asked() -> None:
    enc = encode(_song(16))
    n_masked = 0
    for k in range(40):
        plain = random_training_problem(enc, np.random.default_rng([0, k]))
        same = random_training_problem(enc, np.random.default_rng([0, k]), chord_masks=0.0)
        assert np.array_equal(plain.example.tokens, same.example.tokens)  # old runs see the same examples
        asked = random_training_problem(enc, np.random.default_rng([0, k]), chord_masks=1.0)
        chord = asked.track_of_row == -1
        if asked.selection.chords:
            n_masked += 1
            assert (~asked.example.given[chord, 2]).any()
            assert (asked.example.tokens[chord & ~asked.example.given[:, 2], 2] != MASK).all()  # targets
    assert n_masked >= 20


def test_build_problem_with_targets_keeps_the_true_chords() -> None:
    song = _song()
    enc = encode(song)
    problem = build_problem(enc, Selection(0, 8, (1,), chords=True), lambda k, t: 4, 256, targets=True)
    chord = problem.track_of_row == -1
    bars = problem.example.tokens[chord & (problem.example.tokens[:, 3] != CHANGE), 2]
    assert bars.tolist() == [chord_token(r, "m" if r == 9 else "") for r in [0, 7, 9, 5] * 2]
    assert beat_grid(song).n_bars == 8


def test_the_model_writes_chords_only_for_a_band_on_a_bare_melody() -> None:
    from dataclasses import replace

    from engine.representation.chord_source import model_writes_chords

    song = _song()
    bare = replace(song, chords=[])
    cats = ("MELODY", "PIANO")
    melody_only = replace(bare, tracks=[song.tracks[0], Track("Piano", 0, False, [])])
    assert model_writes_chords(melody_only, Selection(0, 8, (1,)), cats)  # piano generated for a bare melody
    assert model_writes_chords(replace(bare, tracks=[song.tracks[0]]), Selection(0, 8, (), new_tracks=("BASS",)), ("MELODY",))
    assert not model_writes_chords(bare, Selection(0, 8, (0,)), cats)  # the piano stays: detect from it
    assert not model_writes_chords(replace(bare, tracks=[song.tracks[0]]), Selection(0, 8, (), new_tracks=("DRUMS",)), ("MELODY",))
    assert not model_writes_chords(replace(melody_only, chords=song.chords), Selection(0, 8, (1,)), cats)  # given chords
    assert model_writes_chords(song, Selection(0, 8, (1,), chords=True), cats)  # the user asked


def test_infill_writes_region_chords_with_a_model_trained_for_it() -> None:
    from dataclasses import replace

    import pytest

    from engine.errors import RepresentationError
    from engine.infill import infill
    from tests.model_fixtures import plausible_model

    model = plausible_model()
    song = _song()
    piano_only = replace(song, tracks=[song.tracks[1]])  # no melody to harmonise either
    with pytest.raises(RepresentationError, match="not trained to write chords"):
        infill(piano_only, Selection(2, 4, (0,), chords=True), model=model)
    model.writes_chords = True  # the plausible model's heads give chord rows chord tokens
    out = infill(song, Selection(2, 4, (1,), chords=True), model=model, seed=3)[0]
    assert [c for c in out.chords if c.end <= 2 * BAR or c.start >= 4 * BAR] == [c for c in song.chords if c.end <= 2 * BAR or c.start >= 4 * BAR]
    inside = [c for c in out.chords if 2 * BAR <= c.start < 4 * BAR]
    assert inside and all(c.root is not None for c in inside) and out.tracks[0].notes == song.tracks[0].notes


def test_tempo_balance_weights_rare_classes_up() -> None:
    from engine.data.shards import tempo_weights

    classes = [1] * 90 + [4] * 10
    flat = tempo_weights(classes, 0.0)
    assert np.allclose(flat, 0.01)
    even = tempo_weights(classes, 1.0)
    assert np.isclose(even[:90].sum(), 0.5) and np.isclose(even[90:].sum(), 0.5)
    half = tempo_weights(classes, 0.5)
    assert 0.1 < half[90:].sum() < 0.5
