"""Writing sampled rows back into the score: only the selected (bars x tracks) region changes.

Everything outside the region stays the very same ``Note`` objects (same ticks, same velocities), so an
infill never nudges notes the user did not select, even in a file that was never quantised. Inside the
region, generated rows are read with ``decode``'s rules (PAD slots = no note, inconsistent rows skipped
and counted).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.errors import RepresentationError
from engine.representation.decode import DEFAULT_VELOCITY, DecodeReport, decode_chords, new_track, read_rows
from engine.representation.encode import note_positions
from engine.representation.masks import InfillProblem
from engine.representation.vocab import FIRST_PITCH, PITCH_MAX, PITCH_MIN
from engine.score import ChordLabel, Note, Score


def _region(score: Score, problem: InfillProblem, track: int) -> np.ndarray:
    """bool per note of ``track``: its (quantised) onset lies in the selected bars."""
    notes = score.tracks[track].notes
    if not notes:
        return np.zeros(0, dtype=bool)
    grid, sel = problem.grid, problem.selection
    pos = note_positions(grid, np.fromiter((n.start for n in notes), dtype=np.int64, count=len(notes)))
    return (pos >= grid.bar_starts[sel.start_bar]) & (pos < grid.bar_starts[sel.end_bar])


def _drop_duplicates_in_region(score: Score, problem: InfillProblem, track: int) -> int:
    """Keep one note per (start, pitch) inside the region (a channel cannot sound a key twice); sort the
    track. Notes outside the region are never dropped, whatever the file held."""
    tr = score.tracks[track]
    inside = _region(score, problem, track)
    seen: set[tuple[int, int]] = set()
    kept: list[Note] = []
    dropped = 0
    order = sorted(range(len(tr.notes)), key=lambda i: (tr.notes[i].start, tr.notes[i].pitch, -tr.notes[i].end))
    for i in order:
        n = tr.notes[i]
        if inside[i]:
            if (n.start, n.pitch) in seen:
                dropped += 1
                continue
            seen.add((n.start, n.pitch))
        kept.append(n)
    tr.notes = kept
    return dropped


def _no_same_pitch_overlaps(score: Score, problem: InfillProblem, track: int) -> int:
    """One MIDI channel cannot hold two sounding copies of a key: a written file pairs their note-offs
    differently, so notes *outside* the region would change on export. Inside the region, a note that
    runs into the next note of its pitch is shortened to end there, and a note that starts while an
    outside note of its pitch still sounds is dropped. Notes outside the region are never touched.
    Returns how many notes were dropped."""
    tr = score.tracks[track]
    inside = _region(score, problem, track)
    order = sorted(range(len(tr.notes)), key=lambda i: (tr.notes[i].pitch, tr.notes[i].start))
    keep = [True] * len(tr.notes)
    notes = list(tr.notes)
    last_outside_end: dict[int, int] = {}
    for k, i in enumerate(order):
        n = notes[i]
        if not inside[i]:
            last_outside_end[n.pitch] = max(last_outside_end.get(n.pitch, 0), n.end)
            continue
        if last_outside_end.get(n.pitch, -1) > n.start:
            keep[i] = False
            continue
        nxt = notes[order[k + 1]] if k + 1 < len(order) else None  # sorted by (pitch, start)
        if nxt is not None and nxt.pitch == n.pitch and n.end > nxt.start:
            notes[i] = replace(n, end=max(nxt.start, n.start + 1))
    tr.notes = sorted((n for n, k in zip(notes, keep, strict=True) if k), key=lambda n: (n.start, n.pitch, n.end))
    return keep.count(False)


def apply_infill_with_report(score: Score, problem: InfillProblem, sampled_tokens: np.ndarray) -> tuple[Score, DecodeReport]:
    """``score`` with the region of ``problem`` replaced by ``sampled_tokens`` [R, 4]; given cells of the
    sample are ignored (the problem's own tokens are used there)."""
    if len(score.tracks) != problem.n_tracks:
        raise RepresentationError(f"the problem was built for {problem.n_tracks} tracks, the score has {len(score.tracks)}")
    sampled = np.asarray(sampled_tokens, dtype=np.int64).reshape(problem.example.tokens.shape)
    tokens = np.where(problem.example.given, problem.example.tokens, sampled)
    grid, sel = problem.grid, problem.selection
    rows, _ = read_rows(tokens, int(grid.bar_starts[problem.window_start_bar]))
    out = score.copy()
    for category in problem.categories[problem.n_tracks :]:
        out.tracks.append(new_track(category))
    generated = problem.generated_rows
    report = rows.report(generated)  # only generated rows count: given rows are the original score
    locked = sel.locked_notes
    selected = [t for t in problem.tracks if t < problem.n_tracks]
    gen_rows = np.flatnonzero(generated & rows.is_note)

    if sel.attributes == "pitch":
        new_pitch: dict[tuple[int, int, int], int] = {}
        for i in gen_rows.tolist():
            old = int(problem.example.tokens[i, 2]) - FIRST_PITCH + PITCH_MIN
            new_pitch[(int(problem.track_of_row[i]), int(rows.onset[i]), old)] = int(rows.pitch[i])
        for t in selected:
            track = out.tracks[t]
            inside = _region(score, problem, t)
            pos = note_positions(grid, np.asarray([n.start for n in track.notes], dtype=np.int64))
            track.notes = [
                replace(n, pitch=new_pitch.get((t, int(p), n.pitch), n.pitch)) if ins and (t, n.start, n.pitch) not in locked else n
                for n, p, ins in zip(track.notes, pos.tolist(), inside.tolist(), strict=True)
            ]
    else:
        medians = [int(np.median([n.velocity for n in tr.notes])) if tr.notes else DEFAULT_VELOCITY for tr in out.tracks]
        for t in selected:
            track = out.tracks[t]
            inside = _region(score, problem, t)
            if sel.attributes == "rhythm":  # notes the model never saw (pitch out of range) stay
                inside &= np.asarray([PITCH_MIN <= n.pitch <= PITCH_MAX for n in track.notes], dtype=bool)
            track.notes = [n for n, ins in zip(track.notes, inside.tolist(), strict=True) if not ins or (t, n.start, n.pitch) in locked]
        starts = np.asarray(grid.position_to_tick(rows.onset[gen_rows])).reshape(-1)
        ends = np.asarray(grid.position_to_tick(rows.onset[gen_rows] + 2 * rows.duration16[gen_rows])).reshape(-1)
        for i, s, e in zip(gen_rows.tolist(), starts.tolist(), ends.tolist(), strict=True):
            t = int(problem.track_of_row[i])
            velocity = int(problem.velocity_of_row[i]) or medians[t]
            out.tracks[t].notes.append(Note(int(s), max(int(e), int(s) + 1), int(rows.pitch[i]), velocity))

    for t in list(selected) + list(range(problem.n_tracks, len(out.tracks))):
        report.n_duplicates += _drop_duplicates_in_region(out, problem, t)
        report.n_duplicates += _no_same_pitch_overlaps(out, problem, t)
    if sel.chords:
        out.chords = _region_chords(score, problem, tokens)
    return out, report


def _region_chords(score: Score, problem: InfillProblem, tokens: np.ndarray) -> list[ChordLabel]:
    """The song's chords with the selected bars' chords replaced by the sampled chord rows.

    Chords outside the region are the score's own, or, when it has none, the detected ones the encoding
    used, so the rest of the song keeps the harmony the model was conditioned on.
    """
    from engine.analysis.chord_edit import replace_chords

    grid, sel = problem.grid, problem.selection
    existing = list(score.chords)
    if not existing:
        from engine.analysis.chords import detect_chords

        existing = [c for c in detect_chords(score, grid) if isinstance(c, ChordLabel)]
    t0 = int(grid.position_to_tick(int(grid.bar_starts[sel.start_bar])))
    t1 = int(grid.position_to_tick(int(grid.bar_starts[sel.end_bar])))
    sampled = decode_chords(tokens, grid, problem.window_start_bar)
    return replace_chords(existing, t0, t1, sampled)


def apply_infill(score: Score, problem: InfillProblem, sampled_tokens: np.ndarray) -> Score:
    """``apply_infill_with_report`` without the report."""
    return apply_infill_with_report(score, problem, sampled_tokens)[0]
