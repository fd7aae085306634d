"""Mask specs: what the editor's selection (bars x tracks x attributes) turns into for the model.

One builder, ``build_problem``, makes every example the model ever sees: the editor's infill problems
(``build_infill_problem``) and the random training masks (``training_masks``) differ only in the
selection and in what fills the generated cells (MASK at inference, the real notes + PAD slots in
training). So whatever a user selects is a mask the model was trained on.

Regenerating a region ('all') removes the selected tracks' notes in the selected bars and puts K blank
slot rows per (SA bar, track) in their place; only their instrument cell is given (the user chose the
instrument), the model fills onset, pitch and duration, and leaves surplus slots PAD (= no note).
'pitch' and 'rhythm' keep the rows and regenerate only those cells. Locked notes and chord/bar rows are
always given. Rows are ordered as in ``encode``: chord rows, then track blocks in score order, new
tracks last; within a block, locked notes first and then the slots.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from engine.analysis.categories import CATEGORY_INDEX
from engine.analysis.grid import POSITIONS_PER_BEAT, BeatGrid
from engine.errors import RepresentationError
from engine.representation.encode import SAEncoding, note_positions
from engine.representation.example import SAExample
from engine.representation.vocab import (
    CHANGE,
    CHORD_ROW,
    FIRST_BAR_LENGTH,
    FIRST_CATEGORY,
    FIRST_PITCH,
    FIRST_POS,
    MASK,
    PAD,
    PITCH_MIN,
)
from engine.representation.windows import make_example

Attributes = Literal["all", "pitch", "rhythm"]
# Cells generated per mode, for rows that are kept (pitch/rhythm) or blank slots (all).
_GENERATED: dict[str, tuple[bool, bool, bool, bool]] = {
    "all": (False, True, True, True),
    "pitch": (False, False, True, False),
    "rhythm": (False, True, False, True),
}
# Typical note rows per 4/4 bar of a track of each category: the slot count for a new track.
CATEGORY_SLOTS: dict[str, int] = {
    "MELODY": 8, "PIANO": 16, "CHROMATIC_PERCUSSION": 8, "ORGAN": 8, "ACOUSTIC_GUITAR": 12,
    "ELECTRIC_GUITAR": 12, "BASS": 8, "STRINGS": 6, "ENSEMBLE": 6, "BRASS": 6, "REED": 8, "PIPE": 8,
    "SYNTH_LEAD": 8, "SYNTH_PAD": 6, "SYNTH_EFFECTS": 4, "ETHNIC": 8, "DRUMS": 16, "SOUND_EFFECTS": 4,
}  # fmt: skip
MIN_SLOTS, MAX_SLOTS = 4, 48
SLOT_MARGIN = 1.25  # slots per bar = this x the track's mean rows per (non-empty) bar in the context
CONTEXT_FRACTION = 0.25  # share of a window that split_selection keeps for context
THIN_NEAR_BARS = 1  # with thin_beyond: bars this close to the selection keep every track


@dataclass(frozen=True)
class Selection:
    """The editor's selection: grid bars [start_bar, end_bar) x tracks, and what to regenerate there."""

    start_bar: int
    end_bar: int  # exclusive
    tracks: tuple[int, ...] | None = None  # score track indices; None = every track
    attributes: Attributes = "all"
    new_tracks: tuple[str, ...] = ()  # categories of tracks to add (they become tracks n_tracks, n_tracks+1, ...)
    locked_notes: frozenset[tuple[int, int, int]] = frozenset()  # (track, start tick, pitch) kept as they are
    # Regenerate the chords of the selected bars too (reharmonise, or a band for a melody with no chords
    # to detect): each SA bar's chord and one chord from its middle beat are sampled (chord_slot_rows).
    chords: bool = False


@dataclass
class InfillProblem:
    """An SAExample to sample plus the bookkeeping ``apply_infill`` needs to map rows back."""

    example: SAExample
    track_of_row: np.ndarray  # int64 [R]: score track (-1 chord rows, n_tracks + i for new track i)
    bar_of_row: np.ndarray  # int64 [R]: grid bar
    velocity_of_row: np.ndarray  # int64 [R]: velocity of kept rows, 0 for slots
    source_row: np.ndarray  # int64 [R]: row of the encoding, -1 for slots
    selection: Selection
    tracks: tuple[int, ...]  # selected tracks (existing and new), resolved
    categories: tuple[str, ...]  # per track, new tracks included
    n_tracks: int  # tracks of the encoded score
    window_start_bar: int
    window_end_bar: int
    grid: BeatGrid
    truncated_rows: int = 0  # rows cut off because one bar alone exceeds max_rows
    slots: dict[int, int] = field(default_factory=dict)  # slots per SA bar per track ('all' only)

    @property
    def generated_rows(self) -> np.ndarray:
        return ~self.example.given.all(axis=1)


def segments(encoding: SAEncoding) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each SA bar + n_rows at the end, SA bar of each row)."""
    t = encoding.tokens
    is_bar = (t[:, 0] == CHORD_ROW) & (t[:, 3] >= FIRST_BAR_LENGTH)
    rows = np.append(np.flatnonzero(is_bar), encoding.n_rows).astype(np.int64)
    return rows, np.cumsum(is_bar) - 1


def resolve_selection(encoding: SAEncoding, selection: Selection) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Selected track indices (new tracks numbered after the existing ones) and categories per track."""
    n = encoding.n_tracks
    if not encoding.first_bar <= selection.start_bar < selection.end_bar <= encoding.end_bar:
        raise RepresentationError(
            f"bars {selection.start_bar + 1}-{selection.end_bar} are outside the encoded bars "
            f"{encoding.first_bar + 1}-{encoding.end_bar}"
        )
    if selection.attributes not in _GENERATED:
        raise RepresentationError(f"unknown attributes {selection.attributes!r}: use 'all', 'pitch' or 'rhythm'")
    if selection.new_tracks and selection.attributes != "all":
        raise RepresentationError("new instruments can only be generated in full ('all'), not pitch or rhythm alone")
    for c in selection.new_tracks:
        if c not in CATEGORY_INDEX:
            raise RepresentationError(f"unknown instrument category {c!r}")
    tracks = tuple(range(n)) if selection.tracks is None else tuple(sorted(set(selection.tracks)))
    if any(not 0 <= t < n for t in tracks):
        raise RepresentationError(f"track numbers {tracks} do not all exist (the song has {n} tracks)")
    tracks += tuple(range(n, n + len(selection.new_tracks)))
    return tracks, tuple(encoding.categories) + tuple(selection.new_tracks)


def locked_rows(encoding: SAEncoding, selection: Selection) -> np.ndarray:
    """bool [R]: rows of the encoding that are locked notes (matched by track, quantised onset, pitch)."""
    out = np.zeros(encoding.n_rows, dtype=bool)
    if not selection.locked_notes:
        return out
    locked = list(selection.locked_notes)
    pos = note_positions(encoding.grid, np.asarray([t for _, t, _ in locked]))
    keys = {(tr, int(p), pitch) for (tr, _, pitch), p in zip(locked, pos.tolist(), strict=True)}
    pitch = encoding.tokens[:, 2] - FIRST_PITCH + PITCH_MIN
    for i in np.flatnonzero(encoding.track_of_row >= 0).tolist():
        if (int(encoding.track_of_row[i]), int(encoding.position_of_row[i]), int(pitch[i])) in keys:
            out[i] = True
    return out


def estimate_slots(encoding: SAEncoding, track: int, selection: Selection, category: str | None = None) -> int:
    """Slots per SA bar for a regenerated track: 1.25 x its mean rows per non-empty bar outside the
    selection, within [MIN_SLOTS, MAX_SLOTS]; a track silent there (or new) gets its category's typical count."""
    if track < encoding.n_tracks:
        _, seg_of_row = segments(encoding)
        outside = (encoding.track_of_row == track) & (
            (encoding.bar_of_row < selection.start_bar) | (encoding.bar_of_row >= selection.end_bar)
        )
        counts = np.bincount(seg_of_row[outside])
        counts = counts[counts > 0]
        if len(counts):
            return int(np.clip(np.ceil(SLOT_MARGIN * counts.mean()), MIN_SLOTS, MAX_SLOTS))
        category = category or encoding.categories[track]
    return CATEGORY_SLOTS.get(category or "PIANO", 8)


def _slot_counter(encoding: SAEncoding, selection: Selection, tracks: tuple[int, ...], cats: tuple[str, ...],
                  slots_per_bar: dict[int, int] | None,
                  slot_floor: dict[tuple[int, int], int] | None = None) -> Callable[[int, int], int]:
    """``slot_count(sa_bar, track)``: the track's slots per bar, at least ``slot_floor[(track, grid bar)]``
    (at most MAX_SLOTS)."""
    given = slots_per_bar or {}
    per_track = {t: given[t] if t in given else estimate_slots(encoding, t, selection, cats[t]) for t in tracks}
    if not slot_floor:
        return lambda seg, track: per_track[track]
    seg_rows, _ = segments(encoding)
    seg_bar = encoding.bar_of_row[seg_rows[:-1]].tolist()
    floor = slot_floor
    return lambda seg, track: max(per_track[track], min(floor.get((track, seg_bar[seg]), 0), MAX_SLOTS))


def _bar_counts(encoding: SAEncoding, selection: Selection, tracks: tuple[int, ...], locked: np.ndarray,
                slot_count: Callable[[int, int], int]) -> np.ndarray:
    """Rows per grid bar (first_bar..end_bar) once the selection's rows are replaced by slots."""
    seg_rows, seg_of_row = segments(encoding)
    base = np.diff(np.searchsorted(encoding.bar_of_row, np.arange(encoding.first_bar, encoding.end_bar + 1)))
    if selection.attributes != "all":
        return base
    in_sel = (encoding.bar_of_row >= selection.start_bar) & (encoding.bar_of_row < selection.end_bar)
    removed = in_sel & np.isin(encoding.track_of_row, tracks) & ~locked
    counts = base - np.bincount(encoding.bar_of_row[removed] - encoding.first_bar, minlength=len(base))
    seg_bar = encoding.bar_of_row[seg_rows[:-1]]
    for k in np.flatnonzero((seg_bar >= selection.start_bar) & (seg_bar < selection.end_bar)).tolist():
        counts[seg_bar[k] - encoding.first_bar] += sum(slot_count(k, t) for t in tracks)
    return counts


def _far_bars(n: int, s: int, e: int, near: int) -> np.ndarray:
    """bool [n]: bar offsets more than ``near`` bars away from the selection [s, e)."""
    off = np.arange(n)
    return (off < s - near) | (off >= e + near)


def _bar_counts_of(encoding: SAEncoding, tracks: tuple[int, ...]) -> np.ndarray:
    """Rows per grid bar when only the chord/bar rows and ``tracks``' notes are kept."""
    rows = (encoding.track_of_row < 0) | np.isin(encoding.track_of_row, tracks)
    return np.bincount(encoding.bar_of_row[rows] - encoding.first_bar, minlength=encoding.end_bar - encoding.first_bar)


def _window(counts: np.ndarray, s: int, e: int, max_rows: int) -> tuple[int, int]:
    """Grow [s, e) (bar offsets) one bar before, one after, ... while the total fits: balanced context."""
    total = int(counts[s:e].sum())
    grown = True
    while grown:
        grown = False
        if s > 0 and total + counts[s - 1] <= max_rows:
            s, total, grown = s - 1, total + int(counts[s - 1]), True
        if e < len(counts) and total + counts[e] <= max_rows:
            e, total, grown = e + 1, total + int(counts[e]), True
    return s, e


_CHORD_CELL_GENERATED = np.asarray([True, True, False, True])  # given cells of a regenerated chord row


def chord_slot_rows(tokens: np.ndarray, targets: bool) -> np.ndarray:
    """The chord rows of one SA bar whose chords are regenerated: [bar row, middle-beat change row].

    ``tokens`` are the bar's chord rows as encoded (its bar row first, then its mid-bar changes). The
    model writes at most two chords a bar, on its first beat and on the beat at its middle (beat 3 of 4/4,
    beat 2 of 3/4), the resolution of POP909's annotations for most songs; a bar of one beat gets no change
    row. With ``targets`` the chord cells hold the chords sounding there (training), else MASK.
    Returns int64 [1 or 2, 4].
    """
    bar = tokens[0].copy()
    length = int(bar[3] - FIRST_BAR_LENGTH + 1)
    half = (length // POSITIONS_PER_BEAT // 2) * POSITIONS_PER_BEAT
    rows = [bar]
    if half > 0:
        at_half = bar[2]
        for row in tokens[1:]:
            if row[3] == CHANGE and row[1] - FIRST_POS <= half:
                at_half = row[2]
        rows.append(np.asarray([CHORD_ROW, FIRST_POS + half, at_half, CHANGE], dtype=np.int64))
    out = np.stack(rows).astype(np.int64)
    if not targets:
        out[:, 2] = MASK
    return out


def build_problem(
    encoding: SAEncoding,
    selection: Selection,
    slot_count: Callable[[int, int], int] | None,
    max_rows: int,
    *,
    targets: bool = False,
    slots_per_bar: dict[int, int] | None = None,
    thin_beyond: int | None = None,
    keep_selected: bool = False,
    slot_floor: dict[tuple[int, int], int] | None = None,
) -> InfillProblem:
    """The shared builder. ``slot_count(sa_bar, track)`` gives the slots of a regenerated (bar, track)
    (default: ``slots_per_bar`` or ``estimate_slots``, and at least ``slot_floor[(track, grid bar)]``:
    the notes of the part's repeat there, repeats.seed_slot_floor). With ``targets`` the slots hold the real notes
    followed by PAD rows (training); without, MASK (inference). With ``thin_beyond`` = n, bars more than
    n bars from the selection keep only the chord rows and the selected tracks' rows: a 256-row window of a
    POP909 + MMA song (about six parts, 45 rows a bar) holds about five bars, so a 4-bar span saw under two
    bars of its own part before it, while a pop part typically repeats from four or eight bars back.
    When one bar alone exceeds ``max_rows``, the rows past it are cut; with ``keep_selected`` (the editor
    path) other tracks' rows go first, so the selected tracks keep their rows and slots."""
    tracks, cats = resolve_selection(encoding, selection)
    locked = locked_rows(encoding, selection)
    if slot_count is None:
        slot_count = _slot_counter(encoding, selection, tracks, cats, slots_per_bar, slot_floor)
    counts = _bar_counts(encoding, selection, tracks, locked, slot_count)
    s, e = selection.start_bar - encoding.first_bar, selection.end_bar - encoding.first_bar
    far = np.zeros(len(counts), dtype=bool)
    if thin_beyond is not None:
        far = _far_bars(len(counts), s, e, thin_beyond)
        counts = np.where(far, _bar_counts_of(encoding, tracks), counts)
    if counts[s:e].sum() > max_rows and e - s > 1:
        raise RepresentationError(
            f"bars {selection.start_bar + 1}-{selection.end_bar} need {int(counts[s:e].sum())} rows, more than "
            f"the model's {max_rows}: split the selection (split_selection) and infill the parts in turn"
        )
    ws, we = _window(counts, s, e, max_rows)
    seg_rows, _ = segments(encoding)
    seg_bar = encoding.bar_of_row[seg_rows[:-1]]
    generated = np.asarray(_GENERATED[selection.attributes])
    sel_tracks = set(tracks)
    tok_parts: list[np.ndarray] = []
    given_parts: list[np.ndarray] = []
    meta_parts: list[np.ndarray] = []  # [track, bar, velocity, source] per row
    slots_used: dict[int, int] = {}

    def keep(idx: np.ndarray, given_row: np.ndarray) -> None:
        tok_parts.append(encoding.tokens[idx])
        given_parts.append(np.broadcast_to(given_row, (len(idx), 4)))
        meta_parts.append(np.stack([encoding.track_of_row[idx], encoding.bar_of_row[idx], encoding.velocity_of_row[idx], idx], 1))

    def blank(n: int, track: int, bar: int, real: np.ndarray) -> None:
        cat = FIRST_CATEGORY + CATEGORY_INDEX[cats[track]]
        tok = np.full((n, 4), MASK if not targets else PAD, dtype=np.int64)
        if targets:
            m = min(n, len(real))
            tok[:m] = encoding.tokens[real[:m]]
        tok[:, 0] = cat
        tok_parts.append(tok)
        given_parts.append(np.broadcast_to(~generated, (n, 4)))
        meta_parts.append(np.tile(np.asarray([track, bar, 0, -1], dtype=np.int64), (n, 1)))

    all_given = np.ones(4, dtype=bool)
    order = list(range(encoding.n_tracks)) + list(range(encoding.n_tracks, len(cats)))
    for k in np.flatnonzero((seg_bar >= ws + encoding.first_bar) & (seg_bar < we + encoding.first_bar)).tolist():
        lo, hi = int(seg_rows[k]), int(seg_rows[k + 1])
        bar = int(seg_bar[k])
        idx = np.arange(lo, hi)
        tr = encoding.track_of_row[lo:hi]
        selected_bar = selection.start_bar <= bar < selection.end_bar
        if selection.chords and selected_bar:
            rows_c = chord_slot_rows(encoding.tokens[idx[tr < 0]], targets)
            tok_parts.append(rows_c)
            given_parts.append(np.broadcast_to(_CHORD_CELL_GENERATED, (len(rows_c), 4)))
            src = np.full(len(rows_c), -1, dtype=np.int64)
            src[0] = idx[tr < 0][0]
            meta_parts.append(np.stack([np.full(len(rows_c), -1), np.full(len(rows_c), bar), np.zeros(len(rows_c), np.int64), src], 1))
        else:
            keep(idx[tr < 0], all_given)
        for t in order:
            rows_t = idx[tr == t]
            if not (selected_bar and t in sel_tracks):
                if t in sel_tracks or not far[bar - encoding.first_bar]:
                    keep(rows_t, all_given)
                continue
            keep(rows_t[locked[rows_t]], all_given)
            free = rows_t[~locked[rows_t]]
            if selection.attributes == "all":
                n = int(slot_count(k, t))
                slots_used[t] = n
                blank(n, t, bar, free)
            else:
                keep(free, ~generated)

    tokens = np.concatenate(tok_parts).astype(np.int64)
    given = np.concatenate(given_parts).astype(bool)
    meta = np.concatenate(meta_parts).astype(np.int64)
    truncated = max(0, len(tokens) - max_rows)
    if truncated and keep_selected:
        # One bar alone is over-full (a 100-track song): cut the other tracks' rows, last first, so the
        # selected tracks' rows and slots stay; cutting the tail instead left a late track no slot at all.
        essential = (meta[:, 0] < 0) | np.isin(meta[:, 0], tracks)
        spare = np.flatnonzero(~essential)
        keep_rows = np.ones(len(tokens), dtype=bool)
        keep_rows[spare[max(len(spare) - truncated, 0):]] = False
        tokens, given, meta = tokens[keep_rows], given[keep_rows], meta[keep_rows]
    tokens, given, meta = tokens[:max_rows], given[:max_rows], meta[:max_rows]
    example = make_example(tokens, given, meta[:, 0], meta[:, 1], ws + encoding.first_bar, encoding.tempo, cats)
    return InfillProblem(
        example=example,
        track_of_row=meta[:, 0],
        bar_of_row=meta[:, 1],
        velocity_of_row=meta[:, 2],
        source_row=meta[:, 3],
        selection=selection,
        tracks=tracks,
        categories=cats,
        n_tracks=encoding.n_tracks,
        window_start_bar=ws + encoding.first_bar,
        window_end_bar=we + encoding.first_bar,
        grid=encoding.grid,
        truncated_rows=truncated,
        slots=slots_used,
    )


def build_infill_problem(
    encoding: SAEncoding, selection: Selection, slots_per_bar: dict[int, int] | None = None, max_rows: int = 256,
    thin_context: bool = False, slot_floor: dict[tuple[int, int], int] | None = None,
) -> InfillProblem:
    """The editor path: the example to sample for ``selection`` with as much balanced context as fits.

    ``slots_per_bar`` maps a track (new track i: ``n_tracks + i``) to its slots per bar; missing tracks
    get ``estimate_slots``; ``slot_floor`` gives (track, grid bar) at least that many (the notes of its
    repeat, repeats.seed_slot_floor). ``thin_context``: bars more than THIN_NEAR_BARS from the selection keep only
    the selected tracks, so the window reaches further back and ahead into the parts being regenerated
    (for models trained with TrainConfig.thin_context). Raises RepresentationError when the selection
    alone needs more than ``max_rows`` rows; use ``split_selection`` then.
    """
    return build_problem(encoding, selection, None, max_rows, slots_per_bar=slots_per_bar,
                         thin_beyond=THIN_NEAR_BARS if thin_context else None, keep_selected=True,
                         slot_floor=slot_floor)


def context_bars(
    encoding: SAEncoding, selection: Selection, max_rows: int = 256, thin_context: bool = False,
) -> tuple[int, int]:
    """Grid bars [first, end) that hold every window ``build_infill_problem`` can choose for ``selection``
    on any song equal to the encoded one except in the selected tracks' notes (the earlier parts of one
    request change only those), so ``encode(song, bars=...)`` of just these bars gives the same problem.

    A window holds at most ``max_rows`` rows, and each bar holds at least its chord/bar rows plus, unless
    thinned away, the rows of the tracks not selected; the bars are those whose lower bounds, summed
    from the selection outwards, still fit."""
    tracks = tuple(range(encoding.n_tracks)) if selection.tracks is None else selection.tracks  # new ones have no rows
    n = encoding.end_bar - encoding.first_bar
    bar = encoding.bar_of_row - encoding.first_bar
    always = np.bincount(bar[encoding.track_of_row < 0], minlength=n)
    others = np.bincount(bar[(encoding.track_of_row >= 0) & ~np.isin(encoding.track_of_row, tracks)], minlength=n)
    s, e = selection.start_bar - encoding.first_bar, selection.end_bar - encoding.first_bar
    far = _far_bars(n, s, e, THIN_NEAR_BARS) if thin_context else np.zeros(n, dtype=bool)
    low = always + np.where(far, 0, others)
    inside = int(low[s:e].sum())
    left = np.cumsum(low[:s][::-1])  # rows of bars s-1, s-2, ... added one by one
    right = np.cumsum(low[e:])
    first = s - int(np.count_nonzero(inside + left <= max_rows))
    end = e + int(np.count_nonzero(inside + right <= max_rows))
    return first + encoding.first_bar, end + encoding.first_bar


def split_selection(
    encoding: SAEncoding,
    selection: Selection,
    slots_per_bar: dict[int, int] | None = None,
    max_rows: int = 256,
    context_fraction: float = CONTEXT_FRACTION,
    slot_floor: dict[tuple[int, int], int] | None = None,
) -> list[Selection]:
    """Consecutive bar ranges of ``selection``, each small enough to leave ``context_fraction`` of a window
    for context. Infill them in order, each on the score the previous one produced::

        for part in split_selection(encode(score), selection, slots, max_rows):
            problem = build_infill_problem(encode(score), part, slots, max_rows)
            score = apply_infill(score, problem, sample(problem.example))

    Re-encoding makes the bars generated so far the context of the next part. New tracks are added by
    the first part only; later parts select them as tracks ``n_tracks + i``.
    """
    tracks, cats = resolve_selection(encoding, selection)
    slot_count = _slot_counter(encoding, selection, tracks, cats, slots_per_bar, slot_floor)
    counts = _bar_counts(encoding, selection, tracks, locked_rows(encoding, selection), slot_count)
    budget = max(1, int(max_rows * (1.0 - context_fraction)))
    parts: list[Selection] = []
    s = selection.start_bar
    while s < selection.end_bar:
        e, total = s, 0
        while e < selection.end_bar and (e == s or total + counts[e - encoding.first_bar] <= budget):
            total += int(counts[e - encoding.first_bar])
            e += 1
        if not parts:
            parts.append(Selection(s, e, selection.tracks, selection.attributes, selection.new_tracks, selection.locked_notes,
                                   selection.chords))
        else:
            later_tracks = None if selection.tracks is None else tracks
            parts.append(Selection(s, e, later_tracks, selection.attributes, (), selection.locked_notes, selection.chords))
        s = e
    return parts
