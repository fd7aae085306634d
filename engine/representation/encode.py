"""Score -> SA table: one row per note or chord event, four attribute columns (see ``vocab``).

Encoding goes through ``quantise_notes`` so the SA table is exactly the quantised score: decoding it
gives ``quantise(score)`` back note for note. What cannot be written (pitches outside 21-108, onsets
off the grid) is listed in the ``EncodeReport`` instead of vanishing.

Row order per SA bar: the bar row ``[CHORD, pos_0, chord at bar start, bar_L]``, the mid-bar chord
changes ``[CHORD, pos_p, chord, change]`` by position, then one block per track in score order with
``[category, pos_p, pitch, dur_d]`` sorted by (onset, pitch). A grid bar longer than ``MAX_BAR_LENGTH``
32nds becomes several consecutive SA bars that share the grid bar's index in ``bar_of_row``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from engine.analysis.categories import CATEGORY_INDEX, track_category
from engine.analysis.chord_vocab import QUALITY_NAMES
from engine.analysis.grid import BeatGrid, beat_grid
from engine.analysis.quantise import QuantisedNote, QuantiseReport, quantise_notes
from engine.analysis.tempo import TEMPO_CLASSES, score_tempo_class
from engine.errors import RepresentationError
from engine.representation.vocab import (
    CHANGE,
    CHORD_ROW,
    DURATIONS_16THS,
    FIRST_BAR_LENGTH,
    FIRST_CATEGORY,
    FIRST_DURATION,
    FIRST_PITCH,
    FIRST_POS,
    MAX_BAR_LENGTH,
    N_CATEGORIES,
    NO_CHORD,
    PITCH_MAX,
    PITCH_MIN,
    chord_token,
)
from engine.score import ChordLabel, Score

_DUR_LOOKUP = np.full(max(DURATIONS_16THS) + 1, -1, dtype=np.int64)  # duration in 16ths -> token
_DUR_LOOKUP[list(DURATIONS_16THS)] = FIRST_DURATION + np.arange(len(DURATIONS_16THS))


@dataclass
class EncodeReport:
    """What the encoding kept, merged and dropped, so nothing is lost silently."""

    n_notes_in: int = 0  # notes of the score (all bars)
    n_encoded: int = 0  # note rows written
    dropped: list[tuple[QuantisedNote, str]] = field(default_factory=list)  # (note on the grid, reason)
    quantise: QuantiseReport | None = None  # duplicates merged, durations clipped (whole score)
    n_bars: int = 0  # grid bars encoded
    n_bars_split: int = 0  # grid bars longer than MAX_BAR_LENGTH, written as several SA bars
    n_chord_changes: int = 0  # mid-bar chord rows added
    chord_source: str = "score"  # "score", "detected", "given" or why chords are all N.C.
    n_unknown_chords: int = 0  # chord labels whose quality the vocabulary lacks (written as N.C.)

    @property
    def n_dropped(self) -> int:
        return len(self.dropped)

    def drop_counts(self) -> dict[str, int]:
        return dict(Counter(reason for _, reason in self.dropped))


@dataclass
class SAEncoding:
    """A song (or a bar range of it) as an SA table plus what is needed to map rows back to the score."""

    tokens: np.ndarray  # int64 [R, 4] column-local ids
    track_of_row: np.ndarray  # int64 [R]: index into score.tracks, -1 for chord/bar rows
    bar_of_row: np.ndarray  # int64 [R]: grid bar (split SA bars share their grid bar's index)
    position_of_row: np.ndarray  # int64 [R]: absolute 32nd position of the row's onset
    velocity_of_row: np.ndarray  # int64 [R]: MIDI velocity of note rows (0 for chord rows); not in the SA
    categories: tuple[str, ...]  # per score track
    tempo: int  # index into TEMPO_CLASSES
    instruments: np.ndarray  # bool [18]: categories with at least one note row
    grid: BeatGrid
    first_bar: int  # grid bars [first_bar, end_bar) are encoded, every one opens with a bar row
    end_bar: int
    report: EncodeReport

    @property
    def n_rows(self) -> int:
        return int(self.tokens.shape[0])

    @property
    def n_tracks(self) -> int:
        return len(self.categories)

    def bar_rows(self, bar: int) -> slice:
        """Rows of grid bar ``bar`` (contiguous because rows are in bar order)."""
        lo, hi = np.searchsorted(self.bar_of_row, [bar, bar + 1], side="left")
        return slice(int(lo), int(hi))


def sa_bars(grid: BeatGrid, first_bar: int, end_bar: int) -> tuple[np.ndarray, np.ndarray]:
    """(start positions, grid bar) of the SA bars covering grid bars [first_bar, end_bar).

    A grid bar longer than MAX_BAR_LENGTH is cut into the fewest near-equal pieces, on beat boundaries
    when the bar is a whole number of beats, so each piece fits the ``bar_L`` token.
    """
    starts: list[int] = []
    bars: list[int] = []
    for b in range(first_bar, end_bar):
        start, length = int(grid.bar_starts[b]), grid.bar_length(b)
        n = -(-length // MAX_BAR_LENGTH)
        cuts = [round(k * length / n) for k in range(n)]
        if length % 8 == 0:
            beat_cuts = [8 * round(k * length / n / 8) for k in range(n)]
            if all(0 < hi - lo <= MAX_BAR_LENGTH for lo, hi in zip(beat_cuts, beat_cuts[1:] + [length], strict=True)):
                cuts = beat_cuts
        starts += [start + c for c in cuts]
        bars += [b] * n
    return np.asarray(starts, dtype=np.int64), np.asarray(bars, dtype=np.int64)


def note_positions(grid: BeatGrid, ticks: np.ndarray) -> np.ndarray:
    """Onset positions of note-on ticks with exactly ``quantise_notes``' rounding (used to find a note's row)."""
    first_valid = int(np.ceil(float(grid.tick_to_position(0)) - 1e-6))
    pos = np.asarray(grid.tick_to_position(np.asarray(ticks, dtype=np.float64)), dtype=np.float64)
    return np.maximum(np.floor(pos + 0.5).astype(np.int64), first_valid)


def score_categories(score: Score) -> tuple[str, ...]:
    """Per-track categories with melody detection when ``engine.analysis.melody`` is available."""
    try:
        from engine.analysis.melody import assign_categories
    except ImportError:  # not written yet: name/program rules only
        return tuple(track_category(t) for t in score.tracks)
    return tuple(assign_categories(score))


def score_chords(score: Score, grid: BeatGrid) -> list[ChordLabel]:
    """The chords ``encode`` uses for ``score``: its labels, else detected ones (empty without a detector).

    ``infill`` takes them once per request and passes them to every window it encodes."""
    return _score_chords(score, grid)[0]


def _notes_near(score: Score, grid: BeatGrid, first_bar: int, end_bar: int) -> Score:
    """``score`` with only the notes starting within one bar of grid bars [first_bar, end_bar): the notes
    that can quantise into those bars (rounding moves an onset by at most half a 32nd), so quantising this
    view and keeping the bars' onsets gives what quantising the whole song gives, at the window's cost."""
    lo = float(grid.position_to_tick(grid.bar_starts[first_bar - 1])) if first_bar >= 2 else float("-inf")
    hi = float(grid.position_to_tick(grid.bar_starts[end_bar + 1])) if end_bar + 1 < grid.n_bars else float("inf")
    tracks = [replace(t, notes=[n for n in t.notes if lo <= n.start < hi]) for t in score.tracks]
    return replace(score, tracks=tracks)


def _score_chords(score: Score, grid: BeatGrid) -> tuple[list[ChordLabel], str]:
    if score.chords:
        return list(score.chords), "score"
    try:
        from engine.analysis.chords import detect_chords
    except ImportError:
        return [], "none (engine.analysis.chords is not available)"
    return list(detect_chords(score, grid)), "detected"


def _chord_changes(chords: list[ChordLabel], grid: BeatGrid, report: EncodeReport) -> tuple[np.ndarray, np.ndarray]:
    """Piecewise-constant chord track on positions: (change positions, chord token from there on).

    Gaps between labels are N.C.; a label starting where another ends wins over that end.
    """
    events: list[tuple[int, int, int]] = []  # (position, priority, token): starts override ends
    for c in chords:
        s, e = (int(p) for p in note_positions(grid, np.asarray([c.start, c.end])))
        if e <= s:
            continue
        if c.root is None:
            tok = NO_CHORD
        elif c.quality in QUALITY_NAMES:
            tok = chord_token(c.root, c.quality)
        else:
            report.n_unknown_chords += 1
            tok = NO_CHORD
        events += [(e, 0, NO_CHORD), (s, 1, tok)]
    events.sort()
    pos: list[int] = []
    tok: list[int] = []
    for p, _, t in events:
        if pos and pos[-1] == p:
            tok[-1] = t
        else:
            pos.append(p)
            tok.append(t)
    return np.asarray(pos, dtype=np.int64), np.asarray(tok, dtype=np.int64)


def _chord_at(change_pos: np.ndarray, change_tok: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Chord token sounding at each position (N.C. before the first label)."""
    if len(change_tok) == 0:
        return np.full(len(positions), NO_CHORD, dtype=np.int64)
    idx = np.searchsorted(change_pos, positions, side="right") - 1
    return np.where(idx >= 0, change_tok[np.maximum(idx, 0)], NO_CHORD)


def encode(
    score: Score,
    bars: tuple[int, int] | None = None,
    *,
    grid: BeatGrid | None = None,
    categories: tuple[str, ...] | list[str] | None = None,
    chords: list[ChordLabel] | None = None,
) -> SAEncoding:
    """Encode grid bars ``bars = (first, end)`` (default: all) of ``score`` as an SA table.

    ``categories`` (per track) and ``chords`` override melody/chord detection, e.g. when the editor
    already knows them; ``grid`` defaults to the score's own beat grid.
    """
    grid = grid if grid is not None else beat_grid(score)
    first_bar, end_bar = bars if bars is not None else (0, grid.n_bars)
    if not 0 <= first_bar < end_bar <= grid.n_bars:
        raise RepresentationError(f"bars {first_bar}-{end_bar} are outside the song's {grid.n_bars} bars")
    cats = tuple(categories) if categories is not None else score_categories(score)
    if len(cats) != len(score.tracks):
        raise RepresentationError(f"{len(cats)} categories given for {len(score.tracks)} tracks")
    report = EncodeReport(n_notes_in=score.n_notes, n_bars=end_bar - first_bar)
    if chords is None:
        chords, report.chord_source = _score_chords(score, grid)
    else:
        report.chord_source = "given"

    near = score if bars is None else _notes_near(score, grid, first_bar, end_bar)
    qnotes, report.quantise = quantise_notes(near, grid)
    seg_start, seg_bar = sa_bars(grid, first_bar, end_bar)
    seg_end = np.append(seg_start[1:], grid.bar_starts[end_bar])
    report.n_bars_split = int(np.count_nonzero(np.bincount(seg_bar - first_bar) > 1))
    lo, hi = int(seg_start[0]), int(seg_end[-1])

    # Note rows: keep what the vocabulary can write, report the rest.
    keep: list[QuantisedNote] = []
    for q in qnotes:
        if not lo <= q.onset < hi:
            if bars is None:
                report.dropped.append((q, "onset outside the grid"))
            continue
        if not PITCH_MIN <= q.pitch <= PITCH_MAX:
            report.dropped.append((q, f"pitch outside {PITCH_MIN}-{PITCH_MAX}"))
            continue
        keep.append(q)
    n = len(keep)
    report.n_encoded = n
    n_track = np.fromiter((q.track for q in keep), dtype=np.int64, count=n)
    n_onset = np.fromiter((q.onset for q in keep), dtype=np.int64, count=n)
    n_pitch = np.fromiter((q.pitch for q in keep), dtype=np.int64, count=n)
    n_dur = np.fromiter((q.duration16 for q in keep), dtype=np.int64, count=n)
    n_vel = np.fromiter((q.velocity for q in keep), dtype=np.int64, count=n)
    n_seg = np.searchsorted(seg_start, n_onset, side="right") - 1
    cat_tok = np.asarray([FIRST_CATEGORY + CATEGORY_INDEX[c] for c in cats] or [0], dtype=np.int64)
    note_rows = np.stack(
        [cat_tok[n_track], FIRST_POS + n_onset - seg_start[n_seg], FIRST_PITCH + n_pitch - PITCH_MIN, _DUR_LOOKUP[n_dur]],
        axis=1,
    ).reshape(n, 4)

    # Chord rows: one per SA bar plus one per mid-bar change.
    change_pos, change_tok = _chord_changes(chords, grid, report)
    bar_chord = _chord_at(change_pos, change_tok, seg_start)
    bar_rows = np.stack(
        [np.full(len(seg_start), CHORD_ROW), np.full(len(seg_start), FIRST_POS), bar_chord, FIRST_BAR_LENGTH + seg_end - seg_start - 1],
        axis=1,
    )
    inside = (change_pos > lo) & (change_pos < hi)
    c_pos, c_tok = change_pos[inside], change_tok[inside]
    c_seg = np.searchsorted(seg_start, c_pos, side="right") - 1
    prev = _chord_at(change_pos, change_tok, c_pos - 1)
    real = (c_tok != prev) & (c_pos != seg_start[c_seg])
    c_pos, c_tok, c_seg = c_pos[real], c_tok[real], c_seg[real]
    report.n_chord_changes = int(len(c_pos))
    change_rows = np.stack(
        [np.full(len(c_pos), CHORD_ROW), FIRST_POS + c_pos - seg_start[c_seg], c_tok, np.full(len(c_pos), CHANGE)], axis=1
    ).reshape(-1, 4)

    # Interleave by (SA bar, kind, track, onset, pitch).
    nb, nc = len(seg_start), len(c_pos)
    tokens = np.concatenate([bar_rows, change_rows, note_rows]).astype(np.int64)
    seg = np.concatenate([np.arange(nb), c_seg, n_seg])
    kind = np.concatenate([np.zeros(nb), np.ones(nc), np.full(n, 2)]).astype(np.int64)
    track = np.concatenate([np.full(nb + nc, -1), n_track]).astype(np.int64)
    position = np.concatenate([seg_start, c_pos, n_onset]).astype(np.int64)
    pitch = np.concatenate([np.zeros(nb + nc, dtype=np.int64), n_pitch])
    order = np.lexsort((pitch, position, track, kind, seg))
    velocity = np.concatenate([np.zeros(nb + nc, dtype=np.int64), n_vel])

    instruments = np.zeros(N_CATEGORIES, dtype=bool)
    for t in np.unique(n_track):
        instruments[CATEGORY_INDEX[cats[int(t)]]] = True
    return SAEncoding(
        tokens=tokens[order],
        track_of_row=track[order],
        bar_of_row=seg_bar[seg[order]],
        position_of_row=position[order],
        velocity_of_row=velocity[order],
        categories=cats,
        tempo=TEMPO_CLASSES.index(score_tempo_class(score)),
        instruments=instruments,
        grid=grid,
        first_bar=first_bar,
        end_bar=end_bar,
        report=report,
    )
