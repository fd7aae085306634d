"""SA vocabularies: one explicit token table per column, column-local ids.

A song is a table of rows with four columns:

=========  ==============  =======================  ==========================================
column     note row        chord row                meaning
=========  ==============  =======================  ==========================================
0          instrument      ``CHORD``                row kind: one of the 18 categories or CHORD
1          ``pos_p``       ``pos_p``                onset in 32nds from the start of the bar
2          ``pitch_n``     ``chord_<root>_<q>``     MIDI pitch 21-108, or the chord (N.C. too)
3          ``dur_d``       ``bar_L`` / ``change``   duration in 16ths; a chord row at the start of
                                                    a bar carries the bar length L in 32nds,
                                                    a mid-bar chord change carries ``change``
=========  ==============  =======================  ==========================================

Every column starts with ``PAD`` (0: an empty row; the model may emit it to make fewer notes than slots)
and ``MASK`` (1: the absorbing state of discrete diffusion; never emitted). Unlike the seed (one 307-token
vocabulary and onsets relative to the last chord) onsets are bar-relative and every bar opens with a chord
row, so bar lines and time signatures survive the round trip and windows can start at any bar.
Change any table and bump ``VOCAB_VERSION``: checkpoints record it and refuse to load against another.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.analysis.categories import CATEGORIES
from engine.analysis.chord_vocab import QUALITY_NAMES
from engine.analysis.tempo import TEMPO_CLASSES

VOCAB_VERSION = "sa-v1"

N_COLUMNS = 4
COL_INSTRUMENT, COL_ONSET, COL_PITCH, COL_DURATION = 0, 1, 2, 3
COLUMN_NAMES = ("instrument", "onset", "pitch", "duration")

PAD, MASK = 0, 1
SPECIALS = ("PAD", "MASK")

PITCH_MIN, PITCH_MAX = 21, 108  # A0-C8: the piano's range; holds the GM drum map (27-87) too
MAX_BAR_LENGTH = 96  # 32nds (12/4); longer bars are split into several SA bars
DURATIONS_16THS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)  # the seed's set plus 12, 24, 32 for held notes
N_ROOTS = 12


def _tokens() -> tuple[tuple[str, ...], ...]:
    instrument = SPECIALS + ("CHORD",) + CATEGORIES
    onset = SPECIALS + tuple(f"pos_{p}" for p in range(MAX_BAR_LENGTH))
    pitch = (
        SPECIALS
        + tuple(f"pitch_{p}" for p in range(PITCH_MIN, PITCH_MAX + 1))
        + tuple(f"chord_{r}_{q}" for r in range(N_ROOTS) for q in QUALITY_NAMES)
        + ("chord_N.C.",)
    )
    duration = (
        SPECIALS
        + tuple(f"dur_{d}" for d in DURATIONS_16THS)
        + ("change",)
        + tuple(f"bar_{n}" for n in range(1, MAX_BAR_LENGTH + 1))
    )
    return instrument, onset, pitch, duration


COLUMN_TOKENS: tuple[tuple[str, ...], ...] = _tokens()
COLUMN_SIZES: tuple[int, ...] = tuple(len(t) for t in COLUMN_TOKENS)
COLUMN_INDEX: tuple[dict[str, int], ...] = tuple({tok: i for i, tok in enumerate(t)} for t in COLUMN_TOKENS)
# Offsets of each column in one global id space (used by models that want one embedding table).
COLUMN_OFFSETS: tuple[int, ...] = tuple(sum(COLUMN_SIZES[:c]) for c in range(N_COLUMNS))
GLOBAL_SIZE = sum(COLUMN_SIZES)

# Frequently used ids.
CHORD_ROW = COLUMN_INDEX[COL_INSTRUMENT]["CHORD"]
FIRST_CATEGORY = CHORD_ROW + 1
FIRST_POS = len(SPECIALS)
FIRST_PITCH = len(SPECIALS)
FIRST_CHORD = FIRST_PITCH + (PITCH_MAX - PITCH_MIN + 1)
NO_CHORD = COLUMN_INDEX[COL_PITCH]["chord_N.C."]
FIRST_DURATION = len(SPECIALS)
CHANGE = COLUMN_INDEX[COL_DURATION]["change"]
FIRST_BAR_LENGTH = CHANGE + 1

# Prompt vocabularies: tempo class (+ NULL for classifier-free guidance's unconditional branch) and
# the multi-hot set of instrument categories.
TEMPO_TOKENS: tuple[str, ...] = TEMPO_CLASSES + ("NULL",)
TEMPO_NULL = len(TEMPO_CLASSES)
N_CATEGORIES = len(CATEGORIES)


def category_token(category: str) -> int:
    return COLUMN_INDEX[COL_INSTRUMENT][category]


def token_category(token: int) -> str | None:
    """Category of an instrument-column id, None for PAD/MASK/CHORD."""
    return CATEGORIES[token - FIRST_CATEGORY] if token >= FIRST_CATEGORY else None


def pitch_token(pitch: int) -> int:
    if not PITCH_MIN <= pitch <= PITCH_MAX:
        raise ValueError(f"pitch {pitch} outside the SA range {PITCH_MIN}-{PITCH_MAX}")
    return FIRST_PITCH + pitch - PITCH_MIN


def token_pitch(token: int) -> int | None:
    return token - FIRST_PITCH + PITCH_MIN if FIRST_PITCH <= token < FIRST_CHORD else None


def chord_token(root: int | None, quality: str) -> int:
    if root is None:
        return NO_CHORD
    return FIRST_CHORD + (root % 12) * len(QUALITY_NAMES) + QUALITY_NAMES.index(quality)


def token_chord(token: int) -> tuple[int | None, str] | None:
    """(root, quality) of a chord id; (None, '') for N.C.; None if the id is not a chord."""
    if token == NO_CHORD:
        return None, ""
    if FIRST_CHORD <= token < NO_CHORD:
        root, q = divmod(token - FIRST_CHORD, len(QUALITY_NAMES))
        return root, QUALITY_NAMES[q]
    return None


def duration_token(sixteenths: int) -> int:
    return FIRST_DURATION + DURATIONS_16THS.index(sixteenths)


def token_duration(token: int) -> int | None:
    i = token - FIRST_DURATION
    return DURATIONS_16THS[i] if 0 <= i < len(DURATIONS_16THS) else None


def bar_length_token(length_32nds: int) -> int:
    if not 1 <= length_32nds <= MAX_BAR_LENGTH:
        raise ValueError(f"bar length {length_32nds} outside 1-{MAX_BAR_LENGTH} 32nds")
    return FIRST_BAR_LENGTH + length_32nds - 1


def token_bar_length(token: int) -> int | None:
    return token - FIRST_BAR_LENGTH + 1 if token >= FIRST_BAR_LENGTH else None


@dataclass(frozen=True)
class VocabInfo:
    """What a checkpoint records about the vocabulary it was trained with."""

    version: str = VOCAB_VERSION
    column_sizes: tuple[int, ...] = COLUMN_SIZES
    n_tempo: int = len(TEMPO_TOKENS)
    n_categories: int = N_CATEGORIES
