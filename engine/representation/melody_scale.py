"""A regenerated melody keeps the pitch classes it plays around the region, and its moves between them.

The network chooses a regenerated note's pitch from the chords and the notes around it, and leans on
the chord's tones: the default model's melodies, generated from the masks alone on 30 POP909 test songs,
had a chord-tone ratio of 0.746 (the truth 0.681) and a pitch-class histogram whose overlap with the
melody's own bars around the region was 0.658 (the truth's 0.744, random notes in key 0.743); the region's
histogram overlapped the truth's 0.648, below random notes in key (0.689). A melody keeps to its scale and
its habits (passing tones on the 4th and 7th degrees, a favourite neighbour note), and the bars around
the region show them.

So at sampling the pitch distributions of a regenerated melody's rows are reweighted, one weight per pitch
class shared by the part's rows, so that the region's expected pitch-class histogram (the notes already
decided plus the expected ones still to sample) is the melody's own around the region: the weights are
found by iterative proportional fitting (Deming and Stephan 1940, "On a least squares adjustment of a
sampled frequency table when the expected marginal totals are known"; ``diffusion.pitch_fit``) at every
sampling step, and raised to ``pitch_fit.STRENGTH`` (0.5), so the region lands between the network's pitch
classes (which know the region's chords) and the context's. A row keeps its own preferences (a chord tone
on a strong beat) and only the part's total is steered. Multiplying each row by the context's histogram
instead (a product of experts) counts the context twice, since the network has read it too: the test
melodies collapsed onto their most common pitch class (22 of 24 notes on one class in one song).

A melody also keeps its moves: which pitch class follows which (a line that climbs its scale, a
neighbour note that returns). The histogram cannot see them, and at novelty 0.3 the pitches the network
rewrote between kept notes cost the transitions: the real-band validation melodies, played as their
repeat alone (novelty 0), read a pitch-class transition matrix (PCTM) L1 of 0.510 from the truth, at 0.3
0.771, copying the previous bars 0.751. So a pending pitch whose neighbours in the line are decided is
also weighed by the melody's own first-order moves around the region (``move_targets``,
``diffusion.pitch_fit.fit_moves``): P(x | the note before) x P(the note after | x), raised to
``pitch_fit.MOVES_STRENGTH`` (0.5, since the network has read those notes too).

Only melodies: an accompaniment follows its chords, and steering it to its pitch classes around the region
cost it chord tones (accompaniment task, chord-tone ratio 0.959 -> 0.827, truth 0.966). Parts with fewer
than MIN_NOTES notes around the region get no target.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.representation.encode import SAEncoding
from engine.representation.masks import InfillProblem
from engine.representation.part_limits import context_rows
from engine.representation.vocab import COL_PITCH, FIRST_PITCH, PITCH_MIN

MIN_NOTES = 8  # notes of the part around the region needed to trust its pitch classes
SCALE_CATEGORIES = ("MELODY",)


def pitch_class_distribution(pitches: np.ndarray, smoothing: float = 0.0) -> np.ndarray:
    """float64 [12], summing to 1: the pitch-class distribution of MIDI ``pitches``, add-``smoothing``
    smoothed: (count(pc) + smoothing) / (n + 12 smoothing). The melody scale uses it unsmoothed: a class
    the melody never plays around the region is only ever steered down (``pitch_fit``), never up; smoothed
    by 1/2 a count, the fit raised those classes to their share and a demo melody with 18 notes around the
    region played 10 % of its notes off its scale (3 % without the scale; a fresh-user run). ValueError
    for a negative smoothing, or for no pitches with smoothing 0 (the distribution would be undefined)."""
    if smoothing < 0:
        raise ValueError(f"smoothing must be >= 0, got {smoothing}")
    counts = np.bincount(np.asarray(pitches, dtype=np.int64) % 12, minlength=12).astype(np.float64)
    total = counts.sum() + 12 * smoothing
    if total <= 0:
        raise ValueError("no pitches and no smoothing: the distribution is undefined")
    return (counts + smoothing) / total


def _per_melody_row(encoding: SAEncoding, problem: InfillProblem, width: int, categories: tuple[str, ...],
                    min_notes: int, value: Callable[[np.ndarray], np.ndarray]) -> np.ndarray | None:
    """float32 [R, width]: for each generated row of a part in ``categories`` with ``min_notes`` notes
    within CONTEXT_BARS bars of the region (outside it), ``value`` of those notes' encoding rows; zeros
    for every other row. None when no row has one."""
    gen_rows = problem.generated_rows & (problem.track_of_row >= 0) & (problem.track_of_row < encoding.n_tracks)
    out = np.zeros((len(problem.track_of_row), width), dtype=np.float32)
    found = False
    for track in np.unique(problem.track_of_row[gen_rows]).tolist():
        if problem.categories[track] not in categories:
            continue
        rows = context_rows(encoding, problem, track)
        if len(rows) < min_notes:
            continue
        out[gen_rows & (problem.track_of_row == track)] = value(rows)
        found = True
    return out if found else None


def _pitches(encoding: SAEncoding, rows: np.ndarray) -> np.ndarray:
    return encoding.tokens[rows, COL_PITCH] - FIRST_PITCH + PITCH_MIN


def scale_targets(encoding: SAEncoding, problem: InfillProblem, categories: tuple[str, ...] = SCALE_CATEGORIES,
                  min_notes: int = MIN_NOTES) -> np.ndarray | None:
    """float32 [R, 12]: for each generated row of a part in ``categories`` with ``min_notes`` notes within
    CONTEXT_BARS bars of the region (outside it), that part's pitch-class distribution there (module
    docstring); zeros for every other row (no target). None when no row has a target."""
    return _per_melody_row(encoding, problem, 12, categories, min_notes,
                           lambda rows: pitch_class_distribution(_pitches(encoding, rows)))


MOVE_PSEUDOCOUNT = 1.0  # a pitch class's next class: its counts plus this many of the melody's scale


def pitch_class_moves(pitches: np.ndarray, order: np.ndarray, stretch: np.ndarray,
                      pseudocount: float = MOVE_PSEUDOCOUNT) -> np.ndarray:
    """float64 [12, 12], each row summing to 1: P(next pitch class | pitch class) of a line, a first-order
    Markov chain over pitch classes (the pitch-class transition matrix of Yang and Lerch 2020, "On the
    evaluation of generative models in music", row-normalised). ``pitches``: MIDI notes; ``order``: their
    onsets (any unit); ``stretch``: the stretch of the song each is in (the bars before the region, the bars
    after), so no move is counted across the region. Notes on one onset are not a move. A row is backed
    off to the line's pitch-class distribution with ``pseudocount`` counts, so a class played once is not
    stuck with the one class that followed it; a class never played gets the distribution.
    ValueError for no pitches."""
    pitches, order, stretch = (np.asarray(a, dtype=np.int64) for a in (pitches, order, stretch))
    if len(pitches) == 0:
        raise ValueError("no pitches: the moves are undefined")
    scale = pitch_class_distribution(pitches)
    idx = np.lexsort((pitches, order, stretch))
    pc, t, s = pitches[idx] % 12, order[idx], stretch[idx]
    step = (s[1:] == s[:-1]) & (t[1:] > t[:-1])
    counts = np.zeros((12, 12))
    np.add.at(counts, (pc[:-1][step], pc[1:][step]), 1.0)
    rows = counts + pseudocount * scale[None, :]
    total = rows.sum(1, keepdims=True)
    return np.where(total > 0, rows / np.where(total > 0, total, 1.0), scale[None, :])


def move_targets(encoding: SAEncoding, problem: InfillProblem, categories: tuple[str, ...] = SCALE_CATEGORIES,
                 min_notes: int = MIN_NOTES) -> np.ndarray | None:
    """float32 [R, 144]: for each generated row of a part that ``scale_targets`` gives a target, that part's
    ``pitch_class_moves`` around the region, flattened ([from, to] -> from * 12 + to); zeros elsewhere.
    None when no row has one. ``diffusion.pitch_fit.fit_moves`` weighs a pending pitch by the moves
    from the note before it and to the note after it."""
    def moves(rows: np.ndarray) -> np.ndarray:
        after = encoding.bar_of_row[rows] >= problem.selection.end_bar  # the two stretches around the region
        return pitch_class_moves(_pitches(encoding, rows), encoding.position_of_row[rows], after.astype(np.int64)).reshape(-1)
    return _per_melody_row(encoding, problem, 144, categories, min_notes, moves)
