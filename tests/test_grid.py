"""The beat grid (bars from time signatures or explicit beats) and the tempo classes built on the same clock."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis.grid import beat_grid
from engine.analysis.tempo import representative_bpm, score_tempo_class, tempo_class
from engine.score import Note, Score, TempoChange, TimeSignature, Track

TPB = 480


def _score(end_beats: int, sigs: list[TimeSignature] | None = None, tpb: int = TPB) -> Score:
    notes = [Note(0, tpb // 2, 60), Note(end_beats * tpb - tpb // 2, end_beats * tpb, 62)]
    return Score(tpb, [Track("p", notes=notes)], time_signatures=sigs or [TimeSignature(0, 4, 4)])


def test_bar_starts_4_4():
    grid = beat_grid(_score(16))
    assert grid.bar_starts.tolist() == [0, 32, 64, 96, 128]
    assert grid.bar_length(0) == 32


def test_bar_starts_3_4_and_6_8_are_24_32nds():
    for sig in (TimeSignature(0, 3, 4), TimeSignature(0, 6, 8)):
        grid = beat_grid(_score(12, [sig]))
        assert grid.bar_starts.tolist() == [0, 24, 48, 72, 96]


def test_pickup_bar_then_4_4():
    grid = beat_grid(_score(9, [TimeSignature(0, 1, 4), TimeSignature(TPB, 4, 4)]))
    assert grid.bar_starts.tolist() == [0, 8, 40, 72]
    assert grid.bar_length(0) == 8


def test_signature_change_mid_song():
    # two bars of 4/4, then 3/4
    grid = beat_grid(_score(14, [TimeSignature(0, 4, 4), TimeSignature(8 * TPB, 3, 4)]))
    assert grid.bar_starts.tolist()[:5] == [0, 32, 64, 88, 112]


def test_signature_inside_a_bar_cuts_it_short():
    grid = beat_grid(_score(12, [TimeSignature(0, 4, 4), TimeSignature(6 * TPB, 3, 4)]))
    assert grid.bar_starts.tolist()[:4] == [0, 32, 48, 72]


def test_tick_position_inverse_on_time_signature_grid():
    for tpb in (96, 480, 960):
        grid = beat_grid(_score(16, tpb=tpb))
        positions = np.arange(0, 128)
        ticks = grid.position_to_tick(positions)
        assert np.all(ticks == positions * tpb // 8)
        assert np.allclose(grid.tick_to_position(ticks), positions)


def _drifting_score() -> Score:
    """Beats that speed up and wobble (a performed file), first beat after tick 0, 3 beats of pickup."""
    rng = np.random.default_rng(0)
    steps = np.linspace(520, 430, 40) + rng.integers(-15, 15, 40)
    beats = (100 + np.concatenate([[0], np.cumsum(steps)])).astype(int).tolist()
    downbeats = beats[3::4]
    score = Score(TPB, [Track("p", notes=[Note(beats[0], beats[-1], 60)])], beats=beats, downbeats=downbeats)
    return score


def test_explicit_beats_with_drift():
    score = _drifting_score()
    grid = beat_grid(score)
    assert grid.beat_ticks[0] <= 0  # extended back to cover tick 0
    offset = int(np.searchsorted(grid.beat_ticks, score.beats[0]))
    # every annotated beat lands exactly on a beat position
    pos = grid.tick_to_position(np.asarray(score.beats))
    assert np.allclose(pos, (offset + np.arange(len(score.beats))) * 8)
    # downbeats are bar starts; beats before the first downbeat form a pickup bar
    starts = set(grid.bar_starts.tolist())
    assert all(int(round(p)) in starts for p in grid.tick_to_position(np.asarray(score.downbeats)))
    assert grid.bar_length(1) == 32


def test_tick_position_inverse_with_drift():
    grid = beat_grid(_drifting_score())
    positions = np.arange(8, 300)
    back = grid.tick_to_position(grid.position_to_tick(positions))
    assert np.all(np.abs(back - positions) < 0.05)
    ticks = np.arange(0, 15000, 7)
    assert np.all(np.abs(grid.position_to_tick(grid.tick_to_position(ticks)) - ticks) <= 1)


def test_grid_covers_the_whole_song():
    score = _score(37)
    grid = beat_grid(score)
    assert grid.end_position * TPB // 8 >= score.end_tick
    assert grid.beat_ticks[-1] >= score.end_tick


@pytest.mark.parametrize(
    ("bpm", "expected"),
    [
        (65.9, "largo"),
        (66, "andante"),
        (108.5, "andante"),
        (109, "moderato"),
        (126, "moderato"),
        (127, "allegro"),
        (168.9, "allegro"),
        (169, "presto"),
    ],
)
def test_tempo_class_boundaries(bpm: float, expected: str):
    assert tempo_class(bpm) == expected


def test_tempo_class_rejects_non_positive():
    with pytest.raises(ValueError):
        tempo_class(0)


def test_representative_bpm_ignores_a_short_slow_intro():
    score = _score(64)
    score.tempos = [TempoChange(0, 60.0), TempoChange(4 * TPB, 128.0)]
    assert representative_bpm(score) == 128.0
    assert score_tempo_class(score) == "allegro"
