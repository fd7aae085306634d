"""SA table -> Score: the inverse of ``encode`` on the grid, and the reader of what the model samples.

A model can write any token in any generated cell, so decoding is defensive: a row that does not make
sense (a chord in a note's pitch cell, a PAD or MASK left in a note row, an onset past the bar's end) is
skipped and counted in the ``DecodeReport``, never guessed. Bar rows alone advance time (their
``bar_L`` token gives the length), so a table decodes to the same bars it was encoded from.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from engine.analysis.categories import CATEGORIES, DEFAULT_PROGRAM, track_category
from engine.analysis.chord_vocab import QUALITY_NAMES
from engine.analysis.grid import POSITIONS_PER_BEAT, BeatGrid, beat_grid
from engine.representation.vocab import (
    CHANGE,
    CHORD_ROW,
    DURATIONS_16THS,
    FIRST_BAR_LENGTH,
    FIRST_CATEGORY,
    FIRST_CHORD,
    FIRST_DURATION,
    FIRST_PITCH,
    FIRST_POS,
    MASK,
    NO_CHORD,
    PAD,
    PITCH_MIN,
)
from engine.score import ChordLabel, Note, Score, TimeSignature, Track

DEFAULT_VELOCITY = 90  # generated notes of a track without notes to take a median from


SKIP_REASONS: tuple[str, ...] = (
    "MASK left in a cell",
    "PAD in the instrument cell of a note",
    "PAD in a cell of a note row",
    "note before the first bar row",
    "onset beyond the bar",
    "chord token in a note's pitch cell",
    "bar or change token in a note's duration cell",
    "pitch token in a chord row",
    "chord row without bar length or change",
    "chord change beyond the bar",
)


@dataclass
class DecodeReport:
    n_notes: int = 0  # note rows decoded
    n_pad_rows: int = 0  # empty slots (no note)
    n_chord_rows: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> rows skipped as inconsistent
    n_duplicates: int = 0  # decoded notes dropped because their track already sounds that key at that onset

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())


@dataclass(frozen=True)
class RowNotes:
    """Per-row reading of an SA table (vectorised): what each row means, on absolute 32nd positions."""

    is_note: np.ndarray  # bool [R]: a valid note row
    onset: np.ndarray  # int64 [R]: absolute 32nd position (rows inside a bar; -1 before the first bar row)
    duration16: np.ndarray  # int64 [R] (0 where not a note)
    pitch: np.ndarray  # int64 [R] (0 where not a note)
    category: np.ndarray  # int64 [R]: index into CATEGORIES (-1 where not a note)
    bar_start: np.ndarray  # int64 [R]: start position of the row's SA bar
    bar_length: np.ndarray  # int64 [R]: length of the row's SA bar (0 before the first bar row)
    is_pad: np.ndarray  # bool [R]: an empty slot
    is_chord: np.ndarray  # bool [R]: a valid chord/bar row
    problem: np.ndarray  # int64 [R]: index into SKIP_REASONS of why the row was skipped, -1 if it was not

    def report(self, rows: np.ndarray | None = None) -> DecodeReport:
        """Counts over all rows, or over the rows selected by the bool mask ``rows``."""
        sel = np.ones(len(self.is_note), dtype=bool) if rows is None else rows
        problems = self.problem[sel & (self.problem >= 0)]
        return DecodeReport(
            n_notes=int((self.is_note & sel).sum()),
            n_pad_rows=int((self.is_pad & sel).sum()),
            n_chord_rows=int((self.is_chord & sel).sum()),
            skipped=Counter({SKIP_REASONS[k]: int(v) for k, v in enumerate(np.bincount(problems, minlength=len(SKIP_REASONS))) if v}),
        )


def read_rows(tokens: np.ndarray, start_position: int = 0) -> tuple[RowNotes, DecodeReport]:
    """Interpret every row of ``tokens`` [R, 4]; the first bar row starts at ``start_position``."""
    t = np.asarray(tokens, dtype=np.int64).reshape(-1, 4)
    c0, c1, c2, c3 = t.T
    is_bar = (c0 == CHORD_ROW) & (c3 >= FIRST_BAR_LENGTH)
    lengths = c3[is_bar] - FIRST_BAR_LENGTH + 1
    seg = np.cumsum(is_bar) - 1
    starts = start_position + np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    has_bar = seg >= 0
    bar_start = np.where(has_bar, starts[np.maximum(seg, 0)] if len(starts) else 0, 0)
    bar_length = np.where(has_bar, lengths[np.maximum(seg, 0)] if len(lengths) else 0, 0)

    pad = (c1 == PAD) & (c2 == PAD) & (c3 == PAD) & (c0 != CHORD_ROW)  # an empty slot, instrument cell or not
    chord = c0 == CHORD_ROW
    note = c0 >= FIRST_CATEGORY
    pos = c1 - FIRST_POS
    pitch = c2 - FIRST_PITCH + PITCH_MIN
    dur_idx = c3 - FIRST_DURATION
    checks = [  # in the order of SKIP_REASONS: the first failing check is the reason
        (t == MASK).any(axis=1),
        ~pad & ~chord & ~note,
        note & ((c1 == PAD) | (c2 == PAD) | (c3 == PAD)),
        note & ~has_bar,
        note & ((c1 < FIRST_POS) | (pos >= bar_length)),
        note & ((c2 < FIRST_PITCH) | (c2 >= FIRST_CHORD)),
        note & ((dur_idx < 0) | (dur_idx >= len(DURATIONS_16THS))),
        chord & ((c2 < FIRST_CHORD) | (c2 > NO_CHORD)),
        chord & ~is_bar & (c3 != CHANGE),
        chord & ((c1 < FIRST_POS) | ((pos >= bar_length) & ~is_bar)),
    ]
    problem = np.full(len(t), -1, dtype=np.int64)
    for k, mask in enumerate(checks):
        problem[mask & (problem < 0) & ~pad] = k
    bad = problem >= 0
    is_note = note & ~bad & ~pad
    durations = np.asarray(DURATIONS_16THS, dtype=np.int64)
    rows = RowNotes(
        is_note=is_note,
        onset=np.where(has_bar, bar_start + pos, -1),
        duration16=np.where(is_note, durations[np.clip(dur_idx, 0, len(durations) - 1)], 0),
        pitch=np.where(is_note, pitch, 0),
        category=np.where(is_note, c0 - FIRST_CATEGORY, -1),
        bar_start=bar_start,
        bar_length=bar_length,
        is_pad=pad,
        is_chord=chord & ~bad,
        problem=problem,
    )
    return rows, rows.report()


def grid_from_bar_lengths(tokens: np.ndarray, ticks_per_beat: int = 480) -> BeatGrid:
    """A plain grid (one beat = ``ticks_per_beat``) whose bars are the table's bar rows, from position 0."""
    t = np.asarray(tokens).reshape(-1, 4)
    lengths = t[(t[:, 0] == CHORD_ROW) & (t[:, 3] >= FIRST_BAR_LENGTH), 3] - FIRST_BAR_LENGTH + 1
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64) if len(lengths) else np.asarray([0, 32])
    n_beats = int(starts[-1]) // POSITIONS_PER_BEAT + 2
    return BeatGrid(np.arange(n_beats, dtype=np.int64) * ticks_per_beat, starts)


def time_signatures_of(grid: BeatGrid) -> list[TimeSignature]:
    """Time signatures that rebuild ``grid``'s bars (a new one wherever the bar length changes)."""
    out: list[TimeSignature] = []
    for b in range(grid.n_bars):
        length = grid.bar_length(b)
        num, den = (length // 8, 4) if length % 8 == 0 else (length // 4, 8) if length % 4 == 0 else (length, 32)
        if not out or (out[-1].numerator, out[-1].denominator) != (num, den):
            out.append(TimeSignature(int(grid.position_to_tick(grid.bar_starts[b])), num, den))
    return out


def _median_velocity(track: Track | None) -> int:
    if track is None or not track.notes:
        return DEFAULT_VELOCITY
    return int(np.median([n.velocity for n in track.notes]))


def new_track(category: str) -> Track:
    """The track a generated instrument gets: its category's default program, drums on the drum channel."""
    return Track(
        name=category.replace("_", " ").title(),
        program=DEFAULT_PROGRAM[category],
        is_drum=category == "DRUMS",
        category=category,
        generated=True,
    )


def decode_with_report(
    tokens: np.ndarray,
    track_of_row: np.ndarray | None,
    template: Score | None,
    start_bar: int = 0,
    grid: BeatGrid | None = None,
    *,
    velocity_of_row: np.ndarray | None = None,
    categories: tuple[str, ...] | list[str] | None = None,
) -> tuple[Score, DecodeReport]:
    """Rebuild a Score from SA rows that start at grid bar ``start_bar`` of ``template``.

    Rows with a track index go to that template track; rows with -1 (generated) go to the first
    template track of their category (``categories`` per template track, default from the tracks),
    else to a new track of that category. Velocities come from ``velocity_of_row`` where it is > 0,
    else the median velocity of the target track (90 for a new track). The result keeps the template's
    tempos, time signatures, beats and chords; its tracks hold only the decoded notes.
    """
    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1, 4)
    r = len(tokens)
    if template is not None and grid is None:
        grid = beat_grid(template)  # past its end it continues its last beat length, like a rebuilt grid would
    tpb = template.ticks_per_beat if template is not None else 480
    if grid is None:  # no template: the bar rows themselves define the bars, from tick 0
        grid = grid_from_bar_lengths(tokens, tpb)
        start_bar = 0
    start_position = int(grid.bar_starts[min(start_bar, grid.n_bars)])
    rows, report = read_rows(tokens, start_position)

    if template is not None:
        out = template.copy()
        for track in out.tracks:
            track.notes = []
        cats = list(categories) if categories is not None else [track_category(t) for t in template.tracks]
        medians = [_median_velocity(t) for t in template.tracks]
    else:
        out = Score(ticks_per_beat=tpb, tracks=[], time_signatures=time_signatures_of(grid) or [TimeSignature(0, 4, 4)])
        cats, medians = [], []
    by_category: dict[str, int] = {}
    for i, c in enumerate(cats):
        by_category.setdefault(c, i)

    idx = np.flatnonzero(rows.is_note)
    onsets = rows.onset[idx]
    start_ticks = np.asarray(grid.position_to_tick(onsets)).reshape(-1)
    end_ticks = np.asarray(grid.position_to_tick(onsets + 2 * rows.duration16[idx])).reshape(-1)
    rows_track = np.full(r, -1, dtype=np.int64) if track_of_row is None else np.asarray(track_of_row, dtype=np.int64)
    vel = np.zeros(r, dtype=np.int64) if velocity_of_row is None else np.asarray(velocity_of_row, dtype=np.int64)
    seen: set[tuple[int, int, int]] = set()
    for i, s, e in zip(idx.tolist(), start_ticks.tolist(), end_ticks.tolist(), strict=True):
        ti = int(rows_track[i])
        category = CATEGORIES[int(rows.category[i])]
        if not 0 <= ti < len(out.tracks) or ti >= len(cats):
            ti = by_category.get(category, -1)
            if ti < 0:
                out.tracks.append(new_track(category))
                cats.append(category)
                medians.append(DEFAULT_VELOCITY)
                ti = by_category[category] = len(out.tracks) - 1
        pitch = int(rows.pitch[i])
        if (ti, s, pitch) in seen:
            report.n_duplicates += 1
            continue
        seen.add((ti, s, pitch))
        velocity = int(vel[i]) if vel[i] > 0 else medians[ti]
        out.tracks[ti].notes.append(Note(int(s), max(int(e), int(s) + 1), pitch, velocity))
    for track in out.tracks:
        track.notes.sort(key=lambda n: (n.start, n.pitch, n.end))
    return out, report


def decode(
    tokens: np.ndarray,
    track_of_row: np.ndarray | None,
    template: Score | None,
    start_bar: int = 0,
    grid: BeatGrid | None = None,
    *,
    velocity_of_row: np.ndarray | None = None,
    categories: tuple[str, ...] | list[str] | None = None,
) -> Score:
    """``decode_with_report`` without the report."""
    return decode_with_report(
        tokens, track_of_row, template, start_bar, grid, velocity_of_row=velocity_of_row, categories=categories
    )[0]


def decode_chords(tokens: np.ndarray, grid: BeatGrid, start_bar: int = 0) -> list[ChordLabel]:
    """The chord labels of a table's chord rows (repeats merged, N.C. spans left out), in ticks of ``grid``."""
    t = np.asarray(tokens, dtype=np.int64).reshape(-1, 4)
    start_position = int(grid.bar_starts[min(start_bar, grid.n_bars)])
    rows, _ = read_rows(t, start_position)
    valid = (t[:, 0] == CHORD_ROW) & (t[:, 2] >= FIRST_CHORD) & (t[:, 2] <= NO_CHORD) & (rows.bar_length > 0)
    valid &= (t[:, 3] >= FIRST_BAR_LENGTH) | (t[:, 3] == CHANGE)
    idx = np.flatnonzero(valid)
    is_bar = t[:, 3] >= FIRST_BAR_LENGTH
    end = int(rows.bar_start[is_bar][-1] + rows.bar_length[is_bar][-1]) if is_bar.any() else start_position
    spans: list[tuple[int, int, int]] = []  # (start, end, token)
    for k, i in enumerate(idx.tolist()):
        pos = int(rows.onset[i])
        stop = int(rows.onset[idx[k + 1]]) if k + 1 < len(idx) else end
        if spans and spans[-1][2] == t[i, 2]:
            spans[-1] = (spans[-1][0], stop, spans[-1][2])
        elif stop > pos:
            spans.append((pos, stop, int(t[i, 2])))
    labels = []
    for s, e, tok in spans:
        if tok == NO_CHORD:
            continue
        root, q = divmod(tok - FIRST_CHORD, len(QUALITY_NAMES))
        labels.append(ChordLabel(int(grid.position_to_tick(s)), int(grid.position_to_tick(e)), root, QUALITY_NAMES[q]))
    return labels
