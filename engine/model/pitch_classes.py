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
from engine.representation.vocab import (
    CHORD_ROW,
    COL_INSTRUMENT,
    COL_ONSET,
    COL_PITCH,
    COLUMN_SIZES,
    FIRST_CHORD,
    FIRST_POS,
    token_chord,
    token_pitch,
)


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


def sounding_chord(known: torch.Tensor, bar_index: torch.Tensor, valid: torch.Tensor,
                   table: torch.Tensor) -> torch.Tensor:
    """float [B, R, 12]: for every row, the pitch classes (``table`` rows) of the chord sounding at its onset.

    ``known`` [B, R, 4] holds the token ids of the cells known so far (MASK elsewhere). The chord of a row is
    the known chord row of the same bar with the latest onset at or before the row's onset; a row whose
    onset is not known yet takes the bar's opening chord. Rows of bars with no known chord get zeros.
    Attention can find this too, but only after learning to; given per row, "which pitches fit here" is a
    linear read-out that a few hundred CPU steps learn."""
    kind, onset, pitch = known[..., COL_INSTRUMENT], known[..., COL_ONSET], known[..., COL_PITCH]
    pos = torch.where(onset >= FIRST_POS, onset - FIRST_POS, torch.zeros_like(onset))
    is_chord = valid & (kind == CHORD_ROW) & (pitch >= FIRST_CHORD)
    cand = (is_chord[:, None, :] & (bar_index[:, None, :] == bar_index[:, :, None])
            & (pos[:, None, :] <= pos[:, :, None]))  # [B, row, chord row]
    score = torch.where(cand, pos[:, None, :], torch.full_like(cand, -1, dtype=pos.dtype))
    best = score.argmax(-1)  # [B, R]
    tones = table[pitch]  # [B, R, 12]
    out = torch.gather(tones, 1, best[..., None].expand(-1, -1, tones.shape[-1]))
    return out * cand.any(-1, keepdim=True)
