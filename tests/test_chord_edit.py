"""Chords a musician types: symbols, progressions over bars, replacing a region's chords, chord markers."""

from __future__ import annotations

import pytest

from engine.analysis.chord_edit import all_chord_names, parse_chord, parse_progression, replace_chords
from engine.analysis.grid import beat_grid, extend_bars
from engine.midi_io import read_midi, score_to_midi_bytes
from engine.score import ChordLabel, Note, Score, TimeSignature, Track

BAR = 1920


def _song(bars: int = 8, sig: tuple[int, int] = (4, 4)) -> Score:
    bar = 480 * 4 * sig[0] // sig[1]
    notes = [Note(b * bar, b * bar + 480, 60, 90) for b in range(bars)]
    return Score(tracks=[Track("Piano", 0, False, notes)], time_signatures=[TimeSignature(0, *sig)])


@pytest.mark.parametrize("text, want", [
    ("C", (0, "")), ("F#m7", (6, "m7")), ("Bb", (10, "")), ("Ebmaj7", (3, "maj7")), ("Amin", (9, "m")),
    ("D-7", (2, "m7")), ("Gsus", (7, "sus4")), ("Bø", (11, "m7b5")), ("Cb", (11, "")), ("N.C.", (None, "")),
])
def test_chord_symbols(text, want):
    assert parse_chord(text) == want


@pytest.mark.parametrize("bad", ["H", "Cm9", "", "Xyz"])
def test_unknown_symbols_are_refused_with_the_known_ones(bad):
    with pytest.raises(ValueError, match="unknown chord"):
        parse_chord(bad)


def test_every_vocabulary_chord_has_a_name_that_parses_back():
    names = all_chord_names()
    assert len(names) == 1 + 12 * 10
    assert all(parse_chord(n) is not None for n in names)


def test_progression_one_per_bar_two_per_bar_and_with_beats():
    grid = beat_grid(_song())
    one = parse_progression("C G Am F", grid, 2, 6)
    assert [(c.start, c.end, c.root, c.quality) for c in one] == [
        (2 * BAR, 3 * BAR, 0, ""), (3 * BAR, 4 * BAR, 7, ""), (4 * BAR, 5 * BAR, 9, "m"), (5 * BAR, 6 * BAR, 5, "")]
    two = parse_progression("C G", grid, 0, 4)  # 2 symbols for 4 bars: two bars each
    assert [(c.start, c.end) for c in two] == [(0, 2 * BAR), (2 * BAR, 4 * BAR)]
    beats = parse_progression("C:2 G:2 | Am F", grid, 0, 2)
    assert [(c.start, c.end, c.root) for c in beats] == [(0, 960, 0), (960, 1920, 7), (1920, 3840, 9)]
    with pytest.raises(ValueError, match="beats"):
        parse_progression("C:x", grid, 0, 2)


def test_progression_in_three_four():
    grid = beat_grid(_song(sig=(3, 4)))
    labels = parse_progression("C F", grid, 0, 2)
    assert [(c.start, c.end) for c in labels] == [(0, 1440), (1440, 2880)]


def test_replace_chords_cuts_labels_at_the_region_edges():
    old = [ChordLabel(0, 4 * BAR, 0, ""), ChordLabel(4 * BAR, 8 * BAR, 9, "m")]
    new = replace_chords(old, 2 * BAR, 6 * BAR, [ChordLabel(2 * BAR, 6 * BAR, 7, "7")])
    assert [(c.start, c.end, c.root) for c in new] == [(0, 2 * BAR, 0), (2 * BAR, 6 * BAR, 7), (6 * BAR, 8 * BAR, 9)]


def test_chords_are_written_as_markers_and_read_back():
    song = _song()
    song.chords = [ChordLabel(0, 2 * BAR, 0, ""), ChordLabel(2 * BAR, 4 * BAR, 9, "m7"), ChordLabel(6 * BAR, 7 * BAR, 5, "maj7")]
    back = read_midi(score_to_midi_bytes(song))
    assert back.chords == song.chords
    import io

    import mido

    markers = [m.text for t in mido.MidiFile(file=io.BytesIO(score_to_midi_bytes(song))).tracks for m in t if m.type == "marker"]
    assert markers == ["Chord: C", "Chord: Am7", "Chord: N.C.", "Chord: Fmaj7", "Chord: N.C."]
    # an edit of the chords replaces the markers and keeps every other event
    back.chords = [ChordLabel(0, 8 * BAR, 7, "")]
    again = read_midi(score_to_midi_bytes(back))
    assert [(c.start, c.root) for c in again.chords] == [(0, 7)] and again.tracks[0].notes == song.tracks[0].notes


def test_section_markers_are_not_chords():
    import io

    import mido

    midi = mido.MidiFile(file=io.BytesIO(score_to_midi_bytes(_song())))
    midi.tracks[0].insert(0, mido.MetaMessage("marker", text="A", time=0))
    midi.tracks[0].insert(1, mido.MetaMessage("marker", text="Chord: Q7", time=0))
    buf = io.BytesIO()
    midi.save(file=buf)
    score = read_midi(buf.getvalue())
    assert score.chords == []
    assert score_to_midi_bytes(score) == buf.getvalue()


def test_extend_adds_empty_bars_of_the_last_bars_length():
    song = _song(8, (3, 4))
    longer = extend_bars(song, 4)
    assert beat_grid(longer).n_bars == beat_grid(song).n_bars + 4 == 12
    assert longer.tracks is song.tracks
    with pytest.raises(ValueError):
        extend_bars(song, 0)
