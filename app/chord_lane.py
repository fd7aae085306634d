"""The chord lane as something to edit: cells at a resolution, and chord edits on a song's chord list.

Pure functions (no Qt), so every chord edit the editor offers is tested like the rest of the music logic;
``app.chord_editing`` turns them into undo commands. Times are ticks; cells are read on the song's own
beat grid (``engine.analysis.grid``), so a song with drifting beats is edited in musical time.

Cells follow the chord detector's windows (``engine.analysis.chords``): a beat is 8 positions (32nds), a
half bar is two beats from the bar line (a 3/4 bar is two beats + one), a bar is a bar. Chord symbols,
the vocabulary and the replacement of a region's chords come from ``engine.analysis.chord_edit``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.analysis.chord_edit import parse_chord, replace_chords
from engine.analysis.grid import POSITIONS_PER_BEAT, BeatGrid
from engine.score import ChordLabel, Score

RESOLUTIONS: tuple[str, ...] = ("beat", "half_bar", "bar")
RESOLUTION_LABELS = {"beat": "Beat", "half_bar": "Half Bar", "bar": "Bar"}
DEFAULT_RESOLUTION = "bar"
_CELL_POSITIONS = {"beat": POSITIONS_PER_BEAT, "half_bar": 2 * POSITIONS_PER_BEAT}


# ------------------------------------------------------------------------------------------------- cells


def _cell_positions(grid: BeatGrid, position: float, resolution: str) -> tuple[int, int]:
    """(start, end) positions of the cell holding ``position``, clamped to the grid's bars."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}, got {resolution!r}")
    starts = grid.bar_starts
    pos = min(max(position, float(starts[0])), float(starts[-1]) - 1e-6)
    bar = int(np.searchsorted(starts, pos, side="right") - 1)
    b0, b1 = int(starts[bar]), int(starts[bar + 1])
    if resolution == "bar":
        return b0, b1
    size = _CELL_POSITIONS[resolution]
    c0 = b0 + int((pos - b0) // size) * size
    return c0, min(c0 + size, b1)


def cell_at(grid: BeatGrid, tick: float, resolution: str) -> tuple[int, int]:
    """(start, end) ticks of the chord cell holding ``tick`` (ticks before or after the grid: its first or last cell).

    Raises ValueError for an unknown resolution (one of ``RESOLUTIONS``).
    """
    c0, c1 = _cell_positions(grid, float(grid.tick_to_position(max(tick, 0.0))), resolution)
    return int(grid.position_to_tick(c0)), int(grid.position_to_tick(c1))


def span_between(grid: BeatGrid, tick_a: float, tick_b: float, resolution: str) -> tuple[int, int]:
    """The ticks of every cell from the one holding ``tick_a`` to the one holding ``tick_b`` (either order):
    what a drag across the chord lane selects."""
    a0, a1 = cell_at(grid, min(tick_a, tick_b), resolution)
    b0, b1 = cell_at(grid, max(tick_a, tick_b), resolution)
    return min(a0, b0), max(a1, b1)


def cells_in(grid: BeatGrid, start: int, end: int, resolution: str) -> list[tuple[int, int]]:
    """The cells (ticks) that tile [start, end) when both are cell edges; for drawing and for tests."""
    out: list[tuple[int, int]] = []
    tick = start
    while tick < end:
        c0, c1 = cell_at(grid, tick, resolution)
        if c1 <= tick:
            break
        out.append((max(c0, tick), min(c1, end)))
        tick = c1
    return out


# ------------------------------------------------------------------------------------------------- edits


def merge_neighbours(chords: list[ChordLabel]) -> list[ChordLabel]:
    """Sorted by start, with touching labels that hold the same chord joined (a repeated chord is held on,
    and is written as one marker, not two)."""
    out: list[ChordLabel] = []
    for c in sorted(chords, key=lambda c: (c.start, c.end)):
        if c.end <= c.start:
            continue
        if out and out[-1].end == c.start and (out[-1].root, out[-1].quality) == (c.root, c.quality):
            out[-1] = ChordLabel(out[-1].start, c.end, c.root, c.quality)
        else:
            out.append(c)
    return out


def editable_chords(score: Score, shown: list[ChordLabel]) -> list[ChordLabel]:
    """The chords an edit starts from: the song's own, else the ones the lane shows (detected), so that
    editing one bar of a song without chords keeps every other bar as it was displayed."""
    return list(score.chords) if score.chords else list(shown)


def set_chord(chords: list[ChordLabel], start: int, end: int, root: int | None, quality: str) -> list[ChordLabel]:
    """``chords`` with ticks [start, end) holding one chord (root None = N.C.). Raises ValueError for an
    empty span."""
    if end <= start:
        raise ValueError(f"empty chord span {start}..{end}")
    label = ChordLabel(start, end, root, quality if root is not None else "")
    return merge_neighbours(replace_chords(chords, start, end, [label]))


def set_chord_text(chords: list[ChordLabel], start: int, end: int, text: str) -> list[ChordLabel]:
    """``set_chord`` from a typed symbol ('F#m7', 'Bbmaj7', 'N.C.'); ValueError names the symbols it knows."""
    root, quality = parse_chord(text)
    return set_chord(chords, start, end, root, quality)


@dataclass(frozen=True)
class ChordClip:
    """Copied chords, in grid positions (32nds) from the start of the copied span, so a paste lands on the
    same beats wherever it goes. Gaps (no label) are stored as N.C."""

    length: int  # positions
    items: tuple[tuple[int, int, int | None, str], ...]  # (start, end, root, quality), positions from 0


def copy_chords(chords: list[ChordLabel], grid: BeatGrid, start: int, end: int) -> ChordClip:
    """The chords of ticks [start, end) as a clip (positions relative to ``start``)."""
    p0 = round(float(grid.tick_to_position(start)))
    p1 = round(float(grid.tick_to_position(end)))
    items: list[tuple[int, int, int | None, str]] = []
    cursor = p0
    for c in sorted(chords, key=lambda c: c.start):
        s = max(round(float(grid.tick_to_position(c.start))), p0)
        e = min(round(float(grid.tick_to_position(c.end))), p1)
        if e <= s:
            continue
        if s > cursor:
            items.append((cursor - p0, s - p0, None, ""))
        items.append((s - p0, e - p0, c.root, c.quality))
        cursor = max(cursor, e)
    if cursor < p1:
        items.append((cursor - p0, p1 - p0, None, ""))
    return ChordClip(p1 - p0, tuple(items))


def paste_chords(chords: list[ChordLabel], grid: BeatGrid, clip: ChordClip, at: int) -> tuple[list[ChordLabel], tuple[int, int]]:
    """``chords`` with ``clip`` pasted from tick ``at`` (cut at the grid's end), and the ticks it covers."""
    p0 = round(float(grid.tick_to_position(at)))
    end_pos = min(p0 + clip.length, int(grid.bar_starts[-1]))
    if end_pos <= p0:
        return list(chords), (at, at)
    new = [
        ChordLabel(int(grid.position_to_tick(p0 + s)), int(grid.position_to_tick(min(p0 + e, end_pos))), root, quality)
        for s, e, root, quality in clip.items
        if p0 + s < end_pos
    ]
    t0, t1 = int(grid.position_to_tick(p0)), int(grid.position_to_tick(end_pos))
    return merge_neighbours(replace_chords(chords, t0, t1, new)), (t0, t1)


def detect_in_span(score: Score, grid: BeatGrid, chords: list[ChordLabel], start: int, end: int, resolution: str) -> list[ChordLabel]:
    """``chords`` with [start, end) refilled from the song's notes, one chord per ``resolution`` cell at most.

    A song with an accompaniment: the chord detector (``engine.analysis.chords.detect_chords``) on the notes
    sounding in the bars around the span (it scores each window, never wider than a bar, from the notes
    sounding in it, so the span gets what detecting the whole song gives, and a long song is not slow).
    A melody alone (or with drums): the learned harmoniser (``chord_source.melody_chords``) with the
    lane's chords outside the span as its context, each cell taking the chord that covers most of it.
    """
    from dataclasses import replace

    from engine.analysis.chords import detect_chords
    from engine.representation.chord_source import melody_chords
    from engine.representation.encode import score_categories

    suggested = melody_chords(score, grid, score_categories(score), replace_chords(chords, start, end, []))
    if suggested is not None:
        return merge_neighbours(replace_chords(chords, start, end, per_cell(suggested, grid, start, end, resolution)))
    lo, _ = cell_at(grid, start, "bar")
    _, hi = cell_at(grid, max(end - 1, start), "bar")
    tracks = [replace(t, notes=[n for n in t.notes if n.end > lo and n.start < hi]) for t in score.tracks]
    detected = detect_chords(replace(score, tracks=tracks), grid, resolution)
    return merge_neighbours(replace_chords(chords, start, end, detected))


def per_cell(chords: list[ChordLabel], grid: BeatGrid, start: int, end: int, resolution: str) -> list[ChordLabel]:
    """One chord per ``resolution`` cell of [start, end): the one of ``chords`` sounding longest in it."""
    out = []
    for c0, c1 in cells_in(grid, start, end, resolution):
        cover = [(min(c.end, c1) - max(c.start, c0), c) for c in chords if c.end > c0 and c.start < c1]
        if cover:
            best = max(cover, key=lambda x: x[0])[1]
            out.append(ChordLabel(c0, c1, best.root, best.quality))
    return out


