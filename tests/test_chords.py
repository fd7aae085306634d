"""Chord detection per beat on the grid, on block chords, arpeggios, silence and drums."""

from __future__ import annotations

import pytest

from engine.analysis.chord_vocab import QUALITIES, chord_name
from engine.analysis.chords import chord_at, chords_per_beat, detect_chords
from engine.score import ChordLabel, Note, Score, TimeSignature, Track

TPB = 480


def held(pitches: list[int], start_beat: int = 0, beats: int = 4) -> list[Note]:
    return [Note(start_beat * TPB, (start_beat + beats) * TPB, p, 80) for p in pitches]


def song(*tracks: Track, sig: TimeSignature | None = None) -> Score:
    return Score(TPB, list(tracks), time_signatures=[sig or TimeSignature(0, 4, 4)])


def test_c_major_triad_held():
    chords = detect_chords(song(Track("p", notes=held([48, 60, 64, 67], beats=8))))
    assert [(c.root, c.quality) for c in chords] == [(0, "")]
    assert chords[0].start == 0 and chords[0].end == 8 * TPB


def test_a_minor_seven_arpeggio():
    notes = [
        Note(i * TPB // 2, (i + 1) * TPB // 2, p, 80)
        for i, p in enumerate([45, 48, 52, 55, 57, 60, 64, 67] * 2)
    ]
    chords = detect_chords(song(Track("p", notes=notes)))
    assert [(c.root, c.quality) for c in chords] == [(9, "m7")]


def test_silence_is_no_chord():
    assert chords_per_beat(song(Track("p"))) == [(None, "")] * 4
    chords = detect_chords(song(Track("p", notes=held([60, 64, 67], start_beat=4, beats=4))))
    assert [(c.root, c.quality) for c in chords] == [(None, ""), (0, "")]
    assert chords[0].is_no_chord and chords[1].start == 4 * TPB


def test_drums_ignored():
    kit = Track("Kit", 0, True, [Note(i * 120, i * 120 + 60, 36 + i % 12, 120) for i in range(32)])
    named = Track("Drums", 0, False, [Note(i * 120, i * 120 + 60, 37 + i % 12, 120) for i in range(32)])
    chords = detect_chords(song(kit, named, Track("p", notes=held([45, 57, 60, 64], beats=8))))
    assert [(c.root, c.quality) for c in chords] == [(9, "m")]
    assert chords_per_beat(song(kit)) == [(None, "")] * 8


@pytest.mark.parametrize("quality", list(QUALITIES))
@pytest.mark.parametrize("root", [0, 3, 7, 10])
def test_each_quality_from_its_block_chord(root: int, quality: str):
    base = 48 + root
    pitches = [base - 12] + [base + i for i in QUALITIES[quality]]
    chords = detect_chords(song(Track("p", notes=held(pitches, beats=4))))
    assert [(c.root, c.quality) for c in chords] == [(root, quality)], chord_name(root, quality)


def test_chord_changes_every_beat_are_kept():
    chords_seq = [[48, 60, 64, 67], [43, 59, 62, 67], [45, 57, 60, 64], [41, 57, 60, 65]]  # C G Am F
    notes = [n for i, ps in enumerate(chords_seq) for n in held(ps, start_beat=i, beats=1)]
    assert chords_per_beat(song(Track("p", notes=notes))) == [(0, ""), (7, ""), (9, "m"), (5, "")]


def test_passing_melody_notes_do_not_change_the_chord():
    mel = Track(
        "Melody",
        0,
        False,
        [
            Note(i * TPB // 2, (i + 1) * TPB // 2, p, 100)
            for i, p in enumerate([72, 74, 76, 77, 79, 77, 76, 74])
        ],
    )
    chords = detect_chords(song(mel, Track("p", notes=held([48, 55, 64], beats=4))))
    assert [(c.root, c.quality) for c in chords] == [(0, "")]


def test_half_bar_and_bar_resolutions():
    notes = held([48, 60, 64, 67], 0, 2) + held([43, 59, 62, 67], 2, 2)
    score = song(Track("p", notes=notes))
    assert chords_per_beat(score, resolution="half_bar") == [(0, ""), (0, ""), (7, ""), (7, "")]
    assert len(set(chords_per_beat(score, resolution="bar"))) == 1
    with pytest.raises(ValueError):
        chords_per_beat(score, resolution="eighth")


def test_three_four_bars():
    notes = held([48, 60, 64, 67], 0, 3) + held([43, 59, 62, 67], 3, 3)
    per_beat = chords_per_beat(song(Track("p", notes=notes), sig=TimeSignature(0, 3, 4)))
    assert per_beat == [(0, "")] * 3 + [(7, "")] * 3


def test_explicit_drifting_beats():
    beats = [0, 500, 1030, 1500, 1960, 2400, 2900, 3400, 3900]
    notes = [Note(beats[0], beats[4], p) for p in (48, 60, 64, 67)] + [
        Note(beats[4], beats[8], p) for p in (45, 57, 60, 64)
    ]
    score = Score(TPB, [Track("p", notes=notes)], beats=beats, downbeats=beats[::4])
    chords = detect_chords(score)
    assert [(c.root, c.quality) for c in chords if c.root is not None] == [(0, ""), (9, "m")]
    assert chords[1].start == 1960


def test_chord_at():
    chords = [ChordLabel(0, 960, 0, ""), ChordLabel(960, 1920, 7, ""), ChordLabel(2400, 2880, 9, "m")]
    assert chord_at(chords, 0).root == 0
    assert chord_at(chords, 959).root == 0
    assert chord_at(chords, 960).root == 7
    assert chord_at(chords, 2000) is None
    assert chord_at(chords, 5000) is None
    assert chord_at([], 10) is None
