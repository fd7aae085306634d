"""Pitch classes shared by notes and chords: the model's bridge between the pitch column's two kinds.

Each pitch id (``pitch_60``) and each chord id (``chord_7_m``) is its own class, so a model learns
"E4 fits C major" and "E3 fits C major" as unrelated facts, one per octave and per chord: 3,000 CPU steps
gave a chord-tone ratio below random notes in key. With ``ModelConfig.pitch_classes`` both ends of the
network also see a 12-dimensional pitch-class view: a note's one-hot pitch class and a chord's (normalised)
chord tones enter through one shared linear map, and the pitch head adds a 12-way pitch-class score to
every pitch of that class. The classes and the vocabulary stay as they are.
"""

from __future__ import annotations

import torch

from engine.analysis.chord_vocab import chord_pitch_classes
from engine.representation.vocab import COL_PITCH, COLUMN_SIZES, token_chord, token_pitch


def pitch_class_table() -> torch.Tensor:
    """float [V_pitch, 12]: one-hot pitch class of a note pitch id, the chord tones of a chord id divided
    by their number, zeros for PAD, MASK and N.C."""
    table = torch.zeros(COLUMN_SIZES[COL_PITCH], 12)
    for tok in range(COLUMN_SIZES[COL_PITCH]):
        pitch = token_pitch(tok)
        if pitch is not None:
            table[tok, pitch % 12] = 1.0
            continue
        chord = token_chord(tok)
        if chord is not None and chord[0] is not None:
            tones = sorted(chord_pitch_classes(chord[0], chord[1]))
            table[tok, tones] = 1.0 / len(tones)
    return table
