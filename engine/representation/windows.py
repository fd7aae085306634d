"""Cutting an encoded song into model-sized windows at bar boundaries, and turning a window into an SAExample.

Every bar opens with its bar row, so a window that starts at any bar is self-contained: the model sees
bar lengths and the chord at the first downbeat without the rest of the song.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.analysis.categories import CATEGORY_INDEX
from engine.representation.encode import SAEncoding
from engine.representation.example import SAExample
from engine.representation.vocab import N_CATEGORIES


@dataclass(frozen=True)
class Window:
    """Grid bars [start_bar, end_bar) of an encoding, i.e. its rows [row_start, row_stop)."""

    start_bar: int
    end_bar: int
    row_start: int
    row_stop: int
    truncated_rows: int = 0  # rows of a single over-long bar cut off to fit max_rows

    @property
    def n_rows(self) -> int:
        return self.row_stop - self.row_start

    @property
    def rows(self) -> slice:
        return slice(self.row_start, self.row_stop)


def bar_row_starts(encoding: SAEncoding) -> np.ndarray:
    """First row of each grid bar first_bar..end_bar, plus n_rows at the end (length n_bars + 1)."""
    bars = np.arange(encoding.first_bar, encoding.end_bar + 1)
    return np.searchsorted(encoding.bar_of_row, bars, side="left").astype(np.int64)


def windows(encoding: SAEncoding, max_rows: int, overlap_bars: int = 2) -> list[Window]:
    """Greedy windows of whole bars, each at most ``max_rows`` rows, consecutive ones sharing ``overlap_bars`` bars.

    The overlap gives every bar of the song some context on both sides in at least one window. A bar
    with more rows than ``max_rows`` becomes a window of its own, cut to the first ``max_rows`` rows
    (``truncated_rows`` says how many were lost).
    """
    if max_rows < 1:
        raise ValueError("max_rows must be at least 1")
    starts = bar_row_starts(encoding)
    n_bars = encoding.end_bar - encoding.first_bar
    out: list[Window] = []
    s = 0
    while True:
        e = s
        while e < n_bars and starts[e + 1] - starts[s] <= max_rows:
            e += 1
        if e == s:  # one bar alone is too long
            rows = int(starts[s + 1] - starts[s])
            out.append(Window(encoding.first_bar + s, encoding.first_bar + s + 1, int(starts[s]), int(starts[s]) + max_rows, rows - max_rows))
            e = s + 1
        else:
            out.append(Window(encoding.first_bar + s, encoding.first_bar + e, int(starts[s]), int(starts[e])))
        if e >= n_bars:
            return out
        s = max(e - overlap_bars, s + 1)


def first_appearance_slots(track_of_row: np.ndarray) -> dict[int, int]:
    """Window-local track numbers 1.. in order of first appearance (chord rows, -1, are slot 0)."""
    slots: dict[int, int] = {}
    for t in np.asarray(track_of_row).tolist():
        if t >= 0 and t not in slots:
            slots[t] = len(slots) + 1
    return slots


def instrument_prompt(categories: list[str] | tuple[str, ...]) -> np.ndarray:
    """Multi-hot of the categories in ``categories``."""
    hot = np.zeros(N_CATEGORIES, dtype=bool)
    for c in categories:
        hot[CATEGORY_INDEX[c]] = True
    return hot


def make_example(
    tokens: np.ndarray,
    given: np.ndarray,
    track_of_row: np.ndarray,
    bar_of_row: np.ndarray,
    first_bar: int,
    tempo: int,
    categories: list[str] | tuple[str, ...],
    slots: dict[int, int] | None = None,
) -> SAExample:
    """The one place an SAExample is assembled (windows, editor problems and training masks all call it).

    ``categories`` maps a track index to its category (new tracks included) for the instrument prompt,
    which lists the categories of the tracks that have rows in the example.
    """
    slots = first_appearance_slots(track_of_row) if slots is None else slots
    track_id = np.asarray([slots.get(int(t), 0) if t >= 0 else 0 for t in track_of_row], dtype=np.int64)
    present = sorted({int(t) for t in np.asarray(track_of_row).tolist() if t >= 0})
    return SAExample(
        tokens=np.asarray(tokens, dtype=np.int64),
        given=np.asarray(given, dtype=bool),
        track_id=track_id,
        bar_index=np.asarray(bar_of_row, dtype=np.int64) - first_bar,
        tempo=tempo,
        instruments=instrument_prompt([categories[t] for t in present]),
    )


def to_example(
    encoding: SAEncoding,
    window: Window,
    given: np.ndarray | None = None,
    track_slots: dict[int, int] | None = None,
) -> SAExample:
    """The window's rows as an SAExample; ``given`` (bool [rows, 4]) defaults to everything given and
    ``track_slots`` (score track -> window-local id 1..) to numbering by first appearance."""
    rows = window.rows
    tokens = encoding.tokens[rows]
    given = np.ones(tokens.shape, dtype=bool) if given is None else given
    return make_example(
        tokens, given, encoding.track_of_row[rows], encoding.bar_of_row[rows], window.start_bar,
        encoding.tempo, encoding.categories, track_slots,
    )
