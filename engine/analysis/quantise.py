"""Quantisation: every note onto the 32nd-note grid of its song, durations onto the SA duration set.

Onsets are rounded on the song's ``BeatGrid`` rather than on the tick grid, so a file whose beats drift
against the ticks (POP909: performed tempo, beats from ``beat_midi.txt``) lands on musical positions.
Durations are measured on the same grid (end position minus quantised onset) and snapped to
``DURATIONS_16THS``, the set the SA representation can write. The result is idempotent: a quantised
score quantises to itself, so the editor can quantise before encoding without drifting a song that
was already clean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.analysis.grid import BeatGrid, beat_grid
from engine.representation.vocab import DURATIONS_16THS
from engine.score import Note, Score

# A note "moved" when its onset was further than this from the nearest 32nd (in 32nds: a 128th note).
# Rounding to the nearest 32nd never moves a note by more than half a 32nd (a 64th note), so that
# bound would count nothing; a quarter of a 32nd separates sloppy timing from tick rounding.
ONSET_MOVED_TOLERANCE = 0.25
# Durations longer than the longest token by more than this (in 16ths) count as clipped.
CLIP_TOLERANCE = 0.5

_DURATIONS = np.asarray(DURATIONS_16THS, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class QuantisedNote:
    """A note on the grid: what the SA representation encodes."""

    track: int  # index into score.tracks
    onset: int  # 32nd position on the grid
    duration16: int  # one of DURATIONS_16THS
    pitch: int
    velocity: int


@dataclass(frozen=True, slots=True)
class QuantiseReport:
    """What quantisation changed, so dataset builds and the editor can say how clean a file was."""

    n_notes: int  # notes after merging duplicates
    n_duplicates_merged: int  # notes dropped because another note of the track had the same onset and pitch
    n_duration_clipped: int  # notes longer than the longest duration token, cut to it
    n_onset_moved: int  # notes whose onset moved by more than ONSET_MOVED_TOLERANCE 32nds

    def __add__(self, other: QuantiseReport) -> QuantiseReport:
        return QuantiseReport(
            self.n_notes + other.n_notes,
            self.n_duplicates_merged + other.n_duplicates_merged,
            self.n_duration_clipped + other.n_duration_clipped,
            self.n_onset_moved + other.n_onset_moved,
        )


def snap_duration16(sixteenths: float | np.ndarray) -> int | np.ndarray:
    """The nearest value of DURATIONS_16THS (ties go to the shorter one; anything > 32 becomes 32).

    Nearest in linear distance keeps short notes exact, which matters most for rhythm; ties to the
    shorter value so that legato overlaps never lengthen a note.
    """
    d = np.asarray(sixteenths, dtype=np.float64)
    # Rounding the distances lets float noise not break a tie; argmin then takes the first minimum,
    # which is the shorter value because the set is ascending.
    dist = np.round(np.abs(d[..., None] - _DURATIONS), 9)
    out = _DURATIONS[np.argmin(dist, axis=-1)].astype(np.int64)
    return int(out) if out.ndim == 0 else out


def quantise_notes(score: Score, grid: BeatGrid | None = None) -> tuple[list[QuantisedNote], QuantiseReport]:
    """All notes of ``score`` on the grid, sorted by (track, onset, pitch), with a report.

    Notes of one track with the same onset and pitch after quantising are merged (the longer one, then
    the louder one, is kept): a MIDI channel cannot sound the same key twice, and duplicates would
    become duplicate SA rows.
    """
    grid = grid or beat_grid(score)
    # Position 0 of a grid built from explicit beats may lie before tick 0; never snap a note there.
    first_valid = int(np.ceil(float(grid.tick_to_position(0)) - 1e-6))
    out: list[QuantisedNote] = []
    n_dup = n_clip = n_moved = 0
    for ti, track in enumerate(score.tracks):
        if not track.notes:
            continue
        starts = np.fromiter((n.start for n in track.notes), dtype=np.float64, count=len(track.notes))
        ends = np.fromiter((n.end for n in track.notes), dtype=np.float64, count=len(track.notes))
        start_pos = np.asarray(grid.tick_to_position(starts), dtype=np.float64)
        end_pos = np.asarray(grid.tick_to_position(ends), dtype=np.float64)
        onsets = np.maximum(np.floor(start_pos + 0.5).astype(np.int64), first_valid)
        n_moved += int(np.count_nonzero(np.abs(start_pos - onsets) > ONSET_MOVED_TOLERANCE))
        raw16 = (end_pos - onsets) / 2.0
        n_clip += int(np.count_nonzero(raw16 > DURATIONS_16THS[-1] + CLIP_TOLERANCE))
        durs = np.asarray(snap_duration16(raw16), dtype=np.int64).reshape(-1)
        best: dict[tuple[int, int], QuantisedNote] = {}
        for note, onset, dur in zip(track.notes, onsets.tolist(), durs.tolist(), strict=True):
            q = QuantisedNote(ti, onset, dur, note.pitch, note.velocity)
            key = (onset, note.pitch)
            kept = best.get(key)
            if kept is None:
                best[key] = q
                continue
            n_dup += 1
            if (q.duration16, q.velocity) > (kept.duration16, kept.velocity):
                best[key] = q
        out.extend(sorted(best.values(), key=lambda q: (q.onset, q.pitch)))
    report = QuantiseReport(len(out), n_dup, n_clip, n_moved)
    return out, report


def quantise(score: Score, grid: BeatGrid | None = None) -> tuple[Score, QuantiseReport]:
    """A copy of ``score`` whose notes sit exactly on the grid; everything else is kept.

    Ticks come back through ``grid.position_to_tick`` so a drifting-beat song keeps its timing feel
    between beats but every note starts and ends on a 32nd of its own beat grid.
    """
    grid = grid or beat_grid(score)
    notes, report = quantise_notes(score, grid)
    out = score.copy()
    per_track: list[list[Note]] = [[] for _ in out.tracks]
    if notes:
        onsets = np.fromiter((q.onset for q in notes), dtype=np.int64, count=len(notes))
        offs = onsets + 2 * np.fromiter((q.duration16 for q in notes), dtype=np.int64, count=len(notes))
        start_ticks = np.asarray(grid.position_to_tick(onsets)).reshape(-1).tolist()
        end_ticks = np.asarray(grid.position_to_tick(offs)).reshape(-1).tolist()
        for q, s, e in zip(notes, start_ticks, end_ticks, strict=True):
            per_track[q.track].append(Note(int(s), max(int(e), int(s) + 1), q.pitch, q.velocity))
    for track, track_notes in zip(out.tracks, per_track, strict=True):
        track.notes = sorted(track_notes, key=lambda n: (n.start, n.pitch, n.end))
    return out, report
