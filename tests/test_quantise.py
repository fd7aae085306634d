"""Quantisation onto the beat grid: onsets to 32nds, durations to the SA duration set, idempotent."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis.grid import beat_grid
from engine.analysis.quantise import QuantisedNote, quantise, quantise_notes, snap_duration16
from engine.representation.vocab import DURATIONS_16THS
from engine.score import Note, Score, TempoChange, TimeSignature, Track

TPB = 480
T32 = TPB // 8  # ticks per 32nd


def _score(notes: list[Note], **kw) -> Score:
    return Score(TPB, [Track("p", notes=notes)], **kw)


@pytest.mark.parametrize(
    ("sixteenths", "expected"),
    [(0, 1), (0.3, 1), (1, 1), (2, 2), (3, 3), (4, 4), (5, 4), (5.1, 6), (7, 6), (9, 8), (10, 8), (10.1, 12),
     (11, 12), (13, 12), (14.1, 16), (19, 16), (20.5, 24), (27, 24), (28.5, 32), (32, 32), (100, 32)],
)  # fmt: skip
def test_snap_duration_nearest_ties_to_shorter(sixteenths: float, expected: int):
    assert snap_duration16(sixteenths) == expected


def test_snap_duration_always_in_the_set():
    values = snap_duration16(np.linspace(0, 50, 501))
    assert set(values.tolist()) <= set(DURATIONS_16THS)


def test_onsets_snap_to_nearest_32nd():
    notes = [Note(0, 480, 60), Note(T32 + 20, T32 + 500, 62), Note(2 * T32 + 40, 2 * T32 + 520, 64)]
    qnotes, report = quantise_notes(_score(notes))
    assert [q.onset for q in qnotes] == [0, 1, 3]
    assert [q.duration16 for q in qnotes] == [4, 4, 4]
    assert report.n_notes == 3
    assert report.n_onset_moved == 2  # both were 20 ticks (1/3 of a 32nd) off the grid
    assert isinstance(qnotes[0], QuantisedNote)


def test_onset_moved_counts_notes_far_from_the_grid():
    notes = [Note(5, 485, 60), Note(480 + 25, 960, 62), Note(960 + 30, 1440, 64)]
    _, report = quantise_notes(_score(notes))
    assert report.n_onset_moved == 2  # 5 ticks is tick noise; 25 and 30 ticks (> 15) are sloppy timing


def test_durations_measured_from_the_quantised_onset():
    # starts late by 20 ticks, ends on the beat: one beat = 4 16ths
    qnotes, _ = quantise_notes(_score([Note(20, 480, 60)]))
    assert qnotes[0].onset == 0 and qnotes[0].duration16 == 4
    # a dotted quarter (6), a half (8) and a 7-16th note (-> 6)
    qnotes, _ = quantise_notes(_score([Note(0, 720, 60), Note(0, 960, 62), Note(0, 7 * 120, 64)]))
    assert [q.duration16 for q in qnotes] == [6, 8, 6]


def test_duplicates_merged_keeping_the_longer():
    notes = [Note(0, 240, 60, 100), Note(10, 960, 60, 80), Note(0, 240, 64), Note(960, 1200, 60)]
    qnotes, report = quantise_notes(_score(notes))
    assert report.n_duplicates_merged == 1
    assert report.n_notes == 3
    merged = [q for q in qnotes if q.onset == 0 and q.pitch == 60]
    assert len(merged) == 1 and merged[0].duration16 == 8 and merged[0].velocity == 80


def test_same_pitch_on_other_tracks_is_not_a_duplicate():
    score = Score(TPB, [Track("a", notes=[Note(0, 480, 60)]), Track("b", notes=[Note(0, 480, 60)])])
    qnotes, report = quantise_notes(score)
    assert report.n_duplicates_merged == 0 and [q.track for q in qnotes] == [0, 1]


def test_long_notes_are_clipped_and_counted():
    notes = [Note(0, 16 * TPB, 48), Note(0, 8 * TPB, 52), Note(0, 4 * TPB, 55)]
    qnotes, report = quantise_notes(_score(notes))
    assert [q.duration16 for q in sorted(qnotes, key=lambda q: q.pitch)] == [32, 32, 16]
    assert report.n_duration_clipped == 1  # exactly 32 16ths is not clipped


def test_quantise_puts_notes_on_the_grid_and_keeps_the_rest():
    rng = np.random.default_rng(1)
    notes = [
        Note(int(s), int(s + d), int(p), int(v))
        for s, d, p, v in zip(
            rng.integers(0, 30 * TPB, 200),
            rng.integers(10, 3 * TPB, 200),
            rng.integers(40, 90, 200),
            rng.integers(1, 128, 200),
            strict=True,
        )
    ]
    drums = Track("Drums", 0, True, [Note(i * 240 + 7, i * 240 + 67, 36) for i in range(40)])
    score = Score(
        TPB,
        [Track("keys", 4, notes=notes), drums],
        [TempoChange(0, 90.0), TempoChange(8 * TPB, 140.0)],
        [TimeSignature(0, 3, 4)],
    )
    q, report = quantise(score)
    assert [t.name for t in q.tracks] == ["keys", "Drums"] and q.tracks[1].is_drum
    assert q.tempos == score.tempos and q.time_signatures == score.time_signatures
    for track in q.tracks:
        for n in track.notes:
            assert n.start % T32 == 0 and n.end % T32 == 0
            assert (n.end - n.start) // (2 * T32) in DURATIONS_16THS
    assert q.n_notes == report.n_notes == score.n_notes - report.n_duplicates_merged
    assert {n.velocity for t in q.tracks for n in t.notes} <= {
        n.velocity for t in score.tracks for n in t.notes
    }
    assert score.tracks[0].notes[0] == notes[0]  # the input is untouched


def test_quantise_is_idempotent_on_a_tick_grid():
    rng = np.random.default_rng(2)
    notes = [
        Note(int(s), int(s + d), 60 + i % 24)
        for i, (s, d) in enumerate(
            zip(rng.integers(0, 40 * TPB, 300), rng.integers(1, 20 * TPB, 300), strict=True)
        )
    ]
    once, _ = quantise(_score(notes, time_signatures=[TimeSignature(0, 6, 8)]))
    twice, report = quantise(once)
    assert twice == once
    assert report.n_onset_moved == 0 and report.n_duplicates_merged == 0


def test_quantise_follows_drifting_beats_and_is_idempotent():
    """Performed beats (POP909-style): notes land on 32nds of the annotated beats, not of the ticks."""
    rng = np.random.default_rng(3)
    beats = (37 + np.concatenate([[0], np.cumsum(rng.integers(430, 530, 64))])).tolist()
    grid_ticks = np.asarray(beats)
    onsets = (
        grid_ticks[:-2] + (grid_ticks[1:-1] - grid_ticks[:-2]) // 2 + rng.integers(-12, 12, len(beats) - 2)
    )
    notes = [Note(int(s), int(s + 400), 60 + i % 12) for i, s in enumerate(onsets)]
    score = _score(notes, beats=beats, downbeats=beats[::4])
    grid = beat_grid(score)
    qnotes, _ = quantise_notes(score, grid)
    offset = int(round(grid.tick_to_position(beats[0])))
    assert [q.onset for q in qnotes] == [offset + 8 * i + 4 for i in range(len(onsets))]  # the off-beat 8th
    once, _ = quantise(score)
    assert quantise(once)[0] == once
    assert all(n.start >= 0 for n in once.tracks[0].notes)


def test_notes_before_the_first_annotated_beat_never_get_negative_ticks():
    score = _score([Note(0, 100, 60), Note(3, 200, 64)], beats=[300 + 500 * i for i in range(10)])
    q, _ = quantise(score)
    assert all(n.start >= 0 and n.end > n.start for n in q.tracks[0].notes)
    assert quantise(q)[0] == q


def test_empty_score():
    notes, report = quantise_notes(Score())
    assert notes == [] and report.n_notes == 0
    assert quantise(Score())[0] == Score()
