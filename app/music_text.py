"""How the editor names musical things: notes (C4), positions (bar.beat), lengths, chords that fit, keys.

Pure functions, no Qt, so the words the window shows are tested like the rest of the music logic.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.analysis.chord_vocab import PITCH_CLASS_NAMES
from engine.analysis.grid import POSITIONS_PER_BEAT, BeatGrid
from engine.score import ChordLabel, Note, Score

# Compact chord symbols for narrow cells: the usual lead-sheet shorthands.
_SHORT_QUALITY = {"": "", "m": "m", "+": "+", "dim": "°", "7": "7", "maj7": "Δ", "m7": "m7", "m7b5": "ø", "sus2": "s2", "sus4": "s4"}
_LENGTHS = {32: "1 bar (4 beats)", 16: "1/2", 8: "1/4", 4: "1/8", 2: "1/16", 1: "1/32"}
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])  # Krumhansl-Kessler
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def note_name(pitch: int) -> str:
    """Scientific pitch name with middle C (MIDI 60) as C4, as most DAWs and the MIDI spec's examples do."""
    return f"{PITCH_CLASS_NAMES[pitch % 12]}{pitch // 12 - 1}"


def bar_beat(grid: BeatGrid, tick: float) -> str:
    """``bar.beat`` counted from 1 (``3.2`` = bar 3, beat 2), with ``.sub`` in 16ths when off the beat."""
    pos = float(grid.tick_to_position(max(tick, 0.0)))
    starts = grid.bar_starts
    end = float(starts[-1])
    if pos >= end and grid.n_bars:
        length = float(starts[-1] - starts[-2])
        bar = grid.n_bars + int((pos - end) // length)
        offset = (pos - end) % length
    else:
        bar = max(int(np.searchsorted(starts, pos, side="right") - 1), 0)
        offset = pos - float(starts[bar])
    beat, rest = divmod(offset, POSITIONS_PER_BEAT)
    text = f"{bar + 1}.{int(beat) + 1}"
    sixteenth = int(round(rest / (POSITIONS_PER_BEAT / 4)))
    return f"{text}.{sixteenth + 1}" if sixteenth else text


def length_text(grid: BeatGrid, note: Note) -> str:
    """A note's length as a note value when it is a plain one (1/8), else in beats (1.5 beats)."""
    beats = (float(grid.tick_to_position(note.end)) - float(grid.tick_to_position(note.start))) / POSITIONS_PER_BEAT
    positions = round(beats * POSITIONS_PER_BEAT)
    if abs(beats * POSITIONS_PER_BEAT - positions) < 0.05 and positions in _LENGTHS:
        return _LENGTHS[positions]
    return f"{beats:.2f}".rstrip("0").rstrip(".") + (" beat" if abs(beats - 1) < 1e-9 else " beats")


def describe_note(grid: BeatGrid, note: Note, is_drum: bool = False) -> str:
    """The note tooltip: name (or drum key number), bar.beat, length, velocity."""
    name = f"key {note.pitch} ({note_name(note.pitch)})" if is_drum else note_name(note.pitch)
    return f"{name}  ·  bar {bar_beat(grid, note.start)}  ·  {length_text(grid, note)}  ·  velocity {note.velocity}"


def chord_text(chord: ChordLabel, fits: Callable[[str], bool]) -> str | None:
    """The longest of full name, lead-sheet shorthand, root alone that ``fits``; None when none does."""
    if chord.root is None:
        candidates = ["N.C.", "–"]
    else:
        root = PITCH_CLASS_NAMES[chord.root % 12]
        candidates = [root + chord.quality, root + _SHORT_QUALITY.get(chord.quality, chord.quality), root]
    for text in dict.fromkeys(candidates):
        if fits(text):
            return text
    return None


def pitch_class_histogram(score: Score) -> np.ndarray:
    """Duration-weighted count of each pitch class over the pitched (non-drum) notes."""
    hist = np.zeros(12)
    for track in score.tracks:
        if not track.is_drum and track.notes:
            data = np.array([(n.pitch, n.end - n.start) for n in track.notes], dtype=np.int64)
            hist += np.bincount(data[:, 0] % 12, weights=np.maximum(data[:, 1], 1), minlength=12)
    return hist


def key_name(score: Score, histogram: np.ndarray | None = None) -> tuple[str, str]:
    """The song's key and where it came from: the file's first key signature, else estimated.

    The estimate correlates the duration-weighted pitch-class profile of all pitched notes (``histogram``,
    computed when not given) with the Krumhansl-Kessler major and minor profiles (Krumhansl 1990) in all
    twelve keys.
    """
    if score.key_signatures:
        name = score.key_signatures[0].name  # "Eb" or "Cm", as the reader writes it
        if name:
            minor = name.endswith("m")
            return f"{name[:-1] if minor else name} {'minor' if minor else 'major'}", "file"
    hist = pitch_class_histogram(score) if histogram is None else np.asarray(histogram, dtype=float)
    if hist.sum() <= 0:
        return "unknown", "no notes"
    best, best_r = "C major", -2.0
    for tonic in range(12):
        for profile, mode in ((_MAJOR, "major"), (_MINOR, "minor")):
            r = float(np.corrcoef(hist, np.roll(profile, tonic))[0, 1])
            if r > best_r:
                best, best_r = f"{PITCH_CLASS_NAMES[tonic]} {mode}", r
    return best, "estimated"
