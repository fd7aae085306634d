"""Pitch ranges: where an instrument usually plays, and where a part plays in its song.

``USUAL_RANGE`` gives each instrument category the sounding range (MIDI note numbers, both ends included)
its instruments cover in practice. Orchestral families follow the practical ranges in Samuel Adler, *The
Study of Orchestration* (3rd ed., 2002), converted to sounding pitch and taken over the family's common
members (e.g. brass: horn, trumpet, trombone; reeds: saxophones, clarinet, oboe, bassoon); guitars and
bass follow standard tuning with 22 frets (E2-D6; 4/5-string bass B0-G4); keyboards and synths a
61-88-key keyboard; the lead voice (MELODY) spans bass to soprano (C3-E6). A few GM programs whose
instrument differs from its family get their own range (contrabass, timpani, harp, piccolo, tuba).
"""

from __future__ import annotations

import numpy as np

# (lowest, highest) sounding MIDI note per category.
USUAL_RANGE: dict[str, tuple[int, int]] = {
    "MELODY": (48, 88),
    "PIANO": (21, 108),
    "CHROMATIC_PERCUSSION": (45, 108),  # marimba A2 .. glockenspiel C8
    "ORGAN": (24, 96),
    "ACOUSTIC_GUITAR": (40, 86),
    "ELECTRIC_GUITAR": (40, 86),
    "BASS": (23, 67),
    "STRINGS": (36, 103),  # cello C2 .. violin G7
    "ENSEMBLE": (36, 96),
    "BRASS": (34, 82),  # horn Bb1 .. trumpet Bb5
    "REED": (34, 94),  # bassoon Bb1 .. clarinet Bb6
    "PIPE": (60, 108),  # flute C4 .. piccolo C8
    "SYNTH_LEAD": (36, 96),
    "SYNTH_PAD": (36, 96),
    "SYNTH_EFFECTS": (24, 108),
    "ETHNIC": (36, 96),
    "DRUMS": (27, 87),  # the GM percussion key map
    "SOUND_EFFECTS": (21, 108),
}
PROGRAM_RANGE: dict[int, tuple[int, int]] = {
    43: (28, 67),  # contrabass E1 .. G4
    46: (24, 103),  # orchestral harp
    47: (40, 57),  # timpani
    58: (28, 58),  # tuba
    72: (74, 108),  # piccolo
}
CONTEXT_MARGIN = 2  # semitones a part may go past the range it plays in its song ("strict" register)


def usual_range(category: str, program: int | None = None) -> tuple[int, int]:
    """The sounding range of an instrument category (or of a GM program with its own entry)."""
    if program is not None and category not in ("DRUMS", "MELODY") and program in PROGRAM_RANGE:
        return PROGRAM_RANGE[program]
    return USUAL_RANGE.get(category, (21, 108))


def context_range(pitches: np.ndarray, margin: int = CONTEXT_MARGIN, min_notes: int = 4) -> tuple[int, int] | None:
    """(lowest - margin, highest + margin) of a part's notes around the region; None with fewer than
    ``min_notes`` notes (too little to know the part's register)."""
    p = np.asarray(pitches)
    if len(p) < min_notes:
        return None
    return int(p.min()) - margin, int(p.max()) + margin
