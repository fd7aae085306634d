"""The beat/bar grid: a monotone map between ticks and musical positions counted in 32nd notes.

Quantisation, the SA representation and the editor's bar lines all read time through this map, so a song
whose beats drift against the tick grid (POP909: beats from ``beat_midi.txt``, unreliable time signatures)
is handled the same way as a clean MIDI file with a 4/4 time signature. Position 0 is the first beat;
between beats the map is linear, 8 positions (32nds) per beat.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.score import Score

POSITIONS_PER_BEAT = 8  # 32nd notes per quarter-note beat


def beat_pieces(start: np.ndarray, end: np.ndarray, n_beats: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Notes cut at beat boundaries: (note index, beat, lo, hi) per piece, one piece per beat each note
    touches (at least one a note, its beats clipped to [0, n_beats)); ``start``/``end`` and [lo, hi) in
    32nd positions (hi <= lo for a note wholly outside its clipped beat: ``max(hi - lo, 0)`` is the time
    it sounds there). Chord detection and the harmoniser both read each beat's notes this way."""
    first = np.clip(np.floor(start / POSITIONS_PER_BEAT), 0, n_beats - 1).astype(np.int64)
    last = np.clip(np.ceil(end / POSITIONS_PER_BEAT) - 1, 0, n_beats - 1).astype(np.int64)
    span = np.maximum(last - first + 1, 1)
    idx = np.repeat(np.arange(len(start)), span)
    beat = first[idx] + (np.arange(len(idx)) - np.repeat(np.cumsum(span) - span, span))
    lo = np.maximum(start[idx], beat * POSITIONS_PER_BEAT)
    hi = np.minimum(end[idx], (beat + 1) * POSITIONS_PER_BEAT)
    return idx, beat, lo, hi


@dataclass(frozen=True)
class BeatGrid:
    beat_ticks: np.ndarray  # int64, strictly increasing ticks of beats; covers the song plus one beat
    bar_starts: np.ndarray  # int64, strictly increasing bar-start positions (32nds); last entry = grid end

    @property
    def n_bars(self) -> int:
        return len(self.bar_starts) - 1

    @property
    def end_position(self) -> int:
        return int(self.bar_starts[-1])

    def bar_length(self, bar: int) -> int:
        """Length of bar ``bar`` in 32nds (32 for 4/4, 24 for 3/4 and 6/8)."""
        return int(self.bar_starts[bar + 1] - self.bar_starts[bar])

    def bar_of_position(self, position: int | np.ndarray) -> int | np.ndarray:
        """Index of the bar containing ``position`` (clipped to the grid's bars)."""
        idx = np.searchsorted(self.bar_starts, position, side="right") - 1
        return np.clip(idx, 0, self.n_bars - 1) if isinstance(idx, np.ndarray) else int(min(max(idx, 0), self.n_bars - 1))

    def tick_to_position(self, ticks: float | np.ndarray) -> float | np.ndarray:
        """Fractional 32nd position of a tick (extrapolated linearly outside the beats)."""
        beats = self.beat_ticks.astype(np.float64)
        t = np.asarray(ticks, dtype=np.float64)
        idx = np.clip(np.searchsorted(beats, t, side="right") - 1, 0, len(beats) - 2)
        frac = (t - beats[idx]) / (beats[idx + 1] - beats[idx])
        pos = (idx + frac) * POSITIONS_PER_BEAT
        return float(pos) if np.ndim(pos) == 0 else pos

    def position_to_tick(self, positions: float | np.ndarray) -> int | np.ndarray:
        """Tick of a (possibly fractional) 32nd position, rounded to the nearest tick."""
        beats = self.beat_ticks.astype(np.float64)
        p = np.asarray(positions, dtype=np.float64) / POSITIONS_PER_BEAT
        idx = np.clip(np.floor(p).astype(np.int64), 0, len(beats) - 2)
        ticks = np.rint(beats[idx] + (p - idx) * (beats[idx + 1] - beats[idx])).astype(np.int64)
        return int(ticks) if np.ndim(ticks) == 0 else ticks


def beat_grid(score: Score) -> BeatGrid:
    """The grid of a score: its explicit beats/downbeats if it has them, else its time signatures."""
    if score.beats and len(score.beats) >= 2:
        return _grid_from_beats(score)
    return _grid_from_time_signatures(score)


def _grid_from_beats(score: Score) -> BeatGrid:
    beats = sorted(set(int(b) for b in score.beats or []))
    if len(beats) < 2:
        return _grid_from_time_signatures(score)
    # Extend backwards to cover tick 0 and forwards past the last note, with the nearest beat spacing.
    first_step = beats[1] - beats[0]
    prepend = 0
    while beats[0] > 0:
        beats.insert(0, beats[0] - first_step)
        prepend += 1
    last_step = beats[-1] - beats[-2]
    end_tick = max(score.end_tick, beats[-1]) + 1
    while beats[-1] < end_tick:
        beats.append(beats[-1] + last_step)
    beat_ticks = np.asarray(beats, dtype=np.int64)
    beat_index = {b: i for i, b in enumerate(beats)}
    downbeats = sorted(beat_index[int(d)] for d in (score.downbeats or []) if int(d) in beat_index)
    if not downbeats:
        downbeats = list(range(0, len(beats), 4))
    # Continue the last bar length to the end of the grid; beats before the first downbeat form a pickup bar.
    bar_len = downbeats[-1] - downbeats[-2] if len(downbeats) >= 2 else 4
    while downbeats[-1] + bar_len < len(beats):
        downbeats.append(downbeats[-1] + bar_len)
    starts = ([0] if downbeats[0] > 0 else []) + downbeats
    last_beat = len(beats) - 1
    if starts[-1] < last_beat:
        starts.append(last_beat)
    return BeatGrid(beat_ticks, np.asarray(starts, dtype=np.int64) * POSITIONS_PER_BEAT)


def _grid_from_time_signatures(score: Score) -> BeatGrid:
    tpb = score.ticks_per_beat
    end_pos = max(int(np.ceil(score.end_tick * POSITIONS_PER_BEAT / tpb)), 1)
    sigs = sorted(score.time_signatures, key=lambda s: s.tick)
    # (start position, bar length) per signature; the first always starts at 0. A signature that falls
    # inside a bar cuts that bar short and starts a new one, as notation programs do.
    segments = [
        (0 if i == 0 else int(round(s.tick * POSITIONS_PER_BEAT / tpb)), max(1, round(s.numerator * 32 / max(s.denominator, 1))))
        for i, s in enumerate(sigs)
    ] or [(0, 32)]
    starts: list[int] = []
    pos = 0
    for i, (seg_pos, bar_len) in enumerate(segments):
        pos = max(pos, seg_pos)
        stop = segments[i + 1][0] if i + 1 < len(segments) else None
        while (stop is None and pos < end_pos) or (stop is not None and pos < stop):
            starts.append(pos)
            pos += bar_len
        if stop is not None:
            pos = max(stop, starts[-1] if starts else 0)
    if not starts:
        starts.append(0)
        pos = segments[-1][1]
    starts.append(max(pos, starts[-1] + 1))
    starts_arr = np.unique(np.asarray(starts, dtype=np.int64))
    n_beats = int(np.ceil(starts_arr[-1] / POSITIONS_PER_BEAT)) + 1
    beat_ticks = np.arange(n_beats, dtype=np.int64) * tpb
    return BeatGrid(beat_ticks, starts_arr)


def extend_bars(score: Score, n: int) -> Score:
    """``score`` lasting ``n`` more bars after its last bar, each as long as that last bar.

    The new bars are empty (``Score.length`` holds them); an explicit beat grid continues with its last
    beat spacing. Raises ValueError for n < 1. Notes, tempos and meters are shared, not copied.
    """
    if n < 1:
        raise ValueError(f"extend by at least one bar, got {n}")
    grid = beat_grid(score)
    starts = grid.bar_starts
    last = int(starts[-1] - starts[-2]) if len(starts) >= 2 else 4 * POSITIONS_PER_BEAT
    end_pos = int(starts[-1]) + n * last
    beats = grid.beat_ticks.astype(np.int64)
    step = int(beats[-1] - beats[-2]) if len(beats) >= 2 else score.ticks_per_beat
    need = end_pos // POSITIONS_PER_BEAT + 2
    if len(beats) < need:
        beats = np.concatenate([beats, beats[-1] + step * np.arange(1, need - len(beats) + 1)])
    end_tick = int(BeatGrid(beats, starts).position_to_tick(end_pos))
    return replace(score, length=max(score.length, end_tick))
