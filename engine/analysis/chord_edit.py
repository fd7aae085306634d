"""Chords a musician types: chord symbols, progressions over bars, and replacing the chords of a region.

Pure functions on ``ChordLabel`` lists (ticks), used by the command line (``infill --chords``), the editor's
chord lane and the MIDI chord markers. Symbols follow lead-sheet practice: a root letter with an optional
``#``/``b``, then a quality from ``chord_vocab.QUALITIES`` or a common spelling of one (``min``, ``-``,
``maj``, ``M7``, ``aug``, ``°``, ``ø``); ``N.C.`` is no chord.
"""

from __future__ import annotations

import re

import numpy as np

from engine.analysis.chord_vocab import PITCH_CLASS_NAMES, QUALITIES, chord_name
from engine.analysis.grid import POSITIONS_PER_BEAT, BeatGrid
from engine.score import ChordLabel

_LETTER = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
# Other spellings of the vocabulary's qualities (lead sheets, iReal Pro, MuseScore chord symbols).
_ALIASES = {
    "": "", "maj": "", "M": "", "major": "",
    "m": "m", "min": "m", "-": "m", "minor": "m",
    "+": "+", "aug": "+", "dim": "dim", "°": "dim", "o": "dim",
    "7": "7", "dom7": "7", "maj7": "maj7", "M7": "maj7", "Δ": "maj7", "Δ7": "maj7", "ma7": "maj7",
    "m7": "m7", "min7": "m7", "-7": "m7", "m7b5": "m7b5", "ø": "m7b5", "ø7": "m7b5", "-7b5": "m7b5",
    "sus2": "sus2", "sus4": "sus4", "sus": "sus4",
}
_NO_CHORD = {"N.C.", "NC", "N", "N.C", "-", "X"}
_SYMBOL = re.compile(r"^([A-Ga-g])([#b♯♭]?)(.*)$")


def parse_chord(text: str) -> tuple[int | None, str]:
    """'F#m7' -> (6, 'm7'); 'N.C.' -> (None, ''). Raises ValueError naming the symbols it knows."""
    s = text.strip()
    if s.upper() in _NO_CHORD:
        return None, ""
    m = _SYMBOL.match(s)
    quality = _ALIASES.get(m.group(3)) if m else None
    if m is None or quality is None:
        known = ", ".join(f"C{q}" for q in QUALITIES)
        raise ValueError(f"unknown chord {text!r}: write a root (C, F#, Bb ...) and one of {known}, or N.C.")
    root = _LETTER[m.group(1).upper()] + {"#": 1, "♯": 1, "b": -1, "♭": -1}.get(m.group(2), 0)
    return root % 12, quality


def all_chord_names() -> list[str]:
    """Every chord the vocabulary holds (12 roots x qualities) plus N.C., for pickers."""
    return ["N.C."] + [chord_name(r, q) for r in range(len(PITCH_CLASS_NAMES)) for q in QUALITIES]


def parse_progression(text: str, grid: BeatGrid, start_bar: int, end_bar: int) -> list[ChordLabel]:
    """Chords for grid bars [start_bar, end_bar) from text such as ``"C G Am F"`` or ``"C:2 G:2 | Am F"``.

    Without durations, k symbols for n bars give each symbol n/k bars when k divides n (one per bar when
    k == n) and otherwise repeat the symbols bar by bar; ``name:beats`` gives a symbol that many beats and the
    progression repeats until the region is full. ``|`` is ignored (bar lines for the reader's eye).
    Raises ValueError for an unknown symbol or a bad duration.
    """
    items = [x for x in re.split(r"[\s|,]+", text.strip()) if x]
    if not items:
        raise ValueError("--chords is empty: give chord symbols, e.g. \"C G Am F\"")
    n_bars = end_bar - start_bar
    parsed: list[tuple[int | None, str, float | None]] = []
    for item in items:
        name, _, beats = item.partition(":")
        root, quality = parse_chord(name)
        if beats:
            try:
                value = float(beats)
            except ValueError:
                raise ValueError(f"chord {item!r}: the length after ':' is in beats, e.g. C:2") from None
            if value <= 0:
                raise ValueError(f"chord {item!r}: the length must be positive")
            parsed.append((root, quality, value))
        else:
            parsed.append((root, quality, None))
    t_start = int(grid.position_to_tick(int(grid.bar_starts[start_bar])))
    t_end = int(grid.position_to_tick(int(grid.bar_starts[end_bar])))
    out: list[ChordLabel] = []
    if all(b is None for _, _, b in parsed):
        per = n_bars // len(parsed) if n_bars % len(parsed) == 0 else 1
        for k in range(n_bars // per):
            root, quality, _ = parsed[k % len(parsed)]
            s = int(grid.position_to_tick(int(grid.bar_starts[start_bar + k * per])))
            e = int(grid.position_to_tick(int(grid.bar_starts[start_bar + (k + 1) * per])))
            out.append(ChordLabel(s, e, root, quality))
        return _merge(out)
    pos0 = float(grid.bar_starts[start_bar])
    pos = pos0
    k = 0
    end_pos = float(grid.bar_starts[end_bar])
    while pos < end_pos:
        root, quality, beats = parsed[k % len(parsed)]
        length = (beats if beats is not None else _bar_beats(grid, pos)) * POSITIONS_PER_BEAT
        nxt = min(pos + length, end_pos)
        out.append(ChordLabel(int(grid.position_to_tick(pos)), int(grid.position_to_tick(nxt)), root, quality))
        pos, k = nxt, k + 1
    out[0] = ChordLabel(t_start, out[0].end, out[0].root, out[0].quality)
    out[-1] = ChordLabel(out[-1].start, t_end, out[-1].root, out[-1].quality)
    return _merge(out)


def _bar_beats(grid: BeatGrid, pos: float) -> float:
    bar = int(np.searchsorted(grid.bar_starts, pos, side="right") - 1)
    bar = min(max(bar, 0), len(grid.bar_starts) - 2)
    return float(grid.bar_starts[bar + 1] - grid.bar_starts[bar]) / POSITIONS_PER_BEAT


def _merge(labels: list[ChordLabel]) -> list[ChordLabel]:
    """Join neighbours that hold the same chord (a repeated symbol is one chord held on)."""
    out: list[ChordLabel] = []
    for c in labels:
        if out and out[-1].end == c.start and (out[-1].root, out[-1].quality) == (c.root, c.quality):
            out[-1] = ChordLabel(out[-1].start, c.end, c.root, c.quality)
        else:
            out.append(c)
    return out


def chords_in(chords: list[ChordLabel], start: int, end: int) -> list[ChordLabel]:
    """The labels overlapping ticks [start, end), cut to it (what a span holds)."""
    return [ChordLabel(max(c.start, start), min(c.end, end), c.root, c.quality) for c in chords if c.end > start and c.start < end]


def replace_chords(chords: list[ChordLabel], start: int, end: int, new: list[ChordLabel]) -> list[ChordLabel]:
    """``chords`` with ticks [start, end) given over to ``new``: labels crossing an edge are cut there.

    ``new`` labels are clipped to [start, end); the result is sorted by start. A label of ``chords`` that
    spans the whole region keeps its parts before and after it.
    """
    out: list[ChordLabel] = []
    for c in chords:
        if c.end <= start or c.start >= end:
            out.append(c)
            continue
        if c.start < start:
            out.append(ChordLabel(c.start, start, c.root, c.quality))
        if c.end > end:
            out.append(ChordLabel(end, c.end, c.root, c.quality))
    for c in new:
        s, e = max(c.start, start), min(c.end, end)
        if e > s:
            out.append(ChordLabel(s, e, c.root, c.quality))
    return sorted(out, key=lambda c: (c.start, c.end))
