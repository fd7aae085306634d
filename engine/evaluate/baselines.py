"""Baselines for infilling, with ``infill``'s contract: Scores in which only the selection changed.

A model's figures mean little alone: "copy the previous bars" shows how much a metric rewards plain
repetition (pop songs repeat a lot), and "random notes in key" shows what a metric gives for notes
that only know the key, the density and the range. Both take the selected tracks' notes whose onsets lie
in the selected bars out (the same rule ``apply_infill`` uses) and put new notes there, onsets inside
the region and ends clipped to it; every other note stays the very same object.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.analysis.grid import BeatGrid, beat_grid
from engine.evaluate.metrics import (
    INSTRUMENT_RANGES,
    NoteArray,
    estimate_key,
    in_bars,
    pitch_class_histogram,
    scale_pitch_classes,
    score_notes,
)
from engine.representation.encode import note_positions
from engine.representation.masks import Selection
from engine.score import Note, Score

BASELINES: tuple[str, ...] = ("copy_previous", "random_in_key")
BASELINE_LABELS: dict[str, str] = {"copy_previous": "copy previous bars", "random_in_key": "random in key"}
CONTEXT_BARS = 8  # bars each side of the region the random baseline learns key, density and range from
DEFAULT_VELOCITY = 90


def _tracks(score: Score, selection: Selection) -> tuple[int, ...]:
    return tuple(range(len(score.tracks))) if selection.tracks is None else tuple(sorted(set(selection.tracks)))


def cleared(score: Score, selection: Selection, grid: BeatGrid) -> Score:
    """A copy of ``score`` without the selected tracks' notes whose onsets lie in the selected bars."""
    out = score.copy()
    lo, hi = int(grid.bar_starts[selection.start_bar]), int(grid.bar_starts[selection.end_bar])
    for t in _tracks(score, selection):
        notes = out.tracks[t].notes
        if not notes:
            continue
        pos = note_positions(grid, np.fromiter((n.start for n in notes), dtype=np.int64, count=len(notes)))
        out.tracks[t].notes = [n for n, p in zip(notes, pos.tolist(), strict=True) if not lo <= p < hi]
    return out


def _add(score: Score, track: int, notes: list[Note]) -> None:
    score.tracks[track].notes = sorted(score.tracks[track].notes + notes, key=lambda n: (n.start, n.pitch, n.end))


def _note(grid: BeatGrid, onset: float, duration: float, pitch: int, velocity: int, region_end: int) -> Note | None:
    """A note at 32nd positions, its end clipped to the region's end; None if nothing is left of it."""
    end = min(onset + duration, region_end)
    if end <= onset:
        return None
    s, e = int(grid.position_to_tick(onset)), int(grid.position_to_tick(end))
    return Note(s, max(e, s + 1), int(pitch), int(velocity))


# -- copy the previous bars ---------------------------------------------------------------------------------
def source_bars(selection: Selection, n_bars: int) -> list[int]:
    """The bars copied onto the region, bar by bar: the same number just before it (fewer near the start,
    then repeated), or the ones just after it when the region starts the song; [] when it covers it all."""
    length = selection.end_bar - selection.start_bar
    if selection.start_bar > 0:
        src = list(range(max(selection.start_bar - length, 0), selection.start_bar))
    else:
        src = list(range(selection.end_bar, min(selection.end_bar + length, n_bars)))
    return [src[k % len(src)] for k in range(length)] if src else []


def copy_previous(score: Score, selection: Selection, grid: BeatGrid | None = None) -> Score:
    """Each selected track's notes of the preceding bars, moved onto the region bar by bar (a note keeps
    its offset in 32nds from its bar's start; notes past a shorter target bar are left out)."""
    grid = grid or beat_grid(score)
    out = cleared(score, selection, grid)
    src = source_bars(selection, grid.n_bars)
    region_end = int(grid.bar_starts[selection.end_bar])
    for t in _tracks(score, selection):
        notes = score.tracks[t].notes
        if not notes or not src:
            continue
        starts = np.fromiter((n.start for n in notes), dtype=np.int64, count=len(notes))
        pos = note_positions(grid, starts)
        exact = np.asarray(grid.tick_to_position(starts.astype(np.float64)), dtype=np.float64).reshape(-1)
        ends = np.asarray(grid.tick_to_position(np.asarray([n.end for n in notes], dtype=np.float64)), dtype=np.float64).reshape(-1)
        bar = np.asarray(grid.bar_of_position(pos), dtype=np.int64)
        new: list[Note] = []
        for k, b in enumerate(src):
            target = selection.start_bar + k
            shift = float(grid.bar_starts[target] - grid.bar_starts[b])
            for i in np.flatnonzero(bar == b).tolist():
                offset = int(pos[i] - grid.bar_starts[b])
                if offset >= grid.bar_length(target):
                    continue
                n = _note(grid, exact[i] + shift, ends[i] - exact[i], notes[i].pitch, notes[i].velocity, region_end)
                if n is not None:
                    new.append(n)
        _add(out, t, new)
    return out


# -- random notes in key -------------------------------------------------------------------------------------
def _context(notes: NoteArray, grid: BeatGrid, selection: Selection, tracks: tuple[int, ...]) -> NoteArray:
    near = in_bars(notes, grid, max(selection.start_bar - CONTEXT_BARS, 0), min(selection.end_bar + CONTEXT_BARS, grid.n_bars))
    inside = in_bars(notes, grid, selection.start_bar, selection.end_bar) & np.isin(notes.track, tracks)
    return notes.subset(near & ~inside)


def random_in_key(score: Score, selection: Selection, seed: int = 0, grid: BeatGrid | None = None,
                  category: Callable[[int], str] | None = None) -> Score:
    """Random notes that know only the context: the key (Krumhansl-Schmuckler on the context's pitch
    classes; drums draw from their own key numbers instead), each track's notes per bar (Poisson draws),
    its pitch range (5th-95th percentile), its note lengths (drawn from its own) and its median velocity.
    Onsets are on the 16th grid. The context is every note within 8 bars of the region but not in it,
    or the whole song outside it when that is silent. ``category(track)`` names a track's instrument for
    the range fallback of a track silent in the context."""
    grid = grid or beat_grid(score)
    rng = np.random.default_rng([int(seed), 7_919])
    tracks = _tracks(score, selection)
    out = cleared(score, selection, grid)
    all_notes = score_notes(score, grid)
    ctx = _context(all_notes, grid, selection, tracks)
    if ctx.pitched.n == 0:  # nothing around: the whole song outside the region
        inside = in_bars(all_notes, grid, selection.start_bar, selection.end_bar) & np.isin(all_notes.track, tracks)
        ctx = all_notes.subset(~inside)
    tonic, mode = estimate_key(pitch_class_histogram(ctx.pitched.pitch, ctx.pitched.duration.astype(np.float64)))
    scale = np.asarray(scale_pitch_classes(tonic, mode))
    lo_bar = max(selection.start_bar - CONTEXT_BARS, 0)
    hi_bar = min(selection.end_bar + CONTEXT_BARS, grid.n_bars)
    context_bars = max((hi_bar - lo_bar) - (selection.end_bar - selection.start_bar), 1)
    region_end = int(grid.bar_starts[selection.end_bar])
    for t in tracks:
        own = ctx.subset(ctx.track == t)
        drum = score.tracks[t].is_drum
        if own.n:
            density = own.n / context_bars
            lo, hi = (int(x) for x in np.percentile(own.pitch, [5, 95]))
            durations = own.duration
            velocity = int(np.median([n.velocity for n in score.tracks[t].notes]))
        else:  # silent around the region: a modest part in the category's range
            density, durations, velocity = 4.0, np.asarray([4]), DEFAULT_VELOCITY
            lo, hi = INSTRUMENT_RANGES.get(category(t) if category else ("DRUMS" if drum else "PIANO"), (48, 84))
        if drum:
            pool = own.pitch if own.n else np.asarray([36, 38, 42])
        else:
            pool = np.asarray([p for p in range(lo, hi + 1) if p % 12 in scale] or [p for p in range(lo, hi + 1)] or [60])
        new: list[Note] = []
        for b in range(selection.start_bar, selection.end_bar):
            start, length = int(grid.bar_starts[b]), grid.bar_length(b)
            k = int(rng.poisson(density * length / 32.0))
            cells = max(length // 2, 1)
            for onset in np.sort(start + 2 * rng.integers(0, cells, size=k)).tolist():
                n = _note(grid, float(onset), float(rng.choice(durations)), int(rng.choice(pool)), velocity, region_end)
                if n is not None:
                    new.append(n)
        # a key cannot sound twice at one onset
        unique = {(n.start, n.pitch): n for n in new}
        _add(out, t, list(unique.values()))
    return out


def run_baseline(name: str, score: Score, selection: Selection, n_variations: int = 1, seed: int = 0,
                 grid: BeatGrid | None = None, category: Callable[[int], str] | None = None) -> list[Score]:
    """``n_variations`` results of baseline ``name``, like ``infill`` returns them (copying is
    deterministic, so its variations are equal)."""
    grid = grid or beat_grid(score)
    if name == "copy_previous":
        one = copy_previous(score, selection, grid)
        return [one] + [one.copy() for _ in range(n_variations - 1)]
    if name == "random_in_key":
        return [random_in_key(score, selection, seed * 1_000 + v, grid, category) for v in range(n_variations)]
    raise ValueError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
