"""Key transposition of a training example: the same music a few semitones up or down.

POP909 is mostly in a handful of keys, so a model can lower its loss by learning which absolute pitches
are common instead of which pitches fit the chords around them. Shifting every pitched note and every
chord root of an example by the same interval keeps the harmony and changes the key, so only the
relative rule helps. Drum rows are left alone: their "pitch" is a kit piece, not a note.
"""

from __future__ import annotations

import numpy as np

from engine.analysis.chord_vocab import QUALITY_NAMES
from engine.representation.example import SAExample
from engine.representation.vocab import (
    COL_INSTRUMENT,
    COL_PITCH,
    FIRST_CHORD,
    FIRST_PITCH,
    NO_CHORD,
    PITCH_MAX,
    PITCH_MIN,
    category_token,
)

DRUMS = category_token("DRUMS")


def transpose_example(ex: SAExample, semitones: int) -> SAExample:
    """``ex`` with pitched notes moved by ``semitones`` and chord roots rotated with them.

    If a note would leave the vocabulary's pitch range the shift is tried an octave the other way (same
    key), and the example is returned unchanged if that fails too."""
    if semitones % 12 == 0:
        return ex
    pitch = ex.tokens[:, COL_PITCH]
    is_note = (pitch >= FIRST_PITCH) & (pitch < FIRST_CHORD) & (ex.tokens[:, COL_INSTRUMENT] != DRUMS)
    is_chord = (pitch >= FIRST_CHORD) & (pitch < NO_CHORD)
    notes = pitch[is_note] - FIRST_PITCH + PITCH_MIN
    for shift in (semitones, semitones - 12 if semitones > 0 else semitones + 12):
        if not len(notes) or (notes.min() + shift >= PITCH_MIN and notes.max() + shift <= PITCH_MAX):
            break
    else:
        return ex
    out = ex.tokens.copy()
    out[is_note, COL_PITCH] = pitch[is_note] + shift
    root, quality = np.divmod(pitch[is_chord] - FIRST_CHORD, len(QUALITY_NAMES))
    out[is_chord, COL_PITCH] = FIRST_CHORD + ((root + shift) % 12) * len(QUALITY_NAMES) + quality
    return SAExample(out, ex.given, ex.track_id, ex.bar_index, ex.tempo, ex.instruments)
