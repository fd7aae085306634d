"""Instrument categories: the 18 classes the model sees in the instrument column and in prompts.

They follow the seed (melody + the GM families with guitar split acoustic/electric), with one change of
name that says what users mean: the seed's PERCUSSIVE slot (GM programs 112-119 *or* any drum-channel
track) is called DRUMS here, and decodes to a drum-channel track.
"""

from __future__ import annotations

from engine.score import Track

CATEGORIES: tuple[str, ...] = (
    "MELODY",
    "PIANO",
    "CHROMATIC_PERCUSSION",
    "ORGAN",
    "ACOUSTIC_GUITAR",
    "ELECTRIC_GUITAR",
    "BASS",
    "STRINGS",
    "ENSEMBLE",
    "BRASS",
    "REED",
    "PIPE",
    "SYNTH_LEAD",
    "SYNTH_PAD",
    "SYNTH_EFFECTS",
    "ETHNIC",
    "DRUMS",
    "SOUND_EFFECTS",
)
CATEGORY_INDEX: dict[str, int] = {c: i for i, c in enumerate(CATEGORIES)}

# (first program, last program, category) in GM order; guitars split at 26 as in the seed.
_PROGRAM_RANGES: tuple[tuple[int, int, str], ...] = (
    (0, 7, "PIANO"),
    (8, 15, "CHROMATIC_PERCUSSION"),
    (16, 23, "ORGAN"),
    (24, 25, "ACOUSTIC_GUITAR"),
    (26, 31, "ELECTRIC_GUITAR"),
    (32, 39, "BASS"),
    (40, 47, "STRINGS"),
    (48, 55, "ENSEMBLE"),
    (56, 63, "BRASS"),
    (64, 71, "REED"),
    (72, 79, "PIPE"),
    (80, 87, "SYNTH_LEAD"),
    (88, 95, "SYNTH_PAD"),
    (96, 103, "SYNTH_EFFECTS"),
    (104, 111, "ETHNIC"),
    (112, 119, "DRUMS"),
    (120, 127, "SOUND_EFFECTS"),
)

# The program a generated track of each category gets (what a musician would pick first).
DEFAULT_PROGRAM: dict[str, int] = {
    "MELODY": 0,
    "PIANO": 0,
    "CHROMATIC_PERCUSSION": 11,  # vibraphone
    "ORGAN": 16,
    "ACOUSTIC_GUITAR": 25,  # steel-string
    "ELECTRIC_GUITAR": 27,  # clean
    "BASS": 33,  # finger bass
    "STRINGS": 40,  # violin: the GM strings family is 40-47 (48, "string ensemble", is ENSEMBLE)
    "ENSEMBLE": 48,
    "BRASS": 61,
    "REED": 65,  # alto sax
    "PIPE": 73,  # flute
    "SYNTH_LEAD": 81,
    "SYNTH_PAD": 89,
    "SYNTH_EFFECTS": 99,
    "ETHNIC": 104,
    "DRUMS": 0,  # standard kit on the drum channel
    "SOUND_EFFECTS": 120,
}


def program_category(program: int, is_drum: bool = False) -> str:
    """The category of a GM program; drum-channel tracks are DRUMS whatever their program."""
    if is_drum:
        return "DRUMS"
    if not 0 <= program <= 127:
        raise ValueError(f"GM program out of range: {program}")
    for first, last, category in _PROGRAM_RANGES:
        if first <= program <= last:
            return category
    raise AssertionError("unreachable: the ranges cover 0-127")


def track_category(track: Track, melody: bool = False) -> str:
    """Category of a track: its explicit category, MELODY when told or named so, else by program.

    A drum track is never MELODY (the seed could make drums the melody).
    """
    if track.category is not None:
        return track.category
    if track.is_drum:
        return "DRUMS"
    if melody or "melody" in track.name.lower() or "vocal" in track.name.lower():
        return "MELODY"
    return program_category(track.program)


def parse_category(text: str) -> str:
    """A category from user text: 'strings', 'Electric guitar', 'e-guitar', 'drums' ..."""
    key = text.strip().upper().replace("-", "_").replace(" ", "_")
    aliases = {
        "GUITAR": "ACOUSTIC_GUITAR",
        "E_GUITAR": "ELECTRIC_GUITAR",
        "EGUITAR": "ELECTRIC_GUITAR",
        "PAD": "SYNTH_PAD",
        "LEAD": "SYNTH_LEAD",
        "PERCUSSION": "DRUMS",
        "PERCUSSIVE": "DRUMS",
        "DRUM": "DRUMS",
        "SAX": "REED",
        "FLUTE": "PIPE",
        "VOCAL": "MELODY",
        "VOCALS": "MELODY",
    }
    key = aliases.get(key, key)
    if key not in CATEGORY_INDEX:
        raise ValueError(f"unknown instrument category {text!r}; choose one of: {', '.join(c.lower() for c in CATEGORIES)}")
    return key
