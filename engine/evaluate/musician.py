"""Checks a musician would make on an infilled region: drums per piece, register, line and texture.

The distribution metrics (``metrics``) compare histograms and onset vectors. A musician listens for other
things, and the histograms cannot hear them: a drum part without a kick still has nearly the same onset
vector (a 32-cell bar with 8 hi-hats and 4 kicks differs from one with 8 hi-hats in 4 cells: groove
similarity 0.875), a bass that jumps to E5 for one note barely moves a pitch-class histogram, and a
vocal line with overlapping notes has the same durations as one without. These checks read exactly those
things, each as a pure function of note arrays (onsets and durations in 32nds on the song's grid, MIDI
pitches or GM drum keys), so each can be tested on a hand-made part where it must fail.

Conventions as in ``metrics``: NaN where a check does not apply (no drums in the region, a part silent in
its context, no bar in 4/4...), and the aggregation skips NaN and counts what it averaged.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.analysis.grid import POSITIONS_PER_BEAT
from engine.analysis.lines import line_tracks, overlapping  # noqa: F401 - line_tracks: part of this module's checks
from engine.analysis.ranges import CONTEXT_MARGIN

# -- drums: the General MIDI percussion key map -------------------------------------------------------------
DRUM_PIECES: tuple[str, ...] = ("kick", "snare", "hats", "toms", "crash", "other")
PIECE_LABELS: dict[str, str] = {"kick": "kick", "snare": "snare/clap", "hats": "hi-hat/ride", "toms": "toms",
                                "crash": "crashes", "other": "other percussion"}
# GM Level 1 Percussion Key Map (MIDI Manufacturers Association, "General MIDI System Level 1", 1991;
# keys 35-81 on channel 10), grouped by the piece of a kit a drummer plays them on. Side stick and hand
# clap count as snare: they are what plays the backbeat when the snare does not. Keys outside the map
# and the Latin/orchestral percussion (bongos, congas, tambourine, cowbell, shakers...) are "other".
GM_DRUM_PIECE: dict[int, str] = {
    35: "kick", 36: "kick",  # acoustic bass drum, bass drum 1
    37: "snare", 38: "snare", 39: "snare", 40: "snare",  # side stick, acoustic snare, hand clap, electric snare
    42: "hats", 44: "hats", 46: "hats",  # closed, pedal, open hi-hat
    51: "hats", 53: "hats", 59: "hats",  # ride cymbal 1, ride bell, ride cymbal 2 (the timekeeping cymbals)
    41: "toms", 43: "toms", 45: "toms", 47: "toms", 48: "toms", 50: "toms",  # low floor .. high tom
    49: "crash", 52: "crash", 55: "crash", 57: "crash",  # crash 1, Chinese, splash, crash 2
}  # fmt: skip
SNARE_KEYS = frozenset(k for k, p in GM_DRUM_PIECE.items() if p == "snare")
KICK_KEYS = frozenset(k for k, p in GM_DRUM_PIECE.items() if p == "kick")
_PIECE_OF_KEY = np.asarray([DRUM_PIECES.index(GM_DRUM_PIECE.get(k, "other")) for k in range(128)], dtype=np.int64)
CELL = 2  # drum patterns are compared on 16th cells (2 x 32nds), the grid a drum part is written on
HIT_TOLERANCE = 2  # a hit "on" a beat starts within this many 32nds after it (quantised data sits on it)
BACKBEAT_CONTEXT = 0.5  # the context "has a backbeat" when at least this share of its 4/4 bars has one
LEAP = 12  # semitones: a move larger than an octave is a leap
RANGE_MARGIN = CONTEXT_MARGIN  # semitones either side of the part's own context range


def drum_piece(keys: np.ndarray) -> np.ndarray:
    """int per key: the index in ``DRUM_PIECES`` of a GM drum key's piece (``GM_DRUM_PIECE``)."""
    return _PIECE_OF_KEY[np.clip(np.asarray(keys, dtype=np.int64), 0, 127)]


def bar_cells(onset: np.ndarray, bar_starts: np.ndarray, step: int = CELL) -> np.ndarray:
    """bool [bars, Q]: which cells of ``step`` 32nds hold an onset, per bar. ``bar_starts`` are the bars'
    start positions plus the end of the last (len = bars + 1); Q = the longest bar in cells. Onsets outside
    the bars are ignored."""
    starts = np.asarray(bar_starts, dtype=np.int64)
    lengths = -(-np.diff(starts) // step)
    out = np.zeros((len(lengths), int(lengths.max()) if len(lengths) else 0), dtype=bool)
    o = np.asarray(onset, dtype=np.int64)
    o = o[(o >= starts[0]) & (o < starts[-1])] if len(starts) else o[:0]
    b = np.searchsorted(starts, o, side="right") - 1
    out[b, (o - starts[b]) // step] = True
    return out


def dice(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dice coefficient (Dice 1945; the F1 score of one onset set against the other) of the last axis of
    two bool arrays: 2|A and B| / (|A| + |B|); 1 where both are empty. 1 = the same onsets, 0 = none shared.
    Unlike an XOR over every cell it is not lifted by the many cells where neither part plays."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    both = (a & b).sum(axis=-1).astype(np.float64)
    total = (a.sum(axis=-1) + b.sum(axis=-1)).astype(np.float64)
    return np.where(total > 0, 2.0 * both / np.maximum(total, 1.0), 1.0)


def piece_similarity(gen_onset: np.ndarray, gen_key: np.ndarray, truth_onset: np.ndarray, truth_key: np.ndarray,
                     bar_starts: np.ndarray) -> dict[str, float]:
    """Per drum piece, the onset-pattern similarity of a generated drum part with the truth's: the Dice
    coefficient of the piece's 16th-cell onsets in each bar, averaged over the bars where either plays the
    piece. NaN for a piece neither plays. A part that drops the kick scores 0 on "kick" however well its
    hats match."""
    gp, tp = drum_piece(gen_key), drum_piece(truth_key)
    gen_onset, truth_onset = np.asarray(gen_onset), np.asarray(truth_onset)
    out: dict[str, float] = {}
    for i, name in enumerate(DRUM_PIECES):
        g, t = bar_cells(gen_onset[gp == i], bar_starts), bar_cells(truth_onset[tp == i], bar_starts)
        played = g.any(axis=1) | t.any(axis=1)
        out[name] = float(dice(g, t)[played].mean()) if played.any() else float("nan")
    return out


def piece_context_similarity(gen_onset: np.ndarray, gen_key: np.ndarray, ctx_onset: np.ndarray, ctx_key: np.ndarray,
                             bar_starts: np.ndarray, ctx_bars: list[tuple[int, int]]) -> dict[str, float]:
    """Per drum piece, how well each generated bar's pattern for the piece matches the part's own bars
    around the region: for every region bar, the best Dice coefficient with a context bar of the same
    length ([start, end) positions in ``ctx_bars``; both silent = 1), averaged over the region bars where
    the bar or one of those context bars plays the piece. A groove repeats, so a fitting bar matches
    some context bar; a kick-less bar in a song whose drummer always plays the kick matches none.
    NaN for a piece nobody plays, and for every piece when no context bar has a region bar's length."""
    region_len = np.diff(np.asarray(bar_starts, dtype=np.int64))
    gp, cp = drum_piece(gen_key), drum_piece(ctx_key)
    gen_onset, ctx_onset = np.asarray(gen_onset, dtype=np.int64), np.asarray(ctx_onset, dtype=np.int64)
    out: dict[str, float] = {}
    for i, name in enumerate(DRUM_PIECES):
        g = bar_cells(gen_onset[gp == i], bar_starts)
        scores = []
        for b, length in enumerate(region_len.tolist()):
            same = [(s, e) for s, e in ctx_bars if e - s == length]
            if not same:
                continue
            c = np.concatenate([bar_cells(ctx_onset[cp == i], np.asarray([s, e])) for s, e in same])
            c = np.pad(c, ((0, 0), (0, g.shape[1] - c.shape[1]))) if c.shape[1] < g.shape[1] else c[:, : g.shape[1]]
            if g[b].any() or c.any():
                scores.append(float(dice(g[b][None, :], c).max()))
        out[name] = float(np.mean(scores)) if scores else float("nan")
    return out


def _share_by_own_context(values: np.ndarray, track: np.ndarray, ctx_values: np.ndarray, ctx_track: np.ndarray,
                          fits: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> float:
    """Share of notes whose value ``fits(notes' values, own track's context values)``, over the tracks that
    play in their context (a track silent there has nothing to keep to); NaN when no note is left."""
    values, track = np.asarray(values, dtype=np.int64), np.asarray(track, dtype=np.int64)
    ctx_values, ctx_track = np.asarray(ctx_values, dtype=np.int64), np.asarray(ctx_track, dtype=np.int64)
    hits, counted = 0, 0
    for t in np.unique(track).tolist():
        own = ctx_values[ctx_track == t]
        if not len(own):
            continue
        mine = values[track == t]
        hits += int(fits(mine, own).sum())
        counted += len(mine)
    return hits / counted if counted else float("nan")


def kit_adherence(key: np.ndarray, track: np.ndarray, ctx_key: np.ndarray, ctx_track: np.ndarray) -> float:
    """Share of drum notes on a key (a kit piece: 35 and 36 are two bass drums) that the same track plays
    in its context. Notes of tracks silent in their context are left out (no kit to keep); NaN when
    none is left."""
    return _share_by_own_context(key, track, ctx_key, ctx_track, lambda mine, kit: np.isin(mine, kit))


def _hit_near(onset: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """bool per target: some onset lies in [target, target + HIT_TOLERANCE)."""
    o = np.sort(np.asarray(onset, dtype=np.int64))
    k = np.searchsorted(o, targets, side="left")
    return (k < len(o)) & (o[np.minimum(k, max(len(o) - 1, 0))] < targets + HIT_TOLERANCE) if len(o) else np.zeros(len(targets), bool)


def kick_on_one(onset: np.ndarray, key: np.ndarray, bar_starts: np.ndarray) -> np.ndarray:
    """bool per bar: a kick (GM 35/36) starts on the bar's first beat (within HIT_TOLERANCE 32nds)."""
    kicks = np.asarray(onset)[np.isin(np.asarray(key), list(KICK_KEYS))]
    return _hit_near(kicks, np.asarray(bar_starts, dtype=np.int64)[:-1])


def backbeat(onset: np.ndarray, key: np.ndarray, bar_starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hit, valid), bool per bar: a snare or clap (GM 37-40) on beats 2 and 4, and whether the bar is a
    4/4 bar (32 32nds), the only meter where "2 and 4" is the backbeat."""
    starts = np.asarray(bar_starts, dtype=np.int64)
    valid = np.diff(starts) == 4 * POSITIONS_PER_BEAT
    snares = np.asarray(onset)[np.isin(np.asarray(key), list(SNARE_KEYS))]
    two = _hit_near(snares, starts[:-1] + POSITIONS_PER_BEAT)
    four = _hit_near(snares, starts[:-1] + 3 * POSITIONS_PER_BEAT)
    return two & four & valid, valid


def backbeat_share(onset: np.ndarray, key: np.ndarray, bar_starts: np.ndarray, ctx_onset: np.ndarray,
                   ctx_key: np.ndarray, ctx_bar_starts: list[np.ndarray]) -> float:
    """Share of the region's 4/4 bars with the backbeat, where the context has one (at least
    BACKBEAT_CONTEXT of its 4/4 bars, ``ctx_bar_starts`` one array of bar starts per context stretch);
    NaN where it has none, or no bar is in 4/4."""
    hits, valid = 0, 0
    for starts in ctx_bar_starts:
        if len(starts) > 1:
            h, v = backbeat(ctx_onset, ctx_key, starts)
            hits, valid = hits + int(h.sum()), valid + int(v.sum())
    if not valid or hits / valid < BACKBEAT_CONTEXT:
        return float("nan")
    h, v = backbeat(onset, key, bar_starts)
    return float(h.sum() / v.sum()) if v.any() else float("nan")


# -- register -------------------------------------------------------------------------------------------------
def context_range_share(pitch: np.ndarray, track: np.ndarray, ctx_pitch: np.ndarray, ctx_track: np.ndarray,
                        margin: int = RANGE_MARGIN) -> float:
    """Share of notes within their own track's context range (lowest - ``margin`` .. highest + ``margin``
    semitones). Tracks silent in their context are left out (a new part has no range of its own yet:
    the instrument's range, ``metrics.range_adherence``, judges it); NaN when no note is left."""
    return _share_by_own_context(pitch, track, ctx_pitch, ctx_track,
                                 lambda mine, own: (mine >= own.min() - margin) & (mine <= own.max() + margin))


def outer_voices(pitch: np.ndarray, onset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(highest, lowest) MIDI pitch at each distinct onset of one part, in onset order (int64 [T] each)."""
    pitch, onset = np.asarray(pitch, dtype=np.int64), np.asarray(onset, dtype=np.int64)
    times = np.unique(onset)
    k = np.searchsorted(times, onset)
    top = np.full(len(times), -1, dtype=np.int64)
    low = np.full(len(times), 999, dtype=np.int64)
    np.maximum.at(top, k, pitch)
    np.minimum.at(low, k, pitch)
    return top, low


def leap_rate(pitch: np.ndarray, onset: np.ndarray, track: np.ndarray, leap: int = LEAP) -> float:
    """Share of moves larger than ``leap`` semitones in the outer voices: per track, from each onset to
    the next, the move of the highest note and the move of the lowest (a line's only note is both; chord
    tones sounding together are not moves). NaN with no move."""
    pitch, onset, track = (np.asarray(a, dtype=np.int64) for a in (pitch, onset, track))
    leaps, moves = 0, 0
    for t in np.unique(track).tolist():
        m = track == t
        top, low = outer_voices(pitch[m], onset[m])
        if len(top) < 2:
            continue
        steps = np.concatenate([np.abs(np.diff(top)), np.abs(np.diff(low))])
        leaps += int((steps > leap).sum())
        moves += len(steps)
    return leaps / moves if moves else float("nan")


# -- line -----------------------------------------------------------------------------------------------------
def line_overlap(onset: np.ndarray, duration: np.ndarray, track: np.ndarray, lines: set[int]) -> float:
    """Share of the notes of ``lines`` tracks that overlap another note of their track: 0 for a line kept
    a line. NaN when no note is on a line track."""
    track = np.asarray(track, dtype=np.int64)
    on_line = np.isin(track, list(lines))
    if not on_line.any():
        return float("nan")
    return float(overlapping(onset, duration, track)[on_line].mean())


# -- texture --------------------------------------------------------------------------------------------------
def notes_per_onset(onset: np.ndarray, track: np.ndarray) -> float:
    """Mean notes per distinct (track, onset): 1 for lines, about 3 for block triads. NaN with no note."""
    onset, track = np.asarray(onset, dtype=np.int64), np.asarray(track, dtype=np.int64)
    if not len(onset):
        return float("nan")
    return len(onset) / len(np.unique(np.stack([track, onset], axis=1), axis=0))


def mean_duration(duration: np.ndarray) -> float:
    """Mean note length in 32nds (8 = a quarter note); NaN with no note."""
    d = np.asarray(duration, dtype=np.float64)
    return float(d.mean()) if len(d) else float("nan")
