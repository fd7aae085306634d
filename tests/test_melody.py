"""Melody track detection and per-track categories on small synthetic songs."""

from __future__ import annotations

import itertools

import pytest

from engine.analysis.categories import program_category, track_category
from engine.analysis.melody import assign_categories, detect_melody_track, melody_scores
from engine.score import Note, Score, Track

TPB = 480
BARS = 8
PROG = [(48, 52, 55), (43, 47, 50), (45, 48, 52), (41, 45, 48)]  # C G Am F


def melody(name: str = "", program: int = 0, velocity: int = 100) -> Track:
    line = [72, 74, 76, 79, 77, 76, 74, 72, 71, 72, 74, 76, 74, 72, 71, 69]
    notes = []
    for b in range(BARS):
        for i in range(6):  # a phrase with a rest at the end of each bar
            t = b * 4 * TPB + i * TPB // 2
            notes.append(Note(t, t + TPB // 2 - 30, line[(b * 6 + i) % len(line)], velocity))
    return Track(name, program, notes=notes)


def bass(name: str = "", program: int = 33) -> Track:
    notes = [
        Note(b * 4 * TPB + i * TPB, b * 4 * TPB + i * TPB + TPB - 20, PROG[b % 4][0] - 12, 90)
        for b in range(BARS)
        for i in range(4)
    ]
    return Track(name, program, notes=notes)


def pad(name: str = "", program: int = 89) -> Track:
    notes = [Note(b * 4 * TPB, (b + 1) * 4 * TPB, p + 12, 60) for b in range(BARS) for p in PROG[b % 4]]
    return Track(name, program, notes=notes)


def piano_chords(name: str = "", program: int = 0) -> Track:
    notes = [
        Note(b * 4 * TPB + i * TPB, b * 4 * TPB + i * TPB + TPB // 2, p + 12, 70)
        for b in range(BARS) for i in range(4) for p in PROG[b % 4]
    ]  # fmt: skip
    return Track(name, program, notes=notes)


def drums(name: str = "") -> Track:
    notes = [Note(i * TPB // 2, i * TPB // 2 + 60, 42 if i % 2 else 36, 100) for i in range(BARS * 8)]
    return Track(name, 0, True, notes)


def band(*tracks: Track) -> Score:
    return Score(TPB, list(tracks))


def test_named_melody_wins_outright():
    score = band(piano_chords("Melody"), melody("Lead line"), bass())
    assert detect_melody_track(score) == 0
    score = band(drums(), bass(), piano_chords("MELODY"))
    assert detect_melody_track(score) == 2


def test_explicit_category_counts_as_named():
    chords = piano_chords("Keys")
    chords.category = "MELODY"
    assert detect_melody_track(band(melody(), chords)) == 1


@pytest.mark.parametrize("order", list(itertools.permutations(range(5))))
def test_unnamed_melody_found_at_any_index(order: tuple[int, ...]):
    parts = [melody(), bass(), pad(), piano_chords(), drums()]
    score = band(*(parts[i] for i in order))
    assert detect_melody_track(score) == order.index(0)


def test_unnamed_melody_with_piano_programs_only():
    score = band(piano_chords(), melody(velocity=90), bass(program=0))
    assert detect_melody_track(score) == 1


def test_melody_with_misleading_program_still_found_by_shape():
    # the tune on a pad program, accompaniment on a flute program: the note shapes decide
    score = band(pad(program=73), melody(program=89), bass())
    assert detect_melody_track(score) == 1


def test_name_hints():
    score = band(melody("Bass"), melody("Vocal"))
    assert detect_melody_track(score) == 1
    scores = melody_scores(band(melody("Lead"), melody(""), melody("Chords")))
    assert scores[0] > scores[1] > scores[2]


def test_no_melody_in_drums_or_bass_only():
    assert detect_melody_track(band(drums())) is None
    assert detect_melody_track(band(bass())) is None
    assert detect_melody_track(band(bass(program=0))) is None
    assert detect_melody_track(band(drums(), bass())) is None
    assert detect_melody_track(band(pad())) is None
    assert detect_melody_track(band()) is None


def test_drums_never_melody_even_when_named_so():
    score = band(drums("Melody"), bass())
    assert detect_melody_track(score) is None
    assert melody_scores(score)[0] == float("-inf")


def test_overlapping_legato_still_monophonic():
    legato = melody()
    legato.notes = [Note(n.start, n.end + 50, n.pitch, n.velocity) for n in legato.notes]  # 20-tick overlaps
    assert detect_melody_track(band(piano_chords(), legato, bass())) == 1


def test_assign_categories_one_melody():
    score = band(drums("Drums"), bass("Bass"), melody("Vocal"), melody("Lead vocal", program=65), pad("Pad"))
    cats = assign_categories(score)
    assert cats.count("MELODY") == 1
    assert cats[0] == "DRUMS" and cats[1] == "BASS" and cats[4] == "SYNTH_PAD"
    assert cats[2] == "MELODY" or cats[3] == "MELODY"
    assert "REED" in cats or "PIANO" in cats  # the other vocal-named track falls back to its program


def test_assign_categories_without_melody():
    assert assign_categories(band(drums(), bass())) == ["DRUMS", "BASS"]


def test_assign_categories_unnamed_band():
    score = band(piano_chords(program=25), melody(program=0), bass(), drums(), pad(program=40))
    assert assign_categories(score) == ["ACOUSTIC_GUITAR", "MELODY", "BASS", "DRUMS", "STRINGS"]


@pytest.mark.parametrize(
    ("program", "is_drum", "expected"),
    [(0, False, "PIANO"), (24, False, "ACOUSTIC_GUITAR"), (25, False, "ACOUSTIC_GUITAR"), (26, False, "ELECTRIC_GUITAR"),
     (31, False, "ELECTRIC_GUITAR"), (32, False, "BASS"), (115, False, "DRUMS"), (0, True, "DRUMS"), (40, True, "DRUMS"),
     (127, False, "SOUND_EFFECTS")],
)  # fmt: skip
def test_program_categories(program: int, is_drum: bool, expected: str):
    assert program_category(program, is_drum) == expected
    assert track_category(Track("", program, is_drum)) == expected


def test_track_category_never_makes_drums_melody():
    assert track_category(Track("Melody drums", 0, True), melody=True) == "DRUMS"
    assert track_category(Track("melody", 40)) == "MELODY"


def test_program_out_of_range():
    with pytest.raises(ValueError):
        program_category(128)
