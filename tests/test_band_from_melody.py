"""The "band from melody" evaluation: its checks say bad on bad bands, and the task runs end to end."""

from __future__ import annotations

import math

import numpy as np

from engine.analysis.grid import beat_grid
from engine.evaluate.band_from_melody import (
    band_scores,
    clash_rate,
    fourth_up,
    root_match,
    run_case,
    summarise,
)
from engine.evaluate.metrics import score_notes
from engine.evaluate.tasks import Song
from engine.score import ChordLabel, Note, Score, Track

BAR = 1920
ROOTS = [0, 7, 9, 5]  # C G Am F


def _song(bars: int = 12, band_offset: int = 0) -> Song:
    melody = Track("Melody", 73, False, [Note(b * BAR + k * 480, b * BAR + k * 480 + 440, 72 + ROOTS[b % 4], 90)
                                           for b in range(bars) for k in range(4)])
    piano = Track("Piano", 0, False, [Note(b * BAR + k * 960, b * BAR + k * 960 + 900, 48 + (ROOTS[b % 4] + i + band_offset) % 12, 80)
                                        for b in range(bars) for k in range(2) for i in (0, 3 if ROOTS[b % 4] == 9 else 4, 7)])
    bass = Track("Bass", 33, False, [Note(b * BAR, b * BAR + BAR - 60, 36 + (ROOTS[b % 4] + band_offset) % 12, 90) for b in range(bars)])
    chords = [ChordLabel(b * BAR, (b + 1) * BAR, ROOTS[b % 4], "m" if ROOTS[b % 4] == 9 else "") for b in range(bars)]
    score = Score(tracks=[melody, piano, bass], chords=chords)
    grid = beat_grid(score)
    return Song(0, "test-song", score, ("MELODY", "PIANO", "BASS"), grid, 0, grid.n_bars)


def test_clash_rate_says_bad_for_a_band_a_semitone_off() -> None:
    good, bad = _song(), _song(band_offset=1)
    melody = score_notes(good.score, good.grid, (0,))
    assert clash_rate(score_notes(good.score, good.grid, (1, 2)), melody) == 0.0
    assert clash_rate(score_notes(bad.score, bad.grid, (1, 2)), melody) >= 0.4  # root + 1 on every beat
    assert math.isnan(clash_rate(score_notes(good.score, good.grid, (1,)).subset(np.zeros(72, bool)), melody))


def test_band_scores_against_the_chords() -> None:
    good, bad = _song(), _song(band_offset=1)
    assert band_scores(good.score, good, (1, 2), 0, 2, 10, good.score.chords)["chord_tone_ratio"] == 1.0
    assert band_scores(bad.score, bad, (1, 2), 0, 2, 10, bad.score.chords)["chord_tone_ratio"] < 0.4


def test_edited_chords_and_root_match() -> None:
    song = _song()
    moved = fourth_up(song.score.chords, 2 * BAR, 4 * BAR)
    assert [(c.start, c.root) for c in moved] == [(2 * BAR, 2), (3 * BAR, 10)]
    assert root_match(song.score.chords, song.score.chords, song, 0, 8) == 1.0
    assert root_match(moved, song.score.chords, song, 2, 4) == 0.0


def test_the_task_runs_every_condition_on_a_small_song() -> None:
    from tests.model_fixtures import plausible_model

    model = plausible_model()
    model.writes_chords = True
    case = run_case(_song(16), model, np.random.default_rng(0), steps=2)
    assert not isinstance(case, str)
    conditions = {"model chords", "detector chords", "annotated chords", "original band", "edited chords"}
    assert set(case.scores) - {"harmoniser chords"} == conditions  # harmoniser: when its tables are installed
    assert case.scores["original band"]["chord_tone_ratio"] == 1.0 and case.scores["original band"]["clash_rate"] == 0.0
    assert model.writes_chords  # restored
    summary = summarise([case])
    assert summary["original band"]["cases"] == 1.0
