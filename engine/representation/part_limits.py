"""What a regenerated part may play, read from the part itself: its register, its drum kit, one line or chords.

The seed restricts each output column to its vocabulary with -inf logits; this module narrows the pitch
column further per row, the way Composer's Assistant offers a strict/loose range per track (Malandro,
2023): a part regenerated inside a song keeps to the register it plays around the region (strict: its
lowest and highest notes +-2 semitones; loose: that or the instrument's usual range, whichever is wider),
a new part keeps to its instrument's usual range, and a drum part keeps to the pieces of its kit. A part
whose notes around the region never overlap (a vocal line, a bass line) stays one line: overlapping notes
in the region are cut where the next one starts (``one_line``; which parts are lines:
``analysis.lines.line_tracks``, the evaluation's own definition). With the register kept (strict or
loose), a note that leaps more than an octave out of the line and straight back is moved by octaves next
to its neighbours when the part never does that around the region (``fold_spikes``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.analysis.ranges import context_range, usual_range
from engine.representation.encode import SAEncoding
from engine.representation.masks import InfillProblem
from engine.representation.vocab import COL_PITCH, COLUMN_SIZES, FIRST_PITCH, PITCH_MAX, PITCH_MIN
from engine.score import Note

REGISTERS = ("strict", "loose", "off")
MIN_KIT_NOTES = 8  # drum notes around the region needed to trust its kit
MIN_RANGE_NOTES = 8  # notes around the region needed to trust a part's register


@dataclass(frozen=True)
class PartLimits:
    """The options: ``register`` one of REGISTERS; ``kit``: drums keep the pieces they use around the
    region; ``line``: parts that are one line around the region stay one line (None: decide per part)."""

    register: str = "strict"
    kit: bool = True
    line: bool | None = None

    def __post_init__(self) -> None:
        if self.register not in REGISTERS:
            raise ValueError(f"register must be one of {', '.join(REGISTERS)}, got {self.register!r}")


CONTEXT_BARS = 8  # bars each side of the region a part's register is read from (as evaluate's context)


def context_rows(encoding: SAEncoding, problem: InfillProblem, track: int, bars: int | None = CONTEXT_BARS) -> np.ndarray:
    """Rows of ``track`` outside the selected bars and within ``bars`` bars of them (None: the whole song)."""
    sel = problem.selection
    b = encoding.bar_of_row
    outside = (b < sel.start_bar) | (b >= sel.end_bar)
    if bars is not None:
        outside &= (b >= sel.start_bar - bars) & (b < sel.end_bar + bars)
    return np.flatnonzero((encoding.track_of_row == track) & outside)


def context_pitches(encoding: SAEncoding, problem: InfillProblem, track: int, min_notes: int = MIN_RANGE_NOTES) -> np.ndarray:
    """MIDI pitches of ``track``'s notes within CONTEXT_BARS bars of the region (outside it), or of the
    whole song outside it when those are fewer than ``min_notes``: the register the part plays there."""
    if track >= encoding.n_tracks:
        return np.zeros(0, dtype=np.int64)
    rows = context_rows(encoding, problem, track)
    if len(rows) < min_notes:
        rows = context_rows(encoding, problem, track, None)
    return encoding.tokens[rows, COL_PITCH] - FIRST_PITCH + PITCH_MIN


def part_pitch_range(encoding: SAEncoding, problem: InfillProblem, track: int, register: str,
                     program: int | None = None) -> tuple[int, int] | None:
    """(low, high) MIDI notes ``track`` may play in the region, or None for no limit."""
    if register == "off":
        return None
    return register_range(problem.categories[track], program, context_pitches(encoding, problem, track), register)


def register_range(category: str, program: int | None, context: np.ndarray, register: str,
                   min_notes: int = MIN_RANGE_NOTES) -> tuple[int, int]:
    """(low, high) MIDI notes of a part under ``register`` "strict" or "loose" (module docstring), from its
    pitches ``context`` around the region: the instrument's usual range when they are fewer than
    ``min_notes`` (``analysis.ranges.context_range``)."""
    usual = usual_range(category, program)
    ctx = context_range(context, min_notes=min_notes)
    if ctx is None:
        return usual
    if register == "strict":
        return ctx
    return min(ctx[0], usual[0]), max(ctx[1], usual[1])


def drum_kit(encoding: SAEncoding, problem: InfillProblem, track: int) -> np.ndarray | None:
    """Drum keys ``track`` plays around the region, or None when it plays too few notes to tell."""
    keys = context_pitches(encoding, problem, track, MIN_KIT_NOTES)
    if len(keys) < MIN_KIT_NOTES:
        return None
    return np.unique(keys)


def pitch_allowed(encoding: SAEncoding, problem: InfillProblem, limits: PartLimits,
                  programs: list[int] | None = None) -> np.ndarray | None:
    """bool [R, V_pitch]: pitch-column classes each row of ``problem`` may hold (every class for given rows
    and chord rows); None when nothing is limited. Non-pitch classes (PAD, chords) stay allowed: the row
    grammar (diffusion.constraints) rules those out per row kind."""
    gen_rows = problem.generated_rows & (problem.track_of_row >= 0)
    if not gen_rows.any():
        return None
    n_pitch = PITCH_MAX - PITCH_MIN + 1
    allowed = np.ones((len(problem.track_of_row), COLUMN_SIZES[COL_PITCH]), dtype=bool)
    limited = False
    for track in np.unique(problem.track_of_row[gen_rows]).tolist():
        keep = np.ones(n_pitch, dtype=bool)
        program = programs[track] if programs is not None and track < len(programs) else None
        if problem.categories[track] == "DRUMS":
            kit = drum_kit(encoding, problem, track) if limits.kit else None
            if kit is None:
                continue
            keep[:] = False
            keep[kit - PITCH_MIN] = True
        else:
            rng = part_pitch_range(encoding, problem, track, limits.register, program)
            if rng is None:
                continue
            lo, hi = max(rng[0], PITCH_MIN), min(rng[1], PITCH_MAX)
            keep[:] = False
            keep[lo - PITCH_MIN : hi - PITCH_MIN + 1] = True
        rows = gen_rows & (problem.track_of_row == track)
        allowed[np.ix_(np.flatnonzero(rows), np.arange(FIRST_PITCH, FIRST_PITCH + n_pitch))] = keep
        limited = True
    return allowed if limited else None


def one_line(notes: list[Note], keep_high: bool = True) -> tuple[list[Note], int]:
    """The notes as one line: of notes with the same onset only the highest (``keep_high``) or lowest
    stays, and a note still sounding when the next starts is cut there. Returns (notes, notes dropped)."""
    by_start: dict[int, Note] = {}
    for n in notes:
        old = by_start.get(n.start)
        if old is None or (n.pitch > old.pitch if keep_high else n.pitch < old.pitch):
            by_start[n.start] = n
    line = [by_start[s] for s in sorted(by_start)]
    out = [Note(n.start, min(n.end, line[k + 1].start) if k + 1 < len(line) else n.end, n.pitch, n.velocity)
           for k, n in enumerate(line)]
    return out, len(notes) - len(out)


def line_up_region(notes: list[Note], start: int, end: int, keep_high: bool = True) -> tuple[list[Note], int]:
    """``notes`` with those starting in ticks [start, end) made one line (``one_line``); notes outside stay
    as they are, and the last note of the region is cut where the next outside note starts.
    Returns (notes sorted by start, notes dropped)."""
    inside = [n for n in notes if start <= n.start < end]
    outside = [n for n in notes if not start <= n.start < end]
    line, dropped = one_line(inside, keep_high)
    after = [n.start for n in outside if n.start >= end]
    if line and after and line[-1].end > min(after):
        last = line[-1]
        line[-1] = Note(last.start, max(last.start + 1, min(after)), last.pitch, last.velocity)
    return sorted(outside + line, key=lambda n: (n.start, n.pitch)), dropped


OCTAVE = 12
SPIKE = 12  # semitones: a move larger than this, out and straight back, is a spike (musician.LEAP's size)


def _outer_voices(notes: list[Note]) -> tuple[list[int], dict[int, list[int]]]:
    """(sorted onsets, onset -> indices of ``notes`` starting there)."""
    groups: dict[int, list[int]] = {}
    for i, n in enumerate(notes):
        groups.setdefault(n.start, []).append(i)
    return sorted(groups), groups


def spike_positions(voice: np.ndarray) -> np.ndarray:
    """bool [N]: positions whose move in and move out both exceed SPIKE semitones in opposite directions."""
    out = np.zeros(len(voice), dtype=bool)
    if len(voice) < 3:
        return out
    d = np.diff(voice)
    out[1:-1] = (np.abs(d[:-1]) > SPIKE) & (np.abs(d[1:]) > SPIKE) & (np.sign(d[:-1]) != np.sign(d[1:]))
    return out


def fold_spikes(notes: list[Note], start: int, end: int, around: tuple[int, int],
                pitch_range: tuple[int, int] = (PITCH_MIN, PITCH_MAX),
                keep: frozenset[tuple[int, int]] = frozenset()) -> tuple[list[Note], int]:
    """``notes`` (one track, ticks) with each spike in [start, end) moved by octaves towards its neighbours:
    a highest (or lowest) note that leaps more than an octave away from the onset before it and straight
    back at the onset after it. Only for a part that never does so in the bars ``around`` the region
    (ticks, outside it): there the spike is the sampler's slip, not the part's style (in the real-band
    validation songs bass lines never spike, brass stabs do). The note keeps its pitch class, so it still
    fits the chord; a move that would leave ``pitch_range`` (MIDI, inclusive) or land on a note already
    sounding at that onset is not made, nor is one of a note in ``keep`` ((start tick, pitch): the user's
    locked notes). Neighbours may lie outside the region.
    Returns (notes in their original order, notes moved)."""
    window = [n for n in notes if around[0] <= n.start < around[1]]
    onsets, groups = _outer_voices(window)
    if len(onsets) < 3:
        return notes, 0
    inside = np.asarray([start <= t < end for t in onsets])
    top = np.asarray([max(window[i].pitch for i in groups[t]) for t in onsets])
    low = np.asarray([min(window[i].pitch for i in groups[t]) for t in onsets])
    if ((spike_positions(top) | spike_positions(low)) & ~inside).any():
        return notes, 0  # the part spikes around the region: its style
    moved: dict[int, int] = {}  # index into window -> new pitch
    for voice, pick in ((top, max), (low, min)):
        for k in range(1, len(onsets) - 1):
            if not inside[k] or not spike_positions(voice[k - 1 : k + 2])[1]:
                continue
            p, a, b = int(voice[k]), int(voice[k - 1]), int(voice[k + 1])
            best = min((p + s for s in range(-9 * OCTAVE, 10 * OCTAVE, OCTAVE)
                        if s and pitch_range[0] <= p + s <= pitch_range[1]),
                       key=lambda q: (max(abs(q - a), abs(q - b)), abs(q - p)), default=None)
            group = groups[onsets[k]]
            i = pick(group, key=lambda j: moved.get(j, window[j].pitch))
            taken = {moved.get(j, window[j].pitch) for j in group if j != i}
            if (window[i].start, window[i].pitch) in keep:
                continue
            if best is None or best in taken or max(abs(best - a), abs(best - b)) >= max(abs(p - a), abs(p - b)):
                continue
            moved[i] = best
            top[k] = max(moved.get(j, window[j].pitch) for j in group)
            low[k] = min(moved.get(j, window[j].pitch) for j in group)
    if not moved:
        return notes, 0
    new = {id(window[i]): p for i, p in moved.items()}
    return [Note(n.start, n.end, new[id(n)], n.velocity) if id(n) in new else n for n in notes], len(moved)
