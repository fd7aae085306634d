"""Evaluation metrics on hand-made cases whose answers are known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.analysis.grid import beat_grid
from engine.evaluate.metrics import (
    METRIC_NAMES,
    Region,
    RegionCounts,
    chord_table,
    chord_tone_ratio,
    density_error,
    duration_histogram,
    estimate_key,
    groove_similarity,
    inter_onset_intervals,
    ioi_histogram,
    l1_distance,
    onset_grid,
    overlap_area,
    pitch_class_histogram,
    pitch_class_transition_matrix,
    range_adherence,
    region_metrics,
    region_notes,
    scale_pitch_classes,
)
from engine.score import ChordLabel, Note, Score, TimeSignature, Track

C_MAJOR = [ChordLabel(0, 10_000, 0, "")]


def test_pitch_class_histogram_overlap_and_l1() -> None:
    arpeggio = np.array([60, 64, 67, 72])
    h = pitch_class_histogram(arpeggio)
    assert np.allclose(h[[0, 4, 7]], [0.5, 0.25, 0.25]) and h.sum() == pytest.approx(1.0)
    assert overlap_area(h, h) == pytest.approx(1.0) and l1_distance(h, h) == pytest.approx(0.0)
    other = pitch_class_histogram(np.array([61, 63, 66]))  # no pitch class in common
    assert overlap_area(h, other) == pytest.approx(0.0) and l1_distance(h, other) == pytest.approx(2.0)
    half = pitch_class_histogram(np.array([60, 62]))  # C shared: min(0.5, 0.5) = 0.5
    assert overlap_area(pitch_class_histogram(np.array([60, 64])), half) == pytest.approx(0.5)
    assert math.isnan(overlap_area(h, np.zeros(12))) and math.isnan(l1_distance(np.zeros(12), h))
    assert np.allclose(pitch_class_histogram(np.array([60, 62]), np.array([3.0, 1.0]))[[0, 2]], [0.75, 0.25])


def test_pctm_counts_transitions_within_tracks() -> None:
    pitch = np.array([60, 64, 67, 60])
    onset = np.array([0, 8, 16, 24])
    m = pitch_class_transition_matrix(pitch, onset, np.zeros(4, dtype=np.int64))
    assert m.sum() == pytest.approx(1.0)
    assert m[0, 4] == m[4, 7] == m[7, 0] == pytest.approx(1 / 3)
    assert l1_distance(m, m) == pytest.approx(0.0)
    # Two tracks: no transition crosses from one to the other.
    two = pitch_class_transition_matrix(np.array([60, 62, 70, 71]), np.array([0, 8, 0, 8]), np.array([0, 0, 1, 1]))
    assert two[0, 2] == two[10, 11] == pytest.approx(0.5)
    # Input order does not matter: notes are read in (onset, pitch) order.
    shuffled = pitch_class_transition_matrix(pitch[::-1], onset[::-1], np.zeros(4, dtype=np.int64))
    assert np.allclose(shuffled, m)
    # Reversed melody: the transitions are transposed, so half the mass moves.
    rev = pitch_class_transition_matrix(pitch[::-1], onset, np.zeros(4, dtype=np.int64))
    assert l1_distance(m, rev) == pytest.approx(2.0)


def test_duration_and_ioi_histograms() -> None:
    d = duration_histogram(np.array([4, 4, 8, 40]))  # 40 falls in the last bin (32 and longer)
    assert d[3] == 0.5 and d[7] == 0.25 and d[-1] == 0.25
    # A chord is one onset; IOIs are per track.
    ioi = inter_onset_intervals(np.array([0, 0, 8, 16, 0, 4]), np.array([0, 0, 0, 0, 1, 1]))
    assert sorted(ioi.tolist()) == [4, 8, 8]
    h = ioi_histogram(np.array([0, 8, 16, 24]), np.zeros(4, dtype=np.int64))
    assert h[7] == pytest.approx(1.0)
    assert overlap_area(h, h) == pytest.approx(1.0)
    shifted = ioi_histogram(np.array([0, 4, 8, 12]), np.zeros(4, dtype=np.int64))
    assert overlap_area(h, shifted) == pytest.approx(0.0)


def test_density_error() -> None:
    assert density_error(10, 8) == pytest.approx(0.25)
    assert density_error(6, 8) == pytest.approx(0.25)
    assert density_error(8, 8) == 0.0
    assert math.isnan(density_error(3, 0))


def test_chord_tone_ratio() -> None:
    table = chord_table(C_MAJOR)
    arpeggio = np.array([48, 52, 55, 60, 64, 67, 72])
    starts = np.arange(7) * 240
    assert chord_tone_ratio(arpeggio, starts, np.ones(7), table) == pytest.approx(1.0)
    chromatic = np.arange(60, 72)
    assert chord_tone_ratio(chromatic, np.arange(12) * 120, np.ones(12), table) == pytest.approx(3 / 12)
    # Duration-weighted: a long C and a short C#.
    assert chord_tone_ratio(np.array([60, 61]), np.array([0, 480]), np.array([3.0, 1.0]), table) == pytest.approx(0.75)
    # The chord at each note's onset decides: C then G chord.
    two = chord_table([ChordLabel(0, 960, 0, ""), ChordLabel(960, 1920, 7, "")])
    assert chord_tone_ratio(np.array([64, 64, 62]), np.array([0, 960, 1000]), np.ones(3), two) == pytest.approx(2 / 3)
    # Notes under N.C. or outside every chord are not counted; none left -> NaN.
    nc = chord_table([ChordLabel(0, 960, None, "")])
    assert math.isnan(chord_tone_ratio(np.array([60]), np.array([10]), np.ones(1), nc))
    assert math.isnan(chord_tone_ratio(np.array([60]), np.array([20_000]), np.ones(1), table))
    assert chord_tone_ratio(np.array([60, 61]), np.array([0, 20_000]), np.ones(2), table) == pytest.approx(1.0)


def _four_four(bars: int) -> Score:
    return Score(480, [Track("x", 0, False, [Note(bars * 1920 - 10, bars * 1920 - 5, 60)])],
                 time_signatures=[TimeSignature(0, 4, 4)])


def test_groove_similarity_shifted_and_identical() -> None:
    grid = beat_grid(_four_four(2))
    quarters = np.array([0, 8, 16, 24])
    a, lengths = onset_grid(quarters, np.zeros(4, dtype=np.int64), grid, (0,), 0, 1)
    assert a.shape == (1, 1, 32) and lengths.tolist() == [32] and a.sum() == 4
    assert groove_similarity(a, a, lengths) == 1.0
    b, _ = onset_grid(quarters + 4, np.zeros(4, dtype=np.int64), grid, (0,), 0, 1)  # a 16th later
    assert groove_similarity(a, b, lengths) == pytest.approx(1 - 8 / 32)
    # Two bars: bar 1 identical, bar 2 empty against four onsets -> mean of 1 and 1 - 4/32.
    c, lengths2 = onset_grid(np.r_[quarters, quarters + 32], np.zeros(8, dtype=np.int64), grid, (0,), 0, 2)
    d, _ = onset_grid(quarters, np.zeros(4, dtype=np.int64), grid, (0,), 0, 2)
    assert groove_similarity(c, d, lengths2) == pytest.approx((1 + (1 - 4 / 32)) / 2)
    # A 16th grid (step 2): cells of two 32nds.
    e, l16 = onset_grid(quarters, np.zeros(4, dtype=np.int64), grid, (0,), 0, 1, step=2)
    assert e.shape == (1, 1, 16) and l16.tolist() == [16] and np.flatnonzero(e[0, 0]).tolist() == [0, 4, 8, 12]


def test_range_adherence() -> None:
    assert range_adherence(np.array([30, 40, 70, 20]), ["BASS"] * 4) == pytest.approx(0.5)
    assert range_adherence(np.array([36, 38, 90]), ["DRUMS"] * 3) == pytest.approx(2 / 3)
    assert range_adherence(np.array([60, 100]), ["MELODY", "PIANO"]) == pytest.approx(1.0)
    assert math.isnan(range_adherence(np.array([], dtype=np.int64), []))


def test_key_estimate() -> None:
    c_major = pitch_class_histogram(np.array([60, 62, 64, 65, 67, 69, 71, 60, 64, 67, 60, 67]))
    assert estimate_key(c_major) == (0, "major")
    a_minor = pitch_class_histogram(np.array([57, 59, 60, 62, 64, 65, 67, 57, 60, 64, 57, 64, 57]))
    assert estimate_key(a_minor) == (9, "minor")
    assert scale_pitch_classes(7, "major") == (0, 2, 4, 6, 7, 9, 11)
    assert estimate_key(np.zeros(12)) == (0, "major")


def _song() -> Score:
    """Two 4/4 bars: a melody of quarters (C E G C, then D F A D) over a bass, with C then Dm chords."""
    mel = [Note(i * 480, i * 480 + 400, p, 90) for i, p in enumerate([72, 76, 79, 84, 74, 77, 81, 86])]
    bass = [Note(0, 1900, 36, 90), Note(1920, 3800, 38, 90)]
    return Score(480, [Track("Melody", 0, False, mel, category="MELODY"), Track("Bass", 33, False, bass)],
                 time_signatures=[TimeSignature(0, 4, 4)],
                 chords=[ChordLabel(0, 1920, 0, ""), ChordLabel(1920, 3840, 2, "m")])


def test_region_metrics_identical_and_changed() -> None:
    song = _song()
    grid = beat_grid(song)
    region = Region(grid, (0,), 0, 2, ("MELODY", "BASS"), chord_table(song.chords))
    m = region_metrics(song, song, region)
    assert set(m) == set(METRIC_NAMES)
    assert m["pch_overlap"] == 1.0 and m["pch_l1"] == 0.0 and m["pctm_l1"] == 0.0
    assert m["duration_overlap"] == 1.0 and m["ioi_overlap"] == 1.0
    assert m["density_error"] == 0.0 and m["groove_similarity"] == 1.0
    assert m["chord_tone_ratio"] == 1.0 and m["range_adherence"] == 1.0 and m["notes_per_bar"] == 4.0
    # The region's notes: only track 0, onsets in the bars.
    assert region_notes(song, grid, (0,), 1, 2).pitch.tolist() == [74, 77, 81, 86]
    # Shift the melody's second bar by an eighth note: the groove of bar 2 differs in 8 of 32 cells.
    moved = song.copy()
    moved.tracks[0].notes = song.tracks[0].notes[:4] + [Note(n.start + 240, n.end + 240, n.pitch) for n in song.tracks[0].notes[4:]]
    m2 = region_metrics(moved, song, region)
    assert m2["groove_similarity"] == pytest.approx((1 + (1 - 8 / 32)) / 2)
    assert m2["pch_overlap"] == 1.0 and m2["density_error"] == 0.0
    # Half the notes deleted: density error 0.5.
    thin = song.copy()
    thin.tracks[0].notes = song.tracks[0].notes[::2]
    assert region_metrics(thin, song, region)["density_error"] == pytest.approx(0.5)


def test_region_counts_pool_relative_to_the_tonic() -> None:
    song = _song()
    notes = region_notes(song, beat_grid(song), (0,), 0, 1)  # C E G C
    counts = RegionCounts.of(notes, tonic=0) + RegionCounts.of(notes, tonic=7)  # read in G: 5 9 0 5
    assert counts.pch[[0, 4, 5, 7, 9]].tolist() == [3.0, 1.0, 2.0, 1.0, 1.0]
    assert counts.pctm.sum() == 6 and counts.duration.sum() == 8 and counts.ioi.sum() == 6
