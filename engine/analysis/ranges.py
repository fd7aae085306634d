"""Pitch ranges: where an instrument usually plays, and where a part plays in its song.

``USUAL_RANGE`` is the one table of each instrument category's usual sounding range (MIDI pitches, both
ends included; 60 = C4): what an arranger writes for the category's instruments, a little wider than a
beginner's range. The evaluation's range adherence (``evaluate.metrics``) and the sampler's register
limits (``representation.part_limits``) both read it. Sources: the orchestral families (strings: cello
C2 to violin about C7; brass: bass trombone to trumpet; reeds: bass clarinet and bassoon's upper range to
flute-family reeds; pipes) from S. Adler, "The Study of Orchestration", 3rd ed., W. W. Norton 2002, rounded
to the lowest instrument's bottom and the highest's practical top; guitars from standard tuning (low
E2 = 40) and a 20-24-fret neck; bass guitar from a 4-string's E1 (28) to its 24th fret on G (G4 = 67), as
it sounds; MELODY (a sung or lead line) from the soprano and tenor voice ranges of the same book's choral
chapter (G3-E6); piano the 88 keys; synths and effects the widest a patch is usually played. DRUMS is the
GM percussion key map (35-81). A few GM programs whose instrument differs from its family get their own
range (contrabass, harp, timpani, tuba, piccolo; same book).
"""

from __future__ import annotations

import numpy as np

# (lowest, highest) sounding MIDI note per category.
USUAL_RANGE: dict[str, tuple[int, int]] = {
    "MELODY": (55, 88),  # a sung or lead line: G3-E6
    "PIANO": (21, 108),
    "CHROMATIC_PERCUSSION": (53, 96),  # vibraphone, glockenspiel, marimba
    "ORGAN": (36, 96),
    "ACOUSTIC_GUITAR": (40, 84),  # E2 - C6
    "ELECTRIC_GUITAR": (40, 88),
    "BASS": (28, 67),  # E1 - G4
    "STRINGS": (36, 96),  # cello to violin
    "ENSEMBLE": (36, 96),
    "BRASS": (34, 84),
    "REED": (44, 91),
    "PIPE": (55, 98),
    "SYNTH_LEAD": (48, 96),
    "SYNTH_PAD": (36, 96),
    "SYNTH_EFFECTS": (24, 108),
    "ETHNIC": (40, 96),
    "DRUMS": (35, 81),  # GM drum map: acoustic bass drum .. open triangle
    "SOUND_EFFECTS": (0, 127),
}
PROGRAM_RANGE: dict[int, tuple[int, int]] = {
    43: (28, 67),  # contrabass E1 .. G4
    46: (24, 103),  # orchestral harp
    47: (40, 57),  # timpani
    58: (28, 58),  # tuba
    72: (74, 108),  # piccolo
}
CONTEXT_MARGIN = 2  # semitones a part may go past the range it plays around the region (both evaluate and "strict")


def usual_range(category: str, program: int | None = None) -> tuple[int, int]:
    """The sounding range of an instrument category (or of a GM program with its own entry)."""
    if program is not None and category not in ("DRUMS", "MELODY") and program in PROGRAM_RANGE:
        return PROGRAM_RANGE[program]
    return USUAL_RANGE.get(category, (21, 108))


CONTEXT_MIN_NOTES = 4  # notes a part needs around the region before its own range is trusted (context_range)


def context_range(pitches: np.ndarray, margin: int = CONTEXT_MARGIN, min_notes: int = CONTEXT_MIN_NOTES) -> tuple[int, int] | None:
    """(lowest - margin, highest + margin) of a part's notes around the region; None with fewer than
    ``min_notes`` notes (too little to know the part's register)."""
    p = np.asarray(pitches)
    if len(p) < min_notes:
        return None
    return int(p.min()) - margin, int(p.max()) + margin
